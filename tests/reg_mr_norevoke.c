// SPDX-License-Identifier: MIT
/*
 * reg_mr_norevoke: an RDMA driver that cannot revoke registrations
 * (Soft-iWARP, siw) must not register MAP_DIRECT memory of a DAX file: the
 * kernel could not take the blocks back in bounded time.  ibv_reg_mr()
 * fails with EOPNOTSUPP and the kernel log names the device.  As a
 * control, the same driver registers anonymous memory.
 *
 * Variants: xfs.  In the VM: build/tests/reg_mr_norevoke (-l lists the tests).
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/kmsg.h"
#include "lib/rdev.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static void run(const char *dir)
{
	const char *dev = need_env("MAPDIRECT_SIW");
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char path[4096];
	unsigned long long mark;
	void *anon, *map;
	int fd;

	ctx = rdev_open(dev);
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "ibv_alloc_pd on %s: %s", dev, strerror(errno));

	anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED, "mmap anonymous: %s", strerror(errno));
	memset(anon, 1, LEN);
	mr = ibv_reg_mr(pd, anon, LEN, ACCESS);
	CHECK(mr, "control: %s cannot register anonymous memory: %s", dev, strerror(errno));
	ibv_dereg_mr(mr);

	fd = dax_make_file(dir, "reg_mr_norevoke.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	mark = kmsg_mark();
	errno = 0;
	mr = ibv_reg_mr(pd, map, LEN, ACCESS);
	CHECK(!mr, "%s registered MAP_DIRECT memory although it cannot revoke it", dev);
	CHECK(errno == EOPNOTSUPP, "ibv_reg_mr on %s failed with %s; expected EOPNOTSUPP",
	      dev, strerror(errno));
	CHECK(kmsg_has(mark, dev, "cannot revoke memory registrations"),
	      "the kernel log does not say that %s cannot revoke registrations", dev);
	munmap(map, LEN);
	munmap(anon, LEN);
	close(fd);
	unlink(path);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("%s: MAP_DIRECT registration refused with EOPNOTSUPP, and the log says why\n",
	       dev);
}

MAPDIRECT_FIXTURE(reg_mr_norevoke)
FIXTURE_VARIANT_ADD(reg_mr_norevoke, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(reg_mr_norevoke, siw_refused, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
