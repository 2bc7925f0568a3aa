#!/usr/bin/env bash
# devices: the VM has what every other test assumes (see vm/guest-init):
# fsdax namespaces with DAX on, XFS and ext4 mounted with DAX, a device-dax
# character device, and two ACTIVE Soft-RoCE ports on a veth pair.
set -u
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

n=0
# One ndctl call for all namespaces ("blockdev mode" lines): each program
# start costs about a second under TCG.
modes=$(ndctl list -N | python3 -c '
import json, sys
for n in json.load(sys.stdin):
    print(n.get("blockdev", "-"), n.get("mode", "?"))')
for b in /sys/block/pmem*; do
	[ -e "$b" ] || continue
	n=$((n + 1))
	d=${b##*/}
	[ "$(cat "$b/queue/dax")" = 1 ] || bad "/dev/$d: queue/dax is not 1"
	mode=$(echo "$modes" | awk -v d="$d" '$1 == d {print $2}')
	[ "$mode" = fsdax ] || bad "/dev/$d: namespace mode is '$mode', not fsdax"
done
[ $n -ge 2 ] || bad "expected at least 2 pmem block devices, found $n"

for v in MAPDIRECT_XFS_DEV MAPDIRECT_EXT4_DEV; do
	[ -b "${!v:-}" ] || bad "$v=${!v:-} is not a block device"
done
grep -q "^${MAPDIRECT_XFS_DEV:-none} ${MAPDIRECT_XFS:-none} xfs .*dax=always" /proc/mounts ||
	bad "XFS with dax=always is not mounted at ${MAPDIRECT_XFS:-?}"
grep -q "^${MAPDIRECT_EXT4_DEV:-none} ${MAPDIRECT_EXT4:-none} ext4 .*dax" /proc/mounts ||
	bad "ext4 with dax is not mounted at ${MAPDIRECT_EXT4:-?}"
[ -c "${MAPDIRECT_DEVDAX:-}" ] || bad "device-dax ${MAPDIRECT_DEVDAX:-?} is not a character device"

for d in "${MAPDIRECT_RXE0:-}" "${MAPDIRECT_RXE1:-}"; do
	st=$(cat "/sys/class/infiniband/$d/ports/1/state" 2>/dev/null)
	case "$st" in *ACTIVE*) ;; *) bad "RDMA device '$d' missing or not ACTIVE (state: ${st:-none})" ;; esac
done

[ -e "/sys/class/infiniband/${MAPDIRECT_SIW:-none}" ] ||
	bad "Soft-iWARP device '${MAPDIRECT_SIW:-}' missing"

[ $fails -eq 0 ] || exit 1
echo "pmem: $n fsdax device(s); xfs, ext4 mounted with DAX; ${MAPDIRECT_DEVDAX}; ${MAPDIRECT_RXE0}, ${MAPDIRECT_RXE1} ACTIVE; ${MAPDIRECT_SIW}"
