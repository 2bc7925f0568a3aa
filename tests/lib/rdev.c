// SPDX-License-Identifier: MIT
#include <string.h>

#include "check.h"
#include "rdev.h"

struct ibv_context *rdev_open(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	CHECK(list, "ibv_get_device_list: %s", strerror(errno));
	for (int i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	CHECK(ctx, "RDMA device %s not found or cannot be opened", name);
	return ctx;
}
