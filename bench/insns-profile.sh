#!/usr/bin/env bash
# An exact profile of what MAP_DIRECT adds to mmap+munmap: the
# instructions each kernel function runs per plain and per MAP_DIRECT
# mmap+munmap of 2 MiB on XFS, counted by bench/qemu_insns.c (profile=on)
# on the bench kernel, one vCPU, no KASLR.  Sampling profiles under TCG
# land where the emulator next looks for interrupts; this does not.
#   bench/insns-profile.sh [N]   (make bench-insns-profile; N mmap+munmap
#                                 per round, 5 rounds each, default 1000)
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/lib.sh"

n=${1:-1000}
out=$BUILD/bench
log=$out/insns-profile.log
img=$BUILD/obj-bench/arch/x86/boot/bzImage
map=$BUILD/obj-bench/System.map
{ [ -f "$img" ] && [ -f "$map" ]; } || die "no bench kernel: run 'make kernel-bench'"
[ -f "$out/qemu_insns.so" ] || die "no $out/qemu_insns.so: run 'make bench-bin'"
case "$out" in *' '*) die "the build directory's path has a space: QEMU's arguments would split" ;; esac
rm -f "$log"
step "counting instructions per kernel function (QEMU plugin, 1 vCPU, about 1 minute)"
MAPDIRECT_KERNEL=$img MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_SMP=1 \
	MAPDIRECT_VM_APPEND="noreplace-smp nokaslr" \
	MAPDIRECT_VM_QEMU_ARGS="-plugin $out/qemu_insns.so,profile=on -d plugin -D $log" \
	"$REPO/vm/run.sh" "build/bench/mapdirect_bench --count-insns \$MAPDIRECT_XFS $n" >/dev/null
grep -q '^mapdirect-block ' "$log" || die "no profile in ${log#"$REPO"/}: did the plugin load?"

python3 - "$log" "$map" "$((5 * n))" <<'EOF'
import bisect, collections, sys
log, sysmap, ops = sys.argv[1], sys.argv[2], int(sys.argv[3])
syms = sorted((int(a, 16), name) for a, t, name in
              (l.split()[:3] for l in open(sysmap)) if t in 'tTwW')
addrs = [a for a, _ in syms]
per = collections.defaultdict(lambda: [0, 0])
for line in open(log):
    f = line.split()
    if len(f) != 4 or f[0] != 'mapdirect-block':
        continue
    va = int(f[1], 16)
    if va < 0xffff800000000000:
        name = '[user space]'
    else:
        i = bisect.bisect_right(addrs, va) - 1
        name = syms[i][1] if i >= 0 else '[kernel, unknown]'
    per[name][0] += int(f[2])
    per[name][1] += int(f[3])
plain = sum(v[0] for v in per.values()) / ops
direct = sum(v[1] for v in per.values()) / ops
print(f'== instructions per mmap+munmap of 2 MiB (XFS), exact: plain {plain:.0f}, '
      f'MAP_DIRECT {direct:.0f} ({direct / plain:.3f}x)')
print('   MAP_DIRECT minus plain, by function (instructions per mmap+munmap):')
diff = sorted(per.items(), key=lambda kv: kv[1][0] - kv[1][1])
for name, (p, d) in diff[:30]:
    if d - p <= 0:
        break
    print(f'   {(d - p) / ops:+8.1f}  {name}')
less = [(name, (d - p) / ops) for name, (p, d) in diff if (d - p) / ops < -1]
if less:
    print('   fewer with MAP_DIRECT: ' +
          ', '.join(f'{name} {v:.0f}' for name, v in less[-5:]))
EOF
