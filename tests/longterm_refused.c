// SPDX-License-Identifier: MIT
/*
 * longterm-refused: only users that subscribe to revocation may pin
 * MAP_DIRECT memory for the long term.  io_uring fixed buffers cannot be
 * revoked, so registering a MAP_DIRECT mapping of a DAX file as one must
 * still fail with EOPNOTSUPP, as for any fs-DAX memory.  As a control, an
 * anonymous buffer registers fine (io_uring works in this kernel).
 *
 * The same on device-dax: a plain mapping of the device may be pinned for
 * the long term (as on a stock kernel), a MAP_DIRECT one may not, or a
 * pin its lease knows nothing of would keep the device's memory past the
 * lease's revocation (found for IOMMU_IOAS_MAP, which pins the same way).
 *
 * Variants: xfs, devdax.  In the VM: build/tests/longterm_refused (-l lists
 * the tests).
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include <mapdirect.h>

#define LEN (2u << 20)

static int ring(void)
{
	struct io_uring_params p = { 0 };
	int fd = (int)syscall(__NR_io_uring_setup, 4, &p);

	CHECK(fd >= 0, "io_uring_setup: %s (CONFIG_IO_URING is in the VM config)",
	      strerror(errno));
	return fd;
}

static int register_buffer(int rfd, void *buf)
{
	struct iovec iov = { .iov_base = buf, .iov_len = LEN };

	return (int)syscall(__NR_io_uring_register, rfd, IORING_REGISTER_BUFFERS,
			    &iov, 1);
}

/* @map (MAP_DIRECT memory) must not become an io_uring fixed buffer. */
static void refused(void *map, const char *what)
{
	int rfd = ring();

	errno = 0;
	CHECK(register_buffer(rfd, map) < 0,
	      "io_uring registered MAP_DIRECT memory of %s as a fixed buffer: a long-term pin that cannot be revoked",
	      what);
	CHECK(errno == EOPNOTSUPP,
	      "io_uring buffer registration of MAP_DIRECT memory of %s failed with %s; expected EOPNOTSUPP",
	      what, strerror(errno));
	close(rfd);
}

static void run(const char *dir)
{
	char path[4096];
	void *anon, *map;
	int fd, rfd;

	rfd = ring();
	anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED, "mmap anonymous: %s", strerror(errno));
	CHECK(register_buffer(rfd, anon) == 0,
	      "control: io_uring buffer registration of anonymous memory failed: %s",
	      strerror(errno));
	close(rfd);

	fd = dax_make_file(dir, "longterm_refused.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	refused(map, path);
	munmap(map, LEN);
	munmap(anon, LEN);
	close(fd);
	unlink(path);
	printf("io_uring fixed buffer on MAP_DIRECT memory in %s: EOPNOTSUPP, as expected\n",
	       dir);
}

static void run_devdax(const char *dev)
{
	int fd = open(dev, O_RDWR), rfd;
	void *map;

	CHECK(fd >= 0, "open %s: %s", dev, strerror(errno));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap of %s: %s", dev, strerror(errno));
	rfd = ring();
	CHECK(register_buffer(rfd, map) == 0,
	      "control: io_uring buffer registration of a plain mapping of %s failed: %s",
	      dev, strerror(errno));
	close(rfd);
	munmap(map, LEN);
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", dev, strerror(errno));
	refused(map, dev);
	munmap(map, LEN);
	close(fd);
	printf("io_uring fixed buffer on MAP_DIRECT memory of %s: EOPNOTSUPP, as expected\n", dev);
}

MAPDIRECT_FIXTURE(longterm_refused)
FIXTURE_VARIANT_ADD(longterm_refused, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(longterm_refused, io_uring_fixed_buffer, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

MAPDIRECT_DEVDAX_FIXTURE(mapdirect_no_cleanup)

TEST_F_TIMEOUT(devdax, io_uring_fixed_buffer, MAPDIRECT_TIMEOUT)
{
	run_devdax(self->dev);
}

TEST_HARNESS_MAIN
