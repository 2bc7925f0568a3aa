// SPDX-License-Identifier: MIT
/*
 * iommu_dma: a device behind an IOMMU DMAs into MAP_DIRECT memory, driven
 * from userspace through iommufd and the VFIO device cdev (issue 12).
 *
 * Runs in the "iommu" VM profile (MAPDIRECT_VM_PROFILE=iommu: q35, an
 * emulated Intel IOMMU, QEMU's edu device), which make check boots for it.
 * Each test binds edu to vfio-pci, attaches it to an iommufd IOAS, maps
 * buffers at fixed IOVAs (below 256 MiB: edu's DMA mask is 28 bits) and has
 * edu's DMA engine copy 2 KiB from an anonymous source buffer into its
 * internal buffer and from there to a destination IOVA.
 *
 *   anon.dma              control: DMA between anonymous buffers works.
 *   FS.plain_refused      IOMMU_IOAS_MAP of a plain fs-DAX mapping fails
 *                         with EOPNOTSUPP: nothing could revoke the pin.
 *   FS.dma_lands          IOMMU_IOAS_MAP of a MAP_DIRECT mapping holds the
 *                         lease ("kind=iommufd" in /proc/fs/mapdirect); a
 *                         DMA lands in the file (pread), still there after
 *                         unmount and mount.
 *   FS.cooperative        a truncate breaks the lease; the owner, told by
 *                         SIGIO, unmaps the IOVA and the mapping, and the
 *                         truncate completes at once.
 *   FS.forced             the owner ignores the break: after
 *                         lease-break-time the kernel unmaps the IOVA and
 *                         the truncate completes; a DMA to the old IOVA is
 *                         an IOMMU fault in the kernel log and changes
 *                         neither the freed blocks nor a new file's; the
 *                         IOVA stays taken (EEXIST) until IOMMU_IOAS_UNMAP.
 *   FS.revoke_mid_map     the lease is revoked while IOMMU_IOAS_MAP is
 *                         setting up (a test knob holds it there): the map
 *                         fails with EBUSY and leaves nothing behind.
 *   FS.type1_compat       the same map and forced break through the VFIO
 *                         type1 container API on iommufd's compat layer.
 *   FS.close_fds          closing the iommufd and device files releases
 *                         the lease the IOAS mapping kept after munmap.
 *   FS.kill_owner         the owner is killed in the middle of a break:
 *                         the truncate completes at once.
 *   FS.fork               a forked child's exit leaves the parent's
 *                         mapping and lease alone.
 *   FS.pass_fd            the owner passes its iommufd and device files to
 *                         another process and exits: the IOAS mapping
 *                         keeps the lease; a truncate revokes it after
 *                         lease-break-time.
 *   devdax.dma_lands      the same on device-dax (MAP_DIRECT mapping).
 *   devdax.unbind         unbinding device-dax revokes the IOMMU mapping
 *                         after lease-break-time; a later DMA faults and
 *                         the memory keeps its bytes.  Binds it again.
 *
 * FS is xfs or ext4.  In the VM: build/tests/iommu_dma (-l lists the tests).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/breaker.h"
#include "lib/dax.h"
#include "lib/edu.h"
#include "lib/kmsg.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define IOVA_DST	0x200000UL
#define IOVA_FILE	0x400000UL
#define LEN		(2UL << 20)
#define FILE_OFF	(64 * PAGE)	/* where in the file the DMA lands */
#define BREAK_TIME	"/proc/sys/fs/lease-break-time"

/* Does /proc/fs/mapdirect show an iommufd user of @bytes for us? */
static int proc_shows_iommufd(size_t bytes)
{
	char line[1024], want[128];
	FILE *f = fopen("/proc/fs/mapdirect", "r");
	int found = 0;

	CHECK(f, "/proc/fs/mapdirect: %s", strerror(errno));
	snprintf(want, sizeof(want), " kind=iommufd bytes=%zu", bytes);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			found = 1;
	fclose(f);
	return found;
}

static void *map_direct(int fd)
{
	void *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);

	CHECK(m != MAP_FAILED, "mmap(MAP_DIRECT): %s", strerror(errno));
	return m;
}

/* Wait up to @secs for inode @ino to have @n leases. */
static int wait_leases(ino_t ino, int n, double secs)
{
	double end = now() + secs;

	while (layout_leases(ino, 0) != n && now() < end)
		usleep(10000);
	return layout_leases(ino, 0) == n;
}

static volatile sig_atomic_t got_sigio;

static void on_sigio(int sig)
{
	(void)sig;
	got_sigio = 1;
}

FIXTURE(anon) {
	struct edu e;
};

FIXTURE_SETUP(anon)
{
	MAPDIRECT_SETUP();
	edu_open(&self->e);
}

FIXTURE_TEARDOWN(anon)
{
	edu_close(&self->e);
	MAPDIRECT_TEARDOWN();
}

TEST_F_TIMEOUT(anon, dma, MAPDIRECT_TIMEOUT)
{
	uint8_t *dst = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(dst != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(dst, 0, PAGE);
	CHECK(!ioas_map(&self->e, dst, PAGE, IOVA_DST),
	      "IOMMU_IOAS_MAP of anonymous memory: %s", strerror(errno));
	dma_to(&self->e, IOVA_DST);
	CHECK(!memcmp(self->e.src, dst, DMA_LEN),
	      "the DMA'd bytes in anonymous memory are not the source's");
	CHECK(!ioas_unmap(&self->e, PAGE, IOVA_DST), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	munmap(dst, PAGE);
	printf("anon: edu copied %lu bytes between anonymous buffers through the IOMMU\n",
	       DMA_LEN);
}

FIXTURE(fs) {
	struct edu e;
	const char *dir, *dev, *opts;
	char path[4096];
	ino_t ino;
	int fd;
};

FIXTURE_VARIANT(fs) {
	struct mapdirect_place at;
};

FIXTURE_VARIANT_ADD(fs, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(fs, ext4) { .at = MAPDIRECT_ON_EXT4 };

FIXTURE_SETUP(fs)
{
	struct stat st;

	MAPDIRECT_SETUP();
	self->dir = place_dir(&variant->at);
	self->dev = place_dev(&variant->at);
	self->opts = variant->at.opts;
	edu_open(&self->e);
	self->fd = dax_make_file(self->dir, "iommu_dma.dat", LEN, self->path,
				 sizeof(self->path));
	CHECK_SYS(fstat(self->fd, &st));
	self->ino = st.st_ino;
}

FIXTURE_TEARDOWN(fs)
{
	edu_close(&self->e);
	if (self->fd > 0)
		close(self->fd);
	unlink(self->path);
	MAPDIRECT_TEARDOWN();
}

TEST_F_TIMEOUT(fs, plain_refused, MAPDIRECT_TIMEOUT)
{
	void *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	int r;

	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	r = ioas_map(&self->e, m, LEN, IOVA_FILE);
	CHECK(r == -EOPNOTSUPP,
	      "IOMMU_IOAS_MAP of a plain fs-DAX mapping: %s; expected EOPNOTSUPP (a pin nothing can revoke)",
	      r ? strerror(-r) : "mapped");
	munmap(m, LEN);
	printf("plain_refused: IOMMU_IOAS_MAP of plain fs-DAX memory fails with EOPNOTSUPP\n");
}

/* Does the file hold the source's bytes at FILE_OFF? */
static int file_has_dma(int fd, const uint8_t *src)
{
	uint8_t buf[DMA_LEN];

	CHECK(pread(fd, buf, DMA_LEN, FILE_OFF) == (ssize_t)DMA_LEN, "pread: %s",
	      strerror(errno));
	return !memcmp(buf, src, DMA_LEN);
}

TEST_F_TIMEOUT(fs, dma_lands, MAPDIRECT_TIMEOUT)
{
	char cmd[8400];
	void *m = map_direct(self->fd);
	int r;

	r = ioas_map(&self->e, m, LEN, IOVA_FILE);
	CHECK(!r, "IOMMU_IOAS_MAP of a MAP_DIRECT mapping: %s", strerror(-r));
	CHECK(proc_shows_iommufd(LEN),
	      "/proc/fs/mapdirect shows no 'kind=iommufd bytes=%lu' user of the lease", LEN);
	dma_to(&self->e, IOVA_FILE + FILE_OFF);
	CHECK(file_has_dma(self->fd, self->e.src),
	      "pread of %s does not return the bytes edu wrote at IOVA %#lx",
	      self->path, IOVA_FILE + FILE_OFF);
	CHECK(!ioas_unmap(&self->e, LEN, IOVA_FILE), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	CHECK(!proc_shows_iommufd(LEN), "the iommufd user outlived IOMMU_IOAS_UNMAP");
	CHECK(layout_leases(self->ino, 0) == 1, "IOMMU_IOAS_UNMAP took the mapping's lease");
	munmap(m, LEN);
	CHECK(layout_leases(self->ino, 0) == 0, "a lease outlived the mapping");
	close(self->fd);
	self->fd = -1;
	snprintf(cmd, sizeof(cmd), "umount %s && mount -o %s %s %s", self->dir,
		 self->opts, self->dev, self->dir);
	CHECK(system(cmd) == 0, "'%s' failed", cmd);
	self->fd = open(self->path, O_RDONLY);
	CHECK(self->fd >= 0, "open %s after remount: %s", self->path, strerror(errno));
	CHECK(file_has_dma(self->fd, self->e.src),
	      "after unmount and mount %s no longer holds the DMA'd bytes", self->path);
	printf("dma_lands: edu's DMA into a MAP_DIRECT file is read back with pread, also after remount\n");
}

TEST_F_TIMEOUT(fs, cooperative, MAPDIRECT_TIMEOUT)
{
	void *m = map_direct(self->fd);
	double t0, took;
	int done;
	pid_t breaker;

	set_knob(BREAK_TIME, 20);
	signal(SIGIO, on_sigio);
	CHECK(!ioas_map(&self->e, m, LEN, IOVA_FILE), "IOMMU_IOAS_MAP: %s", strerror(errno));
	got_sigio = 0;
	breaker = truncate_in_child(self->path, m, LEN, &done);
	t0 = now();
	while (!got_sigio && now() < t0 + 10)
		usleep(1000);
	CHECK(got_sigio, "no SIGIO within 10 s of the truncate");
	CHECK(!ioas_unmap(&self->e, LEN, IOVA_FILE), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	CHECK(!munmap(m, LEN), "munmap: %s", strerror(errno));
	took = truncate_wait(done, 10);
	CHECK(took >= 0 && took < 2,
	      "the truncate took %.2f s after the owner let go (lease-break-time 20 s)", took);
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(self->ino, 0) == 0, "a lease survived");
	printf("cooperative: SIGIO after %.0f ms; the truncate completed %.0f ms after the owner unmapped\n",
	       (now() - t0 - took) * 1e3, took * 1e3);
}

/* Where FILE_OFF of the file is on its device (byte offset), or -1. */
static long long dma_target_physical(int fd)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[1];
	} f = { .fm = { .fm_start = FILE_OFF, .fm_length = PAGE,
			.fm_extent_count = 1, .fm_flags = FIEMAP_FLAG_SYNC } };

	if (ioctl(fd, FS_IOC_FIEMAP, &f) || !f.fm.fm_mapped_extents ||
	    f.fe[0].fe_logical > FILE_OFF)
		return -1;
	return (long long)(f.fe[0].fe_physical + FILE_OFF - f.fe[0].fe_logical);
}

/* @n bytes of @dev at @off, uncached. */
static void read_device(const char *dev, long long off, void *buf, size_t n)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);

	CHECK(fd >= 0, "open %s: %s", dev, strerror(errno));
	CHECK(pread(fd, buf, n, off) == (ssize_t)n, "pread %s at %lld: %s", dev, off,
	      strerror(errno));
	close(fd);
}

/*
 * The owner ignores the break: revoked after lease-break-time.  A DMA
 * afterwards must fault in the IOMMU and touch no block.  @unmap undoes
 * the IOVA mapping (iommufd or the type1 container).
 */
static void forced_break(struct edu *e, const char *path, int fd, void *map,
			 ino_t ino, const char *dev, int (*unmap)(struct edu *e))
{
	static uint8_t blk[PAGE] __attribute__((aligned(4096)));
	char victim[4200];
	unsigned long long mark;
	long long phys;
	double took;
	int done, vfd, r;
	pid_t breaker;

	phys = dma_target_physical(fd);
	CHECK(phys >= 0, "FIEMAP of %s: %s", path, strerror(errno));
	/* The breaker must not keep the lease through our mapping. */
	breaker = truncate_in_child(path, map, LEN, &done);
	took = truncate_wait(done, 20);
	CHECK(took >= 0, "the truncate never completed: the IOMMU mapping was not revoked");
	CHECK(took > 0.8, "the truncate took %.2f s: it did not wait lease-break-time (1 s)",
	      took);
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(ino, 0) == 0, "a lease survived the revocation");

	/* Another user's file, likely on the freed blocks, with a pattern. */
	snprintf(victim, sizeof(victim), "%s.victim", path);
	unlink(victim);
	vfd = open(victim, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(vfd >= 0, "create %s: %s", victim, strerror(errno));
	memset(blk, 0xa5, sizeof(blk));
	for (unsigned long off = 0; off < LEN; off += PAGE)
		CHECK(pwrite(vfd, blk, PAGE, (off_t)off) == (ssize_t)PAGE, "pwrite: %s",
		      strerror(errno));
	CHECK_SYS(fsync(vfd));
	mark = kmsg_mark();
	dma_to(e, IOVA_FILE + FILE_OFF);
	usleep(200000);
	CHECK(kmsg_has(mark, "DMAR", "fault addr"),
	      "no IOMMU fault in the kernel log for the DMA to the revoked IOVA");
	CHECK(pread(vfd, blk, PAGE, FILE_OFF) == (ssize_t)PAGE, "pread: %s", strerror(errno));
	for (unsigned int i = 0; i < PAGE; i++)
		CHECK(blk[i] == 0xa5, "the new file %s changed at %lu: the revoked DMA reached it",
		      victim, FILE_OFF + i);
	read_device(dev, phys, blk, PAGE);
	CHECK(memcmp(blk, e->src, DMA_LEN),
	      "the freed blocks of %s hold the bytes DMA'd after the revocation", path);
	printf("forced: the new file %s the freed block the DMA aimed at\n",
	       dma_target_physical(vfd) == phys ? "took" : "did not take");
	close(vfd);
	unlink(victim);

	/* Revoked pages go into no other IOAS, even one without devices. */
	if (e->ioas) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct iommu_ioas_copy copy = {
			.size = sizeof(copy),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
			.src_ioas_id = e->ioas, .length = LEN,
			.src_iova = IOVA_FILE, .dst_iova = IOVA_FILE,
		};

		CHECK(!ioctl(e->iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
		      strerror(errno));
		copy.dst_ioas_id = alloc.out_ioas_id;
		r = ioctl(e->iommufd, IOMMU_IOAS_COPY, &copy) ? -errno : 0;
		CHECK(r == -EBUSY, "IOMMU_IOAS_COPY of the revoked IOVA: %s; expected EBUSY",
		      r ? strerror(-r) : "copied");
	}

	/* The IOVA stays taken until userspace unmaps it. */
	r = ioas_map(e, e->src, PAGE, IOVA_FILE);
	CHECK(r == -EEXIST, "IOMMU_IOAS_MAP over the revoked IOVA: %s; expected EEXIST",
	      r ? strerror(-r) : "mapped");
	CHECK(!unmap(e), "unmapping the revoked IOVA: %s", strerror(errno));
	CHECK(!ioas_map(e, e->src, PAGE, IOVA_FILE),
	      "IOMMU_IOAS_MAP at the IOVA after its unmap: %s", strerror(errno));
	printf("forced: revoked after %.2f s (lease-break-time 1 s); a later DMA faulted in the IOMMU and changed no block; the IOVA stayed taken until unmapped\n",
	       took);
}

static int iommufd_unmap_file(struct edu *e)
{
	return ioas_unmap(e, LEN, IOVA_FILE);
}

TEST_F_TIMEOUT(fs, forced, MAPDIRECT_TIMEOUT)
{
	void *m = map_direct(self->fd);

	set_knob(BREAK_TIME, 1);
	signal(SIGIO, SIG_IGN);
	CHECK(!ioas_map(&self->e, m, LEN, IOVA_FILE), "IOMMU_IOAS_MAP: %s", strerror(errno));
	forced_break(&self->e, self->path, self->fd, m, self->ino, self->dev,
		     iommufd_unmap_file);
	CHECK(munmap(m, LEN) == 0, "munmap: %s", strerror(errno));
}

/* The VFIO type1 API: a container on iommufd's compat layer. */
static int container;

static int type1_unmap_file(struct edu *e)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA_FILE, .size = LEN,
	};

	(void)e;
	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -1 : 0;
}

static int type1_map(void *va, size_t len, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

TEST_F_TIMEOUT(fs, type1_compat, MAPDIRECT_TIMEOUT)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char bdf[256], link[512], path[600], group[64];
	struct edu t = { 0 };
	ssize_t n;
	void *m;
	int r, gfd;

	/* This test's device is on the container, not on the fixture's IOAS. */
	find_edu(bdf, sizeof(bdf));
	edu_close(&self->e);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	CHECK(n > 0, "%s: %s", path, strerror(errno));
	link[n] = 0;
	snprintf(group, sizeof(group), "/dev/vfio/%s", strrchr(link, '/') + 1);
	container = open("/dev/vfio/vfio", O_RDWR);
	CHECK(container >= 0, "/dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER?): %s",
	      strerror(errno));
	t.iommufd = container;
	t.ioas = 0;
	gfd = open(group, O_RDWR);
	CHECK(gfd >= 0, "%s (CONFIG_VFIO_GROUP?): %s", group, strerror(errno));
	CHECK(!ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) &&
	      (st.flags & VFIO_GROUP_FLAGS_VIABLE), "VFIO group %s not viable", group);
	CHECK(!ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container),
	      "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	CHECK(!ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
	      "VFIO_SET_IOMMU(TYPE1v2) on iommufd's compat container: %s", strerror(errno));
	t.dev = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	CHECK(t.dev >= 0, "VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
	map_bar(&t);
	t.src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(t.src != MAP_FAILED, "mmap: %s", strerror(errno));
	for (unsigned int i = 0; i < PAGE; i++)
		t.src[i] = (uint8_t)(i * 5 + 1);
	CHECK(!type1_map(t.src, PAGE, IOVA_SRC), "VFIO_IOMMU_MAP_DMA (anonymous): %s",
	      strerror(errno));

	m = map_direct(self->fd);
	r = type1_map(m, LEN, IOVA_FILE);
	CHECK(!r, "VFIO_IOMMU_MAP_DMA of a MAP_DIRECT mapping: %s", strerror(-r));
	dma_to(&t, IOVA_FILE + FILE_OFF);
	CHECK(file_has_dma(self->fd, t.src), "pread does not return the bytes edu wrote");
	set_knob(BREAK_TIME, 1);
	signal(SIGIO, SIG_IGN);
	/* forced_break() maps over the IOVA with IOMMU_IOAS_MAP: ioas 0 fails. */
	{
		long long phys = dma_target_physical(self->fd);
		unsigned long long mark;
		int done;
		pid_t breaker = truncate_in_child(self->path, m, LEN, &done);
		double took = truncate_wait(done, 20);

		CHECK(phys >= 0, "FIEMAP: %s", strerror(errno));
		CHECK(took > 0.8, "the truncate took %.2f s: no revocation after lease-break-time",
		      took);
		waitpid(breaker, NULL, 0);
		mark = kmsg_mark();
		dma_to(&t, IOVA_FILE + FILE_OFF);
		usleep(200000);
		CHECK(kmsg_has(mark, "DMAR", "fault addr"),
		      "no IOMMU fault for the DMA to the revoked IOVA");
		r = type1_map(t.src, PAGE, IOVA_FILE);
		CHECK(r == -EEXIST, "VFIO_IOMMU_MAP_DMA over the revoked IOVA: %s; expected EEXIST",
		      r ? strerror(-r) : "mapped");
		CHECK(!type1_unmap_file(&t), "VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
		printf("type1_compat: VFIO_IOMMU_MAP_DMA of MAP_DIRECT memory: DMA lands; revoked after %.2f s; a later DMA faults\n",
		       took);
	}
	munmap(m, LEN);
	t.iommufd = -1;
	edu_close(&t);
	close(gfd);
	close(container);
}

#define MAP_DELAY "/sys/module/iommufd/parameters/mapdirect_test_map_delay_ms"

/*
 * A revocation while IOMMU_IOAS_MAP is between mapping the pages into the
 * IOMMU and committing to the lease (the test kernel's knob holds it there
 * for 3 s): the map fails with EBUSY, leaves nothing mapped or pinned, and
 * the truncate completes once it has let go.
 */
TEST_F_TIMEOUT(fs, revoke_mid_map, MAPDIRECT_TIMEOUT)
{
	void *m = map_direct(self->fd);
	double t0, took;
	int r;
	pid_t breaker;

	set_knob(BREAK_TIME, 1);
	set_knob(MAP_DELAY, 3000);
	signal(SIGIO, SIG_IGN);
	breaker = fork();
	CHECK_SYS(breaker);
	if (!breaker) {
		/* Break while the map below is pending (0.5 s into its 3 s). */
		munmap(m, LEN);
		usleep(500000);
		_exit(truncate(self->path, 0) ? 1 : 0);
	}
	t0 = now();
	r = ioas_map(&self->e, m, LEN, IOVA_FILE);
	took = now() - t0;
	CHECK(r == -EBUSY, "IOMMU_IOAS_MAP revoked while pending: %s; expected EBUSY",
	      r ? strerror(-r) : "mapped");
	CHECK(child_wait(breaker, 10) >= 0, "the truncate did not complete after the map failed");
	set_knob(MAP_DELAY, 0);
	CHECK(layout_leases(self->ino, 0) == 0, "a lease survived the revocation");
	CHECK(!proc_shows_iommufd(LEN), "the failed map left an iommufd user on a lease");
	CHECK(!ioas_map(&self->e, self->e.src, PAGE, IOVA_FILE),
	      "the failed map left its IOVA taken: %s", strerror(errno));
	munmap(m, LEN);
	printf("revoke_mid_map: IOMMU_IOAS_MAP failed with EBUSY after %.2f s; nothing left mapped\n",
	       took);
}

TEST_F_TIMEOUT(fs, close_fds, MAPDIRECT_TIMEOUT)
{
	void *m = map_direct(self->fd);

	CHECK(!ioas_map(&self->e, m, LEN, IOVA_FILE), "IOMMU_IOAS_MAP: %s", strerror(errno));
	CHECK(!munmap(m, LEN), "munmap: %s", strerror(errno));
	CHECK(layout_leases(self->ino, 0) == 1,
	      "munmap released a lease the IOAS mapping holds");
	edu_close(&self->e);
	CHECK(wait_leases(self->ino, 0, 5),
	      "the lease outlived the iommufd and device files that held the IOAS mapping");
	printf("close_fds: closing the iommufd and VFIO device files released the lease\n");
}

TEST_F_TIMEOUT(fs, kill_owner, MAPDIRECT_TIMEOUT)
{
	int ready[2], done;
	pid_t owner, breaker;
	double took;

	edu_close(&self->e);	/* the owner opens the device */
	set_knob(BREAK_TIME, 20);
	CHECK_SYS(pipe(ready));
	owner = fork();
	CHECK_SYS(owner);
	if (!owner) {
		struct edu e = { 0 };

		signal(SIGIO, SIG_IGN);
		edu_open(&e);
		if (ioas_map(&e, map_direct(self->fd), LEN, IOVA_FILE) ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	CHECK(wait_byte(ready[0], 30) == 'r', "the owner did not map (see its error)");
	breaker = truncate_in_child(self->path, NULL, 0, &done);
	CHECK(truncate_wait(done, 0.5) < 0, "the truncate did not wait for the owner");
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	took = truncate_wait(done, 10);
	CHECK(took >= 0, "the truncate still waits after the owner was killed");
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(self->ino, 0) == 0, "a lease outlived its killed owner");
	printf("kill_owner: truncate completed %.0f ms after the owner was killed (lease-break-time 20 s)\n",
	       took * 1e3);
}

TEST_F_TIMEOUT(fs, fork, MAPDIRECT_TIMEOUT)
{
	void *m = map_direct(self->fd);
	int status;
	pid_t pid;

	CHECK(!ioas_map(&self->e, m, LEN, IOVA_FILE), "IOMMU_IOAS_MAP: %s", strerror(errno));
	pid = fork();
	CHECK_SYS(pid);
	if (!pid)
		_exit(0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child");
	CHECK(layout_leases(self->ino, 0) == 1, "the child's exit changed the lease");
	dma_to(&self->e, IOVA_FILE + FILE_OFF);
	CHECK(file_has_dma(self->fd, self->e.src), "DMA after the child's exit did not land");
	CHECK(!munmap(m, LEN), "munmap: %s", strerror(errno));
	CHECK(layout_leases(self->ino, 0) == 1, "munmap released the IOAS mapping's lease");
	CHECK(!ioas_unmap(&self->e, LEN, IOVA_FILE), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	CHECK(layout_leases(self->ino, 0) == 0, "the lease outlived the IOAS mapping");
	printf("fork: the child's exit left the IOAS mapping and its lease alone\n");
}

TEST_F_TIMEOUT(fs, pass_fd, MAPDIRECT_TIMEOUT)
{
	int sv[2], done, status, ifd, dfd;
	struct pollfd pfd;
	pid_t owner, breaker;
	double took;

	edu_close(&self->e);
	set_knob(BREAK_TIME, 1);
	CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	owner = fork();
	CHECK_SYS(owner);
	if (!owner) {
		struct edu e = { 0 };
		void *m;

		signal(SIGIO, SIG_IGN);
		edu_open(&e);
		m = map_direct(self->fd);
		if (ioas_map(&e, m, LEN, IOVA_FILE))
			_exit(1);
		munmap(m, LEN);
		send_fds(sv[1], e.iommufd, e.dev);
		_exit(0);	/* the IOAS mapping now lives in our parent */
	}
	close(sv[1]);
	pfd = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	CHECK(poll(&pfd, 1, 30000) == 1, "the owner sent no descriptors within 30 s");
	recv_fds(sv[0], &ifd, &dfd);
	CHECK(waitpid(owner, &status, 0) == owner && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the owner failed");
	CHECK(layout_leases(self->ino, 0) == 1,
	      "the IOAS mapping lost its lease when its owner exited");
	breaker = truncate_in_child(self->path, NULL, 0, &done);
	took = truncate_wait(done, 20);
	CHECK(took >= 0, "the truncate never completed: the IOAS mapping was not revoked");
	CHECK(took > 0.8, "the truncate took %.2f s: it did not wait lease-break-time", took);
	waitpid(breaker, NULL, 0);
	CHECK(layout_leases(self->ino, 0) == 0, "a lease survived the revocation");
	close(ifd);
	close(dfd);
	printf("pass_fd: the passed IOAS mapping kept the lease; revoked after %.2f s (lease-break-time 1 s)\n",
	       took);
}

FIXTURE(devdax) {
	struct edu e;
	const char *dev;
};

FIXTURE_SETUP(devdax)
{
	MAPDIRECT_SETUP();
	self->dev = need_env("MAPDIRECT_DEVDAX");
	edu_open(&self->e);
}

FIXTURE_TEARDOWN(devdax)
{
	edu_close(&self->e);
	MAPDIRECT_TEARDOWN();
}

TEST_F_TIMEOUT(devdax, dma_lands, MAPDIRECT_TIMEOUT)
{
	int fd = open(self->dev, O_RDWR);
	uint8_t *m;
	int r;

	CHECK(fd >= 0, "open %s: %s", self->dev, strerror(errno));
	m = map_direct(fd);
	memset(m + FILE_OFF, 0, DMA_LEN);
	r = ioas_map(&self->e, m, LEN, IOVA_FILE);
	CHECK(!r, "IOMMU_IOAS_MAP of a MAP_DIRECT device-dax mapping: %s", strerror(-r));
	CHECK(proc_shows_iommufd(LEN), "/proc/fs/mapdirect shows no iommufd user");
	dma_to(&self->e, IOVA_FILE + FILE_OFF);
	CHECK(!memcmp(m + FILE_OFF, self->e.src, DMA_LEN),
	      "the device-dax mapping does not hold the bytes edu wrote");
	CHECK(!ioas_unmap(&self->e, LEN, IOVA_FILE), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	munmap(m, LEN);
	close(fd);
	printf("devdax: edu's DMA into MAP_DIRECT device-dax memory lands\n");
}

#define DEVDAX_DRIVER "/sys/bus/dax/drivers/device_dax"

/*
 * Unbinding device-dax breaks the lease: after lease-break-time the IOMMU
 * mapping is revoked and the unbind completes; a later DMA faults and the
 * memory keeps what it held.  Binds the device again.
 */
TEST_F_TIMEOUT(devdax, unbind, MAPDIRECT_TIMEOUT)
{
	const char *name = strrchr(self->dev, '/') + 1;
	unsigned long long mark;
	uint8_t *m, before[DMA_LEN];
	char path[256];
	double took;
	pid_t pid;
	int fd, r;

	fd = open(self->dev, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", self->dev, strerror(errno));
	m = map_direct(fd);
	r = ioas_map(&self->e, m, LEN, IOVA_FILE);
	CHECK(!r, "IOMMU_IOAS_MAP of a MAP_DIRECT device-dax mapping: %s", strerror(-r));
	dma_to(&self->e, IOVA_FILE + FILE_OFF);
	memcpy(before, m + FILE_OFF, DMA_LEN);
	CHECK(!memcmp(before, self->e.src, DMA_LEN), "the DMA did not land");

	set_knob(BREAK_TIME, 1);
	signal(SIGIO, SIG_IGN);
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		munmap(m, LEN);
		_exit(write_str(DEVDAX_DRIVER "/unbind", name) ? 1 : 0);
	}
	took = child_wait(pid, 20);
	CHECK(took >= 0, "unbinding %s did not complete: the IOMMU mapping was not revoked",
	      name);
	CHECK(took > 0.8, "unbinding %s took %.2f s: it did not wait lease-break-time (1 s)",
	      name, took);
	mark = kmsg_mark();
	memset(self->e.src, 0x77, DMA_LEN);
	dma_to(&self->e, IOVA_FILE + FILE_OFF);
	usleep(200000);
	CHECK(kmsg_has(mark, "DMAR", "fault addr"),
	      "no IOMMU fault for the DMA to the revoked IOVA of the unbound device");
	CHECK(!ioas_unmap(&self->e, LEN, IOVA_FILE), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
	munmap(m, LEN);
	close(fd);

	CHECK(!write_str(DEVDAX_DRIVER "/bind", name), "bind %s again: %s", name,
	      strerror(errno));
	snprintf(path, sizeof(path), "%s", self->dev);
	for (int i = 0; i < 100 && access(path, F_OK); i++)
		usleep(50000);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0, "open %s after binding it again: %s", path, strerror(errno));
	m = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
	CHECK(!memcmp(m + FILE_OFF, before, DMA_LEN),
	      "%s changed after the revocation: the revoked DMA reached it", path);
	munmap(m, LEN);
	close(fd);
	printf("devdax unbind: revoked after %.2f s (lease-break-time 1 s); a later DMA faulted and changed nothing\n",
	       took);
}

TEST_HARNESS_MAIN
