// SPDX-License-Identifier: MIT
/*
 * lease_rereg: an RDMA buffer in a file on persistent memory that survives
 * lease breaks.  Built outside the tree like any program using the
 * installed library:
 *
 *	cc lease_rereg.c $(pkg-config --cflags --libs mapdirect) -libverbs
 *
 * It maps FILE with MAP_DIRECT, registers it with the RDMA device DEV, and
 * waits for a break on libmapdirect's notification fd.  Here a child
 * process truncates the file and writes it back (a block-map change); on
 * the break the program deregisters and unmaps (so the breaker goes on at
 * once), maps the file again once the change is done, and registers it
 * again: new keys, same file.
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

static struct mapdirect_map *map(const char *file)
{
	struct mapdirect_map *m;
	int err;

	/* -EAGAIN while the breaker is still changing the block map. */
	while ((err = mapdirect_map_file(file, LEN, MAPDIRECT_CREATE |
					 MAPDIRECT_ALLOCATE, &m)) == -EAGAIN)
		usleep(10000);
	if (err) {
		fprintf(stderr, "lease_rereg: %s: %s\n", file, mapdirect_strerror(err));
		exit(1);
	}
	return m;
}

static struct ibv_mr *reg(struct ibv_pd *pd, struct mapdirect_map *m)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, mapdirect_addr(m), mapdirect_length(m),
				       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);

	if (!mr) {
		perror("lease_rereg: ibv_reg_mr");
		exit(1);
	}
	return mr;
}

int main(int argc, char **argv)
{
	struct pollfd pfd = { .events = POLLIN };
	struct mapdirect_event ev;
	struct mapdirect_map *m;
	struct ibv_mr *mr;
	struct ibv_pd *pd;
	int status;
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
	m = map(argv[1]);
	mr = reg(pd, m);
	printf("registered %s: rkey %#x\n", argv[1], mr->rkey);

	/* The breaker: another program (a fork would share the mapping). */
	pid = fork();
	if (!pid) {
		execlp("sh", "sh", "-c", "truncate -s 0 \"$0\" && truncate -s 2M \"$0\"",
		       argv[1], (char *)NULL);
		_exit(127);
	}
	pfd.fd = mapdirect_notify_fd();
	if (poll(&pfd, 1, 30000) != 1 || mapdirect_read_event(&ev) || ev.map != m) {
		fprintf(stderr, "lease_rereg: no break notification within 30 s\n");
		return 1;
	}
	printf("break: letting go\n");
	ibv_dereg_mr(mr);
	mapdirect_unmap(m);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "lease_rereg: the breaker failed\n");
		return 1;
	}
	m = map(argv[1]);
	mr = reg(pd, m);
	printf("registered again: rkey %#x\n", mr->rkey);
	ibv_dereg_mr(mr);
	mapdirect_unmap(m);
	return 0;
}
