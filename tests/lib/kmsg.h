/* SPDX-License-Identifier: MIT */
/* Looking for what the kernel said about a refusal. */
#ifndef MAPDIRECT_TESTS_KMSG_H
#define MAPDIRECT_TESTS_KMSG_H

/* Does a record in the kernel log (/dev/kmsg) contain every one of @a, @b? */
int kmsg_has(const char *a, const char *b);

/* How many records contain @a (and @b, unless NULL)? */
int kmsg_count(const char *a, const char *b);

#endif
