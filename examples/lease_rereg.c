// SPDX-License-Identifier: MIT
/*
 * lease_rereg: an RDMA buffer in a file on persistent memory that survives
 * lease breaks.  Built outside the tree like any program using the
 * installed library:
 *
 *	cc lease_rereg.c $(pkg-config --cflags --libs mapdirect) -libverbs
 *
 * It registers FILE with the RDMA device DEV through
 * mapdirect_rdma_register() (a MAP_DIRECT mapping underneath) and waits
 * for a break on libmapdirect's notification fd.  Here another program
 * grows the file (a block-map change).  On the break,
 * mapdirect_rdma_handle() deregisters and unmaps, so the breaker goes on
 * at once, maps the file again once the change is done, and registers it
 * again: the callback gets the new keys.
 *
 * usage: lease_rereg FILE DEV
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <mapdirect.h>

#define LEN (2u << 20)

static struct ibv_pd *open_pd(const char *name)
{
	struct ibv_device **devs = ibv_get_device_list(NULL);
	struct ibv_pd *pd = NULL;

	for (int i = 0; devs && devs[i]; i++) {
		if (!strcmp(ibv_get_device_name(devs[i]), name)) {
			struct ibv_context *ctx = ibv_open_device(devs[i]);

			pd = ctx ? ibv_alloc_pd(ctx) : NULL;
		}
	}
	ibv_free_device_list(devs);
	return pd;
}

static int reregistered;

/* New keys: a real server would send them to its peers here. */
static void on_register(struct mapdirect_rdma *r, struct ibv_mr *mr, int err, void *arg)
{
	(void)r;
	(void)arg;
	if (!mr) {
		fprintf(stderr, "lease_rereg: registering again: %s\n", mapdirect_strerror(err));
		return;
	}
	printf("registered again: rkey %#x\n", mr->rkey);
	reregistered = 1;
}

int main(int argc, char **argv)
{
	struct pollfd pfd = { .events = POLLIN };
	struct mapdirect_event ev;
	struct mapdirect_rdma *r;
	struct ibv_pd *pd;
	int err, status;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: lease_rereg FILE DEV\n");
		return 2;
	}
	pd = open_pd(argv[2]);
	if (!pd) {
		fprintf(stderr, "lease_rereg: no RDMA device %s\n", argv[2]);
		return 1;
	}
	err = mapdirect_rdma_register(pd, argv[1], LEN, MAPDIRECT_CREATE | MAPDIRECT_ALLOCATE,
				      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
				      on_register, NULL, &r);
	if (err) {
		fprintf(stderr, "lease_rereg: %s: %s\n", argv[1], mapdirect_strerror(err));
		return 1;
	}
	printf("registered %s: rkey %#x\n", argv[1], mapdirect_rdma_mr(r)->rkey);

	/* The breaker: another program (a fork would share the mapping). */
	pid = fork();
	if (!pid) {
		execlp("truncate", "truncate", "-s", "4M", argv[1], (char *)NULL);
		_exit(127);
	}
	pfd.fd = mapdirect_notify_fd();
	if (poll(&pfd, 1, 30000) != 1 || mapdirect_read_event(&ev)) {
		fprintf(stderr, "lease_rereg: no break notification within 30 s\n");
		return 1;
	}
	printf("break: letting go, then registering again\n");
	err = mapdirect_rdma_handle(r, &ev, 30);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "lease_rereg: the breaker failed\n");
		return 1;
	}
	if (err || !reregistered)
		return 1;
	mapdirect_rdma_deregister(r);
	return 0;
}
