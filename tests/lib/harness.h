/* SPDX-License-Identifier: MIT */
/*
 * One test style for all of mapdirect's tests: every userspace test is a
 * kselftest_harness.h program, like the series' selftests (the harness
 * comes from the unpacked kernel tree; tests/Makefile puts it on the
 * include path, nothing is copied).  A program is named after its feature
 * and has:
 *
 *   FIXTURE(feature)              what a test needs (a directory, a device)
 *   FIXTURE_VARIANT_ADD(...)      one per place it runs: xfs, ext4, devdax
 *   TEST_F(feature, behaviour)    one per behaviour, each in its own process
 *
 * and reports TAP: "ok N feature.variant.behaviour".  tests/run-guest.sh
 * prints one PASS/FAIL line per result under that name.
 *
 * The checks are lib/check.h's CHECK()/FAIL(): a failed one prints its
 * reason and exits the test's process with 1, which the harness counts as
 * a failure.  Every teardown must call restore_knobs() (MAPDIRECT_TEARDOWN
 * does): the harness ends a passing test with _exit(), which skips the
 * atexit() that restores them.
 */
#ifndef MAPDIRECT_TESTS_HARNESS_H
#define MAPDIRECT_TESTS_HARNESS_H

#include "kselftest_harness.h"

#include "check.h"
#include "sys.h"

/* Where a variant runs: environment variables set by vm/guest-init. */
struct mapdirect_place {
	const char *dir_env;	/* a directory (MAPDIRECT_XFS), or NULL */
	const char *dev_env;	/* its block or dax device (MAPDIRECT_XFS_DEV) */
	const char *opts;	/* its mount options with DAX on */
};

#define MAPDIRECT_ON_XFS  { "MAPDIRECT_XFS", "MAPDIRECT_XFS_DEV", "dax=always" }
#define MAPDIRECT_ON_EXT4 { "MAPDIRECT_EXT4", "MAPDIRECT_EXT4_DEV", "dax" }
#define MAPDIRECT_ON_DEVDAX { NULL, "MAPDIRECT_DEVDAX", NULL }

/* A test that cannot run where it must fails (need_env()): never skips. */
static inline const char *place_dir(const struct mapdirect_place *p)
{
	return p->dir_env ? need_env(p->dir_env) : NULL;
}

static inline const char *place_dev(const struct mapdirect_place *p)
{
	return p->dev_env ? need_env(p->dev_env) : NULL;
}

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#define mapdirect_leak_check() __lsan_do_leak_check()
#else
#define mapdirect_leak_check() do { } while (0)
#endif

/* Line-buffered: the harness's output and ours stay in order. */
#define MAPDIRECT_SETUP() setvbuf(stdout, NULL, _IOLBF, 0)
/* Knobs back, and the leak check that _exit() would skip (fails the test). */
#define MAPDIRECT_TEARDOWN() do { restore_knobs(); mapdirect_leak_check(); } while (0)

/*
 * The fixture of a feature FEATURE: self->dir and self->dev come from the
 * variant's place, added after it with
 *	FIXTURE_VARIANT_ADD(FEATURE, xfs) { .at = MAPDIRECT_ON_XFS };
 * and the teardown calls CLEANUP() (tests' own state) before restoring
 * knobs.  Use MAPDIRECT_FIXTURE() when there is nothing to clean up.
 */
#define MAPDIRECT_FIXTURE_CLEANUP(feature, cleanup)			\
	FIXTURE(feature) {						\
		const char *dir, *dev;					\
	};								\
	FIXTURE_VARIANT(feature) {					\
		struct mapdirect_place at;				\
	};								\
	FIXTURE_SETUP(feature)						\
	{								\
		MAPDIRECT_SETUP();					\
		self->dir = place_dir(&variant->at);			\
		self->dev = place_dev(&variant->at);			\
	}								\
	FIXTURE_TEARDOWN(feature)					\
	{								\
		cleanup();						\
		MAPDIRECT_TEARDOWN();					\
	}

static inline void mapdirect_no_cleanup(void)
{
}

#define MAPDIRECT_FIXTURE(feature) \
	MAPDIRECT_FIXTURE_CLEANUP(feature, mapdirect_no_cleanup)

/*
 * The fixture "devdax" of a program's device-dax tests: self->dev is the
 * VM's device-dax device; the teardown calls CLEANUP() first.
 */
#define MAPDIRECT_DEVDAX_FIXTURE(cleanup)				\
	FIXTURE(devdax) {						\
		const char *dev;					\
	};								\
	FIXTURE_SETUP(devdax)						\
	{								\
		MAPDIRECT_SETUP();					\
		self->dev = need_env("MAPDIRECT_DEVDAX");		\
	}								\
	FIXTURE_TEARDOWN(devdax)					\
	{								\
		cleanup();						\
		MAPDIRECT_TEARDOWN();					\
	}

/* Most tests wait for lease-break-time at least once. */
#define MAPDIRECT_TIMEOUT 120

#endif
