// SPDX-License-Identifier: MIT
/*
 * reg_mr_direct: RDMA memory registration on MAP_DIRECT mappings, on XFS
 * and ext4 (variants xfs, ext4) and device-dax (fixture devdax).
 *
 *   rw           ibv_reg_mr() on a MAP_DIRECT mapping works; an RDMA WRITE
 *                from rxe1 lands in the file (checked with pread(), and
 *                again after the file system is unmounted and mounted; on
 *                device-dax through a second mapping), an RDMA READ
 *                returns the file's bytes; the registration keeps the lease
 *                after munmap, until dereg.
 *   cooperative  another process truncates the file: the owner gets SIGIO,
 *                a new registration of the mapping fails with EBUSY, the
 *                owner deregisters and unmaps, and the truncate completes
 *                at once.
 *   invalidate,  the owner ignores the break: after lease-break-time the
 *   retarget     kernel revokes the registration with that rdma_rxe policy
 *                and the truncate completes.  The freed blocks go to a new
 *                file (another owner) holding a known pattern; the peer
 *                keeps writing through the old rkey: invalidate fails with
 *                a remote access error; retarget drops the writes without
 *                an error, and an RDMA READ fails (no made-up data); the
 *                new file keeps its pattern either way.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/breaker.h"
#include "lib/dax.h"
#include "lib/rpair.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define POLICY "/sys/module/rdma_rxe/parameters/revoke_policy"
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static atomic_int sigio;

static void on_sigio(int sig)
{
	(void)sig;
	sigio = 1;
}

static char *map_direct(int fd)
{
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);

	CHECK(p != MAP_FAILED, "mmap(MAP_DIRECT): %s", strerror(errno));
	return p;
}

static struct rpair p;
static unsigned char *cbuf;
static struct ibv_mr *cmr;

static void connect_pair(void)
{
	const char *srv = need_env("MAPDIRECT_RXE0_ADDR");
	const char *cli = need_env("MAPDIRECT_RXE1_ADDR");

	CHECK(rpair_connect(&p, srv, cli, "7472") == 0,
	      "cannot connect %s -> %s (is Soft-RoCE up? rdma link show)",
	      cli, srv);
	cbuf = aligned_alloc(4096, LEN);
	CHECK(cbuf, "out of memory");
	cmr = ibv_reg_mr(p.cli->pd, cbuf, LEN, ACCESS);
	CHECK(cmr, "ibv_reg_mr (client, DRAM): %s", strerror(errno));
}

/* The peer (rxe1) writes @c over the first @len bytes of the region. */
static void close_pair(void)
{
	if (cmr)
		ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(cbuf);
}

static int peer_write(void *raddr, uint32_t rkey, int c, size_t len)
{
	memset(cbuf, c, len);
	return rpair_rdma(&p, IBV_WR_RDMA_WRITE, cbuf, len, cmr,
			  (uintptr_t)raddr, rkey);
}

static int peer_read(void *raddr, uint32_t rkey, size_t len)
{
	memset(cbuf, 0xcc, len);
	return rpair_rdma(&p, IBV_WR_RDMA_READ, cbuf, len, cmr,
			  (uintptr_t)raddr, rkey);
}

static int all(const unsigned char *b, int c, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

/* Unmount and mount again, then check the file still holds the data. */
static void check_after_remount(const char *dir, const char *dev,
				const char *opts, const char *path)
{
	char cmd[8400];
	unsigned char *b = malloc(LEN);
	int fd;

	CHECK(b, "out of memory");
	snprintf(cmd, sizeof(cmd), "umount %s && mount -o %s %s %s", dir, opts,
		 dev, dir);
	CHECK(system(cmd) == 0, "'%s' failed", cmd);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0, "open %s after remount: %s", path, strerror(errno));
	CHECK(pread(fd, b, LEN, 0) == LEN, "pread after remount: %s", strerror(errno));
	CHECK(b[0] == 0x5c && b[LEN - 1] == 0x5c && !memcmp(b + 4096, "file", 4),
	      "after unmount and mount %s no longer holds what RDMA wrote", path);
	close(fd);
	free(b);
}

static void test_rw(const char *target, const char *dev, const char *opts)
{
	int devdax = strncmp(target, "/dev/", 5) == 0;
	char path[4096];
	unsigned char *check;
	struct ibv_mr *mr;
	struct stat st;
	char *map;
	int fd, st_rc;

	if (devdax) {
		snprintf(path, sizeof(path), "%s", target);
		fd = open(path, O_RDWR);
		CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	} else {
		fd = dax_make_file(target, "reg-mr-direct.dat", LEN, path,
				   sizeof(path));
	}
	CHECK_SYS(fstat(fd, &st));
	map = map_direct(fd);
	connect_pair();
	mr = ibv_reg_mr(p.srv->pd, map, LEN, ACCESS);
	CHECK(mr, "ibv_reg_mr on a MAP_DIRECT mapping of %s: %s", path,
	      strerror(errno));

	/* The registration holds the lease, even with the range unmapped. */
	CHECK_SYS(munmap(map, LEN));
	CHECK(lease_listed(st.st_ino),
	      "the lease went away at munmap although the MR still exists");
	st_rc = peer_write(map, mr->rkey, 0x5c, LEN);
	CHECK(st_rc == IBV_WC_SUCCESS, "RDMA WRITE: %s",
	      st_rc < 0 ? "post error" : ibv_wc_status_str(st_rc));

	check = malloc(LEN);
	CHECK(check, "out of memory");
	if (devdax) {
		unsigned char *m = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);

		CHECK(m != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
		memcpy(check, m, LEN);
		munmap(m, LEN);
	} else {
		CHECK(pread(fd, check, LEN, 0) == LEN, "pread: %s", strerror(errno));
	}
	CHECK(all(check, 0x5c, LEN), "the RDMA WRITE did not land in %s", path);
	if (!devdax) {
		CHECK(pwrite(fd, "file", 4, 4096) == 4, "pwrite: %s", strerror(errno));
		st_rc = peer_read(map, mr->rkey, LEN);
		CHECK(st_rc == IBV_WC_SUCCESS, "RDMA READ: %s",
		      st_rc < 0 ? "post error" : ibv_wc_status_str(st_rc));
		CHECK(!memcmp(cbuf + 4096, "file", 4) && cbuf[0] == 0x5c,
		      "the RDMA READ did not return the file's bytes");
	} else {
		st_rc = peer_read(map, mr->rkey, LEN);
		CHECK(st_rc == IBV_WC_SUCCESS && all(cbuf, 0x5c, LEN),
		      "RDMA READ from the device did not return its bytes");
	}
	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	CHECK(!lease_listed(st.st_ino), "the lease outlived the registration");
	free(check);
	close(fd);
	if (!devdax) {
		CHECK(dev && opts, "no device or mount options for %s", target);
		check_after_remount(target, dev, opts, path);
		unlink(path);
	}
	printf("RDMA WRITE into and READ from a MAP_DIRECT region of %s verified\n",
	       path);
}

static void test_cooperative(const char *dir)
{
	char path[4096], *map;
	struct ibv_mr *mr, *mr2;
	double t0;
	int fd, done;
	pid_t pid;

	set_knob(BREAK_TIME, 20);
	signal(SIGIO, on_sigio);
	fd = dax_make_file(dir, "reg-mr-direct.dat", LEN, path, sizeof(path));
	map = map_direct(fd);
	connect_pair();
	mr = ibv_reg_mr(p.srv->pd, map, LEN, ACCESS);
	CHECK(mr, "ibv_reg_mr (MAP_DIRECT): %s", strerror(errno));
	pid = truncate_in_child(path, map, LEN, &done);
	for (t0 = now(); !sigio && now() < t0 + 15;)
		usleep(1000);
	CHECK(sigio, "no SIGIO within 15 s of the truncate");
	CHECK(truncate_wait(done, 0.3) < 0, "the truncate did not wait for the registration");
	/* A lease being broken takes no new registration. */
	errno = 0;
	mr2 = ibv_reg_mr(p.srv->pd, map, LEN, ACCESS);
	CHECK(!mr2 && errno == EBUSY,
	      "registering while the lease is being broken: %s, expected EBUSY",
	      mr2 ? "it worked" : strerror(errno));
	t0 = now();
	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr: %s", strerror(errno));
	CHECK_SYS(munmap(map, LEN));
	CHECK(truncate_wait(done, 10) >= 0, "the truncate still waits after dereg + munmap");
	printf("cooperative: truncate completed %.0f ms after dereg + munmap\n",
	       (now() - t0) * 1e3);
	waitpid(pid, NULL, 0);
	close(fd);
	unlink(path);
}

static void test_forced(const char *dir, const char *policy)
{
	int retarget = !strcmp(policy, "retarget");
	char path[4096], victim[4200], *map;
	unsigned char *vbuf;
	struct ibv_mr *mr;
	double t0, took;
	int fd, vfd, done, st_rc, errors = 0;
	pid_t pid;

	set_knob_str(POLICY, policy);
	set_knob(BREAK_TIME, 1);
	signal(SIGIO, SIG_IGN);		/* the owner ignores the notice */
	fd = dax_make_file(dir, "reg-mr-direct.dat", LEN, path, sizeof(path));
	map = map_direct(fd);
	connect_pair();
	mr = ibv_reg_mr(p.srv->pd, map, LEN, ACCESS);
	CHECK(mr, "ibv_reg_mr (MAP_DIRECT): %s", strerror(errno));
	CHECK(peer_write(map, mr->rkey, 0x11, 4096) == IBV_WC_SUCCESS,
	      "RDMA WRITE before the break failed");

	t0 = now();
	pid = truncate_in_child(path, map, LEN, &done);
	CHECK(truncate_wait(done, 30) >= 0, "the truncate never completed (revocation failed)");
	took = now() - t0;
	CHECK(took > 0.8, "the truncate took %.2f s: it did not wait lease-break-time", took);
	waitpid(pid, NULL, 0);

	/* Hand the freed blocks to someone else, with a known pattern. */
	snprintf(victim, sizeof(victim), "%s/reg-mr-direct.victim", dir);
	unlink(victim);
	vfd = open(victim, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(vfd >= 0, "create %s: %s", victim, strerror(errno));
	vbuf = malloc(LEN);
	CHECK(vbuf, "out of memory");
	memset(vbuf, 0xa5, LEN);
	CHECK(pwrite(vfd, vbuf, LEN, 0) == LEN && fsync(vfd) == 0,
	      "write %s: %s", victim, strerror(errno));
	CHECK_SYS(fchown(vfd, 65534, 65534));

	/* The peer keeps writing through the old rkey. */
	for (int i = 0; i < 2; i++) {
		st_rc = peer_write(map, mr->rkey, 0xee, LEN);
		if (st_rc != IBV_WC_SUCCESS)
			errors++;
		if (!retarget && i == 0)
			CHECK(st_rc == IBV_WC_REM_ACCESS_ERR,
			      "invalidate: the first RDMA WRITE after revocation completed with %s, expected a remote access error",
			      st_rc < 0 ? "a post error" : ibv_wc_status_str(st_rc));
		if (!retarget)
			break;	/* the queue pair is in error now */
	}
	if (retarget) {
		/* Writes are dropped; a READ must not return made-up data. */
		CHECK(!errors, "retarget: RDMA WRITEs after revocation failed");
		st_rc = peer_read(map, mr->rkey, LEN);
		CHECK(st_rc == IBV_WC_REM_ACCESS_ERR,
		      "retarget: RDMA READ of a revoked region completed with %s, expected a remote access error",
		      st_rc < 0 ? "a post error" : ibv_wc_status_str(st_rc));
	}
	memset(vbuf, 0, LEN);
	CHECK(pread(vfd, vbuf, LEN, 0) == LEN, "pread %s: %s", victim, strerror(errno));
	CHECK(all(vbuf, 0xa5, LEN),
	      "DMA landed in freed blocks: %s no longer holds its pattern", victim);

	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr after revocation: %s",
	      strerror(errno));
	munmap(map, LEN);
	close(vfd);
	unlink(victim);
	close(fd);
	unlink(path);
	free(vbuf);
	printf("%s: truncate completed after %.2f s (lease-break-time 1 s); "
	       "no DMA reached the freed blocks\n", policy, took);
}

MAPDIRECT_FIXTURE_CLEANUP(reg_mr_direct, close_pair)
FIXTURE_VARIANT_ADD(reg_mr_direct, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_direct, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(reg_mr_direct, rw, MAPDIRECT_TIMEOUT)
{
	test_rw(self->dir, self->dev, variant->at.opts);
}

TEST_F_TIMEOUT(reg_mr_direct, cooperative, MAPDIRECT_TIMEOUT)
{
	test_cooperative(self->dir);
}

TEST_F_TIMEOUT(reg_mr_direct, invalidate, MAPDIRECT_TIMEOUT)
{
	test_forced(self->dir, "invalidate");
}

TEST_F_TIMEOUT(reg_mr_direct, retarget, MAPDIRECT_TIMEOUT)
{
	test_forced(self->dir, "retarget");
}

/* Device-dax: no block map to break, so only registration and I/O. */
MAPDIRECT_DEVDAX_FIXTURE(close_pair)

TEST_F_TIMEOUT(devdax, rw, MAPDIRECT_TIMEOUT)
{
	test_rw(self->dev, NULL, NULL);
}

TEST_HARNESS_MAIN
