// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "breaker.h"
#include "check.h"
#include "sys.h"

pid_t truncate_in_child(const char *path, void *map, size_t len, int *done)
{
	int fds[2];
	pid_t pid;

	CHECK_SYS(pipe(fds));
	pid = fork();
	CHECK_SYS(pid);
	if (!pid) {
		int ok = (!map || munmap(map, len) == 0) && truncate(path, 0) == 0;

		_exit(write(fds[1], ok ? "y" : "n", 1) == 1 ? 0 : 1);
	}
	close(fds[1]);
	*done = fds[0];
	return pid;
}

double truncate_wait(int done, double secs)
{
	double t0 = now();
	char c;

	fcntl(done, F_SETFL, O_NONBLOCK);
	while (now() < t0 + secs) {
		if (read(done, &c, 1) == 1) {
			CHECK(c == 'y', "truncate failed in the breaker");
			return now() - t0;
		}
		usleep(5000);
	}
	return -1;
}

pid_t truncate_exec(const char *path)
{
	pid_t pid = fork();

	CHECK_SYS(pid);
	if (!pid) {
		execlp("truncate", "truncate", "-s", "0", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

double child_wait(pid_t pid, double secs)
{
	double t0 = now();
	int status;

	while (now() < t0 + secs) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		CHECK_SYS(r);
		if (r == pid) {
			CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
			      "the breaker (pid %d) failed: status %#x", pid, status);
			return now() - t0;
		}
		usleep(5000);
	}
	return -1;
}
