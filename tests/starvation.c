// SPDX-License-Identifier: MIT
/*
 * starvation: a holder that re-maps as soon as it is told to let go must
 * not starve a breaker (the design's invariant 4, "Bounded": a breaker
 * waits at most lease-break-time plus a small constant, whatever holders
 * do).
 *
 * H maps F (1 MiB, written and zeroed) MAP_DIRECT; whenever it gets SIGIO
 * it unmaps and at once maps again (retrying EAGAIN in a tight loop), for
 * the whole test, and counts the breaks and re-maps.  W, holding no lease,
 * does NWRITES operations that must break H's lease, each started while H
 * holds a mapping, with lease-break-time 2 s:
 *
 *   extend     pwrite() 4 KiB at EOF: the file grows by 4 KiB each time
 *              (XFS breaks in xfs_file_write_checks());
 *   hole       pwrite() 4 KiB into the hole past 1 MiB (F was extended by
 *              ftruncate() first: XFS breaks in ->iomap_begin);
 *   truncate   ftruncate() 4 KiB off the end of F (1 MiB + NWRITES * 4 KiB
 *              written; H maps the first MiB).
 *
 * Each call must return within lease-break-time + 1 s, and H must have
 * been told to let go at least once per call (else nothing was measured).
 * The output gives, per variant, H's re-maps, the slowest call, the total,
 * and the most breaks one call went through: more than 1 means H took a
 * new lease after the call's break ended and before it changed the block
 * map, and the call had to break again.  A breaker keeps new leases out
 * once it has waited (mapdirect_break_hold()), so no call may go through
 * more than MAX_BREAKS: without that, a holder that re-maps at once wins
 * the race again and again, and a call breaks as often as it likes.
 *
 * The *_gap tests make the race certain: the test knob
 * mapdirect.test_relock_delay_ms (CONFIG_MAP_DIRECT_DEBUG) holds each
 * breaker GAP_MS between the end of its wait and re-locking, time enough
 * for H to map again every time unless the breaker keeps new leases out.
 * Without that, every such call breaks again and again until STUCK.
 *
 * A call still running STUCK seconds after it started fails the test: H is
 * then stopped and the output says whether the call finished once H no
 * longer re-mapped (starvation) or not even then (a hang); both are killed
 * either way, so the test fails instead of hanging.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/starvation (-l lists them).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN	   (1u << 20)
#define STEP	   4096u
#define NWRITES	   20
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define GAP_KNOB   "/sys/module/mapdirect/parameters/test_relock_delay_ms"
#define GAP_MS	   20		/* the *_gap tests: H re-maps well within it */
#define BT	   2		/* lease-break-time for the test, seconds */
#define SLACK	   1.0		/* "a small constant" */
#define STUCK	   15.0		/* a call this old is starved or hung */
#define MAX_BREAKS 2		/* breaks one call may go through */

enum op { OP_EXTEND, OP_HOLE, OP_TRUNCATE };
static const char *const op_name[] = { "extend", "hole", "truncate" };

/* Shared by the test, H and W (MAP_SHARED | MAP_ANONYMOUS). */
struct shared {
	atomic_int stop;	/* H: unmap and exit */
	atomic_int mapped;	/* H holds a mapping now */
	atomic_long sigios;	/* breaks H was told of */
	atomic_long remaps;	/* mappings H made again after a SIGIO */
	atomic_long eagains;	/* mmap() EAGAINs while re-mapping */
	atomic_int h_errno;	/* H failed with this errno (mmap, munmap) */
	double h_max_gap;	/* H's longest SIGIO-to-new-mapping time */

	atomic_int in_call;	/* W: 1 + the call running now, or 0 */
	double call_start;	/* when it started */
	atomic_int done;	/* calls finished */
	atomic_int w_errno;	/* W's call failed with this errno */
	atomic_int w_nolease;	/* W: H did not map again within 5 s */
	double dt[NWRITES];	/* how long each call took */
	long breaks[NWRITES];	/* how many breaks H saw during it */
};

static void holder(struct shared *sh, const char *path)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	sigset_t set;
	siginfo_t si;
	void *map;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		sh->h_errno = errno;
		_exit(1);
	}
	/* SIGIO stays pending until sigtimedwait() takes it: none is lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	if (map == MAP_FAILED) {
		sh->h_errno = errno;
		_exit(1);
	}
	sh->mapped = 1;
	while (!sh->stop) {
		double t0;

		if (sigtimedwait(&set, &si, &tick) != SIGIO)
			continue;
		t0 = now();
		sh->sigios++;
		sh->mapped = 0;
		if (munmap(map, LEN)) {
			sh->h_errno = errno;
			_exit(1);
		}
		for (;;) {
			map = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
			if (map != MAP_FAILED)
				break;
			if (errno != EAGAIN) {
				sh->h_errno = errno;
				_exit(1);
			}
			sh->eagains++;
			if (sh->stop)
				_exit(0);
		}
		if (now() - t0 > sh->h_max_gap)
			sh->h_max_gap = now() - t0;
		sh->remaps++;
		sh->mapped = 1;
	}
	munmap(map, LEN);
	_exit(0);
}

static void writer(struct shared *sh, const char *path, enum op op)
{
	static char buf[STEP];
	off_t size = op == OP_TRUNCATE ? LEN + NWRITES * STEP : LEN;
	int fd, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		sh->w_errno = errno;
		_exit(1);
	}
	memset(buf, 'w', sizeof(buf));
	for (i = 0; i < NWRITES; i++) {
		double t0 = now();
		long b0;
		int rc;

		/* Every call starts with H's lease in place. */
		while (!sh->mapped && now() < t0 + 5)
			usleep(100);
		if (!sh->mapped) {
			sh->w_nolease = 1;
			_exit(1);
		}
		b0 = sh->sigios;
		sh->call_start = now();
		sh->in_call = i + 1;
		switch (op) {
		case OP_EXTEND:
			rc = pwrite(fd, buf, STEP, size) == STEP ? 0 : -1;
			size += STEP;
			break;
		case OP_HOLE:
			rc = pwrite(fd, buf, STEP, LEN + 2 * i * STEP) == STEP ? 0 : -1;
			break;
		default:
			size -= STEP;
			rc = ftruncate(fd, size);
			break;
		}
		sh->dt[i] = now() - sh->call_start;
		sh->breaks[i] = sh->sigios - b0;
		sh->in_call = 0;
		if (rc) {
			sh->w_errno = errno ? errno : EIO;
			_exit(1);
		}
		sh->done = i + 1;
	}
	_exit(0);
}

/* Reap @pid, waiting at most @secs: 1 if it exited with status 0. */
static int reap(pid_t pid, double secs)
{
	double t0 = now();
	int status;

	do {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && !WEXITSTATUS(status);
		if (r < 0)
			return 0;
		usleep(2000);
	} while (now() < t0 + secs);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

static void run(const char *dir, const char *fs, enum op op, int gap_ms)
{
	size_t flen = op == OP_TRUNCATE ? LEN + NWRITES * STEP : LEN;
	double t0, total = 0, slowest = 0;
	int i, slow_i = 0, w_ok = 0, h_ok, stuck = 0, wstatus = 0;
	long max_breaks = 0, multi = 0;
	char path[4096], name[64];
	struct shared *sh;
	pid_t h, w;
	int fd;

	set_knob(BREAK_TIME, BT);
	set_knob(GAP_KNOB, gap_ms);
	snprintf(name, sizeof(name), "starvation-%s.dat", op_name[op]);
	fd = dax_make_file(dir, name, flen, path, sizeof(path));
	if (op == OP_HOLE)
		CHECK(ftruncate(fd, 2 * LEN + 2 * NWRITES * STEP) == 0 && fsync(fd) == 0,
		      "extend %s with a hole past 1 MiB: %s", path, strerror(errno));
	close(fd);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED, "shared memory: %s", strerror(errno));
	memset(sh, 0, sizeof(*sh));

	h = fork();
	CHECK_SYS(h);
	if (!h)
		holder(sh, path);
	t0 = now();
	while (!sh->mapped && !sh->h_errno && now() < t0 + 10)
		usleep(1000);
	if (!sh->mapped) {
		kill(h, SIGKILL);
		waitpid(h, NULL, 0);
		FAIL("the holder could not map %s MAP_DIRECT: %s", path,
		     sh->h_errno ? strerror(sh->h_errno) : "no mapping after 10 s");
	}

	w = fork();
	CHECK_SYS(w);
	if (!w)
		writer(sh, path, op);
	t0 = now();
	for (;;) {
		pid_t r = waitpid(w, &wstatus, WNOHANG);
		int c = sh->in_call;

		if (r == w || r < 0) {
			w_ok = r == w && WIFEXITED(wstatus) && !WEXITSTATUS(wstatus);
			break;
		}
		if (c && now() - sh->call_start > STUCK) {
			stuck = c;
			break;
		}
		if (now() > t0 + NWRITES * (BT + SLACK) + 30) {
			kill(w, SIGKILL);
			kill(h, SIGKILL);
			waitpid(w, NULL, 0);
			waitpid(h, NULL, 0);
			FAIL("%s %s: the writer did not finish within %.0f s (%d calls done)",
			     fs, op_name[op], NWRITES * (BT + SLACK) + 30, sh->done);
		}
		usleep(10000);
	}
	if (stuck) {
		long b = sh->sigios, remaps = sh->remaps;
		double age = now() - sh->call_start, t_stop = now();
		int finished;

		/* Stop re-mapping: does the call finish now? */
		sh->stop = 1;
		while (sh->in_call == stuck && now() < t_stop + BT + 5)
			usleep(2000);
		finished = sh->in_call != stuck;
		kill(w, SIGKILL);
		kill(h, SIGKILL);
		waitpid(w, NULL, 0);
		waitpid(h, NULL, 0);
		unlink(path);
		FAIL("%s %s: call %d (%s) still running %.1f s after it started "
		     "(lease-break-time %d s): it broke %ld leases the holder kept "
		     "re-taking (%ld re-maps so far); once the holder stopped "
		     "re-mapping it %s", fs, op_name[op], stuck,
		     op == OP_TRUNCATE ? "ftruncate" : "pwrite", age, BT,
		     b, remaps,
		     finished ? "returned at once: the writer is starved" :
				"still did not return: hung");
	}
	/* Let H re-map after the last break, then stop it. */
	usleep(200000);
	sh->stop = 1;
	h_ok = reap(h, 5);

	for (i = 0; i < sh->done; i++) {
		total += sh->dt[i];
		if (sh->dt[i] > slowest) {
			slowest = sh->dt[i];
			slow_i = i + 1;
		}
		if (sh->breaks[i] > max_breaks)
			max_breaks = sh->breaks[i];
		multi += sh->breaks[i] > 1;
	}
	printf("%s %s: %d calls, total %.3f s, slowest #%d %.3f s; holder: %ld "
	       "breaks, %ld re-maps (%ld EAGAIN retries, longest SIGIO-to-map %.1f ms); "
	       "at most %ld breaks in one call, %ld calls broke more than once\n",
	       fs, op_name[op], sh->done, total, slow_i, slowest, (long)sh->sigios,
	       (long)sh->remaps, (long)sh->eagains, sh->h_max_gap * 1e3, max_breaks, multi);
	for (i = 0; i < sh->done; i++)
		printf("  call %2d: %.3f s, %ld break%s\n", i + 1, sh->dt[i], sh->breaks[i],
		       sh->breaks[i] == 1 ? "" : "s");

	CHECK(!sh->w_nolease, "%s %s: the holder did not map again within 5 s of a "
	      "break (after %d calls): nothing left to break", fs, op_name[op], sh->done);
	CHECK(!sh->w_errno && w_ok, "%s %s: call %d failed: %s", fs, op_name[op],
	      sh->done + 1, sh->w_errno ? strerror(sh->w_errno) : "the writer died");
	CHECK(!sh->h_errno && h_ok, "%s %s: the holder failed: %s", fs, op_name[op],
	      sh->h_errno ? strerror(sh->h_errno) : "it died or did not stop");
	CHECK(sh->done == NWRITES, "%s %s: only %d of %d calls done", fs, op_name[op],
	      sh->done, NWRITES);
	for (i = 0; i < NWRITES; i++) {
		CHECK(sh->breaks[i] >= 1, "%s %s: call %d broke no lease: the holder's "
		      "mapping was not there, the test measured nothing", fs, op_name[op], i + 1);
		/*
		 * The bound: the breaks of the leases present when the call
		 * started, plus, on XFS, those of a holder that re-mapped
		 * between the end of xfs_file_write_checks()' wait and
		 * ->iomap_begin; after that the breaker keeps new leases out.
		 */
		CHECK(sh->breaks[i] <= MAX_BREAKS, "%s %s: call %d broke %ld leases: "
		      "the holder got a new lease %ld times while the call was "
		      "breaking (at most %d breaks per call)", fs, op_name[op], i + 1,
		      sh->breaks[i], sh->breaks[i] - 1, MAX_BREAKS);
		CHECK(sh->dt[i] <= BT + SLACK, "%s %s: call %d took %.2f s, more than "
		      "lease-break-time (%d s) + %.0f s, through %ld breaks of leases the "
		      "holder re-took", fs, op_name[op], i + 1, sh->dt[i], BT, SLACK,
		      sh->breaks[i]);
	}
	CHECK(total <= NWRITES * (BT + SLACK), "%s %s: the %d calls took %.2f s in all",
	      fs, op_name[op], NWRITES, total);
	CHECK(sh->remaps >= NWRITES, "%s %s: the holder re-mapped only %ld times for %d "
	      "breaking calls: it did not keep re-taking the lease", fs, op_name[op],
	      (long)sh->remaps, NWRITES);
	unlink(path);
	munmap(sh, sizeof(*sh));
}

static const char *fs_name(const char *dir_env)
{
	return strstr(dir_env, "XFS") ? "xfs" : "ext4";
}

MAPDIRECT_FIXTURE(starvation)
FIXTURE_VARIANT_ADD(starvation, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(starvation, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(starvation, extend, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_EXTEND, 0);
}

TEST_F_TIMEOUT(starvation, extend_gap, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_EXTEND, GAP_MS);
}

TEST_F_TIMEOUT(starvation, hole, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_HOLE, 0);
}

TEST_F_TIMEOUT(starvation, hole_gap, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_HOLE, GAP_MS);
}

TEST_F_TIMEOUT(starvation, truncate, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_TRUNCATE, 0);
}

TEST_F_TIMEOUT(starvation, truncate_gap, MAPDIRECT_TIMEOUT)
{
	run(self->dir, fs_name(variant->at.dir_env), OP_TRUNCATE, GAP_MS);
}

TEST_HARNESS_MAIN
