// SPDX-License-Identifier: MIT
/*
 * map_flag: mmap(MAP_SHARED_VALIDATE | MAP_SYNC or MAP_DIRECT)
 * of a file in DIR succeeds (expect "ok": DAX mounts) or fails with
 * EOPNOTSUPP (expect "eopnotsupp": tmpfs and other non-DAX file systems,
 * or MAP_DIRECT where the file system cannot keep its promise).  A
 * successful mapping must be usable: a store is visible through read().
 *
 * Variants: xfs, ext4 (both flags work), tmpfs (both refused).  In the VM:
 * build/tests/map_flag (-l lists the tests), or for one directory:
 * map_flag sync|direct DIR ok|eopnotsupp
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include <mapdirect.h>

#define LEN (2u << 20)

static void run(int flag, const char *dir, int expect_ok)
{
	char path[4096], back[16];
	const char *name;
	int fd;
	char *p;

	name = flag == MAP_SYNC ? "MAP_SYNC" : "MAP_DIRECT";
	fd = dax_make_file(dir, "map_flag.dat", LEN, path, sizeof(path));

	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | flag, fd, 0);
	if (!expect_ok) {
		CHECK(p == MAP_FAILED, "%s mapping of %s succeeded; expected EOPNOTSUPP",
		      name, path);
		CHECK(errno == EOPNOTSUPP, "%s on %s failed with %s; expected EOPNOTSUPP",
		      name, path, strerror(errno));
		printf("%s on %s: EOPNOTSUPP, as expected\n", name, dir);
	} else {
		CHECK(p != MAP_FAILED, "%s mapping of %s: %s", name, path, strerror(errno));
		memcpy(p + 4096, "map-flag-works", 15);
		CHECK(pread(fd, back, 15, 4096) == 15, "pread: %s", strerror(errno));
		CHECK(!memcmp(back, "map-flag-works", 15),
		      "store through the %s mapping is not visible to read()", name);
		CHECK_SYS(munmap(p, LEN));
		printf("%s on %s: mapped and stored\n", name, dir);
	}
	close(fd);
	unlink(path);
}

FIXTURE(map_flag) {
	const char *dir;
};

FIXTURE_VARIANT(map_flag) {
	struct mapdirect_place at;	/* or, without DAX: */
	const char *plain_dir;
};

FIXTURE_VARIANT_ADD(map_flag, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(map_flag, ext4) { .at = MAPDIRECT_ON_EXT4 };
FIXTURE_VARIANT_ADD(map_flag, tmpfs) { .plain_dir = "/tmp" };

FIXTURE_SETUP(map_flag)
{
	MAPDIRECT_SETUP();
	self->dir = variant->plain_dir ?: place_dir(&variant->at);
}

FIXTURE_TEARDOWN(map_flag)
{
	MAPDIRECT_TEARDOWN();
}

TEST_F(map_flag, sync)
{
	run(MAP_SYNC, self->dir, !variant->plain_dir);
}

TEST_F(map_flag, direct)
{
	run(MAP_DIRECT, self->dir, !variant->plain_dir);
}

/* Also a command, for scripts: map_flag sync|direct DIR ok|eopnotsupp */
int main(int argc, char **argv)
{
	if (argc == 4 && (!strcmp(argv[1], "sync") || !strcmp(argv[1], "direct"))) {
		CHECK(!strcmp(argv[3], "ok") || !strcmp(argv[3], "eopnotsupp"),
		      "usage: map_flag [sync|direct DIR ok|eopnotsupp]");
		run(!strcmp(argv[1], "sync") ? MAP_SYNC : MAP_DIRECT, argv[2],
		    !strcmp(argv[3], "ok"));
		return 0;
	}
	return test_harness_run(argc, argv);
}
