#!/usr/bin/env bash
# Build Debian packages of the patched kernel for real machines
# (make kernel-deb), from Debian's own configuration of its 6.12 kernel
# (linux-config-6.12, config.amd64_none_amd64: the linux-image-amd64 one).
#
# Changed from Debian's configuration, and only this (each checked after
# olddefconfig):
#   LOCALVERSION=-mapdirect      the packages and /lib/modules never collide
#                                with Debian's own kernel;
#   SYSTEM_TRUSTED_KEYS=""       Debian's certificates are not in the
#                                source package; modules are signed with a
#                                key generated at build time instead;
#   no debug info                what Debian's kernel handbook advises for
#                                a custom kernel: a third of the build time
#                                and no 1 GB -dbg package (keep Debian's with
#                                MAPDIRECT_DEB_DEBUG_INFO=1);
#   MAP_DIRECT=y                 (its default; checked, as are DEV_DAX,
#                                DEV_DAX_PMEM, BLK_DEV_PMEM, XFS, ext4,
#                                the RDMA core and rxe: modules, as Debian
#                                ships them).
#
# MAPDIRECT_DEB_CONFIGURE_ONLY=1 stops after the configuration and its check.
#
# The build runs in build/kernel-deb/obj with its own ccache
# (~/.cache/ccache-kernel-deb, 20 GB), so it does not evict the test kernel's,
# and an interrupted build resumes where it stopped.  The packages
# (linux-image-*, linux-headers-*, linux-libc-dev) land in build/kernel-deb.
#
# It is not part of make check or CI: on a 2-core machine a cold build of
# Debian's ~4,000 modules takes hours.  Secure Boot refuses this kernel unless
# it is signed with a key the machine's firmware or shim trusts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DEBDIR=$BUILD/kernel-deb
OBJ=$DEBDIR/obj
flavour=amd64_none_amd64
conf=/usr/src/linux-config-6.12/config.$flavour.xz
[ -f "$conf" ] || die "$conf is missing: install linux-config-6.12 (scripts/deps.sh does)"

"$REPO/kernel/scripts/prepare.sh"

jobs=$(nproc)
kmake=(make -C "$SRC" O="$OBJ" -j"$jobs" KBUILD_BUILD_USER=mapdirect KBUILD_BUILD_HOST=mapdirect)
if command -v ccache >/dev/null; then
	export CCACHE_DIR=${MAPDIRECT_DEB_CCACHE_DIR:-$HOME/.cache/ccache-kernel-deb}
	export CCACHE_BASEDIR=$REPO CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=20G
	kmake+=(CC="ccache gcc")
fi

# What the packages must have, as "SYMBOL=value" (value "n": not set).
want=(
	LOCALVERSION='"-mapdirect"' SYSTEM_TRUSTED_KEYS='""' MODULE_SIG_ALL=y
	MAP_DIRECT=y FS_DAX=y ZONE_DEVICE=y MODULES=y
	DEV_DAX=m DEV_DAX_PMEM=m LIBNVDIMM=m BLK_DEV_PMEM=m
	XFS_FS=m EXT4_FS=m INFINIBAND=m INFINIBAND_USER_ACCESS=m RDMA_RXE=m
)
debug=(DEBUG_INFO_NONE=y DEBUG_INFO=n DEBUG_INFO_BTF=n)
[ "${MAPDIRECT_DEB_DEBUG_INFO:-0}" = 1 ] && debug=(DEBUG_INFO=y)
want+=("${debug[@]}")

configure() {
	local cfg=(--set-str LOCALVERSION -mapdirect --set-str SYSTEM_TRUSTED_KEYS ""
		--enable MODULE_SIG_ALL --enable MAP_DIRECT)
	step "configuring: Debian's $flavour configuration (linux-config-6.12) + MAP_DIRECT"
	mkdir -p "$OBJ"
	xzcat "$conf" >"$OBJ/.config"
	if [ "${MAPDIRECT_DEB_DEBUG_INFO:-0}" != 1 ]; then
		cfg+=(--disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT --disable DEBUG_INFO_DWARF4
			--disable DEBUG_INFO_DWARF5 --enable DEBUG_INFO_NONE)
	fi
	"$SRC/scripts/config" --file "$OBJ/.config" "${cfg[@]}"
	"${kmake[@]}" -s olddefconfig >/dev/null
}

verify() {
	local w sym val got bad=0
	for w in "${want[@]}"; do
		sym=CONFIG_${w%%=*} val=${w#*=}
		got=$(grep -E "^$sym=" "$OBJ/.config" || true)
		got=${got#*=}
		[ -n "$got" ] || got=n
		if [ "$got" != "$val" ]; then
			echo "  $sym: wanted $val, got $got" >&2
			bad=1
		fi
	done
	[ $bad -eq 0 ] || die "the configuration is not what the packages need (above)"
}

stamp="$(xzcat "$conf" | sha1sum) ${MAPDIRECT_DEB_DEBUG_INFO:-0}"
if [ ! -f "$OBJ/.config" ] || [ "$(cat "$OBJ/.mapdirect-deb" 2>/dev/null)" != "$stamp" ]; then
	configure
	echo "$stamp" >"$OBJ/.mapdirect-deb"
fi
verify
if [ "${MAPDIRECT_DEB_CONFIGURE_ONLY:-0}" = 1 ]; then
	step "configured: ${OBJ#"$REPO"/}/.config"
	exit 0
fi

kver=$("${kmake[@]}" -s kernelversion)
npatches=$(grep -cv '^\s*\(#\|$\)' "$PATCHES/series")
pkgver=${MAPDIRECT_DEB_VERSION:-$kver-1+mapdirect$npatches}
log=$DEBDIR/build.log
step "building linux-image-$kver-mapdirect $pkgver (make -j$jobs bindeb-pkg; log: ${log#"$REPO"/})"
start=$(date +%s)
"${kmake[@]}" bindeb-pkg KDEB_PKGVERSION="$pkgver" >"$log" 2>&1 &
mk=$!
trap 'kill -- -$mk 2>/dev/null; kill $mk 2>/dev/null' INT TERM
while kill -0 "$mk" 2>/dev/null; do
	for _ in $(seq 60); do kill -0 "$mk" 2>/dev/null && sleep 1; done
	kill -0 "$mk" 2>/dev/null || break
	echo "    $(($(date +%s) - start)) s: $(grep -c '^  CC' "$log" || true) files compiled," \
		"$(find "$OBJ" -name '*.ko' | wc -l) modules linked"
done
if ! wait "$mk"; then
	tail -n 25 "$log" | sed 's/^/  | /' >&2
	die "the package build failed: full log in ${log#"$REPO"/}"
fi
secs=$(($(date +%s) - start))
step "built in $((secs / 60)) min $((secs % 60)) s ($jobs jobs):"
du -h "$DEBDIR"/*"$pkgver"*.deb | sed 's/^/    /'
