/* SPDX-License-Identifier: MIT */
/* A lease breaker in a child process, for the RDMA registration tests. */
#ifndef MAPDIRECT_TESTS_BREAKER_H
#define MAPDIRECT_TESTS_BREAKER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Fork a process that truncates @path to 0 and returns its pid; *@done is
 * a pipe that gets one byte when the truncate is over.  If @map is not
 * NULL, the child first unmaps it (@len bytes): the MAP_DIRECT mapping it
 * inherited would otherwise hold the very lease it is about to break.
 */
pid_t truncate_in_child(const char *path, void *map, size_t len, int *done);

/*
 * Wait up to @secs for the truncate; returns how long it took from this
 * call, or -1 if it is still running.  Fails the test if it failed.
 */
double truncate_wait(int done, double secs);

/*
 * Run truncate(1) to 0 on @path in a new program: it shares none of this
 * process's mappings, whatever they are.  Returns its pid.
 */
pid_t truncate_exec(const char *path);

/*
 * Wait up to @secs for child @pid: how long it took from this call, or -1
 * if it still runs.  Fails the test if it failed.
 */
double child_wait(pid_t pid, double secs);

#endif
