/* SPDX-License-Identifier: MIT */
/* Opening the VM's RDMA devices by name, for tests that use verbs directly. */
#ifndef MAPDIRECT_TESTS_RDEV_H
#define MAPDIRECT_TESTS_RDEV_H

#include <infiniband/verbs.h>

/* Open the RDMA device @name (rxe0, ...); fails the test if it cannot. */
struct ibv_context *rdev_open(const char *name);

#endif
