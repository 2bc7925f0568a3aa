// SPDX-License-Identifier: MIT
/* MAP_DIRECT mappings and their break notifications. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mapdirect.h"
#include "internal.h"

struct mapdirect_map {
	struct mapdirect_map *next;	/* registry, under lock */
	void *addr;
	size_t len;
	int fd;				/* our own open file: its si_fd */
};

/*
 * Notifications: the kernel sends a lease's break signal to the owner the
 * file had when it was mapped.  Every mapping is made through an open file
 * of our own whose owner is the library's notification thread
 * (F_SETOWN_EX, F_OWNER_TID) with a real-time signal (F_SETSIG), so the
 * signal goes to that thread only; it blocks the signal and reads it from
 * a signalfd, and queues an event for the application's eventfd.  The
 * application's own signals, threads and file owners are left alone.
 */
#define QUEUE_MAX 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapdirect_map *maps;		/* every live mapping */
static struct mapdirect_event queue[QUEUE_MAX];
static int queued;
static int event_fd = -1;			/* what the application polls */
static pid_t notify_tid;			/* the thread signals go to */
static int notify_sig;
static int notify_err;
static pid_t notify_pid;			/* whose thread runs; 0: none */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started = PTHREAD_COND_INITIALIZER;

int mapdirect_break_time(void)
{
	FILE *f = fopen("/proc/sys/fs/lease-break-time", "r");
	int secs, err;

	if (!f)
		return -errno;
	err = fscanf(f, "%d", &secs) == 1 && secs >= 0 ? 0 : -EPROTO;
	fclose(f);
	return err ? err : secs;
}

static double lease_break_time(void)
{
	int secs = mapdirect_break_time();

	return secs < 0 ? 45 : secs;	/* the kernel's default */
}

double mapdirect_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *notify_thread(void *arg)
{
	struct signalfd_siginfo si;
	sigset_t set;
	int sfd;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, notify_sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	pthread_mutex_lock(&start_lock);
	notify_err = sfd < 0 ? -errno : 0;
	notify_tid = syscall(SYS_gettid);
	pthread_cond_signal(&started);
	pthread_mutex_unlock(&start_lock);
	if (sfd < 0)
		return NULL;
	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		struct mapdirect_map *m;
		uint64_t one = 1;

		pthread_mutex_lock(&lock);
		for (m = maps; m; m = m->next)
			if (m->fd == (int)si.ssi_fd)
				break;
		if (m && queued < QUEUE_MAX) {
			queue[queued].map = m;
			queue[queued].deadline = mapdirect_now() + lease_break_time();
			queued++;
			if (write(event_fd, &one, sizeof(one)) != sizeof(one))
				queued--;
		}
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/*
 * A fork()ed child has no notification thread and shares the parent's
 * eventfd: its first call starts its own (notify_pid tells).  The locks
 * are held across fork() so that the child never inherits one locked.
 */
static void before_fork(void)
{
	pthread_mutex_lock(&start_lock);
	pthread_mutex_lock(&lock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&lock);
	pthread_mutex_unlock(&start_lock);
}

static void register_atfork(void)
{
	pthread_atfork(before_fork, after_fork, after_fork);
}

/* Start this process's notification thread.  Under start_lock. */
static void notify_start_locked(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	notify_sig = SIGRTMIN + 4;
	notify_tid = 0;
	pthread_mutex_lock(&lock);
	if (event_fd >= 0)
		close(event_fd);	/* the parent's, inherited */
	queued = 0;
	event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	pthread_mutex_unlock(&lock);
	if (event_fd < 0) {
		notify_err = -errno;
		return;
	}
	/* The thread starts with every signal blocked, then keeps only ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	notify_err = -pthread_create(&t, &attr, notify_thread, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (notify_err)
		return;
	while (!notify_tid)
		pthread_cond_wait(&started, &start_lock);
	if (!notify_err)
		notify_pid = getpid();
}

static int notify_ready(void)
{
	int err;

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&start_lock);
	if (notify_pid != getpid())
		notify_start_locked();
	err = notify_err;
	pthread_mutex_unlock(&start_lock);
	return err;
}

int mapdirect_notify_fd(void)
{
	int err = notify_ready();

	return err ? err : event_fd;
}

int mapdirect_read_event(struct mapdirect_event *ev)
{
	uint64_t n;
	int err = notify_ready();

	if (err)
		return err;
	pthread_mutex_lock(&lock);
	if (!queued || read(event_fd, &n, sizeof(n)) != sizeof(n)) {
		pthread_mutex_unlock(&lock);
		return -EAGAIN;
	}
	*ev = queue[0];
	memmove(queue, queue + 1, --queued * sizeof(queue[0]));
	pthread_mutex_unlock(&lock);
	return 0;
}

void *(*mapdirect_mmap_fn)(void *, size_t, int, int, int, off_t) = mmap;
int (*mapdirect_munmap_fn)(void *, size_t) = munmap;

int mapdirect_map_fd(int fd, off_t offset, size_t len, int prot,
		     struct mapdirect_map **out)
{
	return mapdirect_map_at(NULL, 0, fd, offset, len, prot, out);
}

int mapdirect_map_at(void *addr, int flags, int fd, off_t offset, size_t len,
		     int prot, struct mapdirect_map **out)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID };
	struct mapdirect_map *m;
	char self[64];
	int err, ofd;

	if (!out || !len || offset < 0 || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	err = notify_ready();
	if (err)
		return err;
	/* An open file of our own: its owner is ours to set. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ofd = open(self, ((prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (ofd < 0)
		return -errno;
	owner.pid = notify_tid;
	if (fcntl(ofd, F_SETOWN_EX, &owner) || fcntl(ofd, F_SETSIG, notify_sig)) {
		err = -errno;
		goto out_close;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = -ENOMEM;
		goto out_close;
	}
	m->addr = mapdirect_mmap_fn(addr, len, prot,
				    flags | MAP_SHARED_VALIDATE | MAP_DIRECT, ofd, offset);
	if (m->addr == MAP_FAILED) {
		err = -errno;
		free(m);
		goto out_close;
	}
	m->len = len;
	m->fd = ofd;
	pthread_mutex_lock(&lock);
	m->next = maps;
	maps = m;
	pthread_mutex_unlock(&lock);
	*out = m;
	return 0;

out_close:
	close(ofd);
	return err;
}

/* Write zeros over [0, len): every block allocated and written. */
static int allocate(int fd, size_t len)
{
	static const char zeros[1 << 16];
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, done);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += w;
	}
	return fsync(fd) ? -errno : 0;
}

int mapdirect_map_file(const char *path, size_t len, int flags,
		       struct mapdirect_map **out)
{
	int rdonly = flags & MAPDIRECT_READONLY;
	struct stat st;
	int err, fd;

	if (!path || !out ||
	    (flags & ~(MAPDIRECT_CREATE | MAPDIRECT_ALLOCATE | MAPDIRECT_READONLY)) ||
	    (rdonly && (flags & MAPDIRECT_ALLOCATE)))
		return -EINVAL;
	fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		  ((flags & MAPDIRECT_CREATE) ? O_CREAT : 0), 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!len)
		len = st.st_size;
	if (flags & MAPDIRECT_ALLOCATE) {
		err = allocate(fd, len);
		if (err)
			goto out;
	} else if (S_ISREG(st.st_mode) && (off_t)len > st.st_size) {
		err = -ENODATA;	/* its holes would fault with SIGBUS */
		goto out;
	}
	err = mapdirect_map_fd(fd, 0, len, PROT_READ | (rdonly ? 0 : PROT_WRITE), out);
out:
	close(fd);
	return err;
}

void *mapdirect_addr(const struct mapdirect_map *m)
{
	return m ? m->addr : NULL;
}

size_t mapdirect_length(const struct mapdirect_map *m)
{
	return m ? m->len : 0;
}

/* Forget @m's queued events: nobody may read a freed mapping.  Under lock. */
static int purge_locked(struct mapdirect_map *m)
{
	int i, err = 0;

	for (i = 0; i < queued;) {
		uint64_t n;

		if (queue[i].map != m) {
			i++;
			continue;
		}
		memmove(queue + i, queue + i + 1, (queued - i - 1) * sizeof(queue[0]));
		queued--;
		if (read(event_fd, &n, sizeof(n)) != sizeof(n))
			err = -EIO;
	}
	return err;
}

int mapdirect_unmap(struct mapdirect_map *m)
{
	struct mapdirect_map **p;
	int err;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	for (p = &maps; *p && *p != m; p = &(*p)->next)
		;
	if (!*p) {
		pthread_mutex_unlock(&lock);
		return -EINVAL;
	}
	*p = m->next;
	err = purge_locked(m);
	pthread_mutex_unlock(&lock);
	if (mapdirect_munmap_fn(m->addr, m->len))
		err = -errno;
	close(m->fd);
	free(m);
	return err;
}

int mapdirect_forget(void *addr, size_t len)
{
	struct mapdirect_map **p, *m = NULL;

	pthread_mutex_lock(&lock);
	for (p = &maps; *p; p = &(*p)->next) {
		if ((uintptr_t)(*p)->addr >= (uintptr_t)addr &&
		    (uintptr_t)(*p)->addr + (*p)->len <= (uintptr_t)addr + len) {
			m = *p;
			*p = m->next;
			purge_locked(m);
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	if (!m)
		return 0;
	close(m->fd);
	free(m);
	return 1;
}
