// SPDX-License-Identifier: MIT
/*
 * reg_mr_dax: ibv_reg_mr() on a plain MAP_SHARED (or MAP_SYNC) mapping
 * of a file on a DAX mount fails with EOPNOTSUPP.  Only MAP_DIRECT mappings
 * may become registrable: a long-term pin of DAX blocks must be revocable.
 * The kernel log says why and what to use instead.  As a control,
 * registering anonymous memory on the same device succeeds.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/reg_mr_dax (-l lists the tests).
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/kmsg.h"
#include "lib/rdev.h"

#define LEN (2u << 20)

static void run(const char *dir)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	static const int flags[] = { MAP_SHARED, MAP_SHARED_VALIDATE | MAP_SYNC };
	static const char *const fname[] = { "MAP_SHARED", "MAP_SYNC" };
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char path[4096];
	unsigned long long mark;
	void *anon, *p;
	int fd;

	ctx = rdev_open(need_env("MAPDIRECT_RXE0"));
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));

	anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED, "mmap anonymous: %s", strerror(errno));
	memset(anon, 1, LEN);
	mr = ibv_reg_mr(pd, anon, LEN, access);
	CHECK(mr, "control: ibv_reg_mr of anonymous memory failed: %s", strerror(errno));
	ibv_dereg_mr(mr);

	fd = dax_make_file(dir, "reg_mr_dax.dat", LEN, path, sizeof(path));
	for (int i = 0; i < 2; i++) {
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags[i], fd, 0);
		CHECK(p != MAP_FAILED, "%s mapping of %s: %s", fname[i], path,
		      strerror(errno));
		mark = kmsg_mark();
		errno = 0;
		mr = ibv_reg_mr(pd, p, LEN, access);
		CHECK(!mr, "ibv_reg_mr of a %s DAX mapping succeeded; it must be refused",
		      fname[i]);
		CHECK(errno == EOPNOTSUPP,
		      "ibv_reg_mr of a %s DAX mapping failed with %s; expected EOPNOTSUPP",
		      fname[i], strerror(errno));
		CHECK(kmsg_has(mark, "map it with MAP_SHARED_VALIDATE | MAP_DIRECT to register it", NULL),
		      "the kernel log does not say why the %s registration was refused",
		      fname[i]);
		CHECK_SYS(munmap(p, LEN));
		printf("ibv_reg_mr on a %s mapping in %s: EOPNOTSUPP, as expected\n",
		       fname[i], dir);
	}
	close(fd);
	unlink(path);
	munmap(anon, LEN);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
}

MAPDIRECT_FIXTURE(reg_mr_dax)
FIXTURE_VARIANT_ADD(reg_mr_dax, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_dax, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(reg_mr_dax, refused, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
