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
 *   mapdirect-insns MARK COUNT
 * through QEMU's log (-d plugin -D FILE).  The NOP is still a NOP outside
 * this plugin or on real hardware.
 *
 * QEMU 7.2's plugin API (Debian 12's QEMU), declared here because Debian
 * ships no qemu-plugin.h: plugin API version 1.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum { PLUGIN_CB_NO_REGS = 0 };	/* enum qemu_plugin_cb_flags */
enum { PLUGIN_INLINE_ADD_U64 = 0 };	/* enum qemu_plugin_op */

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
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = 1;

static uint64_t insns;

static void marker(unsigned int vcpu, void *udata)
{
	char line[64];

	(void)vcpu;
	snprintf(line, sizeof(line), "mapdirect-insns %u %" PRIu64 "\n",
		 (unsigned int)(uintptr_t)udata, insns);
	qemu_plugin_outs(line);
}

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
						 &insns, n);
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
	(void)argc;
	(void)argv;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
	return 0;
}
