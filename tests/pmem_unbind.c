// SPDX-License-Identifier: MIT
/*
 * pmem_unbind: unbinding the pmem device under a mounted file system
 * (what removing an NVDIMM namespace does) first breaks MAP_DIRECT leases
 * and waits, bounded by lease-break-time, for the holders to let go while
 * the memory still works; only then does the device go.  The kernel gets
 * there through the DAX holder's MF_MEM_PRE_REMOVE notification: XFS (with
 * or without rmapbt) and ext4.
 *
 * The holder unmaps 1 s after its notice: the unbind must not finish before
 * that.  Before the fix XFS without rmapbt and ext4 went on at once and the
 * memory went away under the mapping.  Afterwards the namespace is bound
 * again and the file system mounted again for the tests that follow.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/pmem_unbind (-l lists the tests).
 */
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define DRIVER "/sys/bus/nd/drivers/nd_pmem"

static atomic_int sigio;

static void on_sigio(int sig)
{
	(void)sig;
	sigio = 1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void run(const char *dir, const char *dev, const char *opts)
{
	char path[4096], link[PATH_MAX], sys[PATH_MAX], ns[64], cmd[8400], *map;
	double t_unmap = 0, t_end, t0;
	int fd, pipefd[2], status;
	ssize_t n;
	pid_t pid;

	/* /sys/block/pmemN/device -> .../pfnX.Y (or namespaceX.Y), bound to nd_pmem */
	snprintf(sys, sizeof(sys), "/sys/block/%s/device", basename(strdupa(dev)));
	n = readlink(sys, link, sizeof(link) - 1);
	CHECK(n > 0, "readlink %s: %s (is %s a pmem disk?)", sys, strerror(errno), dev);
	link[n] = 0;
	snprintf(ns, sizeof(ns), "%s", basename(link));
	snprintf(sys, sizeof(sys), DRIVER "/%s", ns);
	CHECK(access(sys, F_OK) == 0, "%s (from /sys/block/.../device) is not bound to "
	      "nd_pmem: no %s", ns, sys);

	set_knob(BREAK_TIME, 20);

	signal(SIGIO, on_sigio);
	fd = dax_make_file(dir, "pmem-unbind.dat", LEN, path, sizeof(path));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	memset(map, 'u', LEN);
	close(fd);

	CHECK_SYS(pipe(pipefd));
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		/* The copy of the mapping fork() gave us would hold the lease. */
		int rc = munmap(map, LEN) ?: write_str(DRIVER "/unbind", ns);
		double end = now();

		if (rc)
			fprintf(stderr, "unbind %s: %s\n", ns, strerror(errno));
		_exit(write(pipefd[1], &end, sizeof(end)) == sizeof(end) && !rc ? 0 : 1);
	}
	close(pipefd[1]);

	/* The holder: let go 1 s after the notice. */
	for (t0 = now(); !sigio && now() < t0 + 15;)
		usleep(1000);
	CHECK(sigio, "no break notice within 15 s of unbinding %s under %s", ns, dir);
	usleep(1000000);
	t_unmap = now();
	CHECK_SYS(munmap(map, LEN));

	{
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };

		CHECK(poll(&pfd, 1, 30000) == 1, "unbinding %s still blocked 30 s after the "
		      "holder unmapped", ns);
	}
	CHECK(read(pipefd[0], &t_end, sizeof(t_end)) == sizeof(t_end),
	      "the unbinding child failed");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "unbind failed (status %#x)", status);
	CHECK(t_end >= t_unmap, "%s was unbound %.2f s before the holder unmapped: the "
	      "device went away under a MAP_DIRECT mapping", ns, t_unmap - t_end);
	CHECK(t_end - t_unmap < 5, "unbinding %s finished %.2f s after the holder unmapped: "
	      "it waited for lease-break-time instead", ns, t_end - t_unmap);
	printf("unbinding %s waited for the MAP_DIRECT holder: done %.2f s after its "
	       "munmap, %.2f s after the unbind started\n", ns, t_end - t_unmap,
	       t_end - t0);

	/* Put everything back for the tests that follow. */
	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	CHECK(system(cmd) == 0, "'%s' failed after the unbind", cmd);
	CHECK(write_str(DRIVER "/bind", ns) == 0, "bind %s: %s", ns, strerror(errno));
	for (t0 = now(); access(dev, F_OK) && now() < t0 + 10;)
		usleep(10000);
	snprintf(cmd, sizeof(cmd), "mount -o %s %s %s && chmod 1777 %s", opts, dev, dir, dir);
	CHECK(system(cmd) == 0, "'%s' failed after binding %s again", cmd, ns);
}

MAPDIRECT_FIXTURE(pmem_unbind)
FIXTURE_VARIANT_ADD(pmem_unbind, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(pmem_unbind, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(pmem_unbind, waits_for_holder, MAPDIRECT_TIMEOUT)
{
	run(self->dir, self->dev, variant->at.opts);
}

TEST_HARNESS_MAIN
