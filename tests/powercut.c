// SPDX-License-Identifier: MIT
/*
 * powercut: data stored through a MAP_DIRECT mapping and made durable with
 * cache-line flushes only survives a power cut, and the file's size and
 * extents do not change, although the file was never fsynced: its creation,
 * size and extents are only in the file system's log in memory until
 * MAP_DIRECT itself makes them durable.
 *
 *   powercut write DIR EXPECT   create DIR/powercut.dat (fallocate, zeros
 *                               written over it, no fsync, no sync), record
 *                               its size and extents in EXPECT, store a
 *                               pattern through MAP_DIRECT + clflush/sfence
 *                               (no msync/fsync) and print POWERCUT-READY;
 *                               the caller then kills the VM
 *   powercut check DIR EXPECT   after the reboot: pattern, size and extents
 *                               are as recorded
 */
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/dax.h"
#include <mapdirect.h>

#define LEN (4u << 20)
#define MAXEXT 64

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 12) + 1);
}

/* "size N" then one "extent LOGICAL PHYSICAL LENGTH FLAGS" per extent. */
static void describe(int fd, FILE *out)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[MAXEXT];
	} m;
	struct stat st;

	CHECK_SYS(fstat(fd, &st));
	memset(&m, 0, sizeof(m));
	m.fm.fm_length = ~0ULL;
	m.fm.fm_extent_count = MAXEXT;
	CHECK_SYS(ioctl(fd, FS_IOC_FIEMAP, &m.fm));
	fprintf(out, "size %lld\n", (long long)st.st_size);
	for (unsigned int i = 0; i < m.fm.fm_mapped_extents; i++)
		fprintf(out, "extent %llu %llu %llu %u\n",
			(unsigned long long)m.ext[i].fe_logical,
			(unsigned long long)m.ext[i].fe_physical,
			(unsigned long long)m.ext[i].fe_length,
			m.ext[i].fe_flags & ~FIEMAP_EXTENT_LAST);
}

int main(int argc, char **argv)
{
	char path[4096], *now_desc = NULL, *want = NULL;
	size_t now_len = 0, want_len = 0;
	unsigned char *p;
	FILE *f;
	int fd;

	CHECK(argc == 4 && (!strcmp(argv[1], "write") || !strcmp(argv[1], "check")),
	      "usage: powercut write|check DIR EXPECT");
	if (!strcmp(argv[1], "write")) {
		/* Never synced, before or after the mapping. */
		fd = dax_make_file_nosync(argv[2], "powercut.dat", LEN, path,
					  sizeof(path));
		f = fopen(argv[3], "w");
		CHECK(f, "%s: %s", argv[3], strerror(errno));
		describe(fd, f);
		CHECK(fclose(f) == 0, "write %s", argv[3]);
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			 MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
		CHECK(p != MAP_FAILED, "MAP_DIRECT: %s", strerror(errno));
		for (size_t i = 0; i < LEN; i++)
			p[i] = pattern(i);
		for (size_t i = 0; i < LEN; i += 64)
			__asm__ volatile("clflush (%0)" : : "r"(p + i) : "memory");
		__asm__ volatile("sfence" : : : "memory");
		printf("POWERCUT-READY %s\n", path);
		fflush(stdout);
		pause();	/* the VM is killed now: no munmap, no sync */
		return 1;
	}

	snprintf(path, sizeof(path), "%s/powercut.dat", argv[2]);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0, "%s is gone after the power cut: %s", path, strerror(errno));
	f = open_memstream(&now_desc, &now_len);
	describe(fd, f);
	fclose(f);
	f = fopen(argv[3], "r");
	CHECK(f, "%s: %s", argv[3], strerror(errno));
	want = calloc(1, 65536);
	want_len = fread(want, 1, 65535, f);
	fclose(f);
	CHECK(want_len == now_len && !memcmp(want, now_desc, now_len),
	      "size or extents changed across the power cut:\nbefore:\n%s\nafter:\n%s",
	      want, now_desc);
	p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < LEN; i++)
		CHECK(p[i] == pattern(i), "byte %zu is %u after the power cut, stored %u",
		      i, p[i], pattern(i));
	printf("%s: %u bytes, size and %s", path, LEN, "extents intact after the power cut\n");
	free(want);
	free(now_desc);
	return 0;
}
