#!/usr/bin/env bash
# make bench: boot the VM on the bench kernel, run the benchmarks (bench/*.c) on XFS, ext4,
# device-dax and Soft-RoCE, and bench/profile.sh (where the leased paths
# spend their time, for the report), bench/insns.sh (the instructions
# they execute, counted by a QEMU plugin) and bench/insns-profile.sh (the
# same, per kernel function), then bench/report.py turns their figures into
# build/bench/results.json, PNG charts and build/bench/report.md, and says
# which goals of bench/goals are met.  build/bench/raw.txt keeps the output;
# build/bench/stock.txt (make bench-stock), if present, adds the no-lease
# costs of the patched kernel against the stock one.
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/lib.sh"

out=$BUILD/bench
raw=$out/raw.txt
mkdir -p "$out"
step "booting the VM for the benchmarks (about 3 minutes under TCG; output: ${raw#"$REPO"/})"
# The bench kernel: the test kernel without lockdep and the other debug
# options (make kernel-bench), which would weigh on the lock-heavier side.
img=$BUILD/obj-bench/arch/x86/boot/bzImage
[ -f "$img" ] || die "no bench kernel: run 'make kernel-bench'"
# shellcheck disable=SC2016 # expanded by the guest's shell
MAPDIRECT_KERNEL=$img MAPDIRECT_VM_QUIET=1 "$REPO/vm/run.sh" \
	'for d in $MAPDIRECT_XFS $MAPDIRECT_EXT4; do build/bench/mapdirect_bench $d || exit 1; done &&
	 build/bench/rdma_bench $MAPDIRECT_XFS $MAPDIRECT_DEVDAX $MAPDIRECT_XFS &&
	 bench/profile.sh $MAPDIRECT_EXT4' |
	tee "$raw" | grep --line-buffered -v '^@result'
# The instructions behind the mmap and overwrite ratios: exact, where the
# times above move with the host.
# (Its stdout is only @result lines: the figures go to stderr.)
"$REPO/bench/insns.sh" >>"$raw"
# Which kernel functions run the instructions MAP_DIRECT adds to mmap+munmap.
"$REPO/bench/insns-profile.sh" | tee -a "$raw"
step "results, charts and report"
"$REPO/bench/report.py" "$raw" "$out" "$out/stock.txt"
