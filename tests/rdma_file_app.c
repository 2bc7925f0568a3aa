// SPDX-License-Identifier: MIT
/*
 * rdma_file_app: an ordinary RDMA program that uses a file as its buffer,
 * written as if MAP_DIRECT did not exist: it maps FILE with MAP_SHARED,
 * registers the mapping on the server side of an rxe1 -> rxe0 connection,
 * has the client RDMA WRITE a pattern into it, and checks with pread()
 * that the pattern is in the file.  Then, with "wait", it keeps the
 * registration until stdin closes.  On fs-DAX the registration fails
 * (EOPNOTSUPP) unless it runs under `mapdirect run`; tests/mapdirect_run.sh
 * runs it both ways.  Built without sanitizers: `mapdirect run` preloads
 * a library, which ASan's runtime does not allow in front of it.
 *
 * usage: rdma_file_app FILE [wait]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/rpair.h"

#define LEN (1u << 20)

int main(int argc, char **argv)
{
	const char *srv = getenv("MAPDIRECT_RXE0_ADDR"), *cli = getenv("MAPDIRECT_RXE1_ADDR");
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	unsigned char *buf, *src, *back;
	struct ibv_mr *mr, *smr;
	struct rpair p;
	int fd, st;

	if (argc < 2 || !srv || !cli) {
		fprintf(stderr, "usage: rdma_file_app FILE [wait] (in the mapdirect VM)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, 0) || ftruncate(fd, LEN) || fsync(fd)) {
		perror(argv[1]);
		return 1;
	}
	src = calloc(1, LEN);
	back = calloc(1, LEN);
	if (!src || !back || pwrite(fd, src, LEN, 0) != LEN || fsync(fd)) {
		perror("allocating the file");
		return 1;
	}
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (rpair_connect(&p, srv, cli, "7473"))
		return 1;
	mr = ibv_reg_mr(p.srv->pd, buf, LEN, access);
	if (!mr) {
		fprintf(stderr, "Couldn't register MR on the file: %s\n", strerror(errno));
		return 1;
	}
	smr = ibv_reg_mr(p.cli->pd, src, LEN, access);
	if (!smr) {
		fprintf(stderr, "Couldn't register the source MR: %s\n", strerror(errno));
		return 1;
	}
	for (unsigned int i = 0; i < LEN; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	st = rpair_rdma(&p, IBV_WR_RDMA_WRITE, src, LEN, smr, (uintptr_t)buf, mr->rkey);
	if (st) {
		fprintf(stderr, "RDMA WRITE failed: %s\n", st < 0 ? "post" : ibv_wc_status_str(st));
		return 1;
	}
	if (pread(fd, back, LEN, 0) != LEN || memcmp(back, src, LEN)) {
		fprintf(stderr, "the RDMA WRITE is not in the file\n");
		return 1;
	}
	printf("RDMA WRITE of %u bytes landed in %s\n", LEN, argv[1]);
	if (argc > 2 && !strcmp(argv[2], "wait")) {
		char c;

		printf("waiting\n");
		while (read(0, &c, 1) > 0)
			;
	}
	ibv_dereg_mr(smr);
	ibv_dereg_mr(mr);
	rpair_close(&p);
	munmap(buf, LEN);
	close(fd);
	free(src);
	free(back);
	return 0;
}
