// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "dax.h"

/* Create dir/name afresh, fallocate @len if asked, write zeros over it. */
static int make_zeroed(const char *dir, const char *name, size_t len, char *path,
		       size_t pathlen, int prealloc)
{
	char *zero;
	int fd;

	snprintf(path, pathlen, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		FAIL("create %s: %s", path, strerror(errno));
	/* A new range (unwritten extents), then converted by the write. */
	if (prealloc && fallocate(fd, 0, 0, len))
		FAIL("fallocate %zu bytes of %s: %s", len, path, strerror(errno));
	zero = calloc(1, len);
	CHECK(zero, "out of memory");
	/* Written blocks: no unwritten extents left to convert on fault. */
	if (pwrite(fd, zero, len, 0) != (ssize_t)len)
		FAIL("write %zu bytes to %s: %s", len, path, strerror(errno));
	free(zero);
	return fd;
}

int dax_make_file(const char *dir, const char *name, size_t len, char *path,
		  size_t pathlen)
{
	int fd = make_zeroed(dir, name, len, path, pathlen, 0);

	CHECK_SYS(fsync(fd));
	return fd;
}

int dax_make_file_nosync(const char *dir, const char *name, size_t len,
			 char *path, size_t pathlen)
{
	return make_zeroed(dir, name, len, path, pathlen, 1);
}

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

static void poisoner_sigbus(int sig)
{
	(void)sig;
	_exit(0);		/* the poisoner is told too: expected */
}

void dax_poison_page(const char *path, off_t off)
{
	int status;
	pid_t pid = fork();

	CHECK_SYS(pid);
	if (!pid) {
		int fd = open(path, O_RDWR);
		volatile char *m;

		signal(SIGBUS, poisoner_sigbus);
		alarm(60);
		if (fd < 0)
			_exit(3);
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, off);
		if (m == MAP_FAILED)
			_exit(4);
		(void)m[0];
		if (madvise((void *)m, 4096, MADV_HWPOISON)) {
			fprintf(stderr, "madvise(MADV_HWPOISON): %s (needs CAP_SYS_ADMIN "
				"and CONFIG_MEMORY_FAILURE)\n", strerror(errno));
			_exit(5);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the poisoning child failed (status %#x)", status);
}
