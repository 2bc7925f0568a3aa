// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kmsg.h"

/*
 * Call @fn on every record of /dev/kmsg ("prio,seq,time,flags;text") with
 * its sequence number; stop early if @fn returns nonzero.
 */
static void kmsg_each(int (*fn)(unsigned long long seq, const char *text, void *arg),
		      void *arg)
{
	char rec[2048];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	unsigned long long seq;
	ssize_t n;

	CHECK(fd >= 0, "/dev/kmsg: %s", strerror(errno));
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		const char *text;

		if (n <= 0)
			continue;	/* EPIPE: overwritten records, go on */
		rec[n] = 0;
		text = strchr(rec, ';');
		if (!text || sscanf(rec, "%*u,%llu,", &seq) != 1)
			continue;
		if (fn(seq, text + 1, arg))
			break;
	}
	close(fd);
}

static int newest(unsigned long long seq, const char *text, void *arg)
{
	(void)text;
	*(unsigned long long *)arg = seq;
	return 0;
}

unsigned long long kmsg_mark(void)
{
	unsigned long long seq = 0;

	kmsg_each(newest, &seq);
	return seq;
}

struct match {
	unsigned long long mark;
	const char *a, *b;
	int found;
};

static int matches(unsigned long long seq, const char *text, void *arg)
{
	struct match *m = arg;

	if (seq > m->mark && strstr(text, m->a) && (!m->b || strstr(text, m->b)))
		m->found++;
	return 0;
}

int kmsg_count(unsigned long long mark, const char *a, const char *b)
{
	struct match m = { .mark = mark, .a = a, .b = b };

	kmsg_each(matches, &m);
	return m.found;
}

int kmsg_has(unsigned long long mark, const char *a, const char *b)
{
	return kmsg_count(mark, a, b) > 0;
}
