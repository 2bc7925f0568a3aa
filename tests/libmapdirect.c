// SPDX-License-Identifier: MIT
/*
 * libmapdirect: the library's promises, on XFS and ext4.
 *
 *   map_and_persist  MAPDIRECT_ALLOCATE creates, allocates and maps a file;
 *                    stores made durable with mapdirect_persist() read back.
 *   errors           a file shorter than the mapping: -ENODATA; tmpfs:
 *                    -EOPNOTSUPP; each with a message that says what to do.
 *   notify           a truncate by another process makes the notification
 *                    fd readable with this mapping and a deadline within
 *                    lease-break-time; no signal reaches the application;
 *                    after mapdirect_unmap() the truncate finishes at once.
 *   notify_registered  the same with the mapping registered with rxe0: the
 *                    registering process is told through the library's
 *                    thread, never by a signal to the application.
 *   two_maps         two mappings of one file: one event for each.
 *   after_fork       a child forked after the library started maps a file:
 *                    its break event arrives in the child.
 *   leases           mapdirect_leases() lists the lease with this process
 *                    as a "mapping" holder of the mapped range.
 *   devdax map       a device-dax device maps (a length is required);
 *                    mapdirect_leases() lists it as a "devdax" holder
 *                    with the mapped range.
 *
 * Also a helper for tests/mapdirect_tool.sh:
 *   libmapdirect hold PATH   map PATH (allocating 2 MiB) with the library,
 *                            register it with rxe0, print "held", and
 *                            keep both until stdin closes.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/breaker.h"
#include "lib/harness.h"
#include "lib/rdev.h"
#include "mapdirect.h"

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"

static volatile sig_atomic_t signals;

static void count_signal(int sig)
{
	(void)sig;
	signals++;
}

static struct mapdirect_map *map_new(const char *path)
{
	struct mapdirect_map *m;
	int err = mapdirect_map_file(path, LEN, MAPDIRECT_CREATE | MAPDIRECT_ALLOCATE, &m);

	CHECK(!err, "mapdirect_map_file(%s): %s", path, mapdirect_strerror(err));
	return m;
}

FIXTURE(libmapdirect) {
	char path[4096];
};

FIXTURE_VARIANT(libmapdirect) {
	struct mapdirect_place at;
};

FIXTURE_VARIANT_ADD(libmapdirect, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(libmapdirect, ext4) { .at = MAPDIRECT_ON_EXT4 };

FIXTURE_SETUP(libmapdirect)
{
	MAPDIRECT_SETUP();
	snprintf(self->path, sizeof(self->path), "%s/libmapdirect.dat",
		 place_dir(&variant->at));
	unlink(self->path);
}

FIXTURE_TEARDOWN(libmapdirect)
{
	unlink(self->path);
	MAPDIRECT_TEARDOWN();
}

TEST_F(libmapdirect, map_and_persist)
{
	struct mapdirect_map *m = map_new(self->path);
	char *p = mapdirect_addr(m), back[32];
	int fd;

	CHECK(p && mapdirect_length(m) == LEN, "no address or a wrong length");
	memcpy(p + 4096, "durable through the library", 28);
	mapdirect_persist(p + 4096, 28);
	fd = open(self->path, O_RDONLY);
	CHECK_SYS(fd);
	CHECK(pread(fd, back, 28, 4096) == 28 && !memcmp(back, "durable through the library", 28),
	      "a store persisted with %s is not in the file", mapdirect_persist_method());
	close(fd);
	CHECK(!mapdirect_unmap(m), "mapdirect_unmap");
	CHECK(mapdirect_unmap(NULL) == -EINVAL, "unmapping NULL must fail with -EINVAL");
	printf("stored and persisted with %s\n", mapdirect_persist_method());
}

TEST_F(libmapdirect, errors)
{
	struct mapdirect_map *m;
	int err, fd;

	fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_SYS(fd);
	CHECK_SYS(ftruncate(fd, 4096));
	close(fd);
	err = mapdirect_map_file(self->path, LEN, 0, &m);
	CHECK(err == -ENODATA, "mapping past EOF without MAPDIRECT_ALLOCATE returned %d (%s), "
	      "expected -ENODATA", err, mapdirect_strerror(err));
	CHECK(strstr(mapdirect_strerror(err), "MAPDIRECT_ALLOCATE"),
	      "the message for a short file does not say what to do: %s", mapdirect_strerror(err));
	err = mapdirect_map_file("/tmp/libmapdirect.tmpfs", LEN,
				 MAPDIRECT_CREATE | MAPDIRECT_ALLOCATE, &m);
	unlink("/tmp/libmapdirect.tmpfs");
	CHECK(err == -EOPNOTSUPP, "MAP_DIRECT on tmpfs returned %d (%s), expected -EOPNOTSUPP",
	      err, mapdirect_strerror(err));
	CHECK(strstr(mapdirect_strerror(err), "DAX"), "the EOPNOTSUPP message does not "
	      "mention DAX: %s", mapdirect_strerror(err));
	CHECK(mapdirect_map_file(self->path, LEN, 0x100, &m) == -EINVAL, "unknown flags accepted");
	printf("short file: %s\n", mapdirect_strerror(-ENODATA));
}

static void notify(const char *path, int registered)
{
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_mr *mr = NULL;
	struct mapdirect_event ev;
	struct mapdirect_map *m;
	struct pollfd pfd;
	double t0, t1, took;
	pid_t pid;

	set_knob(BREAK_TIME, 5);
	CHECK(mapdirect_break_time() == 5, "mapdirect_break_time() is %d, lease-break-time 5",
	      mapdirect_break_time());
	signal(SIGIO, count_signal);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		signal(s, count_signal);
	m = map_new(path);
	if (registered) {
		ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
		pd = ibv_alloc_pd(ctx);
		CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
		mr = ibv_reg_mr(pd, mapdirect_addr(m), LEN, IBV_ACCESS_LOCAL_WRITE);
		CHECK(mr, "ibv_reg_mr: %s", strerror(errno));
	}
	pfd.fd = mapdirect_notify_fd();
	pfd.events = POLLIN;
	CHECK(pfd.fd >= 0, "mapdirect_notify_fd: %s", mapdirect_strerror(pfd.fd));
	CHECK(mapdirect_read_event(&ev) == -EAGAIN, "an event before any break");
	t0 = now();
	pid = truncate_exec(path);
	CHECK(poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN),
	      "the notification fd did not become readable within 10 s of the break");
	t1 = now();
	CHECK(!mapdirect_read_event(&ev), "mapdirect_read_event after POLLIN");
	CHECK(ev.map == m, "the event names another mapping");
	/*
	 * lease-break-time after the library learned of the break: not before
	 * the truncate was started, not after the fd said so.  (Under load
	 * the truncate itself may start a while after t0.)
	 */
	CHECK(ev.deadline >= t0 + 5 && ev.deadline <= t1 + 5, "deadline %.2f s after the "
	      "truncate was started and %.2f s after the event was seen; expected "
	      "lease-break-time (5 s) after the break", ev.deadline - t0, ev.deadline - t1);
	CHECK(mapdirect_now() - now() > -0.5 && mapdirect_now() - now() < 0.5,
	      "mapdirect_now() is %.3f s off CLOCK_MONOTONIC", mapdirect_now() - now());
	CHECK(!signals, "the application got %d signal(s): notifications must not use its "
	      "signal handlers", (int)signals);
	CHECK(mapdirect_read_event(&ev) == -EAGAIN, "a second event for one break");
	if (mr) {
		CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
		ibv_dealloc_pd(pd);
		ibv_close_device(ctx);
	}
	CHECK(!mapdirect_unmap(m), "mapdirect_unmap");
	took = child_wait(pid, 10);
	CHECK(took >= 0 && took < 2, "the truncate took %.2f s after letting go", took);
	printf("break seen on the fd %.2f s after the truncate started; deadline was "
	       "lease-break-time away\n", now() - t0 - took);
}

TEST_F_TIMEOUT(libmapdirect, notify, MAPDIRECT_TIMEOUT)
{
	notify(self->path, 0);
}

/*
 * The registering process is notified of a break too; when it is the
 * process of the library's thread, through that thread only: a second,
 * process-wide copy of the library's real-time signal would end it.
 */
TEST_F_TIMEOUT(libmapdirect, notify_registered, MAPDIRECT_TIMEOUT)
{
	notify(self->path, 1);
}

TEST_F_TIMEOUT(libmapdirect, two_maps, MAPDIRECT_TIMEOUT)
{
	struct mapdirect_map *a, *b;
	struct mapdirect_event ev;
	struct pollfd pfd = { .events = POLLIN };
	int seen_a = 0, seen_b = 0, err, fd;
	double took;
	pid_t pid;

	set_knob(BREAK_TIME, 5);
	a = map_new(self->path);
	fd = open(self->path, O_RDWR);
	CHECK_SYS(fd);
	err = mapdirect_map_fd(fd, 0, LEN / 2, PROT_READ | PROT_WRITE, &b);
	CHECK(!err, "mapdirect_map_fd: %s", mapdirect_strerror(err));
	close(fd);	/* the library keeps its own open file */
	pfd.fd = mapdirect_notify_fd();
	pid = truncate_exec(self->path);
	while ((!seen_a || !seen_b) && poll(&pfd, 1, 10000) == 1) {
		CHECK(!mapdirect_read_event(&ev), "mapdirect_read_event");
		seen_a += ev.map == a;
		seen_b += ev.map == b;
	}
	CHECK(seen_a == 1 && seen_b == 1, "events: %d for the first mapping, %d for the "
	      "second; expected one each", seen_a, seen_b);
	CHECK(!mapdirect_unmap(a) && !mapdirect_unmap(b), "mapdirect_unmap");
	took = child_wait(pid, 10);
	CHECK(took >= 0 && took < 2, "the truncate took %.2f s after both unmaps", took);
}

/* A forked child's own mappings get their events in the child. */
TEST_F_TIMEOUT(libmapdirect, after_fork, MAPDIRECT_TIMEOUT)
{
	struct mapdirect_map *m = map_new(self->path);	/* starts the thread */
	int status;
	pid_t pid;

	set_knob(BREAK_TIME, 5);
	CHECK(!mapdirect_unmap(m), "mapdirect_unmap");
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		struct pollfd pfd = { .events = POLLIN };
		struct mapdirect_event ev;
		struct mapdirect_map *c = map_new(self->path);
		pid_t t = truncate_exec(self->path);

		pfd.fd = mapdirect_notify_fd();
		_exit(poll(&pfd, 1, 10000) == 1 && !mapdirect_read_event(&ev) && ev.map == c &&
		      !mapdirect_unmap(c) && child_wait(t, 10) >= 0 ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "a forked child's own mapping got no break event in the child (status %#x)",
	      status);
}

TEST_F(libmapdirect, leases)
{
	struct mapdirect_map *m = map_new(self->path);
	struct mapdirect_lease *ls;
	struct stat st;
	int n, err, found = 0;

	CHECK_SYS(stat(self->path, &st));
	err = mapdirect_leases(&ls, &n);
	CHECK(!err, "mapdirect_leases: %s", mapdirect_strerror(err));
	for (int i = 0; i < n; i++) {
		if (ls[i].ino != st.st_ino)
			continue;
		found++;
		CHECK(!strcmp(ls[i].path, self->path), "path %s, expected %s", ls[i].path,
		      self->path);
		CHECK(!strcmp(ls[i].state, "active"), "state %s", ls[i].state);
		CHECK(ls[i].nholders == 1 && ls[i].holders[0].pid == getpid() &&
		      !strcmp(ls[i].holders[0].kind, "mapping") &&
		      ls[i].holders[0].start == 0 &&
		      ls[i].holders[0].end == mapdirect_length(m),
		      "holders: %d, first %s pid %d range %llu-%llu; expected this "
		      "process's mapping of 0-%zu", ls[i].nholders,
		      ls[i].nholders ? ls[i].holders[0].kind : "-",
		      ls[i].nholders ? ls[i].holders[0].pid : 0,
		      ls[i].nholders ? ls[i].holders[0].start : 0,
		      ls[i].nholders ? ls[i].holders[0].end : 0, mapdirect_length(m));
	}
	mapdirect_leases_free(ls, n);
	CHECK(found == 1, "%d leases listed for the file, expected 1", found);
	CHECK(!mapdirect_unmap(m), "mapdirect_unmap");
}

/* mapdirect_leases() names a device-dax mapping "devdax", with its range. */
static void leases_show_devdax(const char *dev, struct mapdirect_map *m)
{
	struct mapdirect_lease *ls;
	struct stat st;
	int n, err, found = 0;

	CHECK_SYS(stat(dev, &st));
	err = mapdirect_leases(&ls, &n);
	CHECK(!err, "mapdirect_leases: %s", mapdirect_strerror(err));
	for (int i = 0; i < n; i++) {
		if (ls[i].ino != st.st_ino || ls[i].dev_minor != minor(st.st_dev))
			continue;
		found++;
		CHECK(ls[i].nholders == 1 && !strcmp(ls[i].holders[0].kind, "devdax") &&
		      ls[i].holders[0].pid == getpid() && ls[i].holders[0].start == 0 &&
		      ls[i].holders[0].end == mapdirect_length(m),
		      "%s: %d holders, first %s pid %d range %llu-%llu; expected this "
		      "process's devdax mapping of 0-%zu", dev, ls[i].nholders,
		      ls[i].nholders ? ls[i].holders[0].kind : "-",
		      ls[i].nholders ? ls[i].holders[0].pid : 0,
		      ls[i].nholders ? ls[i].holders[0].start : 0,
		      ls[i].nholders ? ls[i].holders[0].end : 0, mapdirect_length(m));
	}
	mapdirect_leases_free(ls, n);
	CHECK(found == 1, "%d leases listed for %s, expected 1", found, dev);
}

/* Device-dax: a character device maps through the library too. */
MAPDIRECT_DEVDAX_FIXTURE(mapdirect_no_cleanup)

TEST_F(devdax, map)
{
	struct mapdirect_map *m;
	int err;

	CHECK(mapdirect_map_file(self->dev, 0, 0, &m) == -EINVAL,
	      "a device needs a length: mapping %s with length 0 must fail with -EINVAL",
	      self->dev);
	err = mapdirect_map_file(self->dev, LEN, 0, &m);
	CHECK(!err, "mapdirect_map_file(%s): %s", self->dev, mapdirect_strerror(err));
	memset(mapdirect_addr(m), 0x5a, 4096);
	mapdirect_persist(mapdirect_addr(m), 4096);
	leases_show_devdax(self->dev, m);
	CHECK(!mapdirect_unmap(m), "mapdirect_unmap");
	printf("%s mapped with MAP_DIRECT through the library\n", self->dev);
}

/* The helper mode for tests/mapdirect_tool.sh. */
static int hold(const char *path)
{
	struct ibv_context *ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct mapdirect_map *m = map_new(path);
	struct ibv_mr *mr;
	char c;

	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
	mr = ibv_reg_mr(pd, mapdirect_addr(m), LEN, IBV_ACCESS_LOCAL_WRITE);
	CHECK(mr, "ibv_reg_mr: %s", strerror(errno));
	printf("held\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	ibv_dereg_mr(mr);
	mapdirect_unmap(m);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);
	return test_harness_run(argc, argv);
}
