#!/usr/bin/env bash
# dax_partitions: two ext4 file systems on two partitions of one pmem
# device both mount with -o dax (as on stock Linux), although a DAX device
# has one holder for its failure and removal notices.  The first one
# mounted is the holder and offers MAP_DIRECT; the second is never told
# before the device goes away, so it refuses MAP_DIRECT with EOPNOTSUPP and
# says why in the kernel log.  The ext4 test device is repartitioned, then
# restored (one ext4 over the whole device, mounted again) for the tests
# that follow, however this test ends.
#
# usage: tests/dax_partitions.sh  (in the VM, as root: make check)
set -u
dev=${MAPDIRECT_EXT4_DEV:?run this test in the mapdirect VM (make check)}
mnt=${MAPDIRECT_EXT4:?run this test in the mapdirect VM (make check)}
bin=$MAPDIRECT_REPO/build/tests
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }

# MBR with two 256 MiB Linux partitions, 2 MiB aligned (DAX needs pages,
# huge mappings want 2 MiB); sector 0 is all this touches.
write_mbr() {
	python3 - "$1" <<'PY'
import struct, sys
def part(start, count):
    return struct.pack('<B3sB3sII', 0, b'\0' * 3, 0x83, b'\0' * 3, start, count)
mbr = bytearray(512)
mbr[446:462] = part(4096, 524288)
mbr[462:478] = part(4096 + 524288, 524288)
mbr[510:512] = b'\x55\xaa'
with open(sys.argv[1], 'r+b') as f:
    f.write(mbr)
PY
}

restore() {
	umount /mnt/part1 /mnt/part2 2>/dev/null
	dd if=/dev/zero of="$dev" bs=512 count=1 conv=notrunc status=none
	blockdev --rereadpt "$dev" || echo "FAIL: blockdev --rereadpt $dev (restore)" >&2
	mkfs.ext4 -q -F -b 4096 "$dev" >/dev/null 2>&1 || echo "FAIL: mkfs.ext4 $dev (restore)" >&2
	mount -o dax "$dev" "$mnt" && chmod 1777 "$mnt" ||
		echo "FAIL: mount -o dax $dev $mnt (restore): later tests will fail" >&2
}

umount "$mnt" || die "umount $mnt (busy?)"
trap restore EXIT
write_mbr "$dev" || die "writing a partition table to $dev"
blockdev --rereadpt "$dev" || die "blockdev --rereadpt $dev"
udevadm settle >/dev/null 2>&1
for p in 1 2; do
	[ -b "${dev}p$p" ] || die "${dev}p$p did not appear after the partition table was written"
	mkfs.ext4 -q -F -b 4096 "${dev}p$p" >/dev/null 2>&1 || die "mkfs.ext4 ${dev}p$p"
	mkdir -p /mnt/part$p
done
mark=$(dmesg | wc -l)
for p in 1 2; do
	if mount -o dax "${dev}p$p" /mnt/part$p; then
		chmod 1777 /mnt/part$p
	else
		bad "mount -o dax ${dev}p$p failed: a second partition of one pmem device must still mount with DAX"
	fi
done
[ "$fails" -eq 0 ] || exit 1
# Both use DAX: MAP_SYNC works only on DAX files.
"$bin/map_flag" sync /mnt/part1 ok || bad "MAP_SYNC on the first partition"
"$bin/map_flag" sync /mnt/part2 ok || bad "MAP_SYNC on the second partition (not DAX?)"
"$bin/map_flag" direct /mnt/part1 ok || bad "MAP_DIRECT on the first partition (the DAX holder)"
"$bin/map_flag" direct /mnt/part2 eopnotsupp || bad "MAP_DIRECT on the second partition"
dmesg | tail -n +"$((mark + 1))" | grep -q "${dev##*/}p2.*MAP_DIRECT refused: another file system" ||
	bad "no kernel message says why MAP_DIRECT was refused on ${dev}p2"
[ "$fails" -eq 0 ] || exit 1
echo "two DAX partitions of one pmem device: both mount with DAX; MAP_DIRECT on the holder only"
