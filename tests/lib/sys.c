// SPDX-License-Identifier: MIT
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sys.h"

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	CHECK(f, "%s: %s (is this the patched kernel?)", path, strerror(errno));
	CHECK(fscanf(f, "%d", &v) == 1, "%s: unreadable", path);
	fclose(f);
	return v;
}

void write_int(const char *path, int v)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fprintf(f, "%d\n", v) > 0 && fclose(f) == 0, "write %s: %s", path,
	      strerror(errno));
}

#define MAX_KNOBS 8
static struct {
	char path[256];
	char old[64];
} knobs[MAX_KNOBS];
static int nknobs;
static pid_t knob_owner;

void restore_knobs(void)
{
	if (getpid() != knob_owner)
		return;
	while (nknobs > 0) {
		FILE *f;

		nknobs--;
		f = fopen(knobs[nknobs].path, "w");
		if (!f || fprintf(f, "%s\n", knobs[nknobs].old) < 0 || fclose(f))
			fprintf(stderr, "warning: could not restore %s to %s\n",
				knobs[nknobs].path, knobs[nknobs].old);
	}
}

void set_knob(const char *path, int v)
{
	char s[32];

	snprintf(s, sizeof(s), "%d", v);
	set_knob_str(path, s);
}

void set_knob_str(const char *path, const char *v)
{
	FILE *f;
	int i;

	for (i = 0; i < nknobs && strcmp(knobs[i].path, path); i++)
		;
	if (i == nknobs) {
		CHECK(nknobs < MAX_KNOBS && strlen(path) < sizeof(knobs[0].path),
		      "set_knob: too many knobs");
		snprintf(knobs[i].path, sizeof(knobs[i].path), "%s", path);
		f = fopen(path, "r");
		CHECK(f && fgets(knobs[i].old, sizeof(knobs[i].old), f), "%s: %s (is this the "
		      "patched kernel?)", path, strerror(errno));
		fclose(f);
		knobs[i].old[strcspn(knobs[i].old, "\n")] = 0;
		if (!nknobs++ && !knob_owner) {
			knob_owner = getpid();
			atexit(restore_knobs);
		}
	}
	f = fopen(path, "w");
	CHECK(f && fprintf(f, "%s\n", v) > 0 && fclose(f) == 0, "write %s: %s", path,
	      strerror(errno));
}

int wait_byte(int fd, double secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char c;

	if (poll(&pfd, 1, (int)(secs * 1000)) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

int layout_leases(ino_t ino, pid_t pid)
{
	char line[256], want[64];
	FILE *f = fopen("/proc/locks", "r");
	int n = 0, lpid;

	CHECK(f, "/proc/locks: %s", strerror(errno));
	snprintf(want, sizeof(want), ":%lu ", (unsigned long)ino);
	/* "1: LAYOUT ACTIVE    READ  PID MAJ:MIN:INO 0 EOF"; "->" are waiters */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " LAYOUT ") && strstr(line, want) &&
		    !strstr(line, "->") &&
		    sscanf(line, "%*d: %*s %*s %*s %d", &lpid) == 1 &&
		    (!pid || lpid == pid))
			n++;
	fclose(f);
	return n;
}

int lease_listed(ino_t ino)
{
	return layout_leases(ino, getpid()) > 0;
}

void send_fds(int sock, int a, int b)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 }, byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int fds[2] = { a, b };

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	CHECK(sendmsg(sock, &msg, 0) == 1, "sendmsg: %s", strerror(errno));
}

void recv_fds(int sock, int *a, int *b)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fds[2];

	CHECK(recvmsg(sock, &msg, 0) == 1, "recvmsg: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&msg);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS, "no descriptors received");
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	*a = fds[0];
	*b = fds[1];
}
