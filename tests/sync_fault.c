// SPDX-License-Identifier: MIT
/*
 * sync_fault: a MAP_DIRECT write fault into a file whose metadata is not
 * on media yet forces the log first (as MAP_SYNC does); a lease revoked
 * while it does so must make the fault fail, never leave the page mapped
 * writable in a revoked mapping.
 *
 * The debug parameter mapdirect.test_sync_fault_delay_ms
 * (CONFIG_MAP_DIRECT_DEBUG) holds the fault between its log force and
 * mapping the page, long enough for a breaker's lease-break-time to pass
 * and the lease to be revoked.  The breaker is a write that extends the
 * file: it breaks holding only i_rwsem (XFS's IOLOCK), which the fault
 * does not hold, unlike fallocate, which would wait for the fault's
 * MMAPLOCK before breaking; and it invalidates no page of the mapping, so
 * only the fault's own check can stop the store.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/sync_fault (-l lists them).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define DELAY_KNOB "/sys/module/mapdirect/parameters/test_sync_fault_delay_ms"
#define DELAY_MS 3000

static sigjmp_buf jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jmp, 1);
}

static void on_sigio(int sig)
{
	(void)sig;	/* the holder ignores the break: it is revoked */
}

/* Store to @p; writes 'B' (SIGBUS) or 'S' (stored) and the time to @wfd. */
static void storer(char *p, int wfd)
{
	double t0 = now(), secs;
	char r = 'S';

	signal(SIGBUS, on_sigbus);
	if (sigsetjmp(jmp, 1))
		r = 'B';
	else
		*(volatile char *)p = 'x';
	secs = now() - t0;
	if (write(wfd, &r, 1) != 1 || write(wfd, &secs, sizeof(secs)) != sizeof(secs))
		_exit(2);
	_exit(0);
}

static void run(const char *dir)
{
	static char block[4096];
	char path[4096], r;
	double secs;
	pid_t pid;
	char *map;
	int fd, p[2];

	CHECK(access(DELAY_KNOB, W_OK) == 0, "%s: %s (the test kernel needs CONFIG_MAP_DIRECT_DEBUG=y)",
	      DELAY_KNOB, strerror(errno));
	set_knob(BREAK_TIME, 1);
	signal(SIGIO, on_sigio);
	/* Allocated and converted, never synced: the fault must force the log. */
	fd = dax_make_file_nosync(dir, "sync_fault.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	set_knob(DELAY_KNOB, DELAY_MS);

	CHECK_SYS(pipe(p));
	pid = fork();
	CHECK_SYS(pid);
	if (pid == 0)
		storer(map + 8192, p[1]);
	usleep(300000);		/* the storer is in its fault's delay now */
	/* Break: extend the file; the holders ignore it and are revoked. */
	CHECK(pwrite(fd, block, sizeof(block), LEN) == (ssize_t)sizeof(block),
	      "the extending write (the breaker): %s", strerror(errno));
	CHECK(read(p[0], &r, 1) == 1 && read(p[0], &secs, sizeof(secs)) == sizeof(secs),
	      "the storer reported nothing");
	waitpid(pid, NULL, 0);
	CHECK(secs > DELAY_MS / 1000.0 - 0.5,
	      "the store took %.2f s: its fault did not force the log (metadata already clean?), "
	      "so the test proves nothing", secs);
	CHECK(r == 'B', "a store through the MAP_DIRECT mapping completed %.2f s after it started, "
	      "after the lease was revoked (lease-break-time 1 s): the sync fault mapped the page "
	      "writable in a revoked mapping", secs);
	printf("sync fault: revoked during the log force, the store got SIGBUS after %.2f s\n", secs);
	CHECK_SYS(munmap(map, LEN));
	close(fd);
	unlink(path);
}

MAPDIRECT_FIXTURE(sync_fault)
FIXTURE_VARIANT_ADD(sync_fault, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(sync_fault, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(sync_fault, revoked_during_log_force, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
