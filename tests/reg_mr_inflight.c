// SPDX-License-Identifier: MIT
/*
 * reg_mr_inflight: a lease break that reaches lease-break-time while
 * a registration of MAP_DIRECT memory is still being set up (pages pinned,
 * not yet handed to the driver's MR).  The kernel's test knob
 * /sys/module/ib_uverbs/parameters/mapdirect_test_reg_delay_ms holds the
 * registration in that window for 1.5 s, so the race is hit every time:
 *
 *  - the registration fails with EBUSY (never succeeds on revoked memory);
 *  - the truncate waits for it to drop its pins, then finishes: bounded,
 *    and no freed block is still pinned (fs/dax.c would WARN, and the
 *    kernel-log-clean test fails on that);
 *  - afterwards a new mapping and registration of the file work.
 *
 * Before the two-phase attach (prepare, pin, commit) this oopsed in
 * __ib_umem_release() from ib_umem_get_revocable().
 *
 * Variants: xfs, ext4.  In the VM: build/tests/reg_mr_inflight (-l lists the tests).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/breaker.h"
#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/rdev.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (8u << 20)
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)
#define KNOB "/sys/module/ib_uverbs/parameters/mapdirect_test_reg_delay_ms"
#define BREAK_TIME "/proc/sys/fs/lease-break-time"

struct reg {
	struct ibv_pd *pd;
	void *addr;
	struct ibv_mr *mr;
	int err;
};

static void *do_reg(void *arg)
{
	struct reg *r = arg;

	r->mr = ibv_reg_mr(r->pd, r->addr, LEN, ACCESS);
	r->err = r->mr ? 0 : errno;
	return NULL;
}

static void run(const char *dir)
{
	struct ibv_context *ctx;
	struct reg r = { 0 };
	pthread_t t;
	char path[4096];
	double t0, took;
	int fd, done;
	pid_t pid;

	ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	r.pd = ibv_alloc_pd(ctx);
	CHECK(r.pd, "ibv_alloc_pd: %s", strerror(errno));
	signal(SIGIO, SIG_IGN);		/* the holder never cooperates */
	set_knob(BREAK_TIME, 0);	/* revoke as soon as the break starts */
	set_knob(KNOB, 1500);

	fd = dax_make_file(dir, "reg_mr_inflight.dat", LEN, path, sizeof(path));
	r.addr = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT,
		      fd, 0);
	CHECK(r.addr != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	memset(r.addr, 'r', LEN);

	t0 = now();
	CHECK(pthread_create(&t, NULL, do_reg, &r) == 0, "pthread_create");
	usleep(500000);			/* the registration is inside the window */
	pid = truncate_in_child(path, r.addr, LEN, &done);
	took = truncate_wait(done, 20);
	CHECK(took >= 0, "truncate still blocked 20 s after a registration was revoked in flight");
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	printf("truncate during the registration window: done after %.2f s\n", took);
	CHECK(!r.mr, "the registration succeeded although its lease was revoked while it was "
	      "being set up");
	CHECK(r.err == EBUSY, "the registration failed with %s; expected EBUSY (revoked while "
	      "being registered)", strerror(r.err));
	CHECK(now() - t0 >= 1.4, "the registration did not go through the test window: is "
	      KNOB " honoured?");
	waitpid(pid, NULL, 0);
	munmap(r.addr, LEN);

	/* The file is usable again: a new mapping registers fine. */
	set_knob(KNOB, 0);
	CHECK_SYS(ftruncate(fd, 0));
	close(fd);
	fd = dax_make_file(dir, "reg_mr_inflight.dat", LEN, path, sizeof(path));
	r.addr = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT,
		      fd, 0);
	CHECK(r.addr != MAP_FAILED, "mmap(MAP_DIRECT) again: %s", strerror(errno));
	do_reg(&r);
	CHECK(r.mr, "registering again after the revocation: %s", strerror(r.err));
	CHECK(ibv_dereg_mr(r.mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	munmap(r.addr, LEN);
	close(fd);
	unlink(path);
	ibv_dealloc_pd(r.pd);
	ibv_close_device(ctx);
	printf("a registration revoked while being set up failed with EBUSY; the truncate "
	       "finished; the file registers again\n");
}

MAPDIRECT_FIXTURE(reg_mr_inflight)
FIXTURE_VARIANT_ADD(reg_mr_inflight, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_inflight, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(reg_mr_inflight, revoked_in_flight, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
