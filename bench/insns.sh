#!/usr/bin/env bash
# Count the instructions MAP_DIRECT adds, where timing cannot: the host of
# these VMs drifts by tens of percent within seconds, an instruction count
# does not.  Boots the bench kernel on one vCPU with bench/qemu_insns.c
# loaded into QEMU; in the guest, mapdirect_bench --count-insns runs
# rounds of plain and MAP_DIRECT mmap+munmap, and of 4 KiB overwrites
# without and with a lease held, and page faults (per 4 KiB page written),
# and 1 MiB RDMA WRITEs into MAP_DIRECT fs-DAX, DRAM + copy + flush and
# device-dax, between the plugin's markers; of mmap+munmap, the locked instructions
# (atomics), those that change the interrupt flag, and the returns and
# indirect branches (each a run-time lookup under TCG) too.  Prints
# the figures, and "@result" lines for bench/report.py on stdout.
#   bench/insns.sh [N]   N operations per round (default 1000)
# (make bench runs it; make bench-insns alone.)
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/lib.sh"

n=${1:-1000}
out=$BUILD/bench
log=$out/insns.log
img=$BUILD/obj-bench/arch/x86/boot/bzImage
[ -f "$img" ] || die "no bench kernel: run 'make kernel-bench'"
[ -f "$out/qemu_insns.so" ] || die "no $out/qemu_insns.so: run 'make bench-bin'"
case "$out" in *' '*) die "the build directory's path has a space: QEMU's arguments would split" ;; esac
rm -f "$log"
step "counting instructions (QEMU plugin, 1 vCPU): mmap+munmap, 4 KiB overwrites, page faults" >&2
# noreplace-smp: a kernel booted on one CPU would patch its LOCK prefixes
# away, and count fewer atomics than it runs on the timed benchmarks' two.
MAPDIRECT_KERNEL=$img MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_SMP=1 MAPDIRECT_VM_APPEND=noreplace-smp \
	MAPDIRECT_VM_QEMU_ARGS="-plugin $out/qemu_insns.so -d plugin -D $log" \
	"$REPO/vm/run.sh" "for d in \$MAPDIRECT_XFS \$MAPDIRECT_EXT4; do
		build/bench/mapdirect_bench --count-insns \$d $n || exit 1; done &&
		build/bench/rdma_bench --count-insns \$MAPDIRECT_XFS \$MAPDIRECT_DEVDAX" |
	tee "$out/insns.out" >&2
[ -s "$log" ] || die "QEMU logged no markers in ${log#"$REPO"/}: did the plugin load?"

# Markers (mapdirect_bench.c's and rdma_bench.c's mark()): 9 starts a file
# system (XFS, then ext4), 10 the RDMA figures; each figure has an odd
# marker at its start and the next at its end; "@insns-n MARKER OPS" in the guest's output says how many
# operations each figure's rounds did.
python3 - "$log" "$out/insns.out" <<'EOF'
import json, statistics, sys
log, guest = sys.argv[1], sys.argv[2]
names = {1: 'plain', 3: 'direct', 5: 'nolease', 7: 'leased',
         11: 'plain2m', 13: 'direct2m', 15: 'plain4k', 17: 'direct4k',
         21: 'rdma_direct', 23: 'rdma_staged', 25: 'rdma_devdax'}
ops = {}
for line in open(guest, errors='replace'):
    f = line.split()
    if len(f) == 3 and f[0] == '@insns-n':
        ops[int(f[1])] = int(f[2])
if set(ops) != set(names):
    sys.exit(f'{guest}: the guest did not say how many operations each figure did')
fss, cur, start = [], None, {}
for line in open(log):
    f = line.split()
    if len(f) != 7 or f[0] != 'mapdirect-insns':
        continue
    mark, counts = int(f[1]), [int(v) for v in f[2:]]
    if mark in (9, 10):
        cur = {k: [] for k in names.values()}
        fss.append(cur)
    elif mark in names:
        start[mark] = counts
    elif mark - 1 in names and cur is not None:
        cur[names[mark - 1]].append([(c - s) / ops[mark - 1]
                                     for c, s in zip(counts, start.pop(mark - 1))])
if len(fss) != 3 or any(len(d[k]) == 0 for d in fss[:2] for k in list(names.values())[:8]) \
        or any(len(fss[2][k]) == 0 for k in list(names.values())[8:]):
    sys.exit(f'{log}: markers missing (found {len(fss)} of 3 sections)')


def result(name, v, b, bname, unit='instructions'):
    print('@result ' + json.dumps({'name': name, 'unit': unit, 'samples': v,
                                   'baseline': {'name': bname, 'samples': b},
                                   'paired': True}))


med = statistics.median
figures = (('mmap_munmap_2MiB', 'direct', 'plain', 'plain MAP_SHARED'),
           ('overwrite_4KiB_leased', 'leased', 'nolease', 'no lease'),
           ('fault_2MiB_aligned', 'direct2m', 'plain2m', 'plain MAP_SHARED'),
           ('fault_4KiB', 'direct4k', 'plain4k', 'plain MAP_SHARED'))
rdma = (('write_vs_staged', 'rdma_direct', 'rdma_staged', 'DRAM + copy + flush'),
        ('write_vs_devdax', 'rdma_direct', 'rdma_devdax', 'device-dax'))
for fs, d, what_list in (('xfs', fss[0], figures), ('ext4', fss[1], figures),
                         ('rdma', fss[2], rdma)):
    for what, fig, base, bname in what_list:
        v, b = d[fig], d[base]
        col = [[r[i] for r in v] for i in range(5)]
        bcol = [[r[i] for r in b] for i in range(5)]
        print(f'  {fs} {what}: {med(col[0]):.0f} vs {med(bcol[0]):.0f} instructions '
              f'({bname}) -> {med(col[0]) / med(bcol[0]):.3f}x; locked {med(col[1]):.1f} '
              f'vs {med(bcol[1]):.1f}, interrupt flag {med(col[2]):.1f} vs {med(bcol[2]):.1f}, '
              f'returns and indirect branches {med(col[3]):.0f} vs {med(bcol[3]):.0f}, '
              f'memory accesses {med(col[4]):.0f} vs {med(bcol[4]):.0f}',
              file=sys.stderr)
        result(f'{fs}/{what}_insns', col[0], bcol[0], bname)
        if what == 'mmap_munmap_2MiB':
            result(f'{fs}/{what}_locked_insns', col[1], bcol[1], bname)
            result(f'{fs}/{what}_irqflag_insns', col[2], bcol[2], bname)
            result(f'{fs}/{what}_indirect_insns', col[3], bcol[3], bname)
            result(f'{fs}/{what}_memory_accesses', col[4], bcol[4], bname, 'accesses')
EOF
