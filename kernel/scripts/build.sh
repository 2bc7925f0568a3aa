#!/usr/bin/env bash
# Configure (when the fragments changed) and build the kernel out of tree in
# build/obj, then install its UAPI headers into build/headers for userspace.
#
# MAPDIRECT_KERNEL_FLAVOUR picks another kernel, in its own build directory:
#   kasan    the stress kernel: the test config + kernel/config/kasan.config,
#            in build/obj-kasan (make stress-kasan);
#   bench    the test config without debug.config (no lockdep, DEBUG_VM,
#            ...: they cost more on the paths that take more locks, which
#            skews every ratio) and with Debian's allocator and -O2
#            (kernel/config/bench.config), in build/obj-bench (make bench);
#   modular  DEV_DAX, the RDMA core and drivers, XFS and ext4 as modules
#            (vm.config + kernel/config/modular.config), in build/obj-modular,
#            built, never booted: modpost finds symbols a module needs that
#            the core does not export (make kernel-modular).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FRAGDIR=$REPO/kernel/config
frags=()
while read -r f; do
	case "$f" in ''|'#'*) continue ;; esac
	[ -f "$FRAGDIR/$f" ] || die "kernel/config/fragments names $f, which does not exist"
	frags+=("$FRAGDIR/$f")
done <"$FRAGDIR/fragments"

flavour=${MAPDIRECT_KERNEL_FLAVOUR:-}
targets=(bzImage)
case "$flavour" in
'') ;;
kasan) OBJ=$BUILD/obj-kasan; frags+=("$FRAGDIR/kasan.config") ;;
bench)
	OBJ=$BUILD/obj-bench
	for i in "${!frags[@]}"; do
		[ "${frags[$i]##*/}" = debug.config ] && unset 'frags[i]'
	done
	frags=("${frags[@]}" "$FRAGDIR/bench.config") ;;
modular)
	OBJ=$BUILD/obj-modular
	frags=("$FRAGDIR/vm.config" "$FRAGDIR/modular.config")
	targets=(bzImage modules) ;;
*) die "MAPDIRECT_KERNEL_FLAVOUR=$flavour: unknown (kasan, bench or modular)" ;;
esac
# Fragments whose every line must stick; modular.config overrides vm.config.
checked=("${frags[@]}")
if [ "$flavour" = modular ]; then checked=("$FRAGDIR/modular.config"); fi

jobs=$(nproc)
kmake=(make -s -C "$SRC" O="$OBJ" -j"$jobs" KBUILD_BUILD_USER=mapdirect KBUILD_BUILD_HOST=mapdirect)
if command -v ccache >/dev/null; then
	# Paths relative to the repository, so a fresh clone elsewhere still hits.
	export CCACHE_BASEDIR=$REPO CCACHE_NOHASHDIR=1
	kmake+=(CC="ccache gcc")
fi

# Every symbol a fragment sets must be in the final .config exactly so:
# kconfig silently drops symbols whose dependencies are missing.
verify_config() {
	local f line sym want got bad=0
	for f in "${checked[@]}"; do
		while read -r line; do
			case "$line" in
			CONFIG_*=*) sym=${line%%=*}; want=$line ;;
			'# CONFIG_'*' is not set') sym=${line#\# }; sym=${sym%% *}; want= ;;
			*) continue ;;
			esac
			got=$(grep -E "^$sym=" "$OBJ/.config" || true)
			if [ "$got" != "$want" ]; then
				echo "  ${f#"$REPO"/}: wanted '${want:-# $sym is not set}', got '${got:-# $sym is not set}'" >&2
				bad=1
			fi
		done <"$f"
	done
	[ $bad -eq 0 ] || die "kernel config fragments did not stick (a dependency is missing); fix kernel/config/"
}

configure() {
	step "configuring: tinyconfig + kvm_guest.config + ${frags[*]##*/}"
	mkdir -p "$OBJ"
	"${kmake[@]}" tinyconfig >/dev/null
	"${kmake[@]}" kvm_guest.config >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "${frags[@]}" >/dev/null
	"${kmake[@]}" olddefconfig >/dev/null
	verify_config
	cat "${frags[@]}" | sha1sum >"$OBJ/.mapdirect-fragments"
}

"$REPO/kernel/scripts/prepare.sh"

if [ ! -f "$OBJ/.config" ] || ! cat "${frags[@]}" | sha1sum | cmp -s - "$OBJ/.mapdirect-fragments"; then
	configure
fi

# The build's own output goes to a log; the terminal gets a progress line
# every 30 s (files compiled so far, and how many the last full build of
# this directory compiled), and the log's tail if the build fails.
log=$BUILD/kernel${flavour:+-$flavour}.log
step "building ${targets[*]} in ${OBJ#"$REPO"/} (make -j$jobs; log: ${log#"$REPO"/})"
start=$(date +%s)
total=$(cat "$OBJ/.mapdirect-objects" 2>/dev/null || true)
verbose=("${kmake[@]}")
unset 'verbose[1]'		# -s: the log wants one line per file
"${verbose[@]}" "${targets[@]}" >"$log" 2>&1 &
mk=$!
while kill -0 "$mk" 2>/dev/null; do
	for _ in $(seq 30); do kill -0 "$mk" 2>/dev/null && sleep 1; done
	kill -0 "$mk" 2>/dev/null || break
	n=$(grep -c '^  CC' "$log" || true)
	echo "    $(($(date +%s) - start)) s: $n files compiled${total:+ (a full build compiles about $total)}"
done
if ! wait "$mk"; then
	tail -n 25 "$log" | sed 's/^/  | /' >&2
	die "the kernel build failed: full log in ${log#"$REPO"/}"
fi
n=$(grep -c '^  CC' "$log" || true)
[ "$n" -lt 500 ] || echo "$n" >"$OBJ/.mapdirect-objects"
[ -n "$flavour" ] || "${kmake[@]}" headers_install INSTALL_HDR_PATH="$BUILD/headers" >/dev/null
verify_config
step "kernel built in $(($(date +%s) - start)) s: ${OBJ#"$REPO"/}/arch/x86/boot/bzImage"
