#!/usr/bin/env bash
# Build the series with DEV_DAX, the RDMA core and drivers, XFS and ext4 as
# modules (Debian's configuration), out of tree in build/obj-modular, to
# catch what only a modular build finds: symbols a module needs that the
# core kernel does not export (modpost).  Nothing boots this kernel.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OBJ=$BUILD/obj-modular
FRAGDIR=$REPO/kernel/config
frags=("$FRAGDIR/vm.config" "$FRAGDIR/modular.config")
log=$BUILD/kernel-modular.log

jobs=$(nproc)
kmake=(make -s -C "$SRC" O="$OBJ" -j"$jobs" KBUILD_BUILD_USER=mapdirect KBUILD_BUILD_HOST=mapdirect)
if command -v ccache >/dev/null; then
	export CCACHE_BASEDIR=$REPO CCACHE_NOHASHDIR=1
	kmake+=(CC="ccache gcc")
fi

"$REPO/kernel/scripts/prepare.sh"

if [ ! -f "$OBJ/.config" ] || ! cat "${frags[@]}" | sha1sum | cmp -s - "$OBJ/.mapdirect-fragments"; then
	step "configuring the modular build: tinyconfig + kvm_guest.config + ${frags[*]##*/}"
	mkdir -p "$OBJ"
	"${kmake[@]}" tinyconfig >/dev/null
	"${kmake[@]}" kvm_guest.config >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "${frags[@]}" >/dev/null
	"${kmake[@]}" olddefconfig >/dev/null
	# Only the modular fragment is checked: it overrides vm.config.
	while read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$OBJ/.config" ||
			die "kernel/config/modular.config: '$line' did not stick (a dependency is missing)"
	done <"$FRAGDIR/modular.config"
	cat "${frags[@]}" | sha1sum >"$OBJ/.mapdirect-fragments"
fi

step "building bzImage and modules in ${OBJ#"$REPO"/} (make -j$jobs; log: ${log#"$REPO"/})"
start=$(date +%s)
if ! "${kmake[@]}" bzImage modules >"$log" 2>&1; then
	grep -E 'error|ERROR|undefined' "$log" | head -20 >&2
	die "the modular build failed (full log: ${log#"$REPO"/})"
fi
step "modular kernel built in $(($(date +%s) - start)) s"
