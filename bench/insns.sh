#!/usr/bin/env bash
# Count the instructions MAP_DIRECT adds, where timing cannot: the host of
# these VMs drifts by tens of percent within seconds, an instruction count
# does not.  Boots the bench kernel on one vCPU with bench/qemu_insns.c
# loaded into QEMU; in the guest, mapdirect_bench --count-insns runs
# rounds of plain and MAP_DIRECT mmap+munmap, and of 4 KiB overwrites
# without and with a lease held, between the plugin's markers.  Prints
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
step "counting instructions (QEMU plugin, 1 vCPU): mmap+munmap and 4 KiB overwrites, $n per round" >&2
# shellcheck disable=SC2016 # expanded by the guest's shell
MAPDIRECT_KERNEL=$img MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_SMP=1 \
	MAPDIRECT_VM_QEMU_ARGS="-plugin $out/qemu_insns.so -d plugin -D $log" \
	"$REPO/vm/run.sh" "for d in \$MAPDIRECT_XFS \$MAPDIRECT_EXT4; do
		build/bench/mapdirect_bench --count-insns \$d $n || exit 1; done" >&2
[ -s "$log" ] || die "QEMU logged no markers in ${log#"$REPO"/}: did the plugin load?"

# Markers: 9 starts a file system (XFS, then ext4); 1-2 plain mmap+munmap,
# 3-4 MAP_DIRECT, 5-6 overwrites without a lease, 7-8 with one.
python3 - "$log" "$n" <<'EOF'
import json, statistics, sys
log, n = sys.argv[1], int(sys.argv[2])
names = {1: 'plain', 3: 'direct', 5: 'nolease', 7: 'leased'}
fss, cur, start = [], None, {}
for line in open(log):
    f = line.split()
    if len(f) != 3 or f[0] != 'mapdirect-insns':
        continue
    mark, count = int(f[1]), int(f[2])
    if mark == 9:
        cur = {k: [] for k in names.values()}
        fss.append(cur)
    elif mark in names:
        start[mark] = count
    elif mark - 1 in names and cur is not None:
        cur[names[mark - 1]].append((count - start.pop(mark - 1)) / n)
if len(fss) != 2 or any(len(v) == 0 for d in fss for v in d.values()):
    sys.exit(f'{log}: markers missing (found {len(fss)} file systems)')
for fs, d in zip(('xfs', 'ext4'), fss):
    for what, fig, base, bname in (('mmap_munmap_2MiB_insns', 'direct', 'plain', 'plain MAP_SHARED'),
                                   ('overwrite_4KiB_leased_insns', 'leased', 'nolease', 'no lease')):
        v, b = d[fig], d[base]
        print(f'  {fs} {what}: {statistics.median(v):.0f} vs {statistics.median(b):.0f} '
              f'instructions ({bname})  -> {statistics.median(v) / statistics.median(b):.3f}x',
              file=sys.stderr)
        print('@result ' + json.dumps({'name': f'{fs}/{what}', 'unit': 'instructions',
                                       'samples': v, 'baseline': {'name': bname, 'samples': b},
                                       'paired': True}))
EOF
