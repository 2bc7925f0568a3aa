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
#
# MAPDIRECT_VM_DIR (vm/run.sh's) is honoured: both boots use that VM.
set -u
vmdir=$(realpath -m "${MAPDIRECT_VM_DIR:-$(dirname "$0")/../build/vm}")
export MAPDIRECT_VM_DIR=$vmdir
cd "$(dirname "$0")/.." || exit 1
out=$vmdir/out

guest_write() {
	rm -f /mnt/out/powercut.*.expect
	# The files are never synced: only the power cut may decide what
	# their metadata becomes, so nothing commits the logs before it but
	# what MAP_DIRECT itself makes durable.  XFS's log worker forces the
	# log every xfssyncd_centisecs (30 s; a new mount queues it with the
	# new period), jbd2 commits every 5 s (commit=600 from the remount on).
	if ! { echo 720000 >/proc/sys/fs/xfs/xfssyncd_centisecs &&
		umount "$MAPDIRECT_XFS" &&
		mount -o dax=always "$MAPDIRECT_XFS_DEV" "$MAPDIRECT_XFS" &&
		mount -o remount,commit=600 "$MAPDIRECT_EXT4"; }; then
		echo "powercut: cannot keep the logs from committing before the cut" |
			tee /mnt/out/powercut.write.log
		return 1
	fi
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
	if ! [ -s "$out"/powercut.xfs.expect ] || ! [ -s "$out"/powercut.ext4.expect ]; then
		echo "powercut: boot 1 did not record the files' layout:"
		cat "$out"/powercut.write.log 2>/dev/null
		return 1
	fi
	# Its own console log: the main run's stays for kernel-log-clean.
	# shellcheck disable=SC2016 # expanded by the guest's shell
	MAPDIRECT_VM_LOG=$vmdir/console-powercut.log \
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
	rm -f "$out"/powercut.*.expect
	MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_KILL_ON=POWERCUT-CUT \
		vm/run.sh 'tests/powercut.sh guest-write' || exit 1
	check ;;
*)
	echo "usage: tests/powercut.sh [guest-write|check]" >&2
	exit 2 ;;
esac
