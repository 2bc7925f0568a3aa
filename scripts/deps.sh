#!/usr/bin/env bash
# Install the Debian packages mapdirect needs on the host (and, because the
# guest's root file system is the host's /, inside the VM too).
#
# Arguments name more packages that only some targets need (make kernel-deb:
# debhelper, linux-config-6.12).
#
# As root this runs apt-get itself; otherwise it prints the exact command to
# run and fails.  It is cheap when everything is already installed, so every
# make target that needs the tools calls it first.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../kernel/source.conf
. "$here/kernel/source.conf"

packages=(
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev dwarves cpio ccache
	xz-utils kmod git perl python3 python3-ply rsync
	# the VM
	qemu-system-x86 busybox-static
	# used inside the guest (its root is the host's /)
	ndctl daxctl xfsprogs e2fsprogs iproute2 procps util-linux
	rdma-core ibverbs-providers ibverbs-utils rdmacm-utils
	gnuplot-nox	# bench/report.py's charts (make bench; tests/bench_report.sh)
	linux-perf	# bench/profile.sh (perf in the guest, whose root is the host's)
	# userspace build
	libibverbs-dev librdmacm-dev pkgconf
	# make lint
	shellcheck mandoc
)
packages+=("$@")
# And the kernel source itself: linux-source-6.12, at the version pinned in
# kernel/source.conf (KERNEL_SOURCE_PACKAGE=KERNEL_SOURCE_VERSION, below),
# or, once Debian no longer offers that one, the newest 6.12 it does.

missing=()
for p in "${packages[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing+=("$p")
done

have_src=$(dpkg-query -W -f='${Version}' "$KERNEL_SOURCE_PACKAGE" 2>/dev/null || true)
src_state=$(dpkg-query -W -f='${db:Status-Status}' "$KERNEL_SOURCE_PACKAGE" 2>/dev/null || true)
if [ "$src_state" != installed ] || [ "$have_src" != "$KERNEL_SOURCE_VERSION" ] ||
   [ ! -f "$KERNEL_SOURCE_TARBALL" ]; then
	missing+=("$KERNEL_SOURCE_PACKAGE=$KERNEL_SOURCE_VERSION")
fi

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends --allow-downgrades ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "mapdirect needs these Debian packages: ${missing[*]}" >&2
	echo "Run as root:  apt-get update && $cmd" >&2
	exit 1
fi

echo "Checking Debian's archive for: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# (No "| grep -q" here: with pipefail, grep's early exit fails the pipe.)
versions=$(apt-cache madison "$KERNEL_SOURCE_PACKAGE" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
if printf '%s\n' "$versions" | grep -qxF "$KERNEL_SOURCE_PINNED"; then
	want=$KERNEL_SOURCE_PINNED
	rm -f "$KERNEL_SOURCE_OVERRIDE"
else
	# The pinned point release is gone: take the newest one offered.
	want=
	for v in $versions; do
		if [ -z "$want" ] || dpkg --compare-versions "$v" gt "$want"; then want=$v; fi
	done
	if [ -z "$want" ]; then
		echo "error: apt offers no $KERNEL_SOURCE_PACKAGE at all: is bookworm-security" >&2
		echo "(or backports) in the apt sources?  The series needs Debian's 6.12 source." >&2
		exit 1
	fi
	echo "note: $KERNEL_SOURCE_PACKAGE $KERNEL_SOURCE_PINNED (pinned in kernel/source.conf)" \
		"is no longer in Debian's archive; using $want, the newest 6.12 it offers." >&2
	echo "note: the series is tested on $KERNEL_SOURCE_PINNED; make kernel says whether" \
		"it applies to $want (recorded in ${KERNEL_SOURCE_OVERRIDE#"$here"/})." >&2
	mkdir -p "$(dirname "$KERNEL_SOURCE_OVERRIDE")"
	echo "$want" >"$KERNEL_SOURCE_OVERRIDE"
fi
for i in "${!missing[@]}"; do
	case "${missing[$i]}" in "$KERNEL_SOURCE_PACKAGE="*) unset 'missing[i]' ;; esac
done
have_src=$(dpkg-query -W -f='${Version}' "$KERNEL_SOURCE_PACKAGE" 2>/dev/null || true)
if [ "$have_src" != "$want" ] || [ ! -f "$KERNEL_SOURCE_TARBALL" ]; then
	missing+=("$KERNEL_SOURCE_PACKAGE=$want")
fi
if [ ${#missing[@]} -eq 0 ]; then
	echo "Nothing to install."
	exit 0
fi
echo "Installing: ${missing[*]}"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends --allow-downgrades "${missing[@]}" >/tmp/mapdirect-apt.log 2>&1 || {
	tail -20 /tmp/mapdirect-apt.log >&2
	echo "error: apt-get install failed (full log: /tmp/mapdirect-apt.log)" >&2
	exit 1
}
echo "Installed ${#missing[@]} package(s)."
