// SPDX-License-Identifier: MIT
/*
 * The MAP_DIRECT demo's act 3: RDMA into persistent memory.
 *
 *   rdmastore FILE READY GO
 *
 * The server (rxe0) maps the preallocated DAX FILE with MAP_DIRECT and
 * registers it; the client (rxe1) writes records into it with RDMA WRITE,
 * zero-copy into the file's blocks.  Then it creates READY and keeps
 * writing a record every 100 ms.  The server ignores the break notice, so
 * after lease-break-time the kernel revokes the registration and the
 * client's next write fails.  It then waits for the file GO (the demo has
 * handed the freed blocks to another file) and tries three more writes
 * through the old key, which must fail too.  Both ends live in this one
 * process, connected through librdmacm (tests/lib/rpair.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>

#include "lib/rpair.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define RECSZ 64

static atomic_int notified;
static double t0;

static void on_sigio(int sig)
{
	(void)sig;
	notified = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "rdmastore: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	char rec[RECSZ], *map, *cbuf;
	struct ibv_mr *mr, *cmr;
	struct rpair p;
	struct ibv_wc wc;
	int fd, n = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: rdmastore FILE READY GO\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGIO, on_sigio);
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		die(argv[1]);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	if (map == MAP_FAILED)
		die("mmap(MAP_DIRECT)");
	if (!getenv("MAPDIRECT_RXE0_ADDR") || !getenv("MAPDIRECT_RXE1_ADDR") ||
	    rpair_connect(&p, getenv("MAPDIRECT_RXE0_ADDR"),
			  getenv("MAPDIRECT_RXE1_ADDR"), "7480"))
		die("connect rxe1 -> rxe0 (run in the VM)");
	mr = ibv_reg_mr(p.srv->pd, map, LEN, acc);
	if (!mr)
		die("ibv_reg_mr on the MAP_DIRECT mapping");
	printf("server: %s mapped with MAP_DIRECT and registered on rxe0 (rkey %#x)\n",
	       argv[1], mr->rkey);
	cbuf = aligned_alloc(4096, 4096);
	cmr = cbuf ? ibv_reg_mr(p.cli->pd, cbuf, 4096, acc) : NULL;
	if (!cmr)
		die("client buffer");

	for (;; n++) {
		snprintf(rec, sizeof(rec), "record %04d: written by RDMA, zero-copy", n);
		memcpy(cbuf, rec, RECSZ);
		if (rdma_post_write(p.cli, NULL, cbuf, RECSZ, cmr, IBV_SEND_SIGNALED,
				    (uintptr_t)map + (uint64_t)n * RECSZ, mr->rkey) ||
		    rdma_get_send_comp(p.cli, &wc) <= 0)
			die("post RDMA WRITE");
		if (wc.status != IBV_WC_SUCCESS)
			break;
		if (n == 9) {
			char back[RECSZ];

			if (pread(fd, back, RECSZ, 9 * RECSZ) != RECSZ || memcmp(back, rec, RECSZ))
				die("record 9 is not in the file");
			printf("client: 10 records written with RDMA WRITE from rxe1; pread() "
			       "finds them in the file\n");
			close(open(argv[2], O_CREAT | O_WRONLY, 0644));
			t0 = mapdirect_now();
		}
		if (n >= 9) {
			if (notified == 1) {
				printf("server: break notice (SIGIO) at +%.2f s; it ignores it "
				       "and keeps the registration\n", mapdirect_now() - t0);
				notified = 2;
			}
			usleep(100000);
		}
	}
	/* A revoked registration answers with a remote access error; any
	 * other failure is not the kernel's revocation, and the demo says so. */
	if (wc.status != IBV_WC_REM_ACCESS_ERR) {
		fprintf(stderr, "client: record %d failed with %s, not the remote access "
			"error of a revoked registration\n", n, ibv_wc_status_str(wc.status));
		return 1;
	}
	printf("client: record %d failed at +%.2f s: %s -- the kernel revoked the "
	       "registration\n", n, mapdirect_now() - t0, ibv_wc_status_str(wc.status));
	while (access(argv[3], F_OK))
		usleep(20000);
	printf("client: the connection is in the error state now, as after any remote "
	       "access error: the old key reaches nothing\n");
	ibv_dereg_mr(mr);
	ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(cbuf);
	return 0;
}
