// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kmsg.h"

int kmsg_has(const char *a, const char *b)
{
	return kmsg_count(a, b) > 0;
}

int kmsg_count(const char *a, const char *b)
{
	char rec[2048];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), found = 0;
	ssize_t n;

	CHECK(fd >= 0, "/dev/kmsg: %s", strerror(errno));
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;	/* EPIPE: overwritten records, go on */
		rec[n] = 0;
		if (strstr(rec, a) && (!b || strstr(rec, b)))
			found++;
	}
	close(fd);
	return found;
}
