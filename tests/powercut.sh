#!/usr/bin/env bash
# powercut (host side: two boots).  Boot 1 stores data through MAP_DIRECT
# with cache flushes only, then QEMU is killed: no msync, no sync, no
# unmount.  Boot 2 keeps the file systems (MAPDIRECT_KEEP=1) and checks the
# data, size and extents on XFS and ext4.
set -u
cd "$(dirname "$0")/.."
out=build/vm/out
rm -f $out/powercut.*.expect
MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_KILL_ON=POWERCUT-CUT vm/run.sh '
	build/tests/powercut write $MAPDIRECT_XFS /mnt/out/powercut.xfs.expect >/tmp/x.log &
	build/tests/powercut write $MAPDIRECT_EXT4 /mnt/out/powercut.ext4.expect >/tmp/e.log &
	for i in $(seq 600); do grep -q READY /tmp/x.log && grep -q READY /tmp/e.log && break; sleep 0.1; done
	cat /tmp/x.log /tmp/e.log; echo POWERCUT-CUT; sleep 60' || exit 1
[ -s $out/powercut.xfs.expect ] && [ -s $out/powercut.ext4.expect ] ||
	{ echo "powercut: boot 1 did not record the files' layout"; exit 1; }
MAPDIRECT_VM_QUIET=1 MAPDIRECT_KEEP=1 vm/run.sh '
	build/tests/powercut check $MAPDIRECT_XFS /mnt/out/powercut.xfs.expect &&
	build/tests/powercut check $MAPDIRECT_EXT4 /mnt/out/powercut.ext4.expect'
