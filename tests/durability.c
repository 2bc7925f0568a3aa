// SPDX-License-Identifier: MIT
/*
 * durability: MAP_DIRECT's promise (design 2.4, invariant 6).  Stores made
 * durable with cache-line flushes alone survive a crash that discards the
 * file system's in-memory log, in a file that was never fsynced: no block
 * a MAP_DIRECT mapping reaches may depend on metadata that is not on media.
 *
 * Each test creates a file, fallocates a new 2 MiB range and writes zeros
 * over it (no fsync, no sync: the file, its size and its extents are only
 * in XFS's CIL or ext4's running jbd2 transaction), maps it
 * MAP_SHARED_VALIDATE | MAP_DIRECT, fills it with a pattern and makes it
 * durable the documented way; then it shuts the file system down without
 * flushing the log (XFS_IOC_GOINGDOWN / EXT4_IOC_SHUTDOWN, NOLOGFLUSH),
 * unmounts it, mounts it again (log recovery) and reads the file back.
 *
 *   stores       the pattern is stored by the CPU through the mapping and
 *                flushed with mapdirect_persist() (cache flush + fence)
 *   rdma_write   the pattern is an RDMA WRITE from rxe1 into the mapping
 *                registered on rxe0 (Soft-RoCE), then read back by an RDMA
 *                READ and flushed with mapdirect_persist() on the target
 *
 * Each test also has a control: a second file prepared the same way after
 * the MAP_DIRECT one, mapped plain MAP_SHARED (no MAP_SYNC, no lease),
 * stored into and flushed alike.  Nothing makes its metadata durable, so
 * the crash must take its data away; if it does not, the crash kept the
 * log, the test could not have failed, and it fails saying so.  So that
 * only the crash decides, nothing may commit the log meanwhile: ext4 is
 * remounted with commit=600, and XFS's log worker (which forces the log
 * every xfssyncd_centisecs, 30 s) is set to 2 hours and restarted by a
 * remount.  The file systems are mounted again with the VM's options at
 * the end, however the test ends.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/durability (-l lists the
 * tests).  They remount the file systems: run them before shutdown.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <linux/magic.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/rpair.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define GOINGDOWN _IOR('X', 125, uint32_t)	/* XFS and ext4 alike */
#define NOLOGFLUSH 2				/* ..._GOING_FLAGS_NOLOGFLUSH */
#define XFS_SYNCD "/proc/sys/fs/xfs/xfssyncd_centisecs"
#define XFS_SYNCD_MAX 720000			/* 2 hours */
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

enum { DIRECT, CONTROL, NFILES };

static const char *const names[NFILES] = {
	[DIRECT] = "durability.dat",
	[CONTROL] = "durability-control.dat",
};

/* What the test holds, for cleanup() however the test ends. */
static struct {
	const char *dir, *dev, *opts;
	int remount;			/* mount again with the VM's options */
	char path[NFILES][4096];
	int fd[NFILES];
	void *map[NFILES];
	struct rpair pair;
	struct ibv_mr *mr, *cmr;	/* the MAP_DIRECT region, the peer's */
	unsigned char *cbuf;		/* the peer's buffer */
} t = { .fd = { -1, -1 } };

static unsigned char pattern(size_t i, int which)
{
	return (unsigned char)(i * 7 + (i >> 12) + 1 + which * 85);
}

static void fill(unsigned char *p, int which)
{
	for (size_t i = 0; i < LEN; i++)
		p[i] = pattern(i, which);
}

static int mount_again(void)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "umount %s && mount -o %s %s %s", t.dir, t.opts,
		 t.dev, t.dir);
	return system(cmd);
}

/* Let go of the files: the file system can be unmounted then. */
static void release(void)
{
	if (t.mr)
		ibv_dereg_mr(t.mr);
	if (t.cmr)
		ibv_dereg_mr(t.cmr);
	t.mr = t.cmr = NULL;
	rpair_close(&t.pair);
	free(t.cbuf);
	t.cbuf = NULL;
	for (int i = 0; i < NFILES; i++) {
		if (t.map[i])
			munmap(t.map[i], LEN);
		t.map[i] = NULL;
		if (t.fd[i] >= 0)
			close(t.fd[i]);
		t.fd[i] = -1;
	}
}

/*
 * Teardown, and atexit() for a failed CHECK: the file system comes back
 * with the VM's options and the log worker's period (restored before the
 * mount queues it), and the files go.  Never fails: it only warns.
 */
static void cleanup(void)
{
	release();
	if (t.remount) {
		t.remount = 0;
		restore_knobs();
		if (mount_again())
			fprintf(stderr, "warning: could not mount %s again (%s %s)\n",
				t.dir, t.dev, t.opts);
	}
	for (int i = 0; i < NFILES; i++) {
		if (t.path[i][0])
			unlink(t.path[i]);
		t.path[i][0] = 0;
	}
}

/* No log commit until the crash but the ones we ask for (see the top). */
static void prepare(const char *dir, const char *dev, const char *opts)
{
	struct statfs fs;
	char cmd[8400];

	CHECK(statfs(dir, &fs) == 0, "statfs %s: %s", dir, strerror(errno));
	CHECK(fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC,
	      "%s is neither XFS nor ext4 (f_type 0x%lx)", dir, (long)fs.f_type);
	t.dir = dir;
	t.dev = dev;
	t.opts = opts;
	for (int i = 0; i < NFILES; i++) {
		snprintf(t.path[i], sizeof(t.path[i]), "%s/%s", dir, names[i]);
		unlink(t.path[i]);	/* a failed run's: freed before the remount */
	}
	atexit(cleanup);
	signal(SIGIO, SIG_IGN);		/* the shutdown notifies the holder */
	t.remount = 1;
	if (fs.f_type == EXT4_SUPER_MAGIC) {
		/* The remount commits what is pending, then waits 600 s. */
		snprintf(cmd, sizeof(cmd), "mount -o remount,commit=600 %s", dir);
	} else {
		/* The new mount queues the log worker with the new period. */
		set_knob(XFS_SYNCD, XFS_SYNCD_MAX);
		snprintf(cmd, sizeof(cmd), "umount %s && mount -o %s %s %s", dir,
			 opts, dev, dir);
	}
	CHECK(system(cmd) == 0, "'%s' failed: cannot keep the log from committing "
	      "until the crash", cmd);
}

/* A file whose metadata is only in the log, mapped MAP_DIRECT or plainly. */
static unsigned char *make(int which)
{
	int flags = which == DIRECT ? MAP_SHARED_VALIDATE | MAP_DIRECT : MAP_SHARED;
	char path[4096];

	t.fd[which] = dax_make_file_nosync(t.dir, names[which], LEN, path,
					   sizeof(path));
	t.map[which] = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags,
			    t.fd[which], 0);
	CHECK(t.map[which] != MAP_FAILED, "mmap(%s) of %s, never fsynced: %s",
	      which == DIRECT ? "MAP_DIRECT" : "MAP_SHARED", path, strerror(errno));
	return t.map[which];
}

/* The control: CPU stores, flushed like the MAP_DIRECT data. */
static void control(void)
{
	unsigned char *p = make(CONTROL);

	fill(p, CONTROL);
	mapdirect_persist(p, LEN);
}

/* The crash: shut down, throwing the log away, then log recovery. */
static void crash(void)
{
	uint32_t how = NOLOGFLUSH;

	CHECK(ioctl(t.fd[DIRECT], GOINGDOWN, &how) == 0,
	      "shut down %s without flushing its log: %s", t.dir, strerror(errno));
	release();
	t.remount = 0;
	restore_knobs();
	CHECK(mount_again() == 0, "mounting %s again after the shutdown failed "
	      "(umount %s && mount -o %s %s %s)", t.dir, t.dir, t.opts, t.dev, t.dir);
}

enum found { INTACT, GONE, SHORT, ZEROS, CHANGED };

/* What the crash left of file @which, in words in @what. */
static enum found inspect(int which, char *what, size_t wlen)
{
	size_t bad = 0, zeros = 0, first = 0;
	unsigned char *b;
	enum found f;
	struct stat st;
	int fd;

	fd = open(t.path[which], O_RDONLY);
	if (fd < 0) {
		snprintf(what, wlen, "the file is gone (%s)", strerror(errno));
		return GONE;
	}
	CHECK_SYS(fstat(fd, &st));
	if (st.st_size != LEN) {
		snprintf(what, wlen, "the file is %lld bytes, not %u",
			 (long long)st.st_size, LEN);
		close(fd);
		return SHORT;
	}
	b = malloc(LEN);
	CHECK(b, "out of memory");
	CHECK(pread(fd, b, LEN, 0) == LEN, "read %s after the crash: %s",
	      t.path[which], strerror(errno));
	close(fd);
	for (size_t i = 0; i < LEN; i++) {
		zeros += !b[i];
		if (b[i] != pattern(i, which) && !bad++)
			first = i;
	}
	if (!bad) {
		snprintf(what, wlen, "all %u bytes hold the pattern", LEN);
		f = INTACT;
	} else if (zeros == LEN) {
		snprintf(what, wlen, "the file is %u bytes, but the range reads back "
			 "as zeros", LEN);
		f = ZEROS;
	} else {
		snprintf(what, wlen, "%zu of %u bytes differ from the pattern, the "
			 "first at offset %zu (0x%02x, stored 0x%02x)", bad, LEN,
			 first, b[first], pattern(first, which));
		f = CHANGED;
	}
	free(b);
	return f;
}

/* The verdict: the control lost its data, the MAP_DIRECT file kept it. */
static void judge(const char *how)
{
	char cwhat[256], dwhat[256];
	enum found c = inspect(CONTROL, cwhat, sizeof(cwhat));
	enum found d = inspect(DIRECT, dwhat, sizeof(dwhat));

	printf("after the crash: control %s (plain MAP_SHARED): %s\n",
	       t.path[CONTROL], cwhat);
	printf("after the crash: MAP_DIRECT %s (%s): %s\n", t.path[DIRECT], how,
	       dwhat);
	CHECK(c != INTACT, "the control %s (plain MAP_SHARED, never fsynced) kept "
	      "its data: the crash kept the log, so this test could not fail (it "
	      "proves nothing)", t.path[CONTROL]);
	CHECK(d == INTACT, "MAP_DIRECT data made durable (%s) in the never-fsynced "
	      "%s was lost when the shutdown discarded the log: %s", how,
	      t.path[DIRECT], dwhat);
}

static void test_stores(const char *dir, const char *dev, const char *opts)
{
	unsigned char *p;

	prepare(dir, dev, opts);
	p = make(DIRECT);
	fill(p, DIRECT);
	mapdirect_persist(p, LEN);
	/* After the MAP_DIRECT file: what makes that durable must not help. */
	control();
	crash();
	judge("CPU stores + mapdirect_persist()");
}

static void test_rdma_write(const char *dir, const char *dev, const char *opts)
{
	const char *srv = need_env("MAPDIRECT_RXE0_ADDR");
	const char *cli = need_env("MAPDIRECT_RXE1_ADDR");
	unsigned char *p;
	int rc;

	prepare(dir, dev, opts);
	CHECK(rpair_connect(&t.pair, srv, cli, "7476") == 0,
	      "cannot connect %s -> %s (is Soft-RoCE up? rdma link show)", cli, srv);
	t.cbuf = aligned_alloc(4096, LEN);
	CHECK(t.cbuf, "out of memory");
	t.cmr = ibv_reg_mr(t.pair.cli->pd, t.cbuf, LEN, ACCESS);
	CHECK(t.cmr, "ibv_reg_mr (peer, DRAM): %s", strerror(errno));

	p = make(DIRECT);
	t.mr = ibv_reg_mr(t.pair.srv->pd, p, LEN, ACCESS);
	CHECK(t.mr, "ibv_reg_mr on the MAP_DIRECT mapping of the never-fsynced %s: %s",
	      t.path[DIRECT], strerror(errno));
	fill(t.cbuf, DIRECT);
	rc = rpair_rdma(&t.pair, IBV_WR_RDMA_WRITE, t.cbuf, LEN, t.cmr,
			(uintptr_t)p, t.mr->rkey);
	CHECK(rc == IBV_WC_SUCCESS, "RDMA WRITE into the MAP_DIRECT region: %s",
	      rc < 0 ? "post error" : ibv_wc_status_str(rc));
	/* READ after WRITE: the written data is placed; then flush it here. */
	memset(t.cbuf, 0, LEN);
	rc = rpair_rdma(&t.pair, IBV_WR_RDMA_READ, t.cbuf, LEN, t.cmr,
			(uintptr_t)p, t.mr->rkey);
	CHECK(rc == IBV_WC_SUCCESS, "RDMA READ after the WRITE: %s",
	      rc < 0 ? "post error" : ibv_wc_status_str(rc));
	for (size_t i = 0; i < LEN; i++)
		CHECK(t.cbuf[i] == pattern(i, DIRECT) && p[i] == pattern(i, DIRECT),
		      "byte %zu of the RDMA WRITE: READ returns 0x%02x, the mapping "
		      "0x%02x, written 0x%02x", i, t.cbuf[i], p[i], pattern(i, DIRECT));
	mapdirect_persist(p, LEN);
	control();
	crash();
	judge("RDMA WRITE, READ, mapdirect_persist() on the target");
}

MAPDIRECT_FIXTURE_CLEANUP(durability, cleanup)
FIXTURE_VARIANT_ADD(durability, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(durability, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(durability, stores, MAPDIRECT_TIMEOUT)
{
	test_stores(self->dir, self->dev, variant->at.opts);
}

TEST_F_TIMEOUT(durability, rdma_write, MAPDIRECT_TIMEOUT)
{
	test_rdma_write(self->dir, self->dev, variant->at.opts);
}

TEST_HARNESS_MAIN
