# Shared settings for the kernel scripts.  Sourced, not run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts sourcing this
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../source.conf
. "$REPO/kernel/source.conf"
BUILD=${MAPDIRECT_BUILD:-$REPO/build}
SRC=$BUILD/linux          # git tree: pristine source + the series as commits
OBJ=$BUILD/obj            # out-of-tree build directory (O=)
PATCHES=$REPO/kernel/patches
BASE_TAG=mapdirect-base
# Stamp recording which series the tree was last synced with (applied or
# exported), and the tree's HEAD at that moment.
STAMP=$SRC/.git/mapdirect-series

die() { echo "error: $*" >&2; exit 1; }
step() { printf '==> %s\n' "$*"; }

# A hash of everything in kernel/patches that determines the tree.
series_hash() {
	# shellcheck disable=SC2046 # one word per patch file name
	(cd "$PATCHES" && cat series $(grep -v '^\s*#' series | grep -v '^\s*$') 2>/dev/null) |
		sha1sum | cut -d' ' -f1
}

git_k() { git -C "$SRC" -c user.name=mapdirect -c user.email=mapdirect@localhost "$@"; }
