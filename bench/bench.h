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

static inline double median(const double *v, int n)
{
	double s[n];

	memcpy(s, v, sizeof(s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static inline void json_samples(const double *v, int n)
{
	putchar('[');
	for (int i = 0; i < n; i++)
		printf("%s%.6g", i ? ", " : "", v[i]);
	putchar(']');
}

/*
 * One figure for build/bench/results.json, as a line
 *   @result {"name": NAME, "unit": UNIT, "x": X, "samples": [...],
 *            "baseline": {"name": BNAME, "samples": [...]}}
 * that bench/report.py collects (x only if >= 0: the parameter of a
 * scaling curve; baseline only if bname).  Samples are measured side by
 * side with the baseline's, in this run.
 */
static inline void result(const char *name, const char *unit, double x,
			  const double *v, int n, const char *bname,
			  const double *b, int m)
{
	printf("@result {\"name\": \"%s\", \"unit\": \"%s\"", name, unit);
	if (x >= 0)
		printf(", \"x\": %g", x);
	printf(", \"samples\": ");
	json_samples(v, n);
	if (bname) {
		printf(", \"baseline\": {\"name\": \"%s\", \"samples\": ", bname);
		json_samples(b, m);
		putchar('}');
		/* Every benchmark here measures figure and baseline in turn, round by round. */
		if (n == m)
			printf(", \"paired\": true");
	}
	printf("}\n");
	fflush(stdout);
}

/*
 * A marker for bench/qemu_insns.c, the instruction-counting QEMU plugin:
 * nopl 0x4d44XXXX(%rax), XXXX the marker's number (0..65535).  A 7-byte
 * NOP anywhere else.
 */
#define INSN_MARK(n)							\
	__asm__ volatile(".byte 0x0f, 0x1f, 0x80, %c0, %c1, 0x44, 0x4d"	\
			 : : "i" ((n) & 0xff), "i" (((n) >> 8) & 0xff)	\
			 : "memory")

/*
 * INSN_MARK(@id) for an @id known only at run time (the number is part of
 * the instruction).  The markers the benchmarks use: 9 starts a file
 * system's figures, 10 the RDMA ones; each figure has an odd number at its
 * start and the next one at its end.
 */
static inline void insn_mark(int id)
{
	switch (id) {
	case 1: INSN_MARK(1); break;	/* plain mmap+munmap */
	case 2: INSN_MARK(2); break;
	case 3: INSN_MARK(3); break;	/* MAP_DIRECT mmap+munmap */
	case 4: INSN_MARK(4); break;
	case 5: INSN_MARK(5); break;	/* 4 KiB overwrites, no lease */
	case 6: INSN_MARK(6); break;
	case 7: INSN_MARK(7); break;	/* 4 KiB overwrites, leased */
	case 8: INSN_MARK(8); break;
	case 9: INSN_MARK(9); break;
	case 10: INSN_MARK(10); break;
	case 11: INSN_MARK(11); break;	/* faults 2 MiB aligned, plain */
	case 12: INSN_MARK(12); break;
	case 13: INSN_MARK(13); break;	/* faults 2 MiB aligned, MAP_DIRECT */
	case 14: INSN_MARK(14); break;
	case 15: INSN_MARK(15); break;	/* faults 4 KiB, plain */
	case 16: INSN_MARK(16); break;
	case 17: INSN_MARK(17); break;	/* faults 4 KiB, MAP_DIRECT */
	case 18: INSN_MARK(18); break;
	case 21: INSN_MARK(21); break;	/* RDMA WRITE into MAP_DIRECT */
	case 22: INSN_MARK(22); break;
	case 23: INSN_MARK(23); break;	/* into DRAM, copy, flush */
	case 24: INSN_MARK(24); break;
	case 25: INSN_MARK(25); break;	/* into device-dax */
	case 26: INSN_MARK(26); break;
	}
}

#endif
