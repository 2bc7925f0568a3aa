// SPDX-License-Identifier: MIT
/*
 * shutdown: a file system shut down (XFS_IOC_GOINGDOWN,
 * EXT4_IOC_SHUTDOWN: the same ioctl number; what an I/O error or the
 * pmem's removal does too) can no longer vouch for its block map, so
 * MAP_DIRECT holders are told to let go and revoked at lease-break-time,
 * and new MAP_DIRECT mappings fail with EIO.  Afterwards the file system
 * is unmounted and mounted again (log recovery) for the tests that follow.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/shutdown (-l lists the tests).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define GOINGDOWN _IOR('X', 125, uint32_t)	/* XFS and ext4 alike */
#define NOLOGFLUSH 2
#define BREAK_TIME "/proc/sys/fs/lease-break-time"

static atomic_int sigio;
static sigjmp_buf jmp;

static void on_sigio(int sig)
{
	(void)sig;
	sigio++;
}

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jmp, 1);
}

static int load_faults(volatile char *p)
{
	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jmp, 1))
		return 1;
	(void)*p;
	return 0;
}

/* XFS_IOC_GOINGDOWN / EXT4_IOC_SHUTDOWN, without flushing the log. */
static int shut_down_ioctl(int fd, const char *dev)
{
	uint32_t how = NOLOGFLUSH;

	(void)dev;
	return ioctl(fd, GOINGDOWN, &how);
}

/*
 * An ext4 error with errors=remount-ro (what a corrupt block found by the
 * kernel does), injected through ext4's trigger_fs_error attribute.
 */
static int ext4_error(int fd, const char *dev)
{
	const char *name = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	char attr[256];
	FILE *f;

	(void)fd;
	snprintf(attr, sizeof(attr), "/sys/fs/ext4/%s/trigger_fs_error", name);
	f = fopen(attr, "w");
	if (!f)
		return -1;
	fputs("mapdirect test: injected error\n", f);
	return fclose(f);
}

static void run(const char *dir, const char *dev, const char *opts,
		int (*shut_down)(int fd, const char *dev), const char *how)
{
	char path[4096], cmd[8400];
	double t0;
	char *map;
	void *p;
	int fd, fd2;

	set_knob(BREAK_TIME, 1);
	signal(SIGIO, on_sigio);

	fd = dax_make_file(dir, "shutdown.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	map[0] = 'a';
	fd2 = open(path, O_RDWR);
	CHECK_SYS(fd2);

	t0 = now();
	CHECK(shut_down(fd, dev) == 0, "shut down %s (%s): %s", dir, how, strerror(errno));
	while (!sigio && now() < t0 + 5)
		usleep(1000);
	CHECK(sigio, "the holder was not notified of the shutdown (%s) within 5 s", how);
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd2, 0);
	CHECK(p == MAP_FAILED, "MAP_DIRECT after the shutdown succeeded");
	CHECK(errno == EIO, "MAP_DIRECT after the shutdown failed with %s, expected EIO",
	      strerror(errno));
	while (!load_faults(map) && now() < t0 + 10)
		usleep(20000);
	CHECK(load_faults(map), "the mapping still works 10 s after the shutdown "
	      "(lease-break-time 1 s): not revoked");
	printf("shutdown (%s): holder notified, revoked after %.2f s; MAP_DIRECT refused (EIO)\n",
	       how, now() - t0);
	CHECK_SYS(munmap(map, LEN));
	close(fd);
	close(fd2);

	/* e2fsck clears the error an ext4 error recorded (exit 1: fixed). */
	snprintf(cmd, sizeof(cmd), "umount %s && { [ %d = 0 ] || e2fsck -fy %s >/dev/null 2>&1; [ $? -lt 4 ]; } && "
		 "mount -o %s %s %s && rm -f %s", dir, shut_down == ext4_error, dev,
		 opts, dev, dir, path);
	CHECK(system(cmd) == 0, "remounting %s after the shutdown failed: %s", dir, cmd);
}

MAPDIRECT_FIXTURE(shutdown)
FIXTURE_VARIANT_ADD(shutdown, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(shutdown, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(shutdown, revokes, MAPDIRECT_TIMEOUT)
{
	run(self->dir, self->dev, variant->at.opts, shut_down_ioctl, "ioctl");
}

/* ext4 shuts itself down on an error with errors=remount-ro: the same. */
MAPDIRECT_FIXTURE(ext4_error)
FIXTURE_VARIANT_ADD(ext4_error, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(ext4_error, revokes, MAPDIRECT_TIMEOUT)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "mount -o remount,errors=remount-ro %s", self->dir);
	CHECK(system(cmd) == 0, "%s failed", cmd);
	run(self->dir, self->dev, variant->at.opts, ext4_error, "ext4 error, errors=remount-ro");
}

TEST_HARNESS_MAIN
