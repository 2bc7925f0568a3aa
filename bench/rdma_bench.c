// SPDX-License-Identifier: MIT
/*
 * rdma_bench DIR DEVDAX BIGDIR: RDMA into persistent memory, in the VM
 * (Soft-RoCE).
 * Every figure is measured in this one run, the three ways interleaved
 * round by round; ratios compare medians.
 *
 *  1. RDMA WRITE throughput, 1 MiB writes from rxe1 into 32 MiB on rxe0:
 *     a. direct:  into a MAP_DIRECT mapping of a file on DIR (fs-DAX),
 *                 zero copy: the data is in the file when the write ends;
 *     b. staged:  into DRAM, then copied into the same file through a
 *                 MAP_SYNC mapping and flushed with mapdirect_persist()
 *                 (clwb, clflushopt or clflush, and sfence):
 *                 today's only way to get RDMA data into an fs-DAX file;
 *     c. devdax:  into a mapping of the device-dax device DEVDAX.
 *  2. Revocation: a MAP_DIRECT registration of REVOKE_MB MiB of a file on
 *     BIGDIR is revoked by a truncate with lease-break-time 1 s; the
 *     truncate's time beyond 1 s is what revoking the registration (and
 *     the truncate) costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_verbs.h>

#include "bench.h"
#include "lib/rpair.h"
#include <mapdirect.h>

#define CHUNK (1u << 20)
#define REGION (32u << 20)
#define ROUNDS 3
#define REVOKE_MB 1024
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static struct rpair p;
static struct ibv_mr *cmr;
static char *cbuf;

/* A file of @len written (allocated) bytes in @dir. */
static int make_file(const char *dir, const char *name, size_t len, char *path)
{
	char *zero = calloc(1, CHUNK);
	int fd;

	snprintf(path, 4096, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || !zero)
		die(path);
	for (size_t off = 0; off < len; off += CHUNK)
		if (pwrite(fd, zero, CHUNK, off) != CHUNK)
			die("preallocate");
	if (fsync(fd))
		die("fsync");
	free(zero);
	return fd;
}

static void *map(int fd, size_t len, int flags)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (m == MAP_FAILED)
		die("mmap");
	return m;
}

static struct ibv_mr *reg(void *addr, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(p.srv->pd, addr, len, ACCESS);

	if (!mr)
		die("ibv_reg_mr");
	return mr;
}

static void rdma_write(void *raddr, uint32_t rkey)
{
	struct ibv_wc wc;

	if (rdma_post_write(p.cli, NULL, cbuf, CHUNK, cmr, IBV_SEND_SIGNALED,
			    (uintptr_t)raddr, rkey) ||
	    rdma_get_send_comp(p.cli, &wc) <= 0 || wc.status != IBV_WC_SUCCESS)
		die("RDMA WRITE");
}

/* MB/s of REGION written in CHUNK writes; @copy_to: stage and copy+flush. */
static double run(char *raddr, uint32_t rkey, char *copy_to)
{
	double t0 = now();

	for (size_t off = 0; off < REGION; off += CHUNK) {
		rdma_write(raddr + off, rkey);
		if (copy_to) {
			memcpy(copy_to + off, raddr + off, CHUNK);
			mapdirect_persist(copy_to + off, CHUNK);
		}
	}
	return REGION / (now() - t0) / 1e6;
}

static void bench_throughput(const char *dir, const char *devdax)
{
	double direct[ROUNDS], staged[ROUNDS], ddax[ROUNDS], d, s, x;
	char path[4096], *fmap, *smap, *dram, *dmap;
	struct ibv_mr *fmr, *dmr, *xmr;
	int fd = make_file(dir, "rdma-bench.dat", REGION, path);
	int xfd = open(devdax, O_RDWR);

	if (xfd < 0)
		die(devdax);
	fmap = map(fd, REGION, MAP_SHARED_VALIDATE | MAP_DIRECT);
	smap = map(fd, REGION, MAP_SHARED_VALIDATE | MAP_SYNC);
	dram = map(-1, REGION, MAP_PRIVATE | MAP_ANONYMOUS);
	dmap = map(xfd, REGION, MAP_SHARED);
	memset(dram, 0, REGION);
	fmr = reg(fmap, REGION);
	dmr = reg(dram, REGION);
	xmr = reg(dmap, REGION);
	memset(cbuf, 0x42, CHUNK);
	for (int r = 0; r < ROUNDS; r++) {
		direct[r] = run(fmap, fmr->rkey, NULL);
		staged[r] = run(dram, dmr->rkey, smap);
		ddax[r] = run(dmap, xmr->rkey, NULL);
	}
	if (memcmp(smap + REGION - CHUNK, cbuf, CHUNK))
		die("the data is not in the file");
	d = median(direct, ROUNDS);
	s = median(staged, ROUNDS);
	x = median(ddax, ROUNDS);
	printf("  RDMA WRITE, 1 MiB writes into %u MiB (median of %d rounds):\n",
	       REGION >> 20, ROUNDS);
	printf("    MAP_DIRECT fs-DAX, zero copy      %7.1f MB/s\n", d);
	printf("    DRAM, then copy + flush to file   %7.1f MB/s  -> MAP_DIRECT is %.2fx\n",
	       s, d / s);
	printf("    device-dax                        %7.1f MB/s  -> MAP_DIRECT is %.2fx\n",
	       x, d / x);
	ibv_dereg_mr(fmr);
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(xmr);
	munmap(fmap, REGION);
	munmap(smap, REGION);
	munmap(dram, REGION);
	munmap(dmap, REGION);
	close(xfd);
	close(fd);
	unlink(path);
}

static void bench_revoke(const char *dir)
{
	size_t len = (size_t)REVOKE_MB << 20;
	char path[4096], *m;
	struct ibv_mr *mr;
	double t0, treg, ttrunc;
	int fd = make_file(dir, "rdma-bench-revoke.dat", len, path), status;
	pid_t pid;

	signal(SIGIO, SIG_IGN);		/* nobody lets go: the kernel revokes */
	set_break_time(1);
	m = map(fd, len, MAP_SHARED_VALIDATE | MAP_DIRECT);
	t0 = now();
	mr = reg(m, len);
	treg = now() - t0;
	t0 = now();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		_exit(munmap(m, len) || ftruncate(fd, 0) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("truncate");
	ttrunc = now() - t0;
	printf("  revoking a %d MiB MAP_DIRECT registration (registering it took %.2f s):\n"
	       "    truncate took %.2f s with lease-break-time 1 s -> %.2f s for the revocation and the truncate\n",
	       REVOKE_MB, treg, ttrunc, ttrunc - 1);
	ibv_dereg_mr(mr);
	munmap(m, len);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	const char *srv = getenv("MAPDIRECT_RXE0_ADDR");
	const char *cli = getenv("MAPDIRECT_RXE1_ADDR");

	if (argc != 4) {
		fprintf(stderr, "usage: rdma_bench DIR DEVDAX BIGDIR   (in the VM; root)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!srv || !cli || rpair_connect(&p, srv, cli, "7490"))
		die("connect rxe1 -> rxe0 (run in the VM)");
	cbuf = aligned_alloc(4096, CHUNK);
	if (!cbuf || !(cmr = ibv_reg_mr(p.cli->pd, cbuf, CHUNK, ACCESS)))
		die("client buffer");
	printf("RDMA (Soft-RoCE, rxe1 -> rxe0):\n");
	bench_throughput(argv[1], argv[2]);
	bench_revoke(argv[3]);
	ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(cbuf);
	return 0;
}
