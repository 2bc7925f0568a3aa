// SPDX-License-Identifier: MIT
/*
 * reg_mr_dereg: a breaker that arrives while a registration of
 * MAP_DIRECT memory is being deregistered, when no process maps the file
 * any more (the owner unmapped and kept only the MR), waits until the
 * registration's pins are gone.  The kernel's test knob
 * /sys/module/ib_uverbs/parameters/mapdirect_test_release_delay_ms holds
 * the deregistration for 1.5 s after revocations of it stopped and before
 * it unpins; a truncate starts 0.5 s into that window.
 *
 * Before the fix the registration let go of the lease first and unpinned
 * afterwards: the truncate found no lease and no mapped page
 * (dax_layout_busy_page() looks only at mapped files) and freed blocks
 * that were still pinned for DMA (fs/dax.c: WARNING in
 * dax_disassociate_entry).  Now it must finish only after the unpinning.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/reg_mr_dereg (-l lists the tests).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/breaker.h"
#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/kmsg.h"
#include "lib/rdev.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (8u << 20)
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)
#define KNOB "/sys/module/ib_uverbs/parameters/mapdirect_test_release_delay_ms"
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define DELAY_MS 1500

struct dereg {
	struct ibv_mr *mr;
	int ret;
	double done;
};

static void *do_dereg(void *arg)
{
	struct dereg *d = arg;

	d->ret = ibv_dereg_mr(d->mr);
	d->done = now();
	return NULL;
}

static void run(const char *dir)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct dereg d = { 0 };
	unsigned long long mark;
	char path[4096];
	double t0, took;
	struct stat st;
	pthread_t t;
	void *addr;
	int fd, done;
	pid_t pid;

	CHECK(access(KNOB, W_OK) == 0, "%s: %s: this test needs the series' test knob",
	      KNOB, strerror(errno));
	ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
	signal(SIGIO, SIG_IGN);		/* the break must not end by revocation */
	set_knob(BREAK_TIME, 30);

	fd = dax_make_file(dir, "reg_mr_dereg.dat", LEN, path, sizeof(path));
	addr = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(addr != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	memset(addr, 'd', LEN);
	d.mr = ibv_reg_mr(pd, addr, LEN, ACCESS);
	CHECK(d.mr, "ibv_reg_mr of the MAP_DIRECT mapping: %s", strerror(errno));
	CHECK_SYS(munmap(addr, LEN));	/* only the registration holds the lease */

	set_knob(KNOB, DELAY_MS);
	mark = kmsg_mark();
	t0 = now();
	CHECK(pthread_create(&t, NULL, do_dereg, &d) == 0, "pthread_create");
	usleep(500000);			/* the deregistration is inside the window */
	pid = truncate_in_child(path, NULL, 0, &done);
	took = truncate_wait(done, 20);
	CHECK(took >= 0, "truncate still blocked 20 s after the registration was "
	      "deregistered");
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	waitpid(pid, NULL, 0);
	CHECK(d.ret == 0, "ibv_dereg_mr: %s", strerror(d.ret));
	printf("deregistration took %.2f s; the truncate started 0.50 s into it and took "
	       "%.2f s\n", d.done - t0, took);
	CHECK(d.done - t0 >= DELAY_MS / 1000.0 - 0.1, "the deregistration did not go through "
	      "the test window: is " KNOB " honoured?");
	CHECK(took >= (DELAY_MS - 500) / 1000.0 - 0.2,
	      "the truncate finished %.2f s after it started, while the deregistration "
	      "still held its pins (%.2f s of %d ms left): the blocks were freed under DMA",
	      took, DELAY_MS / 1000.0 - 0.5 - took, DELAY_MS);
	CHECK(!kmsg_has(mark, "WARNING", "dax_disassociate_entry"),
	      "the kernel warned that a pinned DAX page was freed (see dmesg)");
	CHECK_SYS(fstat(fd, &st));
	CHECK(st.st_size == 0, "the file has %lld bytes after the truncate",
	      (long long)st.st_size);

	close(fd);
	unlink(path);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("a truncate during a deregistration waited for its pins to go\n");
}

MAPDIRECT_FIXTURE(reg_mr_dereg)
FIXTURE_VARIANT_ADD(reg_mr_dereg, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_dereg, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(reg_mr_dereg, breaker_waits_for_pins, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
