// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <rdma/rdma_verbs.h>

#include "rpair.h"

static void init_attr(struct ibv_qp_init_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->cap.max_send_wr = 16;
	a->cap.max_recv_wr = 16;
	a->cap.max_send_sge = 1;
	a->cap.max_recv_sge = 1;
	a->qp_type = IBV_QPT_RC;
	a->sq_sig_all = 0;
}

struct accept_arg {
	struct rpair *p;
	int err;
};

static void *server(void *varg)
{
	struct accept_arg *arg = varg;
	struct ibv_qp_init_attr attr;
	struct rdma_cm_id *id;

	arg->err = -1;
	if (rdma_get_request(arg->p->listen, &id)) {
		perror("rpair: rdma_get_request");
		return NULL;
	}
	init_attr(&attr);
	if (rdma_create_qp(id, NULL, &attr)) {
		perror("rpair: rdma_create_qp (server)");
		rdma_destroy_id(id);
		return NULL;
	}
	if (rdma_accept(id, NULL)) {
		perror("rpair: rdma_accept");
		rdma_destroy_ep(id);
		return NULL;
	}
	arg->p->srv = id;
	arg->err = 0;
	return NULL;
}

static struct rdma_addrinfo *resolve(const char *node, const char *port,
				     const char *src, int passive)
{
	struct rdma_addrinfo hints, *res = NULL, *srcinfo = NULL;
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_port_space = RDMA_PS_TCP;
	if (passive)
		hints.ai_flags = RAI_PASSIVE;
	if (src) {
		struct rdma_addrinfo sh = hints;

		sh.ai_flags = RAI_PASSIVE;
		ret = rdma_getaddrinfo(src, NULL, &sh, &srcinfo);
		if (ret) {
			fprintf(stderr, "rpair: rdma_getaddrinfo(%s): %s\n",
				src, gai_strerror(ret));
			return NULL;
		}
		hints.ai_src_addr = srcinfo->ai_src_addr;
		hints.ai_src_len = srcinfo->ai_src_len;
	}
	ret = rdma_getaddrinfo(node, port, &hints, &res);
	if (ret)
		fprintf(stderr, "rpair: rdma_getaddrinfo(%s:%s): %s\n", node,
			port, ret == EAI_SYSTEM ? strerror(errno) :
			gai_strerror(ret));
	if (srcinfo)
		rdma_freeaddrinfo(srcinfo);
	return ret ? NULL : res;
}

int rpair_connect(struct rpair *p, const char *srv_addr, const char *cli_addr,
		  const char *port)
{
	struct ibv_qp_init_attr attr;
	struct accept_arg arg = { .p = p };
	struct rdma_addrinfo *res;
	pthread_t thr;

	memset(p, 0, sizeof(*p));
	res = resolve(srv_addr, port, NULL, 1);
	if (!res)
		return -1;
	if (rdma_create_ep(&p->listen, res, NULL, NULL)) {
		perror("rpair: rdma_create_ep (listen)");
		rdma_freeaddrinfo(res);
		return -1;
	}
	rdma_freeaddrinfo(res);
	if (rdma_listen(p->listen, 1)) {
		perror("rpair: rdma_listen");
		goto err;
	}
	if (pthread_create(&thr, NULL, server, &arg)) {
		fprintf(stderr, "rpair: pthread_create failed\n");
		goto err;
	}

	res = resolve(srv_addr, port, cli_addr, 0);
	init_attr(&attr);
	if (!res || rdma_create_ep(&p->cli, res, NULL, &attr)) {
		if (res)
			perror("rpair: rdma_create_ep (client)");
		p->cli = NULL;
	} else if (rdma_connect(p->cli, NULL)) {
		perror("rpair: rdma_connect");
		rdma_destroy_ep(p->cli);
		p->cli = NULL;
	}
	if (res)
		rdma_freeaddrinfo(res);
	if (!p->cli) {
		/*
		 * The server thread is still blocked waiting for a request;
		 * leave it: the caller reports the failure and exits.
		 */
		pthread_detach(thr);
		return -1;
	}
	pthread_join(thr, NULL);
	if (arg.err) {
		rpair_close(p);
		return -1;
	}
	return 0;
err:
	rpair_close(p);
	return -1;
}

void rpair_close(struct rpair *p)
{
	/*
	 * No rdma_disconnect(): on a synchronous id it waits for the peer's
	 * DREP, which the other end of this same process would only send
	 * when it disconnects in turn (or the CM times out after ~80 s).
	 * Destroying the ids disconnects without waiting.
	 */
	if (p->cli)
		rdma_destroy_ep(p->cli);
	if (p->srv)
		rdma_destroy_ep(p->srv);
	if (p->listen)
		rdma_destroy_ep(p->listen);
	memset(p, 0, sizeof(*p));
}

int rpair_rdma(struct rpair *p, int opcode, void *local, size_t len,
	       struct ibv_mr *lmr, uint64_t raddr, uint32_t rkey)
{
	struct ibv_wc wc;
	int ret;

	if (opcode == IBV_WR_RDMA_WRITE)
		ret = rdma_post_write(p->cli, NULL, local, len, lmr,
				      IBV_SEND_SIGNALED, raddr, rkey);
	else
		ret = rdma_post_read(p->cli, NULL, local, len, lmr,
				     IBV_SEND_SIGNALED, raddr, rkey);
	if (ret) {
		perror("rpair: post");
		return -1;
	}
	ret = rdma_get_send_comp(p->cli, &wc);
	if (ret <= 0) {
		perror("rpair: rdma_get_send_comp");
		return -1;
	}
	return wc.status;
}
