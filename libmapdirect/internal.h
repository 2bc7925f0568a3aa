/* SPDX-License-Identifier: MIT */
/* libmapdirect's own helpers, not exported. */
#ifndef MAPDIRECT_INTERNAL_H
#define MAPDIRECT_INTERNAL_H

double mapdirect_now(void);

#endif
