// SPDX-License-Identifier: MIT
/*
 * mapdirect_bench DIR: measure MAP_DIRECT on a DAX file system, in the VM.
 * Every figure is measured in this one run; ratios compare things measured
 * side by side (interleaved rounds).  Each figure is printed for people and
 * as an "@result" line for bench/report.py (build/bench/results.json).
 *
 *  1. mmap+munmap of 2 MiB: MAP_DIRECT vs plain MAP_SHARED (both DAX);
 *  2. page faults: a 32 MiB file mapped and written page by page, MAP_DIRECT
 *     vs plain, with the mapping 2 MiB aligned (PMD faults where the blocks
 *     allow) and 4 KiB misaligned (PTE faults); faults per 2 MiB say which;
 *  3. cooperative break: truncate time minus the holder's reaction time
 *     (signal arrival to munmap done), i.e. what the kernel adds;
 *  4. forced break: truncate time against lease-break-time (1 s and 2 s);
 *  5. 4 KiB overwrite with a MAP_DIRECT lease held vs without (interleaved);
 *  6. break latency vs the number of holders (1..64 processes, each with
 *     its own MAP_DIRECT mapping of the file, each unmapping on notice);
 *  7. break latency vs the number of unrelated leased files (1..10,000
 *     small files mapped by another process).
 *
 * mapdirect_bench --costs DIR prints only the cost of ftruncate, 4 KiB
 * overwrite, 4 KiB append and 4 KiB hole punch on a file with no lease, as
 * one "costs DIR T O A P" line (microseconds, medians): bench/stock.sh runs
 * it on a stock and a patched kernel and prints the ratios.
 *
 * mapdirect_bench --count-insns DIR N runs mmap+munmap and 4 KiB
 * overwrites between the markers of the instruction-counting plugin
 * (bench/insns.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include <mapdirect.h>

#define LEN (2UL << 20)
#define FLEN (32UL << 20)	/* the page fault benchmark's file */

static const char *fs;		/* "xfs" or "ext4": the results' prefix */
static char name[128];

static const char *metric(const char *what)
{
	snprintf(name, sizeof(name), "%s/%s", fs, what);
	return name;
}

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
	/*
	 * Short rounds, many of them: a round is a few ms of each kind back
	 * to back, so that a host slowing down under the VM moves both.
	 */
	enum { ROUNDS = 100, N = 100 };
	double plain[ROUNDS], direct[ROUNDS];
	int flags[2] = { MAP_SHARED, MAP_SHARED_VALIDATE | MAP_DIRECT };

	for (int r = 0; r < ROUNDS; r++) {
		for (int kk = 0; kk < 2; kk++) {
			int k = r & 1 ? 1 - kk : kk;	/* each goes first in turn */
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
	result(metric("mmap_munmap_2MiB"), "us", -1, direct, ROUNDS, "plain MAP_SHARED",
	       plain, ROUNDS);
}

/* A file of @len bytes, written, in 2 MiB-aligned extents where it can (PMDs). */
static int make_big_file(const char *path, size_t len)
{
	static char chunk[1 << 20];
	struct fsxattr fa;
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		die(path);
	if (!strcmp(fs, "xfs") && !ioctl(fd, FS_IOC_FSGETXATTR, &fa)) {
		fa.fsx_xflags |= FS_XFLAG_EXTSIZE;
		fa.fsx_extsize = 2 << 20;
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fa))
			die("FS_IOC_FSSETXATTR (extent size hint)");
	}
	/* One allocation (aligned to the file system's 2 MiB stripe), then written. */
	if (fallocate(fd, 0, 0, len))
		die("fallocate");
	for (size_t off = 0; off < len; off += sizeof(chunk))
		if (pwrite(fd, chunk, sizeof(chunk), off) != sizeof(chunk))
			die("preallocate");
	if (fsync(fd))
		die("fsync");
	return fd;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Map @fd's FLEN bytes at a 2 MiB aligned address (+ @skew), write a byte
 * to every 4 KiB page, unmap: MiB/s of the writes (the faults: mmap and
 * munmap are measured apart); faults per 2 MiB in *@per2m.  The writes
 * run between markers @marker and @marker + 1 (0: none; see insn_mark()).
 */
/* Sets fs from @dir's file system. */
static void statfs_fs(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		die(dir);
	fs = sf.f_type == 0x58465342 ? "xfs" : sf.f_type == 0xEF53 ? "ext4" : "other";
}

static double touch(int fd, int flags, size_t skew, double *per2m, int marker)
{
	char *area = mmap(NULL, FLEN + (4UL << 20), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	long f0;
	double t0, t;

	if (area == MAP_FAILED)
		die("mmap (address space)");
	p = (char *)(((unsigned long)area + (2UL << 20) - 1) & ~((2UL << 20) - 1)) + skew;
	if (mmap(p, FLEN - skew, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) != p)
		die("mmap (fault benchmark)");
	f0 = minflt();
	t0 = now();
	insn_mark(marker);
	for (size_t off = 0; off < FLEN - skew; off += 4096)
		p[off] = 1;
	insn_mark(marker + 1);
	t = now() - t0;
	munmap(p, FLEN - skew);
	*per2m = (double)(minflt() - f0) / ((FLEN - skew) >> 21);
	munmap(area, FLEN + (4UL << 20));
	return (FLEN - skew) / t / (1 << 20);
}

static void bench_faults(const char *dir)
{
	/* Per-round ratios of 4 KiB faults spread 0.7-1.7 under TCG: many rounds. */
	enum { ROUNDS = 21 };
	int flags[2] = { MAP_SHARED, MAP_SHARED_VALIDATE | MAP_DIRECT };
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/mapdirect-bench-faults.dat", dir);
	fd = make_big_file(path, FLEN);
	for (int pmd = 1; pmd >= 0; pmd--) {
		double mbs[2][ROUNDS], per[2][ROUNDS];

		for (int r = 0; r < ROUNDS; r++)
			for (int kk = 0; kk < 2; kk++) {
				int k = r & 1 ? 1 - kk : kk;	/* each goes first in turn */

				mbs[k][r] = touch(fd, flags[k], pmd ? 0 : 4096, &per[k][r], 0);
			}
		printf("  page faults, %s: plain %.0f MiB/s (%.0f faults/2 MiB), MAP_DIRECT "
		       "%.0f MiB/s (%.0f faults/2 MiB) -> %.2fx\n",
		       pmd ? "2 MiB aligned" : "4 KiB misaligned", median(mbs[0], ROUNDS),
		       median(per[0], ROUNDS), median(mbs[1], ROUNDS), median(per[1], ROUNDS),
		       median(mbs[1], ROUNDS) / median(mbs[0], ROUNDS));
		result(metric(pmd ? "fault_2MiB_aligned" : "fault_4KiB"), "MiB/s", -1, mbs[1],
		       ROUNDS, "plain MAP_SHARED", mbs[0], ROUNDS);
		result(metric(pmd ? "faults_per_2MiB_aligned" : "faults_per_2MiB_4KiB"),
		       "faults", -1, per[1], ROUNDS, "plain MAP_SHARED", per[0], ROUNDS);
	}
	close(fd);
	unlink(path);
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
	result(metric("break_cooperative"), "ms", -1, kernel, ROUNDS, NULL, NULL, 0);

	for (int secs = 1; secs <= 2; secs++) {
		double t;

		set_break_time(secs);
		double b = secs;

		t = timed_break(path, 0, &react);
		printf("  forced break: lease-break-time %d s, truncate took %.3f s -> %.3fx\n",
		       secs, t, t / secs);
		result(metric("break_forced"), "s", secs, &t, 1, "lease-break-time", &b, 1);
	}
}

/* 4 KiB overwrites with a MAP_DIRECT lease held and without, interleaved. */
static void bench_overwrite(const char *path)
{
	enum { ROUNDS = 15, N = 2000 };
	static char buf[4096];
	double plain[ROUNDS], leased[ROUNDS];
	int fd = make_file(path);

	for (int r = 0; r < ROUNDS; r++) {
		for (int kk = 0; kk < 2; kk++) {
			int k = r & 1 ? 1 - kk : kk;	/* each goes first in turn */
			char *p = NULL;
			double t0;

			if (k) {
				p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
					 MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
				if (p == MAP_FAILED)
					die("mmap(MAP_DIRECT)");
			}
			t0 = now();
			for (int i = 0; i < N; i++)
				if (pwrite(fd, buf, sizeof(buf), 4096 * (i % 64)) != sizeof(buf))
					die("pwrite");
			(k ? leased : plain)[r] = (now() - t0) / N * 1e6;
			if (p)
				munmap(p, LEN);
		}
	}
	close(fd);
	printf("  4 KiB overwrite: %.1f us, with a MAP_DIRECT lease held %.1f us -> %.2fx\n",
	       median(plain, ROUNDS), median(leased, ROUNDS),
	       median(leased, ROUNDS) / median(plain, ROUNDS));
	result(metric("overwrite_4KiB_leased"), "us", -1, leased, ROUNDS, "no lease", plain,
	       ROUNDS);
}

static sig_atomic_t volatile noticed;
static void on_notice(int sig)
{
	(void)sig;
	noticed = 1;
}

/*
 * @n processes, each with its own MAP_DIRECT mapping of @path, each
 * unmapping when notified: the truncate's time (ms).
 */
static double break_holders(const char *path, int n)
{
	int rdy[2], fd;
	pid_t pids[n];
	double t0, t;
	char c;

	if (pipe(rdy))
		die("pipe");
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i]) {
			sigset_t block, old;
			char *p;

			close(rdy[0]);
			sigemptyset(&block);
			sigaddset(&block, SIGIO);
			sigprocmask(SIG_BLOCK, &block, &old);
			signal(SIGIO, on_notice);
			fd = open(path, O_RDWR);
			p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				 MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
			if (p == MAP_FAILED || write(rdy[1], "r", 1) != 1)
				_exit(1);
			while (!noticed)
				sigsuspend(&old);
			munmap(p, LEN);
			_exit(0);
		}
	}
	close(rdy[1]);
	for (int i = 0; i < n; i++)
		if (!readable(rdy[0], 60) || read(rdy[0], &c, 1) != 1)
			die("a holder did not start");
	close(rdy[0]);
	fd = open(path, O_RDWR);
	t0 = now();
	if (ftruncate(fd, LEN))
		die("ftruncate");
	t = (now() - t0) * 1e3;
	close(fd);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	return t;
}

static void bench_holders(const char *path)
{
	enum { ROUNDS = 5 };
	static const int ns[] = { 1, 4, 16, 64 };

	set_break_time(30);
	printf("  break latency vs holders (processes, each its own mapping; median of %d):\n",
	       ROUNDS);
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		double t[ROUNDS];

		for (int r = 0; r < ROUNDS; r++)
			t[r] = break_holders(path, ns[k]);
		printf("    %2d holders: %.1f ms\n", ns[k], median(t, ROUNDS));
		result(metric("break_holders"), "ms", ns[k], t, ROUNDS, NULL, NULL, 0);
	}
}

/*
 * Break latency on one file while another process holds MAP_DIRECT
 * leases on @k other (4 KiB) files: it must not grow with them.
 */
static void bench_leased_files(const char *dir, const char *path)
{
	enum { ROUNDS = 5 };
	static const int ks[] = { 1, 100, 1000, 10000 };
	char f[4096], c;

	set_break_time(30);
	printf("  break latency vs unrelated leased files (median of %d):\n", ROUNDS);
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		int k = ks[i], rdy[2];
		double t[ROUNDS], react;
		pid_t pid;

		if (pipe(rdy))
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			static char page[4096];

			close(rdy[0]);
			for (int j = 0; j < k; j++) {
				int fd;

				snprintf(f, sizeof(f), "%s/mapdirect-bench-lease.%d", dir, j);
				fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
				if (fd < 0 || pwrite(fd, page, sizeof(page), 0) != sizeof(page) ||
				    mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0) == MAP_FAILED)
					_exit(1);
				close(fd);
			}
			if (write(rdy[1], "r", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(rdy[1]);
		if (!readable(rdy[0], 600) || read(rdy[0], &c, 1) != 1)
			die("the holder of the other leases did not start");
		close(rdy[0]);
		for (int r = 0; r < ROUNDS; r++)
			t[r] = (timed_break(path, 1, &react) - react) * 1e3;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		for (int j = 0; j < k; j++) {
			snprintf(f, sizeof(f), "%s/mapdirect-bench-lease.%d", dir, j);
			unlink(f);
		}
		printf("    %5d leased files: %.2f ms\n", k, median(t, ROUNDS));
		result(metric("break_unrelated_leases"), "ms", k, t, ROUNDS, NULL, NULL, 0);
	}
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

static void mmap_loop(int fd, int flags, int n)
{
	for (int i = 0; i < n; i++) {
		void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);

		if (p == MAP_FAILED)
			die(flags & MAP_DIRECT ? "mmap(MAP_DIRECT)" : "mmap");
		munmap(p, LEN);
	}
}

static void overwrite_loop(int fd, int n)
{
	static char buf[4096];

	for (int i = 0; i < n; i++)
		if (pwrite(fd, buf, sizeof(buf), 4096 * (i % 64)) != sizeof(buf))
			die("pwrite");
}

/*
 * For bench/insns.sh, under bench/qemu_insns.c: ROUNDS rounds of each
 * figure and its baseline, each going first in turn, between their
 * markers (see insn_mark()): @n plain and @n MAP_DIRECT mmap+munmap; @n 4 KiB
 * overwrites without and with a MAP_DIRECT lease held; a byte written to
 * every 4 KiB page of a FLEN file mapped plain and MAP_DIRECT, 2 MiB
 * aligned and not.  Prints "@insns-n MARKER OPS" for each figure: the
 * operations between its markers.
 */
static void count_insns(const char *dir, int fd, int n)
{
	enum { ROUNDS = 5 };
	int flags[2] = { MAP_SHARED, MAP_SHARED_VALIDATE | MAP_DIRECT };
	char path[4096];
	double per2m;
	int bigfd;
	void *p;

	insn_mark(9);
	for (int r = 0; r < ROUNDS; r++)
		for (int kk = 0; kk < 2; kk++) {
			int k = r & 1 ? 1 - kk : kk;

			insn_mark(1 + 2 * k);
			mmap_loop(fd, flags[k], n);
			insn_mark(2 + 2 * k);
		}
	for (int r = 0; r < ROUNDS; r++)
		for (int kk = 0; kk < 2; kk++) {
			if ((r & 1) == kk) {
				insn_mark(5);
				overwrite_loop(fd, n);
				insn_mark(6);
				continue;
			}
			p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags[1], fd, 0);
			if (p == MAP_FAILED)
				die("mmap(MAP_DIRECT)");
			insn_mark(7);
			overwrite_loop(fd, n);
			insn_mark(8);
			munmap(p, LEN);
		}
	snprintf(path, sizeof(path), "%s/mapdirect-bench-faults.dat", dir);
	bigfd = make_big_file(path, FLEN);
	for (int pmd = 1; pmd >= 0; pmd--)
		for (int r = 0; r < ROUNDS; r++)
			for (int kk = 0; kk < 2; kk++) {
				int k = r & 1 ? 1 - kk : kk;

				touch(bigfd, flags[k], pmd ? 0 : 4096, &per2m,
				      (pmd ? 11 : 15) + 2 * k);
			}
	close(bigfd);
	unlink(path);
	for (int m = 1; m <= 7; m += 2)
		printf("@insns-n %d %d\n", m, n);
	printf("@insns-n 11 %lu\n@insns-n 13 %lu\n", FLEN >> 12, FLEN >> 12);
	printf("@insns-n 15 %lu\n@insns-n 17 %lu\n", (FLEN - 4096) >> 12,
	       (FLEN - 4096) >> 12);
}

int main(int argc, char **argv)
{
	const char *dir = argv[argc - 1];
	char path[4096];
	int fd;

	if (argc == 4 && !strncmp(argv[1], "--mmap-loop", 11)) {
		/* For profiles (bench/profile.sh): N mmap+munmap, MAP_DIRECT or plain. */
		int flags = strcmp(argv[1], "--mmap-loop-plain") ?
			MAP_SHARED_VALIDATE | MAP_DIRECT : MAP_SHARED;

		snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", argv[2]);
		fd = make_file(path);
		mmap_loop(fd, flags, atoi(argv[3]));
		close(fd);
		unlink(path);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--overwrite-loop")) {
		/* For profiles: N 4 KiB overwrites while a MAP_DIRECT lease is held. */
		void *p;

		snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", argv[2]);
		fd = make_file(path);
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT,
			 fd, 0);
		if (p == MAP_FAILED)
			die("mmap(MAP_DIRECT)");
		overwrite_loop(fd, atoi(argv[3]));
		munmap(p, LEN);
		close(fd);
		unlink(path);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--count-insns")) {
		snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", argv[2]);
		statfs_fs(argv[2]);
		fd = make_file(path);
		count_insns(argv[2], fd, atoi(argv[3]));
		close(fd);
		unlink(path);
		return 0;
	}
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
	statfs_fs(dir);
	snprintf(path, sizeof(path), "%s/mapdirect-bench.dat", dir);
	printf("%s (%s):\n", dir, fs);
	fd = make_file(path);
	bench_mmap(fd);
	close(fd);
	bench_faults(dir);
	bench_breaks(path);
	bench_overwrite(path);
	bench_holders(path);
	bench_leased_files(dir, path);
	unlink(path);
	return 0;
}
