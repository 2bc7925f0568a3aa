/* SPDX-License-Identifier: MIT */
/* Helpers for files on DAX mounts used by several tests. */
#ifndef MAPDIRECT_TESTS_DAX_H
#define MAPDIRECT_TESTS_DAX_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create dir/name (replacing it), allocate and zero len bytes, fsync.
 * Returns an O_RDWR descriptor; fails the test on any error.
 */
int dax_make_file(const char *dir, const char *name, size_t len, char *path,
		  size_t pathlen);

/*
 * The same without any fsync or sync: create dir/name (replacing it),
 * fallocate len bytes, write zeros over them.  The blocks are allocated and
 * written, but their metadata (the file itself, its size, its extents) is
 * only in the file system's in-memory log until something forces it: what
 * the durability tests need.
 */
int dax_make_file_nosync(const char *dir, const char *name, size_t len,
			 char *path, size_t pathlen);

/*
 * Poison the page at @off of @path, in a child, through a plain shared
 * mapping (MADV_HWPOISON: memory_failure() as for a real error; needs
 * CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE).  The child is told too (its
 * SIGBUS is expected); fails the test if it could not poison.
 */
void dax_poison_page(const char *path, off_t off);

#endif
