// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dax.h"

int dax_make_file(const char *dir, const char *name, size_t len, char *path,
		  size_t pathlen)
{
	char *zero;
	int fd;

	snprintf(path, pathlen, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		FAIL("create %s: %s", path, strerror(errno));
	zero = calloc(1, len);
	CHECK(zero, "out of memory");
	/* Written blocks: no unwritten extents left to convert on fault. */
	if (pwrite(fd, zero, len, 0) != (ssize_t)len)
		FAIL("write %zu bytes to %s: %s", len, path, strerror(errno));
	free(zero);
	CHECK_SYS(fsync(fd));
	return fd;
}

int dax_make_file_nosync(const char *dir, const char *name, size_t len,
			 char *path, size_t pathlen)
{
	char *zero;
	int fd;

	snprintf(path, pathlen, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		FAIL("create %s: %s", path, strerror(errno));
	/* A new range (unwritten extents), then converted by the write. */
	if (fallocate(fd, 0, 0, len))
		FAIL("fallocate %zu bytes of %s: %s", len, path, strerror(errno));
	zero = calloc(1, len);
	CHECK(zero, "out of memory");
	if (pwrite(fd, zero, len, 0) != (ssize_t)len)
		FAIL("write %zu bytes to %s: %s", len, path, strerror(errno));
	free(zero);
	return fd;
}
