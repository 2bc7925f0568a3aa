// SPDX-License-Identifier: MIT
/*
 * map-sync, map-direct: mmap(MAP_SHARED_VALIDATE | MAP_SYNC or MAP_DIRECT)
 * of a file in DIR succeeds (expect "ok": DAX mounts) or fails with
 * EOPNOTSUPP (expect "eopnotsupp": tmpfs and other non-DAX file systems,
 * or MAP_DIRECT where the file system cannot keep its promise).  A
 * successful mapping must be usable: a store is visible through read().
 *
 * usage: map_flag sync|direct DIR ok|eopnotsupp
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/dax.h"

#ifndef MAP_DIRECT
#define MAP_DIRECT 0x200000
#endif
#define LEN (2u << 20)

int main(int argc, char **argv)
{
	char path[4096], back[16];
	const char *name;
	int fd, expect_ok, flag;
	char *p;

	CHECK(argc == 4 && (!strcmp(argv[1], "sync") || !strcmp(argv[1], "direct")) &&
	      (!strcmp(argv[3], "ok") || !strcmp(argv[3], "eopnotsupp")),
	      "usage: map_flag sync|direct DIR ok|eopnotsupp");
	flag = !strcmp(argv[1], "sync") ? MAP_SYNC : MAP_DIRECT;
	name = flag == MAP_SYNC ? "MAP_SYNC" : "MAP_DIRECT";
	expect_ok = !strcmp(argv[3], "ok");
	fd = dax_make_file(argv[2], "map_flag.dat", LEN, path, sizeof(path));

	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | flag, fd, 0);
	if (!expect_ok) {
		CHECK(p == MAP_FAILED, "%s mapping of %s succeeded; expected EOPNOTSUPP",
		      name, path);
		CHECK(errno == EOPNOTSUPP, "%s on %s failed with %s; expected EOPNOTSUPP",
		      name, path, strerror(errno));
		printf("%s on %s: EOPNOTSUPP, as expected\n", name, argv[2]);
	} else {
		CHECK(p != MAP_FAILED, "%s mapping of %s: %s", name, path, strerror(errno));
		memcpy(p + 4096, "map-flag-works", 15);
		CHECK(pread(fd, back, 15, 4096) == 15, "pread: %s", strerror(errno));
		CHECK(!memcmp(back, "map-flag-works", 15),
		      "store through the %s mapping is not visible to read()", name);
		CHECK_SYS(munmap(p, LEN));
		printf("%s on %s: mapped and stored\n", name, argv[2]);
	}
	close(fd);
	unlink(path);
	return 0;
}
