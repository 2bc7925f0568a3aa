// SPDX-License-Identifier: MIT
/*
 * reflink_window: XFS reflink (and exchange-range, SWAPEXT) break
 * the destination's layout leases holding only the IOLOCK, then take the
 * MMAPLOCK.  A MAP_DIRECT mmap() in between takes a new lease; the kernel
 * must find it once the MMAPLOCK is held, break it and wait, instead of
 * sharing blocks under a live MAP_DIRECT mapping.
 *
 * The test knob /sys/module/mapdirect/parameters/test_relock_delay_ms holds
 * the reflink 1.5 s in that gap, so the mapping always lands inside it:
 *
 *  - the mmap(MAP_DIRECT) in the gap succeeds (nothing excludes it there);
 *  - its holder is notified, unmaps, and only then does the reflink finish;
 *  - the file then holds the source's bytes.
 *
 * Variants: xfs.  In the VM: build/tests/reflink_window (-l lists the tests).
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define KNOB "/sys/module/mapdirect/parameters/test_relock_delay_ms"
#define BREAK_TIME "/proc/sys/fs/lease-break-time"

static atomic_int sigio;

static void on_sigio(int sig)
{
	(void)sig;
	sigio = 1;
}

static void run(const char *dir)
{
	char dst[4096], src[4096], *map, *buf;
	double t0, t_map, t_unmap, t_end;
	int dfd, sfd, pipefd[2], status;
	struct pollfd pfd;
	pid_t pid;

	set_knob(KNOB, 0);
	set_knob(BREAK_TIME, 20);
	signal(SIGIO, on_sigio);

	dfd = dax_make_file(dir, "reflink-window.dst", LEN, dst, sizeof(dst));
	sfd = dax_make_file(dir, "reflink-window.src", LEN, src, sizeof(src));
	buf = malloc(LEN);
	CHECK(buf, "out of memory");
	memset(buf, 's', LEN);
	CHECK(pwrite(sfd, buf, LEN, 0) == LEN && fsync(sfd) == 0, "write %s: %s", src,
	      strerror(errno));
	set_knob(KNOB, 1500);

	CHECK_SYS(pipe(pipefd));
	t0 = now();
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		struct file_clone_range r = { .src_fd = sfd, .src_length = LEN };
		int rc = ioctl(dfd, FICLONERANGE, &r);
		double end = now();

		if (rc)
			fprintf(stderr, "FICLONERANGE: %s\n", strerror(errno));
		_exit(write(pipefd[1], &end, sizeof(end)) == sizeof(end) && !rc ? 0 : 1);
	}
	close(pipefd[1]);

	usleep(500000);			/* the reflink sits in the gap now */
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, dfd, 0);
	t_map = now();
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) while the reflink is between its break "
	      "and the MMAPLOCK: %s", strerror(errno));
	CHECK(map[0] == 0, "the file changed before the reflink could have finished");
	while (!sigio && now() < t_map + 15)
		usleep(1000);
	CHECK(sigio, "the mapping taken in the gap was never told to let go");
	usleep(200000);
	t_unmap = now();
	CHECK_SYS(munmap(map, LEN));

	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	CHECK(poll(&pfd, 1, 30000) == 1, "the reflink still blocked 30 s after the holder "
	      "unmapped");
	CHECK(read(pipefd[0], &t_end, sizeof(t_end)) == sizeof(t_end), "the reflink failed");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "the reflink failed (status %#x)", status);
	CHECK(t_map < t_end && t_map - t0 < 1.4, "the mapping was not taken inside the gap: "
	      "is " KNOB " honoured?");
	CHECK(t_end >= t_unmap, "the reflink changed the block map %.2f s before the "
	      "MAP_DIRECT mapping taken in its gap was unmapped", t_unmap - t_end);
	CHECK(pread(dfd, buf, LEN, 0) == LEN && buf[0] == 's' && buf[LEN - 1] == 's',
	      "%s does not hold the source's bytes after the reflink", dst);
	printf("mapping taken %.2f s into the reflink's gap: notified, and the reflink "
	       "finished %.2f s after its munmap\n", t_map - t0, t_end - t_unmap);
	close(dfd);
	close(sfd);
	unlink(dst);
	unlink(src);
	free(buf);
}

MAPDIRECT_FIXTURE(reflink_window)
FIXTURE_VARIANT_ADD(reflink_window, xfs) { .at = MAPDIRECT_ON_XFS };

TEST_F_TIMEOUT(reflink_window, relock_gap, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
