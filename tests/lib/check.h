/* SPDX-License-Identifier: MIT */
/*
 * Tiny assertion helpers for the mapdirect userspace tests.  A test is a
 * program: exit 0 = pass, anything else = fail, with the reason on stderr.
 * A test that cannot run where it must (no pmem, no rxe) fails loudly.
 */
#ifndef MAPDIRECT_TESTS_CHECK_H
#define MAPDIRECT_TESTS_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                       \
	do {                                                            \
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);   \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
		exit(1);                                                \
	} while (0)

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (!(cond))                                            \
			FAIL(__VA_ARGS__);                              \
	} while (0)

/* A system call that must succeed: fail with its errno otherwise. */
#define CHECK_SYS(expr)                                                 \
	do {                                                            \
		if ((expr) < 0)                                         \
			FAIL("%s: %s", #expr, strerror(errno));         \
	} while (0)

/* An environment variable the VM must provide (see vm/guest-init). */
static inline const char *need_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		FAIL("%s is not set: run this test in the mapdirect VM (make check)",
		     name);
	return v;
}

#endif
