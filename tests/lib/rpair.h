/* SPDX-License-Identifier: MIT */
/*
 * A connected RC queue pair between two RDMA devices in one process, built
 * with librdmacm: the server side on one address (rxe0), the client side on
 * another (rxe1).  Tests register memory on either side and post RDMA WRITE
 * and READ from the client.
 */
#ifndef MAPDIRECT_TESTS_RPAIR_H
#define MAPDIRECT_TESTS_RPAIR_H

#include <stddef.h>
#include <stdint.h>
#include <rdma/rdma_cma.h>

struct rpair {
	struct rdma_cm_id *listen;	/* passive side, bound to srv_addr */
	struct rdma_cm_id *srv;		/* server end of the connection */
	struct rdma_cm_id *cli;		/* client end of the connection */
};

/* Connect; on failure print why and return -1. */
int rpair_connect(struct rpair *p, const char *srv_addr, const char *cli_addr,
		  const char *port);
void rpair_close(struct rpair *p);

/*
 * Post one signalled RDMA WRITE or READ from the client and wait for its
 * completion.  Returns the work completion status (IBV_WC_SUCCESS = 0), or
 * -1 if posting failed.
 */
int rpair_rdma(struct rpair *p, int opcode, void *local, size_t len,
	       struct ibv_mr *lmr, uint64_t raddr, uint32_t rkey);

#endif
