/* SPDX-License-Identifier: MIT */
/* Clock, kernel knobs and /proc/locks, for the mapdirect userspace tests. */
#ifndef MAPDIRECT_TESTS_SYS_H
#define MAPDIRECT_TESTS_SYS_H

#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double now(void);

/* Read or write an integer file (/proc/sys/..., /sys/module/...); fail the test otherwise. */
int read_int(const char *path);
void write_int(const char *path, int v);

/*
 * Set an integer knob for the rest of the test: its old value is written
 * back at exit(), however the test ends (a failed CHECK exits too), so one
 * failing test cannot change the settings of the tests after it.  Only the
 * process that set it restores it, not its forked children.
 */
void set_knob(const char *path, int v);
void set_knob_str(const char *path, const char *v);	/* a word, not a number */

/*
 * Write every knob set so far back now (idempotent).  The test harness
 * ends a passing test with _exit(), which skips atexit(): fixture
 * teardowns call this (lib/harness.h does).
 */
void restore_knobs(void);

/*
 * One byte from a child through @fd (a pipe or socket whose write end the
 * caller has closed), waiting at most @secs: the byte, or -1 if the child
 * closed it (it died or failed) or said nothing in time.  Never blocks
 * for longer, so a failing child fails the test instead of hanging it.
 */
int wait_byte(int fd, double secs);

/* How many layout leases on inode @ino list /proc/locks (of @pid; 0: any)? */
int layout_leases(ino_t ino, pid_t pid);

/* Does this process hold a lease on inode @ino (listed in /proc/locks)? */
int lease_listed(ino_t ino);

/* Pass two descriptors over a UNIX socket (SCM_RIGHTS); failures end the test. */
void send_fds(int sock, int a, int b);
void recv_fds(int sock, int *a, int *b);

#endif
