// SPDX-License-Identifier: MIT
/*
 * libmapdirect-preload.so: what `mapdirect run` puts in LD_PRELOAD.  An
 * unmodified program's shared writable mappings of DAX files and
 * device-dax become MAP_DIRECT mappings, so that it can register them for
 * RDMA; the lease is taken through the library (its own open file and
 * notification thread), and a break is reported on stderr with the file
 * and the deadline.  Whatever cannot be upgraded is mapped as asked.
 *
 * MAPDIRECT_RUN_VERBOSE=1 (mapdirect run -v) also reports each upgrade.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mapdirect.h"
#include "internal.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif
#define MAX_NAMED 64

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int verbose;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pid_t reporter_pid;	/* the process whose reporter runs */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Which file each upgraded mapping is, for the break reports. */
static struct {
	struct mapdirect_map *map;
	void *addr;
	char path[256];
} named[MAX_NAMED];

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "mapdirect[%d]: ", getpid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(2, buf, n) < 0)
		return;
}

static void *reporter(void *arg)
{
	struct pollfd pfd = { .fd = mapdirect_notify_fd(), .events = POLLIN };
	struct mapdirect_event ev;

	(void)arg;
	while (poll(&pfd, 1, -1) >= 0) {
		const char *path = "?";

		if (mapdirect_read_event(&ev))
			continue;
		pthread_mutex_lock(&lock);
		for (int i = 0; i < MAX_NAMED; i++)
			if (named[i].map == ev.map)
				path = named[i].path;
		say("the lease on %s is breaking: unmap it within %.0f s, or the kernel "
		    "revokes it (SIGBUS, RDMA access refused)\n", path,
		    ev.deadline - mapdirect_now());
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void init(void)
{
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_munmap = dlsym(RTLD_NEXT, "munmap");
	mapdirect_mmap_fn = real_mmap;
	mapdirect_munmap_fn = real_munmap;
	verbose = getenv("MAPDIRECT_RUN_VERBOSE") && *getenv("MAPDIRECT_RUN_VERBOSE") == '1';
}

/*
 * Only processes that got a MAP_DIRECT mapping pay for the threads; a
 * fork()ed child that maps one gets a reporter of its own.
 */
static void start_reporter(void)
{
	pthread_t t;
	sigset_t all, old;

	pthread_mutex_lock(&lock);
	if (reporter_pid != getpid()) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (!pthread_create(&t, NULL, reporter, NULL)) {
			pthread_detach(t);
			reporter_pid = getpid();
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&lock);
}

/* A DAX file, or a device-dax character device? */
static int dax_backed(int fd)
{
	struct statx stx;
	char path[96], link[256];
	ssize_t n;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx))
		return 0;
	if (S_ISREG(stx.stx_mode))
		return !!(stx.stx_attributes & STATX_ATTR_DAX);
	if (!S_ISCHR(stx.stx_mode))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem", stx.stx_rdev_major,
		 stx.stx_rdev_minor);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = 0;
	return strstr(link, "/dax") && !strcmp(strrchr(link, '/'), "/dax");
}

static void remember(struct mapdirect_map *m, void *addr, int fd)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_NAMED; i++) {
		if (named[i].map)
			continue;
		named[i].map = m;
		named[i].addr = addr;
		if (readlink(self, named[i].path, sizeof(named[i].path) - 1) < 0)
			strcpy(named[i].path, "?");
		break;
	}
	pthread_mutex_unlock(&lock);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct mapdirect_map *m;
	int err;

	pthread_once(&once, init);
	if (fd < 0 || (flags & MAP_TYPE) != MAP_SHARED || !(prot & PROT_WRITE) ||
	    (flags & MAP_ANONYMOUS) || !dax_backed(fd))
		return real_mmap(addr, len, prot, flags, fd, off);
	err = mapdirect_map_at(addr, flags & ~MAP_TYPE, fd, off, len, prot, &m);
	if (err) {
		if (verbose)
			say("not MAP_DIRECT (fd %d, %zu bytes): %s\n", fd, len,
			    mapdirect_strerror(err));
		return real_mmap(addr, len, prot, flags, fd, off);
	}
	remember(m, mapdirect_addr(m), fd);
	start_reporter();
	if (verbose) {
		char self[64], path[256] = "?";
		ssize_t n;

		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		n = readlink(self, path, sizeof(path) - 1);
		path[n > 0 ? n : 1] = 0;
		say("MAP_DIRECT: %s (%zu bytes at %p)\n", path, len, mapdirect_addr(m));
	}
	return mapdirect_addr(m);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

int munmap(void *addr, size_t len)
{
	int ret;

	pthread_once(&once, init);
	ret = real_munmap(addr, len);
	if (!ret && mapdirect_forget(addr, len)) {
		pthread_mutex_lock(&lock);
		for (int i = 0; i < MAX_NAMED; i++)
			if (named[i].map && (char *)named[i].addr >= (char *)addr &&
			    (char *)named[i].addr < (char *)addr + len)
				named[i].map = NULL;
		pthread_mutex_unlock(&lock);
	}
	return ret;
}
