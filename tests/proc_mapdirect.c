// SPDX-License-Identifier: MIT
/*
 * proc_mapdirect: /proc/fs/mapdirect tells who holds which file's block
 * map, and /proc/locks names MAP_DIRECT leases LAYOUT.  The file is read
 * through libmapdirect's parser, which mapdirect ls uses too.
 *
 *   mapping       a MAP_DIRECT mapping is listed (dev, ino, state=active,
 *                 the mapper's pid and fd, users=1, path); after fork the
 *                 lease has two users and the child's smaps shows "dx";
 *                 once every process unmapped, the lease is gone.
 *   registration  an RDMA registration is listed under its lease as
 *                 "-> pid=... state=attached kind=rdma device=rxe0
 *                 bytes=..."; it keeps the lease after munmap; dereg ends it.
 *   break         during a break the lease says state=breaking with the
 *                 milliseconds left (at most lease-break-time); past it,
 *                 state=revoked while the holder still maps it.
 *   root_only     the file is mode 0400 and unreadable by another user.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/proc_mapdirect (-l lists
 * the tests).
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/breaker.h"
#include "lib/dax.h"
#include "lib/harness.h"
#include "lib/rdev.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define PROC "/proc/fs/mapdirect"
#define BREAK_TIME "/proc/sys/fs/lease-break-time"

/*
 * What /proc/fs/mapdirect says about one lease, found by dev and inode,
 * read with libmapdirect's parser (what mapdirect ls uses); in-kernel users
 * only, not the processes the library finds through smaps.
 */
struct lease_line {
	int found;
	char state[16];
	int pid, fd, users, left_ms;
	char path[4096];
	int nusers;
	struct mapdirect_holder user[4];
};

static struct lease_line find_lease(const struct stat *st)
{
	struct lease_line l = { 0 };
	struct mapdirect_lease *ls;
	int n, err;

	err = mapdirect_leases(&ls, &n);
	CHECK(!err, "reading " PROC ": %s", mapdirect_strerror(err));
	for (int i = 0; i < n; i++) {
		if (ls[i].dev_major != major(st->st_dev) || ls[i].dev_minor != minor(st->st_dev) ||
		    ls[i].ino != st->st_ino)
			continue;
		CHECK(!l.found, "two leases listed for one mapping of %s", ls[i].path);
		l.found = 1;
		snprintf(l.state, sizeof(l.state), "%s", ls[i].state);
		snprintf(l.path, sizeof(l.path), "%s", ls[i].path);
		l.pid = ls[i].pid;
		l.fd = ls[i].fd;
		l.users = ls[i].users;
		l.left_ms = ls[i].left_ms;
		for (int j = 0; j < ls[i].nholders && l.nusers < 4; j++)
			if (strcmp(ls[i].holders[j].kind, "mapping"))
				l.user[l.nusers++] = ls[i].holders[j];
	}
	mapdirect_leases_free(ls, n);
	return l;
}

static int has_dx(pid_t pid, void *addr)
{
	char path[64], line[512];
	unsigned long start = (unsigned long)addr, s, e;
	int in = 0, dx = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2)
			in = s == start;
		else if (in && !strncmp(line, "VmFlags:", 8))
			dx = strstr(line, " dx") != NULL;
	}
	fclose(f);
	return dx;
}

FIXTURE(proc_mapdirect) {
	char path[4096];
	struct stat st;
	int fd;
	void *map;
};

FIXTURE_VARIANT(proc_mapdirect) {
	struct mapdirect_place at;
};

FIXTURE_VARIANT_ADD(proc_mapdirect, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(proc_mapdirect, ext4) { .at = MAPDIRECT_ON_EXT4 };

FIXTURE_SETUP(proc_mapdirect)
{
	MAPDIRECT_SETUP();
	self->fd = dax_make_file(place_dir(&variant->at), "proc-mapdirect.dat", LEN,
				 self->path, sizeof(self->path));
	CHECK_SYS(fstat(self->fd, &self->st));
	self->map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT,
			 self->fd, 0);
	CHECK(self->map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", self->path,
	      strerror(errno));
}

FIXTURE_TEARDOWN(proc_mapdirect)
{
	munmap(self->map, LEN);
	close(self->fd);
	unlink(self->path);
	MAPDIRECT_TEARDOWN();
}

TEST_F_TIMEOUT(proc_mapdirect, mapping, MAPDIRECT_TIMEOUT)
{
	struct lease_line l = find_lease(&self->st);
	int sync[2], status;
	pid_t pid;

	CHECK(l.found, PROC " does not list the MAP_DIRECT mapping of %s", self->path);
	CHECK(!strcmp(l.state, "active"), "state=%s, expected active", l.state);
	CHECK(l.pid == getpid(), "pid=%d, expected the mapper %d", l.pid, getpid());
	CHECK(l.fd == self->fd, "fd=%d, expected %d", l.fd, self->fd);
	CHECK(l.users == 1, "users=%d with one mapping", l.users);
	CHECK(!strcmp(l.path, self->path), "path=%s, expected %s", l.path, self->path);
	CHECK(l.nusers == 0, "an in-kernel user (%s) is listed without a registration",
	      l.user[0].kind);
	CHECK(layout_leases(self->st.st_ino, getpid()) == 1,
	      "/proc/locks does not list the lease once, as LAYOUT");
	CHECK(has_dx(getpid(), self->map), "smaps does not show dx for the mapping");

	CHECK_SYS(pipe(sync));
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		char c;

		close(sync[1]);
		_exit(read(sync[0], &c, 1) < 0);	/* until the parent is done */
	}
	close(sync[0]);
	l = find_lease(&self->st);
	CHECK(l.users == 2, "users=%d after fork, expected 2", l.users);
	CHECK(has_dx(pid, self->map), "the child's smaps does not show dx");
	CHECK_SYS(munmap(self->map, LEN));
	self->map = MAP_FAILED;
	CHECK(find_lease(&self->st).users == 1, "the child's mapping is not counted");
	close(sync[1]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "the child failed");
	CHECK(!find_lease(&self->st).found, "the lease is still listed after every "
	      "process unmapped");
	printf("listed with pid, fd, path and users; gone once unmapped\n");
}

TEST_F_TIMEOUT(proc_mapdirect, registration, MAPDIRECT_TIMEOUT)
{
	struct ibv_context *ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct lease_line l;
	struct ibv_mr *mr;

	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
	mr = ibv_reg_mr(pd, self->map, LEN, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(mr, "ibv_reg_mr of the MAP_DIRECT mapping: %s", strerror(errno));
	CHECK_SYS(munmap(self->map, LEN));
	self->map = MAP_FAILED;
	l = find_lease(&self->st);
	CHECK(l.found, "the registration's lease is not listed after munmap");
	CHECK(l.users == 1, "users=%d: only the registration holds it", l.users);
	CHECK(l.nusers == 1, "%d in-kernel users listed, expected the registration",
	      l.nusers);
	CHECK(l.user[0].pid == getpid() && !strcmp(l.user[0].state, "attached") &&
	      !strcmp(l.user[0].kind, "rdma") &&
	      !strcmp(l.user[0].device, need_env("MAPDIRECT_RXE0")) && l.user[0].bytes == LEN,
	      "the registration is listed as pid=%d state=%s kind=%s device=%s bytes=%llu; "
	      "expected pid=%d state=attached kind=rdma device=%s bytes=%u", l.user[0].pid,
	      l.user[0].state, l.user[0].kind, l.user[0].device, l.user[0].bytes, getpid(),
	      need_env("MAPDIRECT_RXE0"), LEN);
	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	CHECK(!find_lease(&self->st).found, "the lease is still listed after dereg");
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("the registration is listed under its lease: %s on %s, %llu bytes\n",
	       l.user[0].kind, l.user[0].device, l.user[0].bytes);
}

TEST_F_TIMEOUT(proc_mapdirect, break, MAPDIRECT_TIMEOUT)
{
	struct lease_line l;
	double t0, took;
	int done;
	pid_t pid;

	set_knob(BREAK_TIME, 4);
	signal(SIGIO, SIG_IGN);
	pid = truncate_in_child(self->path, self->map, LEN, &done);
	t0 = now();
	do {
		usleep(20000);
		l = find_lease(&self->st);
	} while (l.found && !strcmp(l.state, "active") && now() < t0 + 5);
	CHECK(!strcmp(l.state, "breaking"), "state=%s during the break, expected breaking",
	      l.state);
	CHECK(l.left_ms > 0 && l.left_ms <= 4000, "left_ms=%d: not within lease-break-time "
	      "(4 s)", l.left_ms);
	printf("breaking: %d ms left\n", l.left_ms);
	took = truncate_wait(done, 15);
	CHECK(took >= 0, "the truncate was not done 15 s after lease-break-time 4 s");
	waitpid(pid, NULL, 0);
	l = find_lease(&self->st);
	CHECK(l.found && !strcmp(l.state, "revoked"), "after lease-break-time the mapping's "
	      "lease is %s, expected listed as revoked", l.found ? l.state : "not listed");
	CHECK_SYS(munmap(self->map, LEN));
	self->map = MAP_FAILED;
	CHECK(!find_lease(&self->st).found, "the revoked lease is listed after munmap");
	printf("revoked after %.1f s, listed as revoked until unmapped\n", now() - t0);
}

TEST_F(proc_mapdirect, root_only)
{
	struct stat st;
	int status;
	pid_t pid;

	CHECK_SYS(stat(PROC, &st));
	CHECK((st.st_mode & 0777) == 0400, PROC " has mode %o, expected 0400 (it names "
	      "every holder's files)", st.st_mode & 0777);
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(PROC, O_RDONLY) >= 0 ? 1 : errno == EACCES ? 0 : 3);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child");
	CHECK(WEXITSTATUS(status) == 0, "user nobody %s", WEXITSTATUS(status) == 1 ?
	      "could open " PROC : "failed to test it");
}

TEST_HARNESS_MAIN
