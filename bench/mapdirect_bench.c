// SPDX-License-Identifier: MIT
/*
 * mapdirect_bench DIR: measure MAP_DIRECT on a DAX file system, in the VM.
 * Every figure is measured in this one run; ratios compare things measured
 * side by side (interleaved rounds).
 *
 *  1. mmap+munmap of 2 MiB: MAP_DIRECT vs plain MAP_SHARED (both DAX);
 *  2. cooperative break: truncate time minus the holder's reaction time
 *     (signal arrival to munmap done), i.e. what the kernel adds;
 *  3. forced break: truncate time against lease-break-time (1 s and 2 s);
 *  4. truncate and 4 KiB overwrite cost on a file with no lease, and the
 *     overwrite cost while a MAP_DIRECT lease is held (must not break).
 *
 * mapdirect_bench --costs DIR prints only the cost of ftruncate, 4 KiB
 * overwrite, 4 KiB append and 4 KiB hole punch on a file with no lease, as
 * one "costs DIR T O A P" line (microseconds, medians): bench/stock.sh runs
 * it on a stock and a patched kernel and prints the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include <mapdirect.h>

#define LEN (2UL << 20)

static int make_file(const char *path)
{
	static char zero[LEN];
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die(path);
	if (pwrite(fd, zero, LEN, 0) != (ssize_t)LEN || fsync(fd))
		die("preallocate");
	return fd;
}

static void bench_mmap(int fd)
{
	enum { ROUNDS = 20, N = 100 };
	double plain[ROUNDS], direct[ROUNDS];
	int flags[2] = { MAP_SHARED, MAP_SHARED_VALIDATE | MAP_DIRECT };

	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			double t0 = now();

			for (int i = 0; i < N; i++) {
				void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
					       flags[k], fd, 0);

				if (p == MAP_FAILED)
					die(k ? "mmap(MAP_DIRECT)" : "mmap");
				munmap(p, LEN);
			}
			(k ? direct : plain)[r] = (now() - t0) / N * 1e6;
		}
	}
	double mp = median(plain, ROUNDS), md = median(direct, ROUNDS);

	printf("  mmap+munmap 2 MiB:  plain %.1f us, MAP_DIRECT %.1f us  -> %.2fx\n",
	       mp, md, md / mp);
}

static atomic_int got_sig;
static void on_sigio(int sig)
{
	(void)sig;
	atomic_store(&got_sig, 1);
}

/*
 * Holder in a child: maps, waits for the notice, munmaps (or not).  It
 * reports its reaction time (notice seen -> munmap done) on @wfd.
 */
static pid_t start_holder(const char *path, int cooperate, int wfd, int readyfd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	signal(SIGIO, on_sigio);
	int fd = open(path, O_RDWR);
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	double t0, react = 0;

	if (p == MAP_FAILED)
		_exit(1);
	p[0] = 1;
	if (write(readyfd, "r", 1) != 1)
		_exit(1);
	while (!atomic_load(&got_sig))
		;	/* spin: the reaction time must not include a sleep */
	t0 = now();
	if (cooperate) {
		munmap(p, LEN);
		react = now() - t0;
	} else {
		pause();
	}
	if (write(wfd, &react, sizeof(react)) != sizeof(react))
		_exit(1);
	_exit(0);
}

/* Is @fd readable (data or EOF) within @secs? */
static int readable(int fd, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, secs * 1000) == 1;
}

static double timed_break(const char *path, int cooperate, double *react)
{
	int res[2], rdy[2], fd;
	double t0, t1;
	pid_t pid;
	char c;

	if (pipe(res) || pipe(rdy))
		die("pipe");
	pid = start_holder(path, cooperate, res[1], rdy[1]);
	/* Our write ends closed: a holder that dies gives EOF, not a hang. */
	close(res[1]);
	close(rdy[1]);
	if (!readable(rdy[0], 30) || read(rdy[0], &c, 1) != 1)
		die("holder did not start (MAP_DIRECT unsupported?)");
	fd = open(path, O_RDWR);
	t0 = now();
	if (ftruncate(fd, LEN))
		die("ftruncate");
	t1 = now();
	close(fd);
	if (cooperate) {
		if (!readable(res[0], 30) ||
		    read(res[0], react, sizeof(*react)) != sizeof(*react))
			die("holder result");
	} else {
		kill(pid, SIGKILL);
		*react = 0;
	}
	waitpid(pid, NULL, 0);
	close(res[0]);
	close(rdy[0]);
	return t1 - t0;
}

static void bench_breaks(const char *path)
{
	enum { ROUNDS = 7 };
	double total[ROUNDS], kernel[ROUNDS], react;

	set_break_time(30);
	for (int r = 0; r < ROUNDS; r++) {
		total[r] = timed_break(path, 1, &react) * 1e3;
		kernel[r] = total[r] - react * 1e3;
	}
	printf("  cooperative break: truncate %.2f ms, of which the holder's munmap %.2f ms"
	       " -> break latency %.2f ms (median of %d)\n",
	       median(total, ROUNDS), median(total, ROUNDS) - median(kernel, ROUNDS),
	       median(kernel, ROUNDS), ROUNDS);

	for (int secs = 1; secs <= 2; secs++) {
		double t;

		set_break_time(secs);
		t = timed_break(path, 0, &react);
		printf("  forced break: lease-break-time %d s, truncate took %.3f s -> %.3fx\n",
		       secs, t, t / secs);
	}
}

static void bench_no_lease(const char *path)
{
	enum { N = 200 };
	static char buf[4096];
	double t0, tr, tw, twl;
	char *p;
	int fd = make_file(path);

	t0 = now();
	for (int i = 0; i < N; i++)
		if (ftruncate(fd, LEN - 4096 * (i % 2)))
			die("ftruncate");
	tr = (now() - t0) / N * 1e6;
	if (ftruncate(fd, LEN))
		die("ftruncate");
	make_file(path);
	fd = open(path, O_RDWR);
	t0 = now();
	for (int i = 0; i < N; i++)
		if (pwrite(fd, buf, sizeof(buf), 4096 * (i % 64)) != sizeof(buf))
			die("pwrite");
	tw = (now() - t0) / N * 1e6;
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	if (p == MAP_FAILED)
		die("mmap(MAP_DIRECT)");
	t0 = now();
	for (int i = 0; i < N; i++)
		if (pwrite(fd, buf, sizeof(buf), 4096 * (i % 64)) != sizeof(buf))
			die("pwrite");
	twl = (now() - t0) / N * 1e6;
	munmap(p, LEN);
	close(fd);
	printf("  no lease: ftruncate %.1f us, 4 KiB overwrite %.1f us;"
	       " overwrite with a MAP_DIRECT lease held %.1f us -> %.2fx\n",
	       tr, tw, twl, twl / tw);
}

/* Median cost in microseconds of one of @n calls of @op(fd, i), over 5 runs. */
static double cost(const char *path, int n, int (*op)(int fd, int i))
{
	double runs[5];

	for (int r = 0; r < 5; r++) {
		int fd = make_file(path);
		double t0 = now();

		for (int i = 0; i < n; i++)
			if (op(fd, i))
				die("operation");
		runs[r] = (now() - t0) / n * 1e6;
		close(fd);
	}
	return median(runs, 5);
}

static char page[4096];

static int op_truncate(int fd, int i)
{
	return ftruncate(fd, LEN - 4096 * (i % 2));
}

static int op_overwrite(int fd, int i)
{
	return pwrite(fd, page, sizeof(page), 4096 * (i % 64)) != sizeof(page);
}

static int op_append(int fd, int i)
{
	return pwrite(fd, page, sizeof(page), LEN + 4096 * i) != sizeof(page);
}

static int op_punch(int fd, int i)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 4096 * (i % 512), 4096);
}

/* What a file with no lease costs: must not change with the series. */
static void bench_costs(const char *dir, const char *path)
{
	printf("costs %s %.2f %.2f %.2f %.2f\n", dir,
	       cost(path, 200, op_truncate), cost(path, 200, op_overwrite),
	       cost(path, 200, op_append), cost(path, 200, op_punch));
}

int main(int argc, char **argv)
{
	const char *dir = argv[argc - 1];
	char path[4096];
	int fd;

	if (argc == 3 && !strcmp(argv[1], "--costs")) {
		snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", dir);
		bench_costs(dir, path);
		unlink(path);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: mapdirect_bench [--costs] DIR   (DIR on a DAX mount; root)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", argv[1]);
	printf("%s:\n", argv[1]);
	fd = make_file(path);
	bench_mmap(fd);
	close(fd);
	bench_breaks(path);
	bench_no_lease(path);
	unlink(path);
	return 0;
}
