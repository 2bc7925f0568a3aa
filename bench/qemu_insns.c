// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest's instructions, for the one cost
 * figure a noisy host cannot disturb: how many instructions a MAP_DIRECT
 * mmap+munmap executes against a plain one (bench/insns.sh).
 *
 * Every translated block adds its instruction count to one counter, run by
 * the guest's only vCPU (boot the VM with MAPDIRECT_VM_SMP=1: the counter is
 * not atomic).  The guest marks the points it wants measured with a
 * particular 7-byte NOP, nopl 0x4d44XXXX(%rax), where XXXX is the marker's
 * number (bench.h's INSN_MARK()); each time one runs, the plugin logs
 *   mapdirect-insns MARK INSNS LOCKED IRQFLAG INDIRECT MEMOPS
 * (all instructions; of the kinds TCG makes dearest: atomics, those that
 * change the interrupt flag, returns and indirect branches; and the
 * guest's memory accesses, each a software TLB lookup), through QEMU's log (-d plugin -D FILE).  The NOP is still a NOP outside
 * this plugin or on real hardware.
 *
 * QEMU 7.2's plugin API (Debian 12's QEMU), declared here because Debian
 * ships no qemu-plugin.h: plugin API version 1.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum { PLUGIN_CB_NO_REGS = 0 };	/* enum qemu_plugin_cb_flags */
enum { PLUGIN_INLINE_ADD_U64 = 0 };	/* enum qemu_plugin_op */
enum { PLUGIN_MEM_RW = 3 };		/* enum qemu_plugin_mem_rw */

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
	void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
	void (*cb)(unsigned int vcpu, void *udata), int flags, void *udata);
void qemu_plugin_register_vcpu_mem_inline(struct qemu_plugin_insn *insn, int rw,
					  int op, void *ptr, uint64_t imm);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
	void (*cb)(unsigned int vcpu, void *udata), int flags, void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
	void (*cb)(qemu_plugin_id_t id, void *udata), void *udata);
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = 1;

/*
 * All instructions; locked ones (atomics); cli, sti and popf; returns and
 * indirect calls and jumps, whose targets TCG must look up at run time.
 */
static uint64_t insns, locked, irqflag, indirect, memops;

/*
 * With the argument profile=on (bench/insns-profile.sh), also the
 * instructions each translated block runs between markers 1 and 2 (phase
 * 0) and between 3 and 4 (phase 1), logged at exit as
 *   mapdirect-block VADDR PHASE0 PHASE1
 * for an exact profile of where the two differ.
 */
struct block {
	uint64_t vaddr, n, count[2];
	struct block *next;
};
static struct block *blocks;
static int profiling, phase = -1;

static void block_exec(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	(void)vcpu;
	if (phase >= 0)
		b->count[phase] += b->n;
}

static void dump_blocks(qemu_plugin_id_t id, void *udata)
{
	char line[96];

	(void)id;
	(void)udata;
	for (struct block *b = blocks; b; b = b->next) {
		if (!b->count[0] && !b->count[1])
			continue;
		snprintf(line, sizeof(line), "mapdirect-block %" PRIx64 " %" PRIu64
			 " %" PRIu64 "\n", b->vaddr, b->count[0], b->count[1]);
		qemu_plugin_outs(line);
	}
}

static void marker(unsigned int vcpu, void *udata)
{
	unsigned int id = (unsigned int)(uintptr_t)udata;
	char line[128];

	(void)vcpu;
	if (id >= 1 && id <= 4)
		phase = id & 1 ? (int)id / 2 : -1;
	snprintf(line, sizeof(line), "mapdirect-insns %u %" PRIu64 " %" PRIu64
		 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		 (unsigned int)(uintptr_t)udata, insns, locked, irqflag, indirect,
		 memops);
	qemu_plugin_outs(line);
}

/*
 * What kind of x86 instruction @b is, for the kinds that TCG makes dear:
 * 1 if locked (a LOCK prefix, or XCHG with memory), 2 if it changes the
 * interrupt flag (CLI, STI, POPF), 3 if it is a return or an indirect
 * call or jump, else 0.
 */
static int kind(const uint8_t *b, size_t len)
{
	static const uint8_t prefixes[] = { 0xf2, 0xf3, 0x2e, 0x36, 0x3e,
					    0x26, 0x64, 0x65, 0x66, 0x67 };
	int lock = 0;
	size_t i = 0;

	for (; i < len; i++) {		/* legacy prefixes, then REX */
		if (b[i] == 0xf0)
			lock = 1;
		else if (!memchr(prefixes, b[i], sizeof(prefixes)) &&
			 (b[i] & 0xf0) != 0x40)
			break;
	}
	if (i == len)
		return 0;
	if (lock || ((b[i] == 0x86 || b[i] == 0x87) && i + 1 < len &&
		     (b[i + 1] >> 6) != 3))
		return 1;
	if (b[i] == 0xfa || b[i] == 0xfb || b[i] == 0x9d)
		return 2;
	if (b[i] == 0xc3 || b[i] == 0xc2 || b[i] == 0xcb || b[i] == 0xca ||
	    (b[i] == 0xff && i + 1 < len && ((b[i + 1] >> 3) & 7) >= 2 &&
	     ((b[i + 1] >> 3) & 7) <= 5))
		return 3;
	return 0;
}

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	uint64_t count[4] = { 0 };

	(void)id;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		count[kind(qemu_plugin_insn_data(insn),
			   qemu_plugin_insn_size(insn))]++;
		/* Each load or store: a software TLB lookup under TCG. */
		qemu_plugin_register_vcpu_mem_inline(insn, PLUGIN_MEM_RW,
						     PLUGIN_INLINE_ADD_U64,
						     &memops, 1);
	}
	qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
						 &insns, n);
	if (count[1])
		qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
							 &locked, count[1]);
	if (count[2])
		qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
							 &irqflag, count[2]);
	if (count[3])
		qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
							 &indirect, count[3]);
	if (profiling) {
		struct block *b = calloc(1, sizeof(*b));

		if (b) {
			b->vaddr = qemu_plugin_tb_vaddr(tb);
			b->n = n;
			b->next = blocks;
			blocks = b;
			qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec,
							     PLUGIN_CB_NO_REGS, b);
		}
	}
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(insn);

		/* nopl 0x4d44XXXX(%rax): 0f 1f 80 XX XX 44 4d */
		if (qemu_plugin_insn_size(insn) != 7 || b[0] != 0x0f ||
		    b[1] != 0x1f || b[2] != 0x80 || b[5] != 0x44 || b[6] != 0x4d)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, marker,
			PLUGIN_CB_NO_REGS,
			(void *)(uintptr_t)(b[3] | b[4] << 8));
	}
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
			       const struct qemu_info_t *info, int argc,
			       char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "profile=on"))
			profiling = 1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
	if (profiling)
		qemu_plugin_register_atexit_cb(id, dump_blocks, NULL);
	return 0;
}
