// SPDX-License-Identifier: MIT
/*
 * stress: randomized MAP_DIRECT stress for STRESS_SECONDS (default 180),
 * with lease-break-time 1 s, on each DIR given (an XFS and an ext4 DAX
 * mount).  Per directory, at the same time:
 *
 *  - mappers map random ranges of a shared file with MAP_DIRECT, store to
 *    them, fork children that store and exit, split mappings (partial
 *    munmap, mprotect), mremap, and unmap, in random order; some of them
 *    ignore the break notice and get SIGBUS, which they survive;
 *  - registrars map and register ranges for RDMA (rxe), hold them past
 *    lease-break-time now and then, and deregister and unmap in random
 *    order;
 *  - a killer SIGKILLs a random mapper or registrar now and then (they
 *    are restarted), so leases and registrations die with their process;
 *  - breakers truncate and extend the file, punch, zero, collapse and
 *    insert ranges, allocate, and (XFS) FICLONERANGE into it and
 *    XFS_IOC_SWAPEXT it;
 *  - with MAPDIRECT_VM_PROFILE=iommu (the iommu VM), IOMMU workers map
 *    MAP_DIRECT ranges into iommufd IOAS at fixed IOVAs, copy them into a
 *    second IOAS (IOMMU_IOAS_COPY), munmap them while they stay mapped in
 *    the IOMMU, hold them past lease-break-time, and unmap in random
 *    order; on the first file system one of them owns QEMU's edu device
 *    and has it DMA into its IOVAs (a revoked one is an IOMMU fault);
 *  - after every truncate a canary file is written with a pattern: it
 *    likely takes the blocks just freed.  Every canary is checked at the
 *    end: a store or DMA that reached freed blocks would show there;
 *  - then crashes: the workers and a breaker start again, and a few
 *    seconds in, the file system is shut down without flushing its log
 *    (XFS_IOC_GOINGDOWN / EXT4_IOC_SHUTDOWN, NOLOGFLUSH) under them; they
 *    are killed, the file system is unmounted, mounted (log recovery),
 *    unmounted and checked (xfs_repair -n, e2fsck -fn), and mounted again.
 *    One crash per started 15 minutes of STRESS_SECONDS.
 *
 * A device-dax DEV (a character device, /dev/dax0.0) gets mappers and
 * registrars, killed and restarted the same way, and no breaker (its
 * block map never changes; unbinding it is pmem_unbind's test).
 *
 * Invariants checked: every breaker finishes within lease-break-time plus
 * 10 s; every canary keeps its pattern; no lease is left on any file at the
 * end; after each crash the killed workers go within 30 s, the file system
 * unmounts (no lease or registration keeps a file of it) and checks clean; no process ends other than by exit or our SIGKILL (a SIGBUS on a
 * revoked mapping is caught and counted).  The kernel side (lockdep,
 * KASAN, kmemleak if the kernel has it, WARN, hung tasks) is judged by
 * vm/run.sh from the console log.
 *
 * usage: stress DIR|DEV...
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include <linux/iommufd.h>

#include "lib/check.h"
#include "lib/edu.h"
#include "lib/rdev.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define FILE_LEN (16u << 20)
#define SLICE (2u << 20)
#define MAPPERS 3
#define REGISTRARS 2
#define IOMMU_WORKERS 2		/* with MAPDIRECT_VM_PROFILE=iommu */
#define IOMMU_SLOTS 4
#define IOVA_BASE 0x400000UL	/* edu's DMA mask is 28 bits */
#define CANARY_LEN (1u << 20)
#define MAX_CANARIES 48
#define BREAK_BOUND 11.0	/* lease-break-time (1 s) + 10 s */
#define XFS_MAGIC 0x58465342
#define GOINGDOWN _IOR('X', 125, uint32_t)	/* XFS and ext4 alike */
#define NOLOGFLUSH 2				/* ..._GOING_FLAGS_NOLOGFLUSH */
#define CRASH_AFTER 3.0		/* s of work before the shutdown */
#define CRASH_SECS 30.0		/* a crash's workers stop by themselves then */
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static double deadline, run_secs;
static int iommu;		/* IOMMU workers too (the iommu VM) */
static int edu_here;		/* and one of them drives edu, on this dir */
static int devdax;		/* the workers map a device-dax device */
static int quiet;		/* children say nothing: a crash's errors are expected */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t in_store;

static void on_sigbus(int sig)
{
	(void)sig;
	if (in_store)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

/* Store to @len bytes at @p; returns 1 if the mapping was revoked. */
static int touch(char *p, size_t len, char v)
{
	if (sigsetjmp(bus_jmp, 1)) {
		in_store = 0;
		return 1;
	}
	in_store = 1;
	for (size_t off = 0; off < len; off += 4096)
		p[off] = v;
	in_store = 0;
	return 0;
}

static char *map_slice(int fd, off_t *off)
{
	*off = (off_t)(rand() % (FILE_LEN / SLICE)) * SLICE;
	return mmap(NULL, SLICE, PROT_READ | PROT_WRITE,
		    MAP_SHARED_VALIDATE | MAP_DIRECT, fd, *off);
}

static void mapper(const char *path, int id)
{
	int fd = open(path, O_RDWR), rounds = 0, revoked = 0;

	CHECK(fd >= 0, "mapper %d: open: %s", id, strerror(errno));
	srand(getpid());
	signal(SIGBUS, on_sigbus);
	/*
	 * Nobody listens to the notice: even mappers hold briefly (they let
	 * go before lease-break-time, the cooperative path), odd ones up to
	 * 1.5 s (revoked).
	 */
	signal(SIGIO, SIG_IGN);
	while (now() < deadline) {
		off_t off;
		char *m = map_slice(fd, &off), *moved;

		if (m == MAP_FAILED) {
			CHECK(errno == EAGAIN || errno == EOPNOTSUPP,
			      "mapper %d: mmap: %s", id, strerror(errno));
			usleep(10000);
			continue;
		}
		rounds++;
		revoked += touch(m, SLICE, 'm');
		switch (rand() % 5) {
		case 0: {			/* fork: the child shares the lease */
			pid_t pid = fork();

			CHECK_SYS(pid);
			if (!pid) {
				touch(m, SLICE, 'c');
				usleep(rand() % 300000);
				_exit(0);
			}
			CHECK(waitpid(pid, NULL, 0) == pid, "waitpid");
			break;
		}
		case 1:				/* split (device-dax: 2 MiB only) */
			if (devdax)
				break;
			CHECK_SYS(munmap(m + 4096, 4096));
			CHECK_SYS(mprotect(m + 8192, 4096, PROT_READ));
			break;
		case 2:				/* move */
			moved = mremap(m, SLICE, SLICE, MREMAP_MAYMOVE);
			CHECK(moved != MAP_FAILED, "mapper %d: mremap: %s", id,
			      strerror(errno));
			m = moved;
			break;
		default:
			break;
		}
		usleep(rand() % (id % 2 ? 1500000 : 200000));
		CHECK_SYS(munmap(m, SLICE));
	}
	printf("mapper %d: %d mappings, %d revoked\n", id, rounds, revoked);
	exit(0);
}

static void registrar(const char *path, int id)
{
	struct ibv_context *ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	int fd = open(path, O_RDWR), regs = 0;

	CHECK(pd && fd >= 0, "registrar %d: set-up: %s", id, strerror(errno));
	srand(getpid());
	signal(SIGIO, SIG_IGN);
	signal(SIGBUS, on_sigbus);
	while (now() < deadline) {
		off_t off;
		char *m = map_slice(fd, &off);
		struct ibv_mr *mr;

		if (m == MAP_FAILED) {
			CHECK(errno == EAGAIN || errno == EOPNOTSUPP,
			      "registrar %d: mmap: %s", id, strerror(errno));
			usleep(10000);
			continue;
		}
		mr = ibv_reg_mr(pd, m, SLICE, ACCESS);
		if (!mr)
			CHECK(errno == EBUSY || errno == EFAULT || errno == EAGAIN,
			      "registrar %d: ibv_reg_mr: %s", id, strerror(errno));
		else
			regs++;
		usleep(rand() % 4 ? rand() % 300000 : 1200000 + rand() % 800000);
		if (rand() % 2) {
			CHECK_SYS(munmap(m, SLICE));
			if (mr)
				CHECK(!ibv_dereg_mr(mr), "registrar %d: dereg: %s", id,
				      strerror(errno));
		} else {
			if (mr)
				CHECK(!ibv_dereg_mr(mr), "registrar %d: dereg: %s", id,
				      strerror(errno));
			CHECK_SYS(munmap(m, SLICE));
		}
	}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("registrar %d: %d registrations\n", id, regs);
	exit(0);
}

static int ioas_copy(int ifd, uint32_t dst, uint32_t src, uint64_t iova, size_t len)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = dst, .src_ioas_id = src, .length = len,
		.dst_iova = iova, .src_iova = iova,
	};

	return ioctl(ifd, IOMMU_IOAS_COPY, &c) ? -errno : 0;
}

struct iommu_slot {
	char *map;		/* the MAP_DIRECT mapping, or NULL once unmapped */
	int mapped;		/* in the IOAS at its IOVA */
	int copied;		/* in the second IOAS too */
};

/* Undo a slot's IOAS mappings and its mapping, in random order. */
static void slot_release(struct edu *e, uint32_t ioas2, struct iommu_slot *sl,
			 uint64_t iova, int id)
{
	struct edu e2 = *e;
	int r;

	e2.ioas = ioas2;
	if (sl->map && rand() % 2) {
		CHECK_SYS(munmap(sl->map, SLICE));
		sl->map = NULL;
	}
	if (sl->mapped) {
		r = ioas_unmap(e, SLICE, iova);
		CHECK(!r, "iommu worker %d: IOMMU_IOAS_UNMAP: %s", id, strerror(-r));
	}
	if (sl->copied) {
		r = ioas_unmap(&e2, SLICE, iova);
		CHECK(!r, "iommu worker %d: IOMMU_IOAS_UNMAP (copy): %s", id, strerror(-r));
	}
	if (sl->map)
		CHECK_SYS(munmap(sl->map, SLICE));
	memset(sl, 0, sizeof(*sl));
}

static void iommu_worker(const char *path, int id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_slot slot[IOMMU_SLOTS] = { 0 };
	int fd = open(path, O_RDWR), maps = 0, copies = 0, dmas = 0;
	int dev = id == 0 && edu_here;
	struct edu e = { 0 };
	uint32_t ioas2;

	CHECK(fd >= 0, "iommu worker %d: open: %s", id, strerror(errno));
	srand(getpid());
	signal(SIGIO, SIG_IGN);
	if (dev) {
		edu_open(&e);
	} else {
		e.iommufd = open("/dev/iommu", O_RDWR);
		CHECK(e.iommufd >= 0, "/dev/iommu: %s", strerror(errno));
		CHECK(!ioctl(e.iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
		      strerror(errno));
		e.ioas = alloc.out_ioas_id;
	}
	CHECK(!ioctl(e.iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
	      strerror(errno));
	ioas2 = alloc.out_ioas_id;
	while (now() < deadline) {
		int i = rand() % IOMMU_SLOTS, r;
		uint64_t iova = IOVA_BASE + (uint64_t)i * SLICE;
		struct iommu_slot *sl = &slot[i];
		off_t off;

		if (!sl->map && !sl->mapped) {
			sl->map = map_slice(fd, &off);
			if (sl->map == MAP_FAILED) {
				CHECK(errno == EAGAIN || errno == EOPNOTSUPP,
				      "iommu worker %d: mmap: %s", id, strerror(errno));
				sl->map = NULL;
				usleep(10000);
				continue;
			}
			r = ioas_map(&e, sl->map, SLICE, iova);
			CHECK(!r || r == -EBUSY || r == -EFAULT,
			      "iommu worker %d: IOMMU_IOAS_MAP: %s", id, strerror(-r));
			sl->mapped = !r;
			maps += !r;
			continue;
		}
		switch (rand() % 8) {
		case 0:
		case 4:
		case 5:		/* DMA (a revoked IOVA: an IOMMU fault) */
			if (dev && sl->mapped) {
				dma_to(&e, iova + (uint64_t)(rand() % (SLICE / PAGE)) * PAGE);
				dmas++;
			}
			break;
		case 1:		/* the pages into a second IOAS */
			if (sl->mapped && !sl->copied) {
				r = ioas_copy(e.iommufd, ioas2, e.ioas, iova, SLICE);
				CHECK(!r || r == -EBUSY, "iommu worker %d: IOMMU_IOAS_COPY: %s",
				      id, strerror(-r));
				sl->copied = !r;
				copies += !r;
			}
			break;
		case 2:		/* hold it past lease-break-time */
			usleep(1200000 + rand() % 800000);
			break;
		case 3:		/* munmap: the IOAS mapping keeps the lease */
			if (sl->map) {
				CHECK_SYS(munmap(sl->map, SLICE));
				sl->map = NULL;
			}
			break;
		default:	/* 6, 7 */
			slot_release(&e, ioas2, sl, iova, id);
		}
		usleep(rand() % 50000);
	}
	for (int i = 0; i < IOMMU_SLOTS; i++)
		slot_release(&e, ioas2, &slot[i], IOVA_BASE + (uint64_t)i * SLICE, id);
	edu_close(&e);
	close(fd);
	printf("iommu worker %d: %d IOAS maps, %d copies, %d DMAs\n", id, maps, copies, dmas);
	exit(0);
}

/* XFS_IOC_SWAPEXT, as in the kernel selftests (xfs_fs.h is not exported). */
struct xfs_bstime { long tv_sec; int32_t tv_nsec; };
struct xfs_bstat {
	uint64_t ino; uint16_t mode, nlink; uint32_t uid, gid, rdev;
	int32_t blksize; int64_t size;
	struct xfs_bstime atime, mtime, ctime;
	int64_t blocks; uint32_t xflags; int32_t extsize, extents; uint32_t gen;
	uint16_t projid_lo, forkoff, projid_hi, sick, checked;
	unsigned char pad[2]; uint32_t cowextsize, dmevmask;
	uint16_t dmstate, aextents;
};
struct xfs_swapext {
	int64_t version, fdtarget, fdtmp, offset, length;
	char pad[16];
	struct xfs_bstat stat;
};
#define XFS_IOC_SWAPEXT _IOWR('X', 109, struct xfs_swapext)

struct canary {
	char path[4200];
	unsigned char pattern;
};

static int write_canary(const char *dir, int n, struct canary *c)
{
	static unsigned char buf[CANARY_LEN];
	int fd;

	snprintf(c->path, sizeof(c->path), "%s/stress.canary.%d", dir, n);
	c->pattern = (unsigned char)(0x40 + n % 64);
	memset(buf, c->pattern, sizeof(buf));
	fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0, "canary %s: %s", c->path, strerror(errno));
	CHECK(pwrite(fd, buf, CANARY_LEN, 0) == CANARY_LEN && fsync(fd) == 0,
	      "canary %s: %s", c->path, strerror(errno));
	close(fd);
	return 0;
}

static void refill(int fd)
{
	static char zero[SLICE];

	for (off_t o = 0; o < FILE_LEN; o += SLICE)
		CHECK(pwrite(fd, zero, SLICE, o) == SLICE, "refill: %s", strerror(errno));
}

static void breaker(const char *dir, const char *path, int xfs)
{
	static struct canary canaries[MAX_CANARIES];
	static unsigned char buf[CANARY_LEN];
	int fd = open(path, O_RDWR), n = 0, ops = 0;
	double worst = 0;

	CHECK(fd >= 0, "breaker: open: %s", strerror(errno));
	srand(getpid());
	while (now() < deadline) {
		/*
		 * A reflink leaves the file shared, and MAP_DIRECT refuses
		 * shared files: only in the last fifth of the run.
		 */
		int ops_now = xfs ? (now() > deadline - 0.2 * run_secs ? 8 : 7) : 6;
		int op = rand() % ops_now, r = 0;
		off_t off = (off_t)(rand() % (FILE_LEN / SLICE)) * SLICE;
		double t0 = now(), took;

		usleep(rand() % 500000);
		t0 = now();
		switch (op) {
		case 0:
			r = ftruncate(fd, FILE_LEN / 2);
			break;
		case 1:
			r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, SLICE);
			break;
		case 2:
			r = fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, SLICE);
			break;
		case 3:		/* must end before EOF */
			off %= FILE_LEN - SLICE;
			r = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, off, SLICE);
			if (!r)
				r = ftruncate(fd, FILE_LEN);
			break;
		case 4:
			r = fallocate(fd, FALLOC_FL_INSERT_RANGE, off, SLICE);
			if (!r)
				r = ftruncate(fd, FILE_LEN);
			break;
		case 5:
			r = fallocate(fd, 0, 0, FILE_LEN);
			break;
		case 7: {		/* XFS: share a slice of another file into it */
			char src[4200];
			int sfd;
			struct file_clone_range fcr = { .src_length = SLICE, .dest_offset = off };

			snprintf(src, sizeof(src), "%s/stress.clonesrc", dir);
			sfd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
			CHECK(sfd >= 0, "clone source: %s", strerror(errno));
			memset(buf, 'r', sizeof(buf));
			CHECK(pwrite(sfd, buf, CANARY_LEN, 0) == CANARY_LEN &&
			      pwrite(sfd, buf, CANARY_LEN, CANARY_LEN) == CANARY_LEN,
			      "clone source: %s", strerror(errno));
			fcr.src_fd = sfd;
			r = ioctl(fd, FICLONERANGE, &fcr);
			close(sfd);
			unlink(src);
			break;
		}
		case 6: {		/* XFS: swap all extents with a new file */
			char tmp[4200];
			struct xfs_swapext sx = { .length = FILE_LEN };
			struct stat st;
			int tfd;

			snprintf(tmp, sizeof(tmp), "%s/stress.swap", dir);
			tfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
			CHECK(tfd >= 0, "swap file: %s", strerror(errno));
			refill(tfd);
			CHECK_SYS(fsync(tfd));
			CHECK_SYS(fstat(fd, &st));
			sx.fdtarget = fd;
			sx.fdtmp = tfd;
			sx.stat.ino = st.st_ino;
			sx.stat.mtime.tv_sec = st.st_mtim.tv_sec;
			sx.stat.mtime.tv_nsec = st.st_mtim.tv_nsec;
			sx.stat.ctime.tv_sec = st.st_ctim.tv_sec;
			sx.stat.ctime.tv_nsec = st.st_ctim.tv_nsec;
			r = ioctl(fd, XFS_IOC_SWAPEXT, &sx);
			/* EBUSY: a store changed the times; EINVAL: extent counts. */
			if (r && (errno == EBUSY || errno == EINVAL))
				r = 0;
			close(tfd);
			unlink(tmp);
			break;
		}
		}
		took = now() - t0;
		CHECK(!r || errno == EAGAIN, "breaker op %d: %s", op, strerror(errno));
		CHECK(took < BREAK_BOUND, "breaker op %d took %.1f s: not bounded by "
		      "lease-break-time", op, took);
		if (took > worst)
			worst = took;
		ops++;
		if (op == 0) {
			/* The freed blocks go to a canary, if they go anywhere. */
			if (n < MAX_CANARIES)
				write_canary(dir, n, &canaries[n]), n++;
			CHECK_SYS(ftruncate(fd, FILE_LEN));
		}
		if (op != 5)
			refill(fd);	/* written again: nothing to allocate in faults */
	}
	for (int i = 0; i < n; i++) {
		int cfd = open(canaries[i].path, O_RDONLY);

		CHECK(cfd >= 0 && pread(cfd, buf, CANARY_LEN, 0) == CANARY_LEN,
		      "canary %s: %s", canaries[i].path, strerror(errno));
		for (size_t j = 0; j < CANARY_LEN; j++)
			CHECK(buf[j] == canaries[i].pattern,
			      "canary %s changed at byte %zu (%#x, wrote %#x): a store or DMA "
			      "reached blocks after they were freed", canaries[i].path, j,
			      buf[j], canaries[i].pattern);
		close(cfd);
		unlink(canaries[i].path);
	}
	printf("breaker: %d operations, slowest %.2f s, %d canaries intact\n", ops,
	       worst, n);
	exit(0);
}

/* In a child: with @quiet, its output goes nowhere. */
static void be_quiet(void)
{
	int null;

	if (!quiet)
		return;
	null = open("/dev/null", O_WRONLY);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
}

static pid_t spawn(void (*fn)(const char *, int), const char *path, int id)
{
	pid_t pid = fork();

	CHECK_SYS(pid);
	if (!pid) {
		be_quiet();
		fn(path, id);
	}
	return pid;
}

static int leases_left(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/locks", "r");

	CHECK(f, "/proc/locks: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "LAYOUT"))
			n++;
	fclose(f);
	return n;
}

/* Start worker @i: mappers, then registrars, then IOMMU workers. */
static pid_t start_worker(const char *path, int i)
{
	if (i < MAPPERS)
		return spawn(mapper, path, i);
	if (i < MAPPERS + REGISTRARS)
		return spawn(registrar, path, i - MAPPERS);
	return spawn(iommu_worker, path, i - MAPPERS - REGISTRARS);
}

/*
 * The killer: until the deadline, now and then SIGKILL one of the workers
 * on @path and start a new one; then wait for them all to end by
 * themselves.  Returns how many it killed.
 */
static int kill_and_reap(pid_t *workers, int nworkers, const char *path)
{
	int status, kills = 0;

	while (now() < deadline - 2) {
		int i = rand() % nworkers;

		usleep(500000 + rand() % 1500000);
		if (rand() % 3)
			continue;
		kill(workers[i], SIGKILL);
		CHECK(waitpid(workers[i], &status, 0) == workers[i], "waitpid");
		CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
		      (WIFEXITED(status) && !WEXITSTATUS(status)),
		      "%s: worker %d ended with status %#x", path, i, status);
		kills++;
		workers[i] = start_worker(path, i);
	}
	for (int i = 0; i < nworkers; i++) {
		CHECK(waitpid(workers[i], &status, 0) == workers[i], "waitpid");
		CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		      "%s: worker %d ended with status %#x (3: SIGBUS outside a store)",
		      path, i, status);
	}
	return kills;
}

/* Reap @pid within @secs (it was SIGKILLed): 0, or -1 if it is still there. */
static int reap_within(pid_t pid, double secs)
{
	double end = now() + secs;

	while (now() < end) {
		pid_t got = waitpid(pid, NULL, WNOHANG);

		if (got == pid || (got < 0 && errno == ECHILD))
			return 0;
		usleep(20000);
	}
	return -1;
}

static void sh(const char *what, const char *cmd)
{
	int rc = system(cmd);

	CHECK(rc == 0, "%s failed (exit %d): %s", what, WIFEXITED(rc) ? WEXITSTATUS(rc) : rc,
	      cmd);
}

/*
 * A crash under load: workers and a breaker on a fresh file, the file
 * system shut down without flushing its log under them, everything
 * killed, then unmount, mount (log recovery), unmount, check, mount.
 */
static void crash_dir(const char *dir, const char *path, int xfs, int n)
{
	int nworkers = MAPPERS + REGISTRARS + (iommu ? IOMMU_WORKERS : 0);
	pid_t workers[MAPPERS + REGISTRARS + IOMMU_WORKERS + 1];
	const char *dev = need_env(xfs ? "MAPDIRECT_XFS_DEV" : "MAPDIRECT_EXT4_DEV");
	const char *opts = xfs ? "dax=always" : "dax";
	uint32_t how = NOLOGFLUSH;
	char cmd[9000];
	double t0;
	int fd, i;

	CHECK(!strcmp(dir, need_env(xfs ? "MAPDIRECT_XFS" : "MAPDIRECT_EXT4")),
	      "crash: %s is not the VM's %s mount (%s): which device to check?", dir,
	      xfs ? "XFS" : "ext4", need_env(xfs ? "MAPDIRECT_XFS" : "MAPDIRECT_EXT4"));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
	refill(fd);
	CHECK_SYS(fsync(fd));
	deadline = now() + CRASH_SECS;
	quiet = 1;
	for (i = 0; i < nworkers; i++)
		workers[i] = start_worker(path, i);
	workers[i] = fork();
	CHECK_SYS(workers[i]);
	if (!workers[i]) {
		be_quiet();
		breaker(dir, path, xfs);
	}
	quiet = 0;
	usleep((useconds_t)(CRASH_AFTER * 1e6));
	t0 = now();
	CHECK(ioctl(fd, GOINGDOWN, &how) == 0, "crash %d: shutting %s down: %s", n, dir,
	      strerror(errno));
	usleep(1000000);		/* the workers meet the shutdown */
	for (i = 0; i <= nworkers; i++)
		kill(workers[i], SIGKILL);
	for (i = 0; i <= nworkers; i++)
		CHECK(!reap_within(workers[i], 30), "crash %d: a worker (pid %d) on %s did "
		      "not end within 30 s of SIGKILL after the shutdown: stuck in the "
		      "kernel (see the kernel log)", n, workers[i], dir);
	close(fd);
	/* Umount fails while a lease or a registration keeps a file open. */
	snprintf(cmd, sizeof(cmd), "for i in 1 2 3 4 5 6 7 8 9 10; do umount %s 2>/dev/null "
		 "&& exit 0; sleep 1; done; umount %s", dir, dir);
	sh("unmounting after the shutdown (a lease or registration left?)", cmd);
	snprintf(cmd, sizeof(cmd), "mount -o %s %s %s && umount %s", opts, dev, dir, dir);
	sh("log recovery (mount and unmount)", cmd);
	snprintf(cmd, sizeof(cmd), xfs ? "xfs_repair -n %s >/dev/null 2>&1" :
		 "e2fsck -fn %s >/dev/null 2>&1", dev);
	sh(xfs ? "xfs_repair -n after the crash (run it for the report)" :
	   "e2fsck -fn after the crash (run it for the report)", cmd);
	snprintf(cmd, sizeof(cmd), "mount -o %s %s %s && cd %s && rm -f stress.dat "
		 "stress.canary.* stress.swap stress.clonesrc", opts, dev, dir, dir);
	sh("mounting again", cmd);
	printf("%s: crash %d: shut down under %d workers and a breaker, recovered and "
	       "checked clean in %.1f s\n", dir, n, nworkers, now() - t0);
}

static void run_dir(const char *dir, int xfs)
{
	int nworkers = MAPPERS + REGISTRARS + (iommu ? IOMMU_WORKERS : 0);
	pid_t workers[MAPPERS + REGISTRARS + IOMMU_WORKERS], brk;
	char path[4096];
	int fd, status, kills = 0;

	snprintf(path, sizeof(path), "%s/stress.dat", dir);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
	refill(fd);
	CHECK_SYS(fsync(fd));
	for (int i = 0; i < nworkers; i++)
		workers[i] = start_worker(path, i);
	brk = fork();
	CHECK_SYS(brk);
	if (!brk)
		breaker(dir, path, xfs);

	kills = kill_and_reap(workers, nworkers, path);
	CHECK(waitpid(brk, &status, 0) == brk, "waitpid");
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "the breaker failed (status %#x)",
	      status);
	close(fd);
	unlink(path);
	printf("%s: %d workers killed and restarted\n", dir, kills);
	for (int n = 1; n <= 1 + (int)(run_secs / 900); n++)
		crash_dir(dir, path, xfs, n);
}

/* Device-dax: mappers and registrars, killed and restarted; no breaker. */
static void run_devdax(const char *dev)
{
	pid_t workers[MAPPERS + REGISTRARS];
	int nworkers = MAPPERS + REGISTRARS, kills;

	devdax = 1;
	for (int i = 0; i < nworkers; i++)
		workers[i] = start_worker(dev, i);
	kills = kill_and_reap(workers, nworkers, dev);
	printf("%s: %d workers killed and restarted\n", dev, kills);
}

int main(int argc, char **argv)
{
	const char *secs = getenv("STRESS_SECONDS");
	double per_dir;
	pid_t pids[8];
	int status, left;
	FILE *f;

	CHECK(argc >= 2 && argc <= 9, "usage: stress DIR|DEV...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	per_dir = secs ? atof(secs) : 180;
	CHECK(per_dir >= 5, "STRESS_SECONDS must be at least 5");
	run_secs = per_dir;
	iommu = getenv("MAPDIRECT_VM_PROFILE") &&
		!strcmp(getenv("MAPDIRECT_VM_PROFILE"), "iommu");
	set_knob("/proc/sys/fs/lease-break-time", 1);	/* restored at exit */
	deadline = now() + per_dir;
	printf("stress: %.0f s on %d file system(s) or device(s), lease-break-time 1 s%s\n",
	       per_dir, argc - 1, iommu ? ", with IOMMU workers (edu on the first)" : "");
	/* The file systems run side by side, each in its own process group. */
	for (int i = 1; i < argc; i++) {
		struct statfs sfs;
		struct stat st;

		CHECK(stat(argv[i], &st) == 0, "stat %s: %s", argv[i], strerror(errno));
		CHECK(S_ISCHR(st.st_mode) || statfs(argv[i], &sfs) == 0, "statfs %s: %s",
		      argv[i], strerror(errno));
		pids[i - 1] = fork();
		CHECK_SYS(pids[i - 1]);
		if (!pids[i - 1]) {
			srand(getpid());
			edu_here = iommu && i == 1;
			if (S_ISCHR(st.st_mode))
				run_devdax(argv[i]);
			else
				run_dir(argv[i], sfs.f_type == XFS_MAGIC);
			exit(0);
		}
	}
	for (int i = 1; i < argc; i++) {
		CHECK(waitpid(pids[i - 1], &status, 0) == pids[i - 1], "waitpid");
		CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "stress on %s failed",
		      argv[i]);
	}
	sleep(2);	/* revocations queued by the last breaks run */
	left = leases_left();
	CHECK(!left, "%d lease(s) left after every process ended", left);
	f = fopen("/sys/kernel/debug/kmemleak", "r+");
	if (f) {
		char line[256];
		int leaks = 0;

		fputs("scan\n", f);
		fclose(f);
		f = fopen("/sys/kernel/debug/kmemleak", "r");
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "unreferenced object"))
				leaks++;
		if (f)
			fclose(f);
		CHECK(!leaks, "kmemleak: %d unreferenced object(s); see "
		      "/sys/kernel/debug/kmemleak", leaks);
		printf("kmemleak: no leaks\n");
	}
	printf("stress: passed: no lease left, canaries intact, every break bounded\n");
	return 0;
}
