#!/usr/bin/env bash
# make deb: Debian packages of the userspace, from `make install` into a
# staging tree, with dpkg-deb (no debhelper needed):
#   libmapdirect1     the shared library
#   libmapdirect-dev  header, static library, pkg-config file, man pages (3)
#   mapdirect         the mapdirect command, its preload library, man pages
#                     (1, 2, 5)
# Output: build/deb/*.deb.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
version=1.0.0
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
libdir=/usr/lib/$multiarch
stage=build/deb/stage
rm -rf build/deb
make -s install DESTDIR="$REPO/$stage" PREFIX=/usr LIBDIR="$libdir" >/dev/null

# package NAME DESCRIPTION DEPENDS PATH...: move PATHs (relative to the
# staging root) into the package and build it.
package() {
	local name=$1 desc=$2 deps=$3 dir=build/deb/$1 p
	shift 3
	for p in "$@"; do
		mkdir -p "$dir/$(dirname "$p")"
		cp -a "$stage/$p" "$dir/$p"
	done
	mkdir -p "$dir/DEBIAN" "$dir/usr/share/doc/$name"
	cat >"$dir/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: mapdirect maintainers <maintainers@users.noreply.h-seed-39099c3f.example>
Section: libs
Priority: optional
Depends: $deps
Description: $desc
 MAP_DIRECT gives a DAX file's mapping a lease on its block map, so that
 persistent-memory programs and RDMA registrations can use fs-DAX like
 device-dax.  It needs a Linux 6.12 kernel with the mapdirect series.
CONTROL
	printf 'mapdirect, MIT license.\n' >"$dir/usr/share/doc/$name/copyright"
	if [ -d "$dir/usr/share/man" ]; then
		find "$dir/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
		# Links to man pages follow their gzipped targets.
		find "$dir/usr/share/man" -type l -name '*.[0-9]' | while read -r l; do
			ln -sf "$(readlink "$l").gz" "$l.gz" && rm "$l"
		done
	fi
	dpkg-deb --root-owner-group --build "$dir" "build/deb/${name}_${version}_$arch.deb" >/dev/null
	echo "deb: build/deb/${name}_${version}_$arch.deb"
}

package libmapdirect1 "MAP_DIRECT library for DAX files (shared library)" \
	"libc6 (>= 2.34), libibverbs1" \
	"${libdir#/}/libmapdirect.so.1" "${libdir#/}/libmapdirect.so.$version"
package libmapdirect-dev "MAP_DIRECT library for DAX files (development files)" \
	"libmapdirect1 (= $version), libibverbs-dev" \
	usr/include/mapdirect.h "${libdir#/}/libmapdirect.so" "${libdir#/}/libmapdirect.a" \
	"${libdir#/}/pkgconfig/mapdirect.pc" usr/share/man/man3
package mapdirect "MAP_DIRECT leases: list holders, run programs with MAP_DIRECT" \
	"libc6 (>= 2.34), libibverbs1" \
	usr/bin/mapdirect "${libdir#/}/libmapdirect-preload.so" usr/share/man/man1 \
	usr/share/man/man2 usr/share/man/man5
