// SPDX-License-Identifier: MIT
/*
 * Who holds which file's block map: every lease of /proc/fs/mapdirect
 * with its in-kernel users, and every process that maps the file with
 * MAP_DIRECT (the "dx" flag of /proc/PID/smaps).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mapdirect.h"

#define PROC "/proc/fs/mapdirect"

/* The value of " key=" in @line, up to the next blank, or NULL. */
static const char *field(const char *line, const char *key, char *out, size_t len)
{
	char k[32];
	const char *p;
	size_t n;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	if (!p)
		return NULL;
	p += strlen(k);
	n = strcspn(p, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static long long num(const char *line, const char *key, long long dflt)
{
	char v[32];

	return field(line, key, v, sizeof(v)) ? strtoll(v, NULL, 10) : dflt;
}

/* The kernel escapes blanks, '\' and '=' in paths as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && isdigit((unsigned char)s[1]) &&
		    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3])) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

static int add_holder(struct mapdirect_lease *l, const struct mapdirect_holder *h)
{
	struct mapdirect_holder *n = realloc(l->holders, (l->nholders + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	l->holders = n;
	l->holders[l->nholders++] = *h;
	return 0;
}

/* A device-dax lease: its path is the character device it names. */
static int is_devdax(const struct mapdirect_lease *l)
{
	struct stat st;

	return !stat(l->path, &st) && S_ISCHR(st.st_mode) && st.st_ino == l->ino &&
	       major(st.st_dev) == l->dev_major && minor(st.st_dev) == l->dev_minor;
}

/*
 * One MAP_DIRECT mapping [start, end) of l's file by process pid: a new
 * holder for its first, else widen the process's range.
 */
static int add_range(struct mapdirect_lease *l, pid_t pid, int first,
		     unsigned long long start, unsigned long long end)
{
	struct mapdirect_holder h = { .pid = pid, .start = start, .end = end };

	if (!first) {
		for (int i = l->nholders - 1; i >= 0; i--) {
			struct mapdirect_holder *o = &l->holders[i];

			if (o->pid != pid || (strcmp(o->kind, "mapping") &&
					      strcmp(o->kind, "devdax")))
				continue;
			o->start = start < o->start ? start : o->start;
			o->end = end > o->end ? end : o->end;
			return 0;
		}
	}
	strcpy(h.kind, is_devdax(l) ? "devdax" : "mapping");
	return add_holder(l, &h);
}

/* Processes mapping a leased file with MAP_DIRECT: one holder per process. */
static int add_mappers(struct mapdirect_lease *ls, int count)
{
	struct dirent *de;
	DIR *proc = opendir("/proc");
	int err = 0;

	if (!proc)
		return -errno;
	while (!err && (de = readdir(proc))) {
		char path[288], line[4096];
		unsigned long long ino, lo = 0, hi = 0, off = 0;
		unsigned int maj, min;
		int cur = -1, *seen;
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/smaps", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* gone, or a kernel thread */
		seen = calloc(count ? count : 1, sizeof(*seen));
		if (!seen) {
			fclose(f);
			err = -ENOMEM;
			break;
		}
		while (fgets(line, sizeof(line), f)) {
			unsigned long long a, b, o;

			/* (Assigns on partial matches too: "AnonHugePages:".) */
			if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &a, &b, &o,
				   &maj, &min, &ino) == 6) {
				lo = a, hi = b, off = o;
				cur = -1;
				for (int i = 0; i < count; i++)
					if (ls[i].dev_major == maj && ls[i].dev_minor == min &&
					    ls[i].ino == ino && ino)
						cur = i;
			} else if (cur >= 0 && !strncmp(line, "VmFlags:", 8) &&
				   strstr(line, " dx")) {
				err = add_range(&ls[cur], atoi(de->d_name), seen[cur]++ == 0,
						off, off + (hi - lo));
			}
		}
		free(seen);
		fclose(f);
	}
	closedir(proc);
	return err;
}

int mapdirect_leases(struct mapdirect_lease **out, int *count)
{
	struct mapdirect_lease *ls = NULL, *l = NULL;
	char line[8192];
	int n = 0, err = 0;
	FILE *f;

	if (!out || !count)
		return -EINVAL;
	f = fopen(PROC, "r");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		if (strstr(line, ": -> ")) {
			struct mapdirect_holder h = { 0 };

			if (!l)
				continue;
			h.pid = num(line, "pid", 0);
			if (!field(line, "kind", h.kind, sizeof(h.kind)))
				strcpy(h.kind, "kernel");
			field(line, "state", h.state, sizeof(h.state));
			field(line, "device", h.device, sizeof(h.device));
			h.bytes = num(line, "bytes", 0);
			err = add_holder(l, &h);
		} else {
			struct mapdirect_lease *nl = realloc(ls, (n + 1) * sizeof(*nl));
			char v[32];
			const char *p;

			if (!nl) {
				err = -ENOMEM;
				break;
			}
			ls = nl;
			l = &ls[n++];
			memset(l, 0, sizeof(*l));
			if (!field(line, "dev", v, sizeof(v)) ||
			    sscanf(v, "%u:%u", &l->dev_major, &l->dev_minor) != 2) {
				err = -EPROTO;	/* not the format this library knows */
				break;
			}
			l->ino = num(line, "ino", 0);
			field(line, "state", l->state, sizeof(l->state));
			l->left_ms = num(line, "left_ms", -1);
			l->pid = num(line, "pid", 0);
			l->fd = num(line, "fd", -1);
			l->users = num(line, "users", 0);
			p = strstr(line, " path=");
			if (p) {
				snprintf(l->path, sizeof(l->path), "%s", p + 6);
				l->path[strcspn(l->path, "\n")] = 0;
				unescape(l->path);
			}
		}
	}
	fclose(f);
	if (!err)
		err = add_mappers(ls, n);
	if (err) {
		mapdirect_leases_free(ls, n);
		return err;
	}
	*out = ls;
	*count = n;
	return 0;
}

void mapdirect_leases_free(struct mapdirect_lease *leases, int count)
{
	for (int i = 0; i < count; i++)
		free(leases[i].holders);
	free(leases);
}
