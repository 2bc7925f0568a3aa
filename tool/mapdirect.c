// SPDX-License-Identifier: MIT
/*
 * mapdirect: see and manage MAP_DIRECT leases.  See mapdirect(1).
 *
 *   mapdirect ls [-J] [-n] [-p PID] [-o COLUMNS] [PATH...]
 *   mapdirect kill [-s SIGNAL] [-w SECONDS] PATH...
 *   mapdirect wait [-t SECONDS] PATH...
 *   mapdirect run [-v] [--] PROGRAM [ARGS...]
 *
 * A PATH names a file or device-dax device, or a mount point: every lease
 * on that file system.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <mapdirect.h>

#define VERSION "1.0.0"

static const char *prog = "mapdirect";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s COMMAND [OPTIONS]\n"
		"\n"
		"Commands:\n"
		"  ls [PATH...]    list MAP_DIRECT leases and who holds them (root)\n"
		"  kill [-s SIGNAL] [-w SECONDS] PATH...\n"
		"                  signal every process holding a lease on PATH\n"
		"                  (default SIGTERM); -w: wait until none is left\n"
		"  wait [-t SECONDS] PATH...\n"
		"                  wait until no lease on PATH is left\n"
		"  run [-v] [--] PROGRAM [ARGS...]\n"
		"                  run PROGRAM with its shared writable mappings of\n"
		"                  DAX files and device-dax made MAP_DIRECT\n"
		"  help            this text\n"
		"\n"
		"ls options:\n"
		"  -J, --json            JSON output\n"
		"  -n, --noheadings      no header line\n"
		"  -p, --pid PID         only leases that PID holds\n"
		"  -o, --output COLUMNS  comma-separated: PATH,DEV,INODE,STATE,LEFT,\n"
		"                        HOLDER,PID,COMMAND,DEVICE,BYTES,START,END\n"
		"\n"
		"A PATH is a file, a device-dax device or a mount point (every\n"
		"lease on that file system).\n"
		"\n"
		"run options:\n"
		"  -v, --verbose         say which mappings became MAP_DIRECT\n"
		"\n"
		"Exit status: 0 ok, 1 error (kill -w, wait: leases left), 2 bad\n"
		"usage; run: PROGRAM's status,\n"
		"126 or 127 if it cannot be run.  See mapdirect(1).\n",
		prog);
}

enum col { C_PATH, C_DEV, C_INODE, C_STATE, C_LEFT, C_HOLDER, C_PID, C_COMMAND,
	   C_DEVICE, C_BYTES, C_START, C_END, NCOLS };

static const struct {
	const char *name;
	int width;	/* 0: last column, unpadded */
	int right;
} cols[NCOLS] = {
	[C_PATH] = { "PATH", 0, 0 },
	[C_DEV] = { "DEV", 8, 0 },
	[C_INODE] = { "INODE", 10, 1 },
	[C_STATE] = { "STATE", 9, 0 },
	[C_LEFT] = { "LEFT", 7, 1 },
	[C_HOLDER] = { "HOLDER", 8, 0 },
	[C_PID] = { "PID", 7, 1 },
	[C_COMMAND] = { "COMMAND", 16, 0 },
	[C_DEVICE] = { "DEVICE", 8, 0 },
	[C_BYTES] = { "BYTES", 12, 1 },
	[C_START] = { "START", 12, 1 },
	[C_END] = { "END", 12, 1 },
};

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void cell(enum col c, const char *v, int last)
{
	if (last || !cols[c].width)
		printf("%s", v);
	else if (cols[c].right)
		printf("%*s ", cols[c].width, v);
	else
		printf("%-*s ", cols[c].width, v);
}

static void row(const struct mapdirect_lease *l, const struct mapdirect_holder *h,
		const enum col *sel, int nsel)
{
	char v[4200];

	for (int i = 0; i < nsel; i++) {
		switch (sel[i]) {
		case C_PATH: snprintf(v, sizeof(v), "%s", l->path); break;
		case C_DEV: snprintf(v, sizeof(v), "%u:%u", l->dev_major, l->dev_minor); break;
		case C_INODE: snprintf(v, sizeof(v), "%llu", l->ino); break;
		case C_STATE: snprintf(v, sizeof(v), "%s", l->state); break;
		case C_LEFT:
			if (l->left_ms >= 0)
				snprintf(v, sizeof(v), "%.1fs", l->left_ms / 1000.0);
			else
				snprintf(v, sizeof(v), "-");
			break;
		case C_HOLDER: snprintf(v, sizeof(v), "%s", h ? h->kind : "-"); break;
		case C_PID: snprintf(v, sizeof(v), "%d", h ? h->pid : l->pid); break;
		case C_COMMAND: comm_of(h ? h->pid : l->pid, v, sizeof(v)); break;
		case C_DEVICE: snprintf(v, sizeof(v), "%s", h && *h->device ? h->device : "-"); break;
		case C_BYTES:
			if (h && h->bytes)
				snprintf(v, sizeof(v), "%llu", h->bytes);
			else
				snprintf(v, sizeof(v), "-");
			break;
		case C_START:
		case C_END:
			if (h && h->end)
				snprintf(v, sizeof(v), "%llu", sel[i] == C_START ? h->start : h->end);
			else
				snprintf(v, sizeof(v), "-");
			break;
		default: v[0] = 0;
		}
		cell(sel[i], v, i == nsel - 1);
	}
	putchar('\n');
}

static void json_lease(const struct mapdirect_lease *l, int first)
{
	char comm[64];

	printf("%s\n    {\"path\": ", first ? "" : ",");
	json_str(l->path);
	printf(", \"dev\": \"%u:%u\", \"inode\": %llu, \"state\": ", l->dev_major,
	       l->dev_minor, l->ino);
	json_str(l->state);
	if (l->left_ms >= 0)
		printf(", \"left_ms\": %d", l->left_ms);
	else
		printf(", \"left_ms\": null");
	printf(", \"notified_pid\": %d, \"holders\": [", l->pid);
	for (int j = 0; j < l->nholders; j++) {
		const struct mapdirect_holder *h = &l->holders[j];

		comm_of(h->pid, comm, sizeof(comm));
		printf("%s\n      {\"kind\": ", j ? "," : "");
		json_str(h->kind);
		printf(", \"pid\": %d, \"command\": ", h->pid);
		json_str(comm);
		if (*h->device) {
			printf(", \"device\": ");
			json_str(h->device);
		}
		if (h->bytes)
			printf(", \"bytes\": %llu", h->bytes);
		if (h->end)
			printf(", \"start\": %llu, \"end\": %llu", h->start, h->end);
		putchar('}');
	}
	printf("%s]}", l->nholders ? "\n    " : "");
}

static int parse_columns(char *spec, enum col *sel)
{
	int n = 0;

	for (char *t = strtok(spec, ","); t; t = strtok(NULL, ",")) {
		int c;

		for (c = 0; c < NCOLS && strcasecmp(t, cols[c].name); c++)
			;
		if (c == NCOLS) {
			fprintf(stderr, "%s ls: unknown column '%s' (see --help)\n", prog, t);
			return -1;
		}
		if (n < NCOLS)
			sel[n++] = c;
	}
	return n;
}

/* What a PATH argument selects: one file, or every file of a file system. */
struct target {
	dev_t dev;
	ino_t ino;
	bool whole_fs;	/* PATH is a mount point */
};

static int get_targets(const char *cmd, char **names, int n, struct target **out)
{
	struct target *t = calloc(n + 1, sizeof(*t));
	struct stat st, up;
	char *parent;

	if (!t)
		return -1;
	for (int i = 0; i < n; i++) {
		if (stat(names[i], &st)) {
			fprintf(stderr, "%s %s: %s: %s\n", prog, cmd, names[i], strerror(errno));
			free(t);
			return -1;
		}
		t[i].dev = st.st_dev;
		t[i].ino = st.st_ino;
		if (S_ISDIR(st.st_mode) && asprintf(&parent, "%s/..", names[i]) >= 0) {
			t[i].whole_fs = !stat(parent, &up) &&
				(up.st_dev != st.st_dev || up.st_ino == st.st_ino);
			free(parent);
		}
	}
	*out = t;
	return 0;
}

static int matches(const struct mapdirect_lease *l, pid_t pid, const struct target *t, int nt)
{
	int ok = !nt;

	for (int i = 0; i < nt; i++)
		if (major(t[i].dev) == l->dev_major && minor(t[i].dev) == l->dev_minor &&
		    (t[i].whole_fs || t[i].ino == l->ino))
			ok = 1;
	if (ok && pid) {
		ok = l->pid == pid;
		for (int j = 0; j < l->nholders; j++)
			ok |= l->holders[j].pid == pid;
	}
	return ok;
}

static int read_leases(const char *cmd, struct mapdirect_lease **ls, int *count)
{
	int err = mapdirect_leases(ls, count);

	if (err == -ENOENT)
		fprintf(stderr, "%s %s: /proc/fs/mapdirect is missing: this kernel has "
			"no MAP_DIRECT (boot the patched kernel)\n", prog, cmd);
	else if (err)
		fprintf(stderr, "%s %s: cannot read the leases: %s\n", prog, cmd,
			mapdirect_strerror(err));
	return err;
}

static int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	enum col sel[NCOLS] = { C_PATH };
	int nsel = 0, json = 0, heads = 1, count, err, c, first = 1;
	struct mapdirect_lease *ls;
	struct target *paths;
	pid_t pid = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "Jnp:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': json = 1; break;
		case 'n': heads = 0; break;
		case 'p':
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				fprintf(stderr, "%s ls: bad pid '%s'\n", prog, optarg);
				return 2;
			}
			break;
		case 'o':
			nsel = parse_columns(optarg, sel);
			if (nsel <= 0)
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!nsel) {
		static const enum col dflt[] = { C_PID, C_COMMAND, C_HOLDER, C_DEVICE, C_STATE,
						 C_LEFT, C_DEV, C_INODE, C_PATH };

		nsel = sizeof(dflt) / sizeof(dflt[0]);
		memcpy(sel, dflt, sizeof(dflt));
	}
	if (get_targets("ls", argv + optind, argc - optind, &paths))
		return 1;
	err = read_leases("ls", &ls, &count);
	if (err) {
		free(paths);
		return 1;
	}
	if (json)
		printf("{\"leases\": [");
	else if (heads) {
		for (int i = 0; i < nsel; i++)
			cell(sel[i], cols[sel[i]].name, i == nsel - 1);
		putchar('\n');
	}
	for (int i = 0; i < count; i++) {
		if (!matches(&ls[i], pid, paths, argc - optind))
			continue;
		if (json) {
			json_lease(&ls[i], first);
			first = 0;
			continue;
		}
		if (!ls[i].nholders)
			row(&ls[i], NULL, sel, nsel);
		for (int j = 0; j < ls[i].nholders; j++)
			if (!pid || ls[i].holders[j].pid == pid)
				row(&ls[i], &ls[i].holders[j], sel, nsel);
	}
	if (json)
		printf("%s]}\n", first ? "" : "\n  ");
	mapdirect_leases_free(ls, count);
	free(paths);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* How many leases on the targets are left; -1 if they cannot be read. */
static int leases_left(const char *cmd, const struct target *t, int nt)
{
	struct mapdirect_lease *ls;
	int count, n = 0;

	if (read_leases(cmd, &ls, &count))
		return -1;
	for (int i = 0; i < count; i++)
		n += matches(&ls[i], 0, t, nt);
	mapdirect_leases_free(ls, count);
	return n;
}

/* Wait up to secs (< 0: for ever) until no lease on the targets is left. */
static int wait_free(const char *cmd, const struct target *t, int nt, double secs)
{
	double end = now_s() + secs;
	int n;

	while ((n = leases_left(cmd, t, nt)) > 0) {
		if (secs >= 0 && now_s() >= end) {
			fprintf(stderr, "%s %s: %d lease(s) still held after %g s "
				"(see: mapdirect ls)\n", prog, cmd, n, secs);
			return 1;
		}
		usleep(50 * 1000);
	}
	return n < 0;
}

static int parse_secs(const char *cmd, const char *arg, double *secs)
{
	char *end;

	*secs = strtod(arg, &end);
	if (*end || end == arg || *secs < 0) {
		fprintf(stderr, "%s %s: bad number of seconds '%s'\n", prog, cmd, arg);
		return -1;
	}
	return 0;
}

/* A signal's name (TERM, SIGTERM, any case) or number; -1 if neither. */
static int parse_signal(const char *arg)
{
	const char *name = strncasecmp(arg, "SIG", 3) ? arg : arg + 3;
	char *end;
	long n;

	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && !strcasecmp(name, abbrev))
			return sig;
	}
	n = strtol(arg, &end, 10);
	if (!*end && end != arg && n > 0 && n < NSIG)
		return n;
	return -1;
}

/* The PATH operands after the options: 0, or the exit status (1, 2). */
static int path_args(const char *cmd, const char *opts, int argc, char **argv,
		     struct target **t, int *nt)
{
	*nt = argc - optind;
	if (!*nt) {
		fprintf(stderr, "%s %s: no PATH given (mapdirect %s %s PATH...)\n", prog,
			cmd, cmd, opts);
		return 2;
	}
	return get_targets(cmd, argv + optind, *nt, t) ? 1 : 0;
}

static int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int sig = SIGTERM, count, c, sent = 0, failed = 0, nt;
	struct mapdirect_lease *ls;
	double secs = -1;
	pid_t *done = NULL;
	struct target *t;
	int ndone = 0;

	while ((c = getopt_long(argc, argv, "s:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = parse_signal(optarg);
			if (sig < 0) {
				fprintf(stderr, "%s kill: bad signal '%s' (a name such as TERM "
					"or KILL, or a number)\n", prog, optarg);
				return 2;
			}
			break;
		case 'w':
			if (parse_secs("kill", optarg, &secs))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	c = path_args("kill", "[-s SIGNAL] [-w SECONDS]", argc, argv, &t, &nt);
	if (c)
		return c;
	if (read_leases("kill", &ls, &count)) {
		free(t);
		return 1;
	}
	for (int i = 0; i < count; i++) {
		if (!matches(&ls[i], 0, t, nt))
			continue;
		for (int j = 0; j < ls[i].nholders; j++) {
			pid_t pid = ls[i].holders[j].pid;
			char comm[64];
			bool seen = pid == getpid();
			pid_t *more;

			for (int k = 0; k < ndone; k++)
				seen |= done[k] == pid;
			if (seen || pid <= 0)
				continue;
			more = realloc(done, (ndone + 1) * sizeof(*done));
			if (!more)
				break;
			done = more;
			done[ndone++] = pid;
			comm_of(pid, comm, sizeof(comm));
			if (kill(pid, sig)) {
				fprintf(stderr, "%s kill: %d (%s): %s\n", prog, pid, comm,
					strerror(errno));
				failed++;
				continue;
			}
			printf("sent %s to %d (%s), holding %s\n", strsignal(sig), pid, comm,
			       ls[i].path);
			sent++;
		}
	}
	mapdirect_leases_free(ls, count);
	free(done);
	if (!sent && !failed)
		printf("no process holds a lease on %s%s\n", argv[optind], nt > 1 ? " ..." : "");
	c = failed ? 1 : 0;
	if (secs >= 0 && wait_free("kill", t, nt, secs))
		c = 1;
	free(t);
	return c;
}

static int cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct target *t;
	double secs = -1;
	int c, nt;

	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_secs("wait", optarg, &secs))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	c = path_args("wait", "[-t SECONDS]", argc, argv, &t, &nt);
	if (c)
		return c;
	c = wait_free("wait", t, nt, secs);
	free(t);
	return c;
}

/*
 * The preload library: $MAPDIRECT_PRELOAD; else ../lib beside this binary
 * (the build tree, make install); else its bare name, which the dynamic
 * linker looks up in the system's library directories (packages install
 * it in /usr/lib/<multiarch>).
 */
static int preload_path(char *buf, size_t len)
{
	const char *env = getenv("MAPDIRECT_PRELOAD");
	char exe[4096], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/../lib/libmapdirect-preload.so", exe);
			if (!access(buf, R_OK))
				return 0;
		}
	}
	snprintf(buf, len, "libmapdirect-preload.so");
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char lib[4200], *old, *env;
	int c;

	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': setenv("MAPDIRECT_RUN_VERBOSE", "1", 1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s run: no program given (mapdirect run [-v] -- PROGRAM "
			"[ARGS...])\n", prog);
		return 2;
	}
	if (preload_path(lib, sizeof(lib))) {
		fprintf(stderr, "%s run: cannot find libmapdirect-preload.so (%s): set "
			"MAPDIRECT_PRELOAD to its path\n", prog, lib);
		return 1;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (asprintf(&env, "%s:%s", lib, old) < 0)
			return 1;
	} else {
		env = strdup(lib);
	}
	if (!env || setenv("LD_PRELOAD", env, 1))
		return 1;
	free(env);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "%s run: %s: %s\n", prog, argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "kill"))
		return cmd_kill(argc - 1, argv + 1);
	if (!strcmp(argv[1], "wait"))
		return cmd_wait(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mapdirect %s\n", VERSION);
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog, argv[1], prog);
	return 2;
}
