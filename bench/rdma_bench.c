// SPDX-License-Identifier: MIT
/*
 * rdma_bench DIR DEVDAX BIGDIR: RDMA into persistent memory, in the VM
 * (Soft-RoCE, rxe1 -> rxe0).  Every figure is measured in this one run,
 * the ways compared interleaved round by round; each is printed for people
 * and as an "@result" line for bench/report.py.
 *
 *  1. RDMA WRITE and READ throughput, 64 KiB and 1 MiB messages, over
 *     16 MiB on rxe0:
 *     a. direct:  a MAP_DIRECT mapping of a file on DIR (fs-DAX), zero
 *                 copy: written data is in the file when the WRITE ends;
 *     b. staged:  DRAM, and a copy to (WRITE) or from (READ) the same file
 *                 through a MAP_SYNC mapping, flushed with
 *                 mapdirect_persist(): today's only way without MAP_DIRECT;
 *     c. devdax:  a mapping of the device-dax device DEVDAX.
 *  2. Registration time vs size (64 MiB .. 1 GiB): prefixes of a 1 GiB
 *     MAP_DIRECT mapping of a file on BIGDIR and of a 1 GiB mapping of
 *     DEVDAX, registered in turn.
 *  3. Revocation vs size: a MAP_DIRECT registration of a file on BIGDIR,
 *     revoked by a truncate after lease-break-time (1 s): the truncate's
 *     time beyond 1 s, against a plain truncate of the same file (same
 *     size, no lease) measured just after.
 *
 * rdma_bench --count-insns DIR DEVDAX runs 1 MiB WRITEs into each target
 * of 1. between the markers of the instruction-counting QEMU plugin
 * (bench/insns.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_verbs.h>

#include "bench.h"
#include "lib/rpair.h"

#define MAXMSG (1u << 20)
#define REGION (16u << 20)
#define ROUNDS 9		/* throughput and registration */
#define RROUNDS 5		/* revocation: two files written per round */
#define GIB (1ul << 30)
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static struct rpair p;
static struct ibv_mr *cmr;
static char *cbuf;

/* A file of @len written (allocated) bytes in @dir. */
static int make_file(const char *dir, const char *name, size_t len, char *path)
{
	char *zero = calloc(1, MAXMSG);
	int fd;

	snprintf(path, 4096, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || !zero)
		die(path);
	/*
	 * One allocation, aligned to the file system's 2 MiB stripe unit, then
	 * written: PMD mappings, as device-dax has.  Written 1 MiB at a time
	 * without it, the file got 1 MiB extents, mapped and pinned 4 KiB by
	 * 4 KiB, which made registering it look 20% slower than device-dax.
	 */
	if (fallocate(fd, 0, 0, len))
		die("fallocate");
	for (size_t off = 0; off < len; off += MAXMSG)
		if (pwrite(fd, zero, MAXMSG, off) != MAXMSG)
			die("preallocate");
	if (fsync(fd))
		die("fsync");
	free(zero);
	return fd;
}

static void *map(int fd, size_t len, int flags)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (m == MAP_FAILED)
		die("mmap");
	return m;
}

static struct ibv_mr *reg(void *addr, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(p.srv->pd, addr, len, ACCESS);

	if (!mr)
		die("ibv_reg_mr");
	return mr;
}

/*
 * MB/s of REGION moved by @op in @msg-byte messages into (WRITE) or out of
 * (READ) @raddr; @file: stage through DRAM (@raddr) and copy to or from it.
 */
static double run(int op, size_t msg, char *raddr, uint32_t rkey, char *file)
{
	double t0 = now();

	for (size_t off = 0; off < REGION; off += msg) {
		if (file && op == IBV_WR_RDMA_READ)
			memcpy(raddr + off, file + off, msg);
		if (rpair_rdma(&p, op, cbuf, msg, cmr, (uintptr_t)(raddr + off), rkey))
			die(op == IBV_WR_RDMA_READ ? "RDMA READ" : "RDMA WRITE");
		if (file && op == IBV_WR_RDMA_WRITE) {
			memcpy(file + off, raddr + off, msg);
			mapdirect_persist(file + off, msg);
		}
	}
	return REGION / (now() - t0) / 1e6;
}

/* The three places RDMA moves data to or from, set up side by side. */
struct targets {
	char path[4096];
	char *fmap;		/* MAP_DIRECT mapping of the file */
	char *smap;		/* MAP_SYNC mapping of the same file, for staging */
	char *dram;		/* the staging buffer */
	char *dmap;		/* device-dax */
	struct ibv_mr *fmr, *dmr, *xmr;
	int fd, xfd;
};

static void targets_setup(struct targets *t, const char *dir, const char *devdax)
{
	t->fd = make_file(dir, "rdma-bench.dat", REGION, t->path);
	t->xfd = open(devdax, O_RDWR);
	if (t->xfd < 0)
		die(devdax);
	t->fmap = map(t->fd, REGION, MAP_SHARED_VALIDATE | MAP_DIRECT);
	t->smap = map(t->fd, REGION, MAP_SHARED_VALIDATE | MAP_SYNC);
	t->dram = map(-1, REGION, MAP_PRIVATE | MAP_ANONYMOUS);
	t->dmap = map(t->xfd, REGION, MAP_SHARED);
	memset(t->dram, 0, REGION);
	t->fmr = reg(t->fmap, REGION);
	t->dmr = reg(t->dram, REGION);
	t->xmr = reg(t->dmap, REGION);
	memset(cbuf, 0x42, MAXMSG);
}

static void targets_teardown(struct targets *t)
{
	ibv_dereg_mr(t->fmr);
	ibv_dereg_mr(t->dmr);
	ibv_dereg_mr(t->xmr);
	munmap(t->fmap, REGION);
	munmap(t->smap, REGION);
	munmap(t->dram, REGION);
	munmap(t->dmap, REGION);
	close(t->xfd);
	close(t->fd);
	unlink(t->path);
}

static void bench_throughput(const char *dir, const char *devdax)
{
	static const size_t msgs[] = { 64 << 10, 1 << 20 };
	struct targets t;

	targets_setup(&t, dir, devdax);
	printf("  throughput over %u MiB (median of %d rounds, MB/s):\n", REGION >> 20, ROUNDS);
	for (int o = 0; o < 2; o++) {
		int op = o ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
		const char *opn = o ? "read" : "write";

		for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
			double d[ROUNDS], s[ROUNDS], x[ROUNDS];
			char n[64];

			for (int r = 0; r < ROUNDS; r++)
				for (int k = 0; k < 3; k++)	/* each goes first in turn */
					switch ((r + k) % 3) {
					case 0:
						d[r] = run(op, msgs[m], t.fmap, t.fmr->rkey, NULL);
						break;
					case 1:
						s[r] = run(op, msgs[m], t.dram, t.dmr->rkey, t.smap);
						break;
					default:
						x[r] = run(op, msgs[m], t.dmap, t.xmr->rkey, NULL);
					}
			printf("    %-5s %4zu KiB: MAP_DIRECT %7.1f, DRAM+copy %7.1f (%.2fx), "
			       "device-dax %7.1f (%.2fx)\n", opn, msgs[m] >> 10,
			       median(d, ROUNDS), median(s, ROUNDS),
			       median(d, ROUNDS) / median(s, ROUNDS), median(x, ROUNDS),
			       median(d, ROUNDS) / median(x, ROUNDS));
			snprintf(n, sizeof(n), "rdma/%s_vs_devdax", opn);
			result(n, "MB/s", msgs[m] >> 10, d, ROUNDS, "device-dax", x, ROUNDS);
			snprintf(n, sizeof(n), "rdma/%s_vs_staged", opn);
			result(n, "MB/s", msgs[m] >> 10, d, ROUNDS, "DRAM + copy + flush", s,
			       ROUNDS);
		}
	}
	if (memcmp(t.smap + REGION - MAXMSG, cbuf, MAXMSG))
		die("the data is not in the file");
	targets_teardown(&t);
}

/*
 * For bench/insns.sh: rounds of 1 MiB RDMA WRITEs over REGION into each
 * target, each going first in turn, between markers.  Waiting for a
 * completion sleeps (rdma_get_send_comp()), so an idle vCPU counts
 * nothing.  Prints "@insns-n MARKER MESSAGES" for each.
 */
static void count_insns(const char *dir, const char *devdax)
{
	struct targets t;

	targets_setup(&t, dir, devdax);
	insn_mark(10);
	for (int r = 0; r < 3; r++)
		for (int k = 0; k < 3; k++) {
			int w = (r + k) % 3;

			insn_mark(21 + 2 * w);
			if (w == 0)
				run(IBV_WR_RDMA_WRITE, MAXMSG, t.fmap, t.fmr->rkey, NULL);
			else if (w == 1)
				run(IBV_WR_RDMA_WRITE, MAXMSG, t.dram, t.dmr->rkey, t.smap);
			else
				run(IBV_WR_RDMA_WRITE, MAXMSG, t.dmap, t.xmr->rkey, NULL);
			insn_mark(22 + 2 * w);
		}
	if (memcmp(t.smap + REGION - MAXMSG, cbuf, MAXMSG))
		die("the data is not in the file");
	targets_teardown(&t);
	for (int m = 21; m <= 25; m += 2)
		printf("@insns-n %d %u\n", m, REGION / MAXMSG);
}

static double reg_time(void *addr, size_t len)
{
	double t0 = now();
	struct ibv_mr *mr = reg(addr, len);
	double t = now() - t0;

	ibv_dereg_mr(mr);
	return t;
}

static void bench_register(const char *dir, const char *devdax)
{
	static const unsigned int mibs[] = { 64, 256, 1024 };
	char path[4096], *fmap, *dmap;
	int fd = make_file(dir, "rdma-bench-reg.dat", GIB, path);
	int xfd = open(devdax, O_RDWR);

	if (xfd < 0)
		die(devdax);
	/* Both populated first: registration time, not first-fault time. */
	fmap = map(fd, GIB, MAP_SHARED_VALIDATE | MAP_DIRECT | MAP_POPULATE);
	dmap = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, xfd, 0);
	if (dmap == MAP_FAILED)
		die("mmap of 1 GiB of device-dax (is it 1 GiB?)");
	printf("  registration time vs size (s; MAP_DIRECT fs-DAX, device-dax):\n");
	for (size_t i = 0; i < sizeof(mibs) / sizeof(mibs[0]); i++) {
		size_t len = (size_t)mibs[i] << 20;
		double f[ROUNDS], d[ROUNDS];

		for (int r = 0; r < ROUNDS; r++) {
			if (r & 1)	/* each goes first in turn */
				d[r] = reg_time(dmap, len);
			f[r] = reg_time(fmap, len);
			if (!(r & 1))
				d[r] = reg_time(dmap, len);
		}
		printf("    %5u MiB: %.2f, %.2f -> %.2fx\n", mibs[i], median(f, ROUNDS),
		       median(d, ROUNDS), median(f, ROUNDS) / median(d, ROUNDS));
		result("rdma/register", "s", mibs[i], f, ROUNDS, "device-dax", d, ROUNDS);
	}
	munmap(fmap, GIB);
	munmap(dmap, GIB);
	close(xfd);
	close(fd);
	unlink(path);
}

/* Seconds a truncate of @fd to 0 takes, in a child (it has no lease). */
static double truncate_time(int fd, void *unmap, size_t len)
{
	double t0 = now();
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (!pid)
		_exit((unmap && munmap(unmap, len)) || ftruncate(fd, 0) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("truncate");
	return now() - t0;
}

static void bench_revoke(const char *dir)
{
	static const unsigned int mibs[] = { 64, 256, 1024 };
	char path[4096];

	signal(SIGIO, SIG_IGN);		/* nobody lets go: the kernel revokes */
	set_break_time(1);
	printf("  revoking a registration after lease-break-time (1 s) vs a plain truncate:\n");
	for (size_t i = 0; i < sizeof(mibs) / sizeof(mibs[0]); i++) {
		size_t len = (size_t)mibs[i] << 20;
		double revoke[RROUNDS], plain[RROUNDS];

		for (int r = 0; r < RROUNDS; r++) {
			int fd = make_file(dir, "rdma-bench-revoke.dat", len, path);
			char *m = map(fd, len, MAP_SHARED_VALIDATE | MAP_DIRECT);
			struct ibv_mr *mr = reg(m, len);

			revoke[r] = (truncate_time(fd, m, len) - 1) * 1e3;
			ibv_dereg_mr(mr);
			munmap(m, len);
			close(fd);
			fd = make_file(dir, "rdma-bench-revoke.dat", len, path);
			plain[r] = truncate_time(fd, NULL, 0) * 1e3;
			close(fd);
			unlink(path);
		}
		printf("    %5u MiB: %.0f ms beyond lease-break-time; plain truncate %.0f ms\n",
		       mibs[i], median(revoke, RROUNDS), median(plain, RROUNDS));
		result("rdma/revoke", "ms", mibs[i], revoke, RROUNDS, "plain truncate", plain,
		       RROUNDS);
	}
}

int main(int argc, char **argv)
{
	const char *srv = getenv("MAPDIRECT_RXE0_ADDR");
	const char *cli = getenv("MAPDIRECT_RXE1_ADDR");

	int count = argc == 4 && !strcmp(argv[1], "--count-insns");

	if (argc != 4) {
		fprintf(stderr, "usage: rdma_bench DIR DEVDAX BIGDIR   (in the VM; root)\n"
			"       rdma_bench --count-insns DIR DEVDAX   (bench/insns.sh)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!srv || !cli || rpair_connect(&p, srv, cli, "7490"))
		die("connect rxe1 -> rxe0 (run in the VM)");
	cbuf = aligned_alloc(4096, MAXMSG);
	if (!cbuf || !(cmr = ibv_reg_mr(p.cli->pd, cbuf, MAXMSG, ACCESS)))
		die("client buffer");
	if (count) {
		count_insns(argv[2], argv[3]);
	} else {
		printf("RDMA (Soft-RoCE, rxe1 -> rxe0):\n");
		bench_throughput(argv[1], argv[2]);
		bench_register(argv[3], argv[2]);
		bench_revoke(argv[3]);
	}
	ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(cbuf);
	return 0;
}
