/* SPDX-License-Identifier: MIT */
/* Looking for what the kernel said about a refusal. */
#ifndef MAPDIRECT_TESTS_KMSG_H
#define MAPDIRECT_TESTS_KMSG_H

/*
 * The sequence number of the newest record in the kernel log.  Take it
 * before the action whose message you look for, and pass it below: only
 * records after it count, so a message from an earlier test or an earlier
 * round of the same test cannot make a check pass.
 */
unsigned long long kmsg_mark(void);

/* Does a record after @mark contain @a (and @b, unless NULL)? */
int kmsg_has(unsigned long long mark, const char *a, const char *b);

/* How many records after @mark contain @a (and @b, unless NULL)? */
int kmsg_count(unsigned long long mark, const char *a, const char *b);

#endif
