// SPDX-License-Identifier: MIT
/*
 * reg_mr_race: registrations, deregistrations, unmaps and truncates of one
 * MAP_DIRECT file from several processes at once, for a bounded number of
 * rounds, with lease-break-time 1 s; about one hold in three lasts 1.2 to
 * 2 s, and worker 0's first registration 2.5 s, so registrations are
 * revoked and deregistered around the revocation (the test checks that at
 * least one was revoked).  reg_mr_inflight.c hits the registration window
 * itself deterministically.
 * Passes if every process finishes its rounds, every failure is one the
 * contract allows (EAGAIN, EBUSY, EFAULT past EOF), and no lease is left at
 * the end.  Lockdep, KASAN-style list debugging and the hung-task detector
 * watch the kernel side (kernel-log-clean).
 *
 * Variants: xfs.  In the VM: build/tests/reg_mr_race (-l lists the tests).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/kmsg.h"
#include "lib/rdev.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define SLICE (2u << 20)
#define SLICES 4
#define WORKERS 3
#define ROUNDS 12
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static int allowed(int err)
{
	return err == EAGAIN || err == EBUSY || err == EFAULT;
}

static void worker(const char *path, int id)
{
	struct ibv_context *ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	int fd = open(path, O_RDWR), regs = 0, held = 0;

	CHECK(pd && fd >= 0, "worker %d: setup: %s", id, strerror(errno));
	srand(id * 7919 + 1);
	for (int r = 0; r < ROUNDS; r++) {
		off_t off = (off_t)((id + r) % SLICES) * SLICE;
		char *map = mmap(NULL, SLICE, PROT_READ | PROT_WRITE,
				 MAP_SHARED_VALIDATE | MAP_DIRECT, fd, off);
		struct ibv_mr *mr;

		if (map == MAP_FAILED) {
			CHECK(allowed(errno), "worker %d: mmap: %s", id, strerror(errno));
			usleep(20000);
			continue;
		}
		mr = ibv_reg_mr(pd, map, SLICE, ACCESS);
		if (!mr)
			CHECK(allowed(errno), "worker %d: ibv_reg_mr: %s", id, strerror(errno));
		else
			regs++;
		/*
		 * Now and then hold past lease-break-time: revoked, then
		 * dereg.  Worker 0's first registration always does, so that
		 * every run reaches revocation, however the machine is loaded.
		 */
		if (id == 0 && mr && !held) {
			held = 1;
			usleep(2500000);
		} else if (rand() % 3 == 0) {
			usleep(1200000 + (rand() % 40) * 20000);
		} else {
			usleep((rand() % 40) * 5000);
		}
		if (rand() % 2) {		/* unmap first: the MR keeps the lease */
			CHECK_SYS(munmap(map, SLICE));
			usleep((rand() % 20) * 5000);
			if (mr)
				CHECK(ibv_dereg_mr(mr) == 0, "worker %d: dereg: %s", id,
				      strerror(errno));
		} else {
			if (mr)
				CHECK(ibv_dereg_mr(mr) == 0, "worker %d: dereg: %s", id,
				      strerror(errno));
			CHECK_SYS(munmap(map, SLICE));
		}
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("worker %d: %d registrations in %d rounds\n", id, regs, ROUNDS);
	exit(0);
}

static void truncater(const char *path)
{
	static char zero[SLICE];
	int fd = open(path, O_RDWR);

	CHECK(fd >= 0, "truncater: open: %s", strerror(errno));
	for (int r = 0; r < ROUNDS; r++) {	/* as long as the workers */
		usleep(250000);
		CHECK(ftruncate(fd, SLICES / 2 * SLICE) == 0, "truncater: shrink: %s",
		      strerror(errno));
		for (int s = SLICES / 2; s < SLICES; s++)
			CHECK(pwrite(fd, zero, SLICE, (off_t)s * SLICE) == SLICE,
			      "truncater: refill: %s", strerror(errno));
	}
	exit(0);
}

static void run(const char *dir)
{
	pid_t pids[WORKERS + 1];
	char path[4096];
	struct stat st;
	int fd, status, left, revoked;
	unsigned long long mark;

	set_knob("/proc/sys/fs/lease-break-time", 1);
	signal(SIGIO, SIG_IGN);		/* nobody cooperates: some breaks revoke */
	mark = kmsg_mark();
	fd = dax_make_file(dir, "reg-mr-race.dat", SLICES * SLICE, path,
			   sizeof(path));
	CHECK_SYS(fstat(fd, &st));
	for (int i = 0; i <= WORKERS; i++) {
		pids[i] = fork();
		CHECK_SYS(pids[i]);
		if (!pids[i]) {
			if (i == WORKERS)
				truncater(path);
			worker(path, i);
		}
	}
	for (int i = 0; i <= WORKERS; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i], "waitpid");
		CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		      "%s %d did not finish cleanly (status %#x)",
		      i == WORKERS ? "truncater" : "worker", i, status);
	}
	left = layout_leases(st.st_ino, 0);
	CHECK(!left, "%d lease(s) left on the file after every process let go", left);
	revoked = kmsg_count(mark, "revoked a MAP_DIRECT memory registration", NULL);
	CHECK(revoked > 0, "no registration was revoked: the race did not reach revocation");
	close(fd);
	unlink(path);
	printf("%d workers x %d rounds with a truncater: %d registration(s) revoked, "
	       "no lease left\n", WORKERS, ROUNDS, revoked);
}

MAPDIRECT_FIXTURE(reg_mr_race)
FIXTURE_VARIANT_ADD(reg_mr_race, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(reg_mr_race, revoke_while_registering, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
