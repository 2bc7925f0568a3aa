// SPDX-License-Identifier: MIT
/*
 * Durable stores on persistent memory: write back every cache line of a
 * range with the best instruction the CPU has (clwb, clflushopt, clflush),
 * then sfence.  Valid for MAP_DIRECT (and MAP_SYNC) mappings, whose block
 * map cannot change under the stores; elsewhere only msync() is durable.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapdirect.h"

#define LINE 64

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

enum method { M_CLWB, M_CLFLUSHOPT, M_CLFLUSH };

static enum method detect(void)
{
	unsigned int a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1u << 24))
			return M_CLWB;
		if (b & (1u << 23))
			return M_CLFLUSHOPT;
	}
	return M_CLFLUSH;
}

static enum method method(void)
{
	static int cached = -1;	/* a race only computes the same value twice */

	if (cached < 0)
		__atomic_store_n(&cached, detect(), __ATOMIC_RELAXED);
	return (enum method)__atomic_load_n(&cached, __ATOMIC_RELAXED);
}

void mapdirect_persist(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(LINE - 1);
	uintptr_t end = (uintptr_t)addr + len;
	enum method m = method();

	for (; p < end; p += LINE) {
		if (m == M_CLWB)
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x30" /* clwb (%rax) */
					 : "+m"(*(volatile char *)p) : "a"(p));
		else if (m == M_CLFLUSHOPT)
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x38" /* clflushopt (%rax) */
					 : "+m"(*(volatile char *)p) : "a"(p));
		else
			__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
	}
	__asm__ volatile("sfence" : : : "memory");
}

const char *mapdirect_persist_method(void)
{
	static const char *const names[] = { "clwb", "clflushopt", "clflush" };

	return names[method()];
}
#else
void mapdirect_persist(const void *addr, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(page - 1);

	msync((void *)p, (uintptr_t)addr + len - p, MS_SYNC);
}

const char *mapdirect_persist_method(void)
{
	return "msync";
}
#endif
