// SPDX-License-Identifier: MIT
/*
 * rdma_rw: an RC queue pair between rxe1 (client) and rxe0 (server) does an
 * RDMA WRITE and an RDMA READ of 1 MiB; the data is verified byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

#include "lib/harness.h"
#include "lib/rpair.h"

#define LEN (1u << 20)

static void fill(unsigned char *b, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 131u + seed) ^ (i >> 9));
}

FIXTURE(rdma_rw) {
	int unused;
};

FIXTURE_SETUP(rdma_rw)
{
	MAPDIRECT_SETUP();
}

FIXTURE_TEARDOWN(rdma_rw)
{
	MAPDIRECT_TEARDOWN();
}

TEST_F(rdma_rw, write_read)
{
	const char *srv = need_env("MAPDIRECT_RXE0_ADDR");
	const char *cli = need_env("MAPDIRECT_RXE1_ADDR");
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	unsigned char *sbuf, *cbuf, *want;
	struct ibv_mr *smr, *cmr;
	struct rpair p;
	double t0 = now(), t1, t2, t3;
	int st;

	CHECK(rpair_connect(&p, srv, cli, "7471") == 0,
	      "cannot connect %s -> %s (is Soft-RoCE up? rdma link show)", cli, srv);
	CHECK(strcmp(ibv_get_device_name(p.srv->verbs->device),
		     need_env("MAPDIRECT_RXE0")) == 0 &&
	      strcmp(ibv_get_device_name(p.cli->verbs->device),
		     need_env("MAPDIRECT_RXE1")) == 0,
	      "connection is %s -> %s, expected rxe1 -> rxe0",
	      ibv_get_device_name(p.cli->verbs->device),
	      ibv_get_device_name(p.srv->verbs->device));

	sbuf = aligned_alloc(4096, LEN);
	cbuf = aligned_alloc(4096, LEN);
	want = malloc(LEN);
	CHECK(sbuf && cbuf && want, "out of memory");
	memset(sbuf, 0, LEN);
	smr = ibv_reg_mr(p.srv->pd, sbuf, LEN, access);
	cmr = ibv_reg_mr(p.cli->pd, cbuf, LEN, access);
	CHECK(smr && cmr, "ibv_reg_mr: %s", strerror(errno));

	t1 = now();
	/* WRITE: client buffer -> server buffer. */
	fill(cbuf, LEN, 7);
	memcpy(want, cbuf, LEN);
	st = rpair_rdma(&p, IBV_WR_RDMA_WRITE, cbuf, LEN, cmr,
			(uintptr_t)sbuf, smr->rkey);
	CHECK(st == IBV_WC_SUCCESS, "RDMA WRITE completed with %s",
	      st < 0 ? "a post error" : ibv_wc_status_str(st));
	CHECK(memcmp(sbuf, want, LEN) == 0,
	      "RDMA WRITE: server buffer differs from what the client sent");

	t2 = now();
	/* READ: server buffer -> client buffer. */
	fill(sbuf, LEN, 99);
	memcpy(want, sbuf, LEN);
	memset(cbuf, 0, LEN);
	st = rpair_rdma(&p, IBV_WR_RDMA_READ, cbuf, LEN, cmr,
			(uintptr_t)sbuf, smr->rkey);
	CHECK(st == IBV_WC_SUCCESS, "RDMA READ completed with %s",
	      st < 0 ? "a post error" : ibv_wc_status_str(st));
	CHECK(memcmp(cbuf, want, LEN) == 0,
	      "RDMA READ: client buffer differs from the server's");

	t3 = now();
	ibv_dereg_mr(smr);
	ibv_dereg_mr(cmr);
	rpair_close(&p);
	free(sbuf);
	free(cbuf);
	free(want);
	printf("RDMA WRITE and READ of %u bytes rxe1 -> rxe0 verified "
	       "(connect %.2f s, write %.2f s, read %.2f s)\n", LEN, t1 - t0,
	       t2 - t1, t3 - t2);
}

TEST_HARNESS_MAIN
