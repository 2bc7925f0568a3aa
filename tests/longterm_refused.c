// SPDX-License-Identifier: MIT
/*
 * longterm-refused: only users that subscribe to revocation may pin
 * MAP_DIRECT memory for the long term.  io_uring fixed buffers cannot be
 * revoked, so registering a MAP_DIRECT mapping of a DAX file as one must
 * still fail with EOPNOTSUPP, as for any fs-DAX memory.  As a control, an
 * anonymous buffer registers fine (io_uring works in this kernel).
 *
 * Variants: xfs.  In the VM: build/tests/longterm_refused (-l lists the tests).
 */
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
	rfd = ring();
	errno = 0;
	CHECK(register_buffer(rfd, map) < 0,
	      "io_uring registered MAP_DIRECT memory as a fixed buffer: a long-term pin that cannot be revoked");
	CHECK(errno == EOPNOTSUPP,
	      "io_uring buffer registration of MAP_DIRECT memory failed with %s; expected EOPNOTSUPP",
	      strerror(errno));
	close(rfd);
	munmap(map, LEN);
	munmap(anon, LEN);
	close(fd);
	unlink(path);
	printf("io_uring fixed buffer on MAP_DIRECT memory in %s: EOPNOTSUPP, as expected\n",
	       dir);
}

MAPDIRECT_FIXTURE(longterm_refused)
FIXTURE_VARIANT_ADD(longterm_refused, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(longterm_refused, io_uring_fixed_buffer, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
