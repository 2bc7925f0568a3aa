// SPDX-License-Identifier: MIT
/*
 * reg_mr_poison: a memory failure in a MAP_DIRECT file revokes its leases
 * at once.  The block map does not change, but the data is lost, and an
 * RDMA device that keeps reading or writing the page consumes the poison
 * (on hardware an uncorrectable DMA error; with rxe a CPU read of poison in
 * the kernel).  So, with lease-break-time 30 s:
 *
 *  - another process poisons one page of the file (MADV_HWPOISON through
 *    its own, plain, mapping: memory_failure() as for a real error);
 *  - the holder is notified, and its registration is revoked within 5 s:
 *    the peer's next RDMA WRITE fails with a remote access error;
 *  - the lease is gone from /proc/locks and the kernel log says why.
 *
 * The poisoned file is kept (renamed), so that no later test gets its
 * block.  Without the kernel's memory-failure hook the registration kept
 * working until the holder deregistered.
 *
 * Variants: xfs, ext4.  In the VM: build/tests/reg_mr_poison (-l lists the tests).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/dax.h"
#include "lib/kmsg.h"
#include "lib/rpair.h"
#include "lib/sys.h"
#include <mapdirect.h>

#define LEN (2u << 20)
#define BAD (1u << 20)		/* offset of the poisoned page */
#define BREAK_TIME "/proc/sys/fs/lease-break-time"
#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static atomic_int sigio, sigbus_code = -1;

static void on_sigio(int sig)
{
	(void)sig;
	sigio = 1;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigbus_code = si->si_code;
}

static void run(const char *dir)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	char path[4096], kept[4200], what[64];
	unsigned char *cbuf;
	struct ibv_mr *mr, *cmr;
	struct rpair p;
	struct stat st;
	unsigned long long mark;
	double t0, took;
	int fd, rc;
	char *map;

	set_knob(BREAK_TIME, 30);
	signal(SIGIO, on_sigio);
	CHECK_SYS(sigaction(SIGBUS, &sa, NULL));

	fd = dax_make_file(dir, "reg-mr-poison.dat", LEN, path, sizeof(path));
	CHECK_SYS(fstat(fd, &st));
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DIRECT, fd, 0);
	CHECK(map != MAP_FAILED, "mmap(MAP_DIRECT) of %s: %s", path, strerror(errno));
	CHECK(rpair_connect(&p, need_env("MAPDIRECT_RXE0_ADDR"),
			    need_env("MAPDIRECT_RXE1_ADDR"), "7481") == 0,
	      "cannot connect the RDMA pair (is Soft-RoCE up? rdma link show)");
	cbuf = aligned_alloc(4096, 4096);
	CHECK(cbuf, "out of memory");
	cmr = ibv_reg_mr(p.cli->pd, cbuf, 4096, ACCESS);
	CHECK(cmr, "ibv_reg_mr (client, DRAM): %s", strerror(errno));
	mr = ibv_reg_mr(p.srv->pd, map, LEN, ACCESS);
	CHECK(mr, "ibv_reg_mr on a MAP_DIRECT mapping of %s: %s", path, strerror(errno));
	memset(cbuf, 0x11, 4096);
	rc = rpair_rdma(&p, IBV_WR_RDMA_WRITE, cbuf, 4096, cmr, (uintptr_t)map, mr->rkey);
	CHECK(rc == IBV_WC_SUCCESS, "RDMA WRITE before the memory failure: %s",
	      rc < 0 ? "post error" : ibv_wc_status_str(rc));
	CHECK(lease_listed(st.st_ino), "no lease listed for the MAP_DIRECT mapping");

	mark = kmsg_mark();
	t0 = now();
	dax_poison_page(path, BAD);
	while ((!sigio || lease_listed(st.st_ino)) && now() < t0 + 5)
		usleep(10000);
	took = now() - t0;
	CHECK(sigio, "the holder was not notified within 5 s of the memory failure");
	CHECK(!lease_listed(st.st_ino), "the lease is still held 5 s after a memory failure "
	      "in the file (lease-break-time is 30 s: it must be revoked at once)");
	memset(cbuf, 0x22, 4096);
	rc = rpair_rdma(&p, IBV_WR_RDMA_WRITE, cbuf, 4096, cmr, (uintptr_t)map, mr->rkey);
	CHECK(rc == IBV_WC_REM_ACCESS_ERR, "RDMA WRITE after the memory failure completed "
	      "with %s; expected a remote access error (registration revoked)",
	      rc < 0 ? "a post error" : ibv_wc_status_str(rc));
	snprintf(what, sizeof(what), "inode %lu ", (unsigned long)st.st_ino);
	CHECK(kmsg_has(mark, what, "at once: its memory failed"),
	      "the kernel log does not say why the mapping of %s was revoked", path);

	CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr after revocation: %s", strerror(errno));
	CHECK_SYS(munmap(map, LEN));
	close(fd);
	/* Keep the poisoned block out of every later test's way. */
	snprintf(kept, sizeof(kept), "%s.%d.poisoned", path, getpid());
	CHECK_SYS(rename(path, kept));
	ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(cbuf);
	printf("memory failure at offset %u: holder notified, registration revoked, lease "
	       "gone after %.2f s (lease-break-time 30 s); holder's SIGBUS si_code %d\n",
	       BAD, took, sigbus_code);
}

MAPDIRECT_FIXTURE(reg_mr_poison)
FIXTURE_VARIANT_ADD(reg_mr_poison, xfs) { .at = MAPDIRECT_ON_XFS };
FIXTURE_VARIANT_ADD(reg_mr_poison, ext4) { .at = MAPDIRECT_ON_EXT4 };

TEST_F_TIMEOUT(reg_mr_poison, revoked_at_once, MAPDIRECT_TIMEOUT)
{
	run(self->dir);
}

TEST_HARNESS_MAIN
