/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark programs. */
#ifndef MAPDIRECT_BENCH_H
#define MAPDIRECT_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mapdirect.h>

/* The clock: libmapdirect's, the one its break deadlines use. */
#define now() mapdirect_now()

/* Print what failed and why, and exit 1. */
static inline void die(const char *what)
{
	extern char *program_invocation_short_name;

	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

/* Set /proc/sys/fs/lease-break-time (the benchmarks run as root, in the VM). */
static inline void set_break_time(int secs)
{
	FILE *f = fopen("/proc/sys/fs/lease-break-time", "w");

	if (!f || fprintf(f, "%d\n", secs) < 0 || fclose(f))
		die("/proc/sys/fs/lease-break-time");
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
