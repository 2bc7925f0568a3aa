// SPDX-License-Identifier: MIT
/*
 * reg_mr_registrant: a break notifies the process that registered
 * the memory, not only the one that mapped it.  The mapper forks; the child
 * registers the inherited MAP_DIRECT mapping with rxe; the mapper unmaps
 * and ignores SIGIO.  A truncate (lease-break-time 20 s) must reach the
 * child, which deregisters and unmaps, so the truncate finishes in well
 * under lease-break-time and nothing is revoked.
 *
 * Before each attachment had its own notification target the child heard
 * nothing: the truncate waited the full 20 s and revoked the registration.
 *
 * Variants: xfs.  In the VM: build/tests/reg_mr_registrant (-l lists the tests).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
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

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

static atomic_int sigio;

static void on_sigio(int sig)
{
	(void)sig;
	sigio = 1;
}

/*
 * The registrant: register @map, say 'r', wait up to 15 s for the break
 * notice, then deregister, unmap and say 'n' (notified) or 't' (timed out).
 */
static void registrant(char *map, int out)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	double t0;
	char c;

	signal(SIGIO, on_sigio);
	ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
	mr = ibv_reg_mr(pd, map, LEN, ACCESS);
	CHECK(mr, "ibv_reg_mr in the child: %s", strerror(errno));
	CHECK(write(out, "r", 1) == 1, "pipe: %s", strerror(errno));
	for (t0 = now(); !sigio && now() < t0 + 15;)
		usleep(2000);
	c = sigio ? 'n' : 't';
	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	CHECK_SYS(munmap(map, LEN));
	CHECK(write(out, &c, 1) == 1, "pipe: %s", strerror(errno));
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	_exit(0);
}

/* One byte from the registrant within @secs, or 0. */
static char hear(int in, double secs)
{
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, (int)(secs * 1000)) != 1 || read(in, &c, 1) != 1)
		return 0;
	return c;
}

static void run(const char *dir)
{
	char path[4096], *map, c;
	int fd, pipefd[2], done, status;
	pid_t child, breaker;
	double took;

	set_knob(BREAK_TIME, 20);

	fd = dax_make_file(dir, "reg-mr-registrant.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	memset(map, 'm', LEN);
	CHECK_SYS(pipe(pipefd));
	child = fork();
	CHECK_SYS(child);
	if (!child) {
		close(pipefd[0]);
		registrant(map, pipefd[1]);
	}
	close(pipefd[1]);
	c = hear(pipefd[0], 30);
	CHECK(c == 'r', "the child did not register the mapping (see its error above)");

	/* The mapper lets go and does not listen: only the child can act. */
	signal(SIGIO, SIG_IGN);
	CHECK_SYS(munmap(map, LEN));
	breaker = truncate_in_child(path, NULL, 0, &done);
	took = truncate_wait(done, 30);
	c = hear(pipefd[0], 1);
	CHECK(took >= 0, "the truncate did not finish within 30 s");
	CHECK(c == 'n', "the registering process was not notified of the break (it %s)",
	      c == 't' ? "waited 15 s for SIGIO" : "did not answer");
	CHECK(took < 10, "the truncate took %.1f s: it waited for lease-break-time although "
	      "the registrant let go on notice", took);
	waitpid(breaker, NULL, 0);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the registrant failed (status %#x)", status);
	close(fd);
	unlink(path);
	printf("the registering child was notified; truncate done after %.2f s "
	       "(lease-break-time 20 s)\n", took);
}

MAPDIRECT_FIXTURE(reg_mr_registrant)
FIXTURE_VARIANT_ADD(reg_mr_registrant, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(reg_mr_registrant, notified, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
