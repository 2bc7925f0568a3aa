#!/usr/bin/env bash
# Write the commits of build/linux on top of the pristine base back to
# kernel/patches (git format-patch) and regenerate kernel/patches/series.
# Then commit kernel/patches in the mapdirect repository.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$SRC/.git" ] || die "no kernel tree in build/linux: run 'make kernel' first"
[ -z "$(git_k status --porcelain -uno)" ] ||
	die "build/linux has uncommitted changes: commit them there first (git -C build/linux commit)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --zero-commit and --no-signature keep re-exports free of noise.
git_k format-patch -q --zero-commit --no-signature -o "$tmp" "$BASE_TAG"..HEAD
rm -f "$PATCHES"/*.patch
mkdir -p "$PATCHES"
{
	echo "# Applied in this order onto the pristine source by kernel/scripts/prepare.sh."
	for f in "$tmp"/*.patch; do
		[ -e "$f" ] || continue
		cp "$f" "$PATCHES/"
		basename "$f"
	done
} >"$PATCHES/series"
printf '%s %s\n' "$(series_hash)" "$(git_k rev-parse HEAD)" >"$STAMP"
n=$(grep -vc '^#' "$PATCHES/series" || true)
step "exported $n patch(es) to kernel/patches; now: git add kernel/patches && git commit"
