/* SPDX-License-Identifier: MIT */
/* libmapdirect's own helpers, not exported. */
#ifndef MAPDIRECT_INTERNAL_H
#define MAPDIRECT_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

struct mapdirect_map;


/* For the preload: the mmap()/munmap() to call, and mappings at a place. */
extern void *(*mapdirect_mmap_fn)(void *, size_t, int, int, int, off_t);
extern int (*mapdirect_munmap_fn)(void *, size_t);
int mapdirect_map_at(void *addr, int flags, int fd, off_t offset, size_t len,
		     int prot, struct mapdirect_map **out);
/* A munmap() covered the whole of a mapping: forget and free it (1), or 0. */
int mapdirect_forget(void *addr, size_t len);

#endif
