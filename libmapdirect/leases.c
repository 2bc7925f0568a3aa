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
		unsigned int maj, min;
		unsigned long long ino;
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
			if (sscanf(line, "%*x-%*x %*s %*x %x:%x %llu", &maj, &min, &ino) == 3) {
				cur = -1;
				for (int i = 0; i < count; i++)
					if (ls[i].dev_major == maj && ls[i].dev_minor == min &&
					    ls[i].ino == ino && ino)
						cur = i;
			} else if (cur >= 0 && !strncmp(line, "VmFlags:", 8) &&
				   strstr(line, " dx") && !seen[cur]) {
				struct mapdirect_holder h = { .kind = "mapping" };

				h.pid = atoi(de->d_name);
				seen[cur] = 1;
				err = add_holder(&ls[cur], &h);
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
