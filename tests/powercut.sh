#!/usr/bin/env bash
# powercut: data stored through MAP_DIRECT with cache flushes only survives a
# power cut, with the file's size and extents unchanged, on XFS and ext4.
#
#   tests/powercut.sh               host: boot 1 stores the data and QEMU is
#                                   killed (no msync, no sync, no unmount);
#                                   boot 2 (MAPDIRECT_KEEP=1) checks it
#   tests/powercut.sh guest-write   in the guest: boot 1's part; prints
#                                   POWERCUT-CUT when the data is stored, for
#                                   vm/run.sh's MAPDIRECT_VM_KILL_ON
#   tests/powercut.sh check         host: boot 2 only, after a run that ended
#                                   with guest-write (make check does that,
#                                   so the power cut costs one boot, not two)
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/vm/out

guest_write() {
	rm -f /mnt/out/powercut.*.expect
	build/tests/powercut write "$MAPDIRECT_XFS" /mnt/out/powercut.xfs.expect >/tmp/x.log 2>&1 &
	build/tests/powercut write "$MAPDIRECT_EXT4" /mnt/out/powercut.ext4.expect >/tmp/e.log 2>&1 &
	for _ in $(seq 600); do
		grep -q READY /tmp/x.log && grep -q READY /tmp/e.log && break
		sleep 0.1
	done
	cat /tmp/x.log /tmp/e.log >/mnt/out/powercut.write.log
	echo POWERCUT-CUT
	sleep 60
}

check() {
	if ! [ -s $out/powercut.xfs.expect ] || ! [ -s $out/powercut.ext4.expect ]; then
		echo "powercut: boot 1 did not record the files' layout:"
		cat $out/powercut.write.log 2>/dev/null
		return 1
	fi
	# Its own console log: the main run's stays for kernel-log-clean.
	# shellcheck disable=SC2016 # expanded by the guest's shell
	MAPDIRECT_VM_LOG=$PWD/build/vm/console-powercut.log \
	MAPDIRECT_VM_QUIET=1 MAPDIRECT_KEEP=1 vm/run.sh '
		build/tests/powercut check $MAPDIRECT_XFS /mnt/out/powercut.xfs.expect &&
		build/tests/powercut check $MAPDIRECT_EXT4 /mnt/out/powercut.ext4.expect'
}

case "${1:-}" in
guest-write)
	guest_write ;;
check)
	check ;;
'')
	rm -f $out/powercut.*.expect
	MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_KILL_ON=POWERCUT-CUT \
		vm/run.sh 'tests/powercut.sh guest-write' || exit 1
	check ;;
*)
	echo "usage: tests/powercut.sh [guest-write|check]" >&2
	exit 2 ;;
esac
