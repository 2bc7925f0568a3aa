#!/usr/bin/env bash
# make bench-stock: what a file with no lease costs (ftruncate, 4 KiB
# overwrite, append and hole punch) on the patched kernel against a stock
# kernel built from the pristine Debian source with the same config (the
# bench kernel's: no lockdep or other debug options).  The
# series must not change it.  The two kernels boot in turn, twice each
# (stock, patched, stock, patched), so drift of the host shows in the spread.
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/lib.sh"

# Both kernels without the test kernel's debug options (make kernel-bench).
OBJ=$BUILD/obj-bench
STOCK_SRC=$BUILD/stock/linux
STOCK_OBJ=$BUILD/stock/obj
PATCHED=$OBJ/arch/x86/boot/bzImage
STOCK=$STOCK_OBJ/arch/x86/boot/bzImage
[ -f "$PATCHED" ] || die "no patched bench kernel: run 'make kernel-bench' first"

if [ ! -d "$STOCK_SRC" ]; then
	step "checking out the stock source (tag $BASE_TAG) into ${STOCK_SRC#"$REPO"/}"
	git_k worktree prune
	git_k worktree add -q --detach "$STOCK_SRC" "$BASE_TAG"
fi
kmake=(make -s -C "$STOCK_SRC" O="$STOCK_OBJ" -j"$(nproc)"
       KBUILD_BUILD_USER=mapdirect KBUILD_BUILD_HOST=mapdirect)
command -v ccache >/dev/null && kmake+=(CC="ccache gcc")
mkdir -p "$STOCK_OBJ"
if ! cmp -s "$OBJ/.config" "$STOCK_OBJ/.config.patched" || [ ! -f "$STOCK" ]; then
	step "building the stock kernel with the patched kernel's config (several minutes, once)"
	cp "$OBJ/.config" "$STOCK_OBJ/.config"
	"${kmake[@]}" olddefconfig >/dev/null
	"${kmake[@]}" bzImage
	cp "$OBJ/.config" "$STOCK_OBJ/.config.patched"
fi

out=$BUILD/bench/stock.txt
: >"$out"
for round in 1 2; do
	for k in stock patched; do
		img=$STOCK; [ $k = patched ] && img=$PATCHED
		step "round $round: $k kernel"
		# shellcheck disable=SC2016 # expanded by the guest's shell
		MAPDIRECT_KERNEL=$img MAPDIRECT_VM_QUIET=1 "$REPO/vm/run.sh" \
			'for d in $MAPDIRECT_XFS $MAPDIRECT_EXT4; do build/bench/mapdirect_bench --costs $d || exit 1; done' |
			grep '^costs ' | sed "s/^/$k /" | tee -a "$out"
	done
done

echo "no-lease cost, patched / stock (mean of 2 boots each; 1.00 = unchanged):"
awk '{ n[$1, $3]++
       for (i = 4; i <= 7; i++) sum[$1, $3, i] += $i; dirs[$3] = 1 }
     END {
	split("ftruncate overwrite append punch", name, " ")
	for (d in dirs) {
		line = sprintf("  %-10s", d)
		for (i = 4; i <= 7; i++) {
			s = sum["stock", d, i] / n["stock", d]
			p = sum["patched", d, i] / n["patched", d]
			line = line sprintf("  %s %.1f/%.1f us = %.2fx", name[i - 3], p, s, p / s)
		}
		print line
	} }' "$out"
