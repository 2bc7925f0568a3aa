// SPDX-License-Identifier: MIT
/*
 * RDMA registrations of MAP_DIRECT mappings that survive lease breaks:
 * the race-free re-registration the 2017 review asked for.  Nothing is
 * registered while the lease is being broken: deregister, unmap, let the
 * breaker finish (a new MAP_DIRECT mapping fails with EAGAIN until it
 * has), map, register, report the new keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "mapdirect.h"
#include "internal.h"

struct mapdirect_rdma {
	struct ibv_pd *pd;
	char *path;
	size_t len;
	int flags, access;
	mapdirect_rdma_cb cb;
	void *arg;
	struct mapdirect_map *map;
	struct ibv_mr *mr;
};

static int map_and_register(struct mapdirect_rdma *r, double timeout)
{
	double end = mapdirect_now() + timeout;
	int err;

	/* -EAGAIN while a breaker still changes the block map. */
	while ((err = mapdirect_map_file(r->path, r->len, r->flags, &r->map)) == -EAGAIN &&
	       mapdirect_now() < end)
		usleep(10000);
	if (err) {
		r->map = NULL;
		return err;
	}
	r->mr = ibv_reg_mr(r->pd, mapdirect_addr(r->map), mapdirect_length(r->map),
			   r->access);
	if (!r->mr) {
		err = errno ? -errno : -EIO;
		mapdirect_unmap(r->map);
		r->map = NULL;
		return err;
	}
	return 0;
}

int mapdirect_rdma_register(struct ibv_pd *pd, const char *path, size_t len,
			    int flags, int access, mapdirect_rdma_cb cb, void *arg,
			    struct mapdirect_rdma **out)
{
	struct mapdirect_rdma *r;
	int err;

	if (!pd || !path || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pd = pd;
	r->len = len;
	r->flags = flags;
	r->access = access;
	r->cb = cb;
	r->arg = arg;
	r->path = (char *)path;
	err = map_and_register(r, 0);
	r->path = err ? NULL : realpath(path, NULL);	/* the file exists now */
	if (!err && !r->path) {
		err = -errno;
		ibv_dereg_mr(r->mr);
		mapdirect_unmap(r->map);
	}
	if (err) {
		free(r);
		return err;
	}
	/* Later mappings must not re-create or re-fill what a breaker removed. */
	r->flags &= ~(MAPDIRECT_CREATE | MAPDIRECT_ALLOCATE);
	*out = r;
	return 0;
}

struct ibv_mr *mapdirect_rdma_mr(const struct mapdirect_rdma *r)
{
	return r ? r->mr : NULL;
}

struct mapdirect_map *mapdirect_rdma_map(const struct mapdirect_rdma *r)
{
	return r ? r->map : NULL;
}

int mapdirect_rdma_handle(struct mapdirect_rdma *r, const struct mapdirect_event *ev,
			  double timeout)
{
	int err;

	if (!r || !ev)
		return -EINVAL;
	if (!r->map || ev->map != r->map)
		return 0;	/* another mapping's event */
	ibv_dereg_mr(r->mr);
	r->mr = NULL;
	mapdirect_unmap(r->map);
	r->map = NULL;
	err = map_and_register(r, timeout);
	if (r->cb)
		r->cb(r, r->mr, err, r->arg);
	return err;
}

int mapdirect_rdma_deregister(struct mapdirect_rdma *r)
{
	int err = 0;

	if (!r)
		return -EINVAL;
	if (r->mr && ibv_dereg_mr(r->mr))
		err = -errno;
	if (r->map) {
		int e = mapdirect_unmap(r->map);

		err = err ? err : e;
	}
	free(r->path);
	free(r);
	return err;
}
