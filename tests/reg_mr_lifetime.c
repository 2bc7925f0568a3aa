// SPDX-License-Identifier: MIT
/*
 * reg_mr_lifetime: a memory registration of MAP_DIRECT memory owns its hold
 * on the file's layout lease, whatever happens to the process around it.
 *
 *   fork          after fork the child exits: the parent's registration
 *                 and lease are intact; dereg and munmap release the lease
 *                 exactly once.
 *   close_device  the device is closed without dereg: the kernel tears
 *                 the registration down and the lease goes with it.
 *   kill_owner    the owner is killed in the middle of a break: the
 *                 truncate completes at once, long before lease-break-time.
 *   pass_fd       the owner passes its uverbs descriptors to another
 *                 process and exits: the registration keeps the lease; a
 *                 truncate then revokes it after lease-break-time; closing
 *                 the passed descriptors afterwards tears it down.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/reg_mr_lifetime (-l lists
 * the tests).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/breaker.h"
#include "lib/dax.h"
#include "lib/rdev.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

/* Wait up to @secs for inode @ino to have @n leases. */
static int wait_leases(ino_t ino, int n, double secs)
{
	double end = now() + secs;

	while (layout_leases(ino, 0) != n && now() < end)
		usleep(10000);
	return layout_leases(ino, 0) == n;
}

struct owner {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char *map;
};

/* Map @fd with MAP_DIRECT and register it on rxe0. */
static void register_direct(struct owner *o, int fd)
{
	o->ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	o->pd = ibv_alloc_pd(o->ctx);
	CHECK(o->pd, "ibv_alloc_pd: %s", strerror(errno));
	o->map = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		      MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(o->map != MAP_FAILED, "mmap(MAP_DIRECT): %s", strerror(errno));
	o->mr = ibv_reg_mr(o->pd, o->map, LEN, ACCESS);
	CHECK(o->mr, "ibv_reg_mr (MAP_DIRECT): %s", strerror(errno));
}

static void test_fork(int fd, ino_t ino)
{
	struct owner o;
	int status;
	pid_t pid;

	register_direct(&o, fd);
	pid = fork();
	CHECK_SYS(pid);
	if (!pid)
		_exit(0);	/* inherits the mapping, not the registration */
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child");
	CHECK(layout_leases(ino, 0) == 1, "the child's exit changed the lease");
	CHECK(munmap(o.map, LEN) == 0, "munmap: %s", strerror(errno));
	CHECK(layout_leases(ino, 0) == 1, "munmap released a lease the registration holds");
	CHECK(ibv_dereg_mr(o.mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	CHECK(layout_leases(ino, 0) == 0, "the lease outlived the registration");
	ibv_dealloc_pd(o.pd);
	ibv_close_device(o.ctx);
	printf("fork: the child's exit left the registration's lease alone\n");
}

static void test_close(int fd, ino_t ino)
{
	int sync[2];
	pid_t pid;

	/*
	 * In a child that stays alive, so that only the file's close can
	 * release the lease (and the abandoned library objects are not
	 * reported as leaks at exit).
	 */
	CHECK_SYS(pipe(sync));
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		struct owner o;

		register_direct(&o, fd);
		munmap(o.map, LEN);
		if (layout_leases(ino, 0) != 1 || write(sync[1], "m", 1) != 1)
			_exit(1);
		/* No dereg: closing the device must tear the registration down. */
		close(o.ctx->cmd_fd);
		close(o.ctx->async_fd);
		if (write(sync[1], "c", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sync[1]);		/* a dead child closes the pipe: no hang */
	CHECK(wait_byte(sync[0], 30) == 'm',
	      "munmap released a lease the registration holds (or the owner failed)");
	CHECK(wait_byte(sync[0], 30) == 'c', "the owner failed");
	CHECK(wait_leases(ino, 0, 5),
	      "the lease outlived the uverbs file the registration was made on");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("close: closing the uverbs file released the lease\n");
}

static void test_kill(const char *path, int fd, ino_t ino)
{
	int ready[2], done;
	pid_t owner, breaker;
	double took;

	set_knob(BREAK_TIME, 20);
	CHECK_SYS(pipe(ready));
	owner = fork();
	CHECK_SYS(owner);
	if (!owner) {
		struct owner o;

		signal(SIGIO, SIG_IGN);
		register_direct(&o, fd);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	CHECK(wait_byte(ready[0], 30) == 'r', "the owner did not register (see its error)");
	CHECK(layout_leases(ino, 0) == 1, "no lease after registration");
	breaker = truncate_in_child(path, NULL, 0, &done);
	CHECK(truncate_wait(done, 0.5) < 0, "the truncate did not wait for the owner");
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	took = truncate_wait(done, 10);
	CHECK(took >= 0, "the truncate still waits after the owner was killed");
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(ino, 0) == 0, "a lease outlived its killed owner");
	printf("kill: truncate completed %.0f ms after the owner was killed "
	       "(lease-break-time 20 s)\n", took * 1e3);
}

static void test_pass(const char *path, int fd, ino_t ino)
{
	int sv[2], cmd_fd, async_fd, done, status;
	pid_t owner, breaker;
	double took;

	set_knob(BREAK_TIME, 1);
	CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	owner = fork();
	CHECK_SYS(owner);
	if (!owner) {
		struct owner o;

		signal(SIGIO, SIG_IGN);
		register_direct(&o, fd);
		munmap(o.map, LEN);
		send_fds(sv[1], o.ctx->cmd_fd, o.ctx->async_fd);
		_exit(0);	/* the registration now lives in our parent */
	}
	close(sv[1]);		/* recvmsg sees EOF if the owner dies */
	{
		struct pollfd pfd = { .fd = sv[0], .events = POLLIN };

		CHECK(poll(&pfd, 1, 30000) == 1, "the owner sent no descriptors within 30 s");
	}
	recv_fds(sv[0], &cmd_fd, &async_fd);
	CHECK(waitpid(owner, &status, 0) == owner && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the owner failed");
	CHECK(layout_leases(ino, 0) == 1,
	      "the registration lost its lease when its owner exited");
	breaker = truncate_in_child(path, NULL, 0, &done);
	took = truncate_wait(done, 20);
	CHECK(took >= 0, "the truncate never completed: the registration was not revoked");
	CHECK(took > 0.8, "the truncate took %.2f s: it did not wait lease-break-time", took);
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(ino, 0) == 0, "a lease survived the revocation");
	/* Tear the revoked registration down. */
	close(cmd_fd);
	close(async_fd);
	printf("pass: the passed registration kept the lease; revoked after %.2f s "
	       "(lease-break-time 1 s), then torn down\n", took);
}

FIXTURE(reg_mr_lifetime) {
	char path[4096];
	ino_t ino;
	int fd;
};

FIXTURE_VARIANT(reg_mr_lifetime) {
	struct mapdirect_place at;
};

FIXTURE_VARIANT_ADD(reg_mr_lifetime, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_lifetime, ext4) { .at = MAPDIRECT_ON_EXT4 };

FIXTURE_SETUP(reg_mr_lifetime)
{
	struct stat st;

	MAPDIRECT_SETUP();
	self->fd = dax_make_file(place_dir(&variant->at), "reg-mr-lifetime.dat", LEN,
				 self->path, sizeof(self->path));
	CHECK_SYS(fstat(self->fd, &st));
	self->ino = st.st_ino;
}

FIXTURE_TEARDOWN(reg_mr_lifetime)
{
	close(self->fd);
	unlink(self->path);
	MAPDIRECT_TEARDOWN();
}

TEST_F_TIMEOUT(reg_mr_lifetime, fork, MAPDIRECT_TIMEOUT)
{
	test_fork(self->fd, self->ino);
}

TEST_F_TIMEOUT(reg_mr_lifetime, close_device, MAPDIRECT_TIMEOUT)
{
	test_close(self->fd, self->ino);
}

TEST_F_TIMEOUT(reg_mr_lifetime, kill_owner, MAPDIRECT_TIMEOUT)
{
	test_kill(self->path, self->fd, self->ino);
}

TEST_F_TIMEOUT(reg_mr_lifetime, pass_fd, MAPDIRECT_TIMEOUT)
{
	test_pass(self->path, self->fd, self->ino);
}

TEST_HARNESS_MAIN
