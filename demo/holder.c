// SPDX-License-Identifier: MIT
/*
 * The MAP_DIRECT demo's program A: maps a preallocated DAX file with
 * MAP_DIRECT, writes records into it and makes them durable with cache-line
 * flushes only (no msync, no fsync), then waits for the lease break.
 *
 *   holder FILE cooperate READY   on the break notice: unmap at once
 *   holder FILE ignore READY      on the break notice: keep using the
 *                                 mapping until the kernel revokes it
 *
 * It prints one line per event, with times relative to the notice, and
 * creates the file READY once its records are durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <mapdirect.h>

#define RECORDS 1000
#define RECSZ 64

static atomic_int notified;
static sigjmp_buf bus_jmp;
static double t_notice;		/* when the break notice arrived */

static void on_sigio(int sig)
{
	(void)sig;
	atomic_store(&notified, 1);
}

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct stat st;
	int cooperate, fd;
	char *map;

	if (argc != 4 || (strcmp(argv[2], "cooperate") && strcmp(argv[2], "ignore"))) {
		fprintf(stderr, "usage: holder FILE cooperate|ignore READY\n");
		return 2;
	}
	cooperate = !strcmp(argv[2], "cooperate");
	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sigaction(SIGIO, &sa, NULL);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "A: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "A: mmap(MAP_DIRECT) of %s: %s%s\n", argv[1], strerror(errno),
			errno == EOPNOTSUPP ? " (needs a DAX file and a kernel with MAP_DIRECT)" : "");
		return 1;
	}
	for (int i = 0; i < RECORDS; i++) {
		char *rec = map + (size_t)i * RECSZ;

		snprintf(rec, RECSZ, "record %04d: stored with a cache flush, no msync", i);
		mapdirect_persist(rec, RECSZ);
	}
	printf("A: mapped %s with MAP_DIRECT; %d records durable with %s + sfence only\n",
	       argv[1], RECORDS, mapdirect_persist_method());
	close(open(argv[3], O_CREAT | O_WRONLY, 0644));

	while (!atomic_load(&notified))
		usleep(1000);
	t_notice = mapdirect_now();
	printf("A: got SIGIO: the file's block map is needed back\n");

	if (cooperate) {
		munmap(map, st.st_size);
		printf("A: unmapped (%.0f ms after the notice)\n", (mapdirect_now() - t_notice) * 1e3);
		return 0;
	}
	printf("A: ignoring it and still using the mapping...\n");
	if (sigsetjmp(bus_jmp, 1)) {
		printf("A: SIGBUS %.1f s after the notice: the kernel revoked the mapping\n",
		       mapdirect_now() - t_notice);
		return 0;
	}
	for (;;) {
		__atomic_store_n(map, 'r', __ATOMIC_RELAXED);
		mapdirect_persist(map, 1);
		usleep(10000);
	}
}
