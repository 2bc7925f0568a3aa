// SPDX-License-Identifier: MIT
/*
 * map-sync: mmap(MAP_SHARED_VALIDATE | MAP_SYNC) of a file in DIR succeeds
 * (expect "ok": DAX mounts) or fails with EOPNOTSUPP (expect "eopnotsupp":
 * tmpfs and other non-DAX file systems).  A successful mapping must be
 * usable: a store is visible through read().
 *
 * usage: map_sync DIR ok|eopnotsupp
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/dax.h"

#define LEN (2u << 20)

int main(int argc, char **argv)
{
	char path[4096], back[16];
	int fd, expect_ok;
	char *p;

	CHECK(argc == 3 && (!strcmp(argv[2], "ok") || !strcmp(argv[2], "eopnotsupp")),
	      "usage: map_sync DIR ok|eopnotsupp");
	expect_ok = !strcmp(argv[2], "ok");
	fd = dax_make_file(argv[1], "map_sync.dat", LEN, path, sizeof(path));

	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		 MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	if (!expect_ok) {
		CHECK(p == MAP_FAILED, "MAP_SYNC mapping of %s succeeded; expected EOPNOTSUPP", path);
		CHECK(errno == EOPNOTSUPP, "MAP_SYNC on %s failed with %s; expected EOPNOTSUPP",
		      path, strerror(errno));
		printf("MAP_SYNC on %s: EOPNOTSUPP, as expected\n", argv[1]);
	} else {
		CHECK(p != MAP_FAILED, "MAP_SYNC mapping of %s: %s", path, strerror(errno));
		memcpy(p + 4096, "map-sync-works", 15);
		CHECK(pread(fd, back, 15, 4096) == 15, "pread: %s", strerror(errno));
		CHECK(!memcmp(back, "map-sync-works", 15),
		      "store through the MAP_SYNC mapping is not visible to read()");
		CHECK_SYS(munmap(p, LEN));
		printf("MAP_SYNC on %s: mapped and stored\n", argv[1]);
	}
	close(fd);
	unlink(path);
	return 0;
}
