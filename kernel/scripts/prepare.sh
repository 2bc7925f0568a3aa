#!/usr/bin/env bash
# Make build/linux a git tree: first commit = pristine Debian source, then
# every patch of kernel/patches/series applied as a commit (git am).
#
# Idempotent: when the tree already carries the current series nothing
# happens.  When kernel/patches changed (a pull, a checkout), the tree is
# reset to the base and the series re-applied; git only rewrites files that
# differ, so the following build stays incremental.  When the tree has
# commits or edits of its own that were never exported, it is left alone:
# that is somebody's work in progress (see `make export`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

unpack() {
	[ -f "$KERNEL_SOURCE_TARBALL" ] ||
		die "$KERNEL_SOURCE_TARBALL missing: run scripts/deps.sh (installs $KERNEL_SOURCE_PACKAGE=$KERNEL_SOURCE_VERSION)"
	local have
	have=$(dpkg-query -W -f='${Version}' "$KERNEL_SOURCE_PACKAGE" 2>/dev/null || true)
	[ "$have" = "$KERNEL_SOURCE_VERSION" ] ||
		die "installed $KERNEL_SOURCE_PACKAGE is '$have', kernel/source.conf pins $KERNEL_SOURCE_VERSION: run scripts/deps.sh"
	step "unpacking $KERNEL_SOURCE_PACKAGE $KERNEL_SOURCE_VERSION into $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xf "$KERNEL_SOURCE_TARBALL" -C "$SRC.tmp" --strip-components=1
	step "committing the pristine source (base of the series)"
	git -C "$SRC.tmp" init -q -b master
	git -C "$SRC.tmp" config core.autocrlf false
	git -C "$SRC.tmp" config gc.auto 0
	git -C "$SRC.tmp" add -A -f
	SRC=$SRC.tmp git_k commit -q -m "Debian $KERNEL_SOURCE_PACKAGE $KERNEL_SOURCE_VERSION (pristine)"
	# Debian's top-level .gitignore ignores everything ("/*"), so git would
	# not see new files of the series.  Drop that rule in a commit of the
	# base, not of the series: it is about this work tree, not the kernel.
	sed -i '/^# Debian packaging: ignore everything/,$d' "$SRC.tmp/.gitignore"
	git -C "$SRC.tmp" add .gitignore
	SRC=$SRC.tmp git_k commit -q -m "mapdirect build tree: do not ignore new top-level files"
	SRC=$SRC.tmp git_k tag "$BASE_TAG"
	mv "$SRC.tmp" "$SRC"
}

apply_series() {
	step "applying kernel/patches/series"
	rm -f "$STAMP" # until the whole series is in, the tree is nobody's work
	git_k am --abort >/dev/null 2>&1 || true
	git_k reset -q --hard "$BASE_TAG"
	local n=0 p
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] || die "kernel/patches/series names $p, which does not exist"
		if ! git_k am -q --keep-cr "$PATCHES/$p" >"$BUILD/am.log" 2>&1; then
			grep -v -e '^hint:' -e 'git am --' -e '^When you have resolved' "$BUILD/am.log" >&2
			git_k am --abort >/dev/null 2>&1 || true
			[ "$KERNEL_SOURCE_VERSION" = "$KERNEL_SOURCE_PINNED" ] ||
				echo "note: the series is maintained on $KERNEL_SOURCE_PINNED (kernel/source.conf); Debian now offers only $KERNEL_SOURCE_VERSION, and the series must be rebased onto it" >&2
			die "patch kernel/patches/$p does not apply to $KERNEL_SOURCE_PACKAGE $KERNEL_SOURCE_VERSION"
		fi
		n=$((n + 1))
	done <"$PATCHES/series"
	printf '%s %s\n' "$(series_hash)" "$(git_k rev-parse HEAD)" >"$STAMP"
	step "series applied: $n patch(es) on top of $BASE_TAG"
}

mkdir -p "$BUILD"
if ! [ -d "$SRC/.git" ] || ! git_k rev-parse -q --verify "$BASE_TAG" >/dev/null; then
	unpack
elif [ "$(git_k log -1 --format=%s "$BASE_TAG~1")" != \
     "Debian $KERNEL_SOURCE_PACKAGE $KERNEL_SOURCE_VERSION (pristine)" ]; then
	# Another point release than the tree was made from (scripts/deps.sh
	# moved on from a pin Debian no longer offers, or the pin was bumped).
	if [ -n "$(git_k status --porcelain -uno)" ] || { [ -f "$STAMP" ] &&
	   [ "$(git_k rev-parse HEAD)" != "$(cut -d' ' -f2 "$STAMP")" ]; }; then
		die "build/linux was made from another $KERNEL_SOURCE_PACKAGE than $KERNEL_SOURCE_VERSION and has work that is not in kernel/patches: 'make export' it, or remove build/linux"
	fi
	unpack
fi

want=$(series_hash)
have_hash='' have_head=''
[ -f "$STAMP" ] && read -r have_hash have_head <"$STAMP"
head=$(git_k rev-parse HEAD)

if [ -n "$have_head" ] && [ "$head" != "$have_head" ]; then
	echo "note: build/linux has commits that are not in kernel/patches;" \
		"building the tree as it is (run 'make export' to save them)." >&2
	exit 0
fi
[ "$want" = "$have_hash" ] && exit 0 # in sync (uncommitted edits get built)
if [ -n "$(git_k status --porcelain -uno)" ]; then
	die "kernel/patches changed, but build/linux has uncommitted edits; commit and 'make export' them, or discard them (git -C build/linux reset --hard)"
fi
apply_series
