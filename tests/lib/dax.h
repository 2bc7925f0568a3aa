/* SPDX-License-Identifier: MIT */
/* Helpers for files on DAX mounts used by several tests. */
#ifndef MAPDIRECT_TESTS_DAX_H
#define MAPDIRECT_TESTS_DAX_H

#include <stddef.h>

/*
 * Create dir/name (replacing it), allocate and zero len bytes, fsync.
 * Returns an O_RDWR descriptor; fails the test on any error.
 */
int dax_make_file(const char *dir, const char *name, size_t len, char *path,
		  size_t pathlen);

#endif
