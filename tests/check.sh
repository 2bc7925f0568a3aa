#!/usr/bin/env bash
# make check: boot the VM once, run the tests of tests/list in it, then judge
# the kernel log too.  Ends with the one line "N passed, N failed".
# usage: tests/check.sh [NAME-GLOB|!NAME-GLOB...] (see tests/lib/select.sh)
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
out=$REPO/build/check.log
mkdir -p "$REPO/build"

# shellcheck source=lib/select.sh
. "$REPO/tests/lib/select.sh"

# The power cut needs two boots: its first half (store, then QEMU killed with
# no sync) ends the main run, so it costs only the one extra boot.
# The guest's shell parses the command again: quote every pattern.
cmd="tests/run-guest.sh$(printf ' %q' "$@")"
powercut=
if selected powercut "$@"; then
	powercut=1
	rm -f "$REPO"/build/vm/out/powercut.*
	cmd+="; tests/powercut.sh guest-write"
fi

: >"$out"
# The harness's own tests first (tests/harness.sh, on the host: Ctrl-C,
# parent death and set-up failures stop VMs as they must); each boots a
# small VM of its own in build/vm-harness.
if selected harness "$@"; then
	echo "==> testing the harness (three short VM boots)"
	"$REPO/tests/harness.sh" | tee -a "$out"
fi

# A full run splits in two VMs side by side: the kernel selftests in
# build/vm2 (one vCPU), everything else in build/vm (two: Soft-RoCE works
# in kernel threads beside the test).  The tests are single-threaded and
# often wait, so two VMs use the two cores better than one.
split=
[ $# -eq 0 ] && [ "$(nproc)" -ge 2 ] && split=1
start=$(date +%s)
# Ctrl-C or SIGTERM stops both VMs (the background one ignores SIGINT, as
# background jobs of scripts do, so it gets SIGTERM from us).
selftests=
stop() {
	trap - INT TERM HUP
	[ -n "$selftests" ] && kill -TERM "$selftests" 2>/dev/null && wait "$selftests"
	echo "check: interrupted" >&2
	exit 130
}
trap stop INT TERM HUP
if [ -n "$split" ]; then
	echo "==> booting two VMs: kernel selftests, and the other tests (one line per test)"
	MAPDIRECT_VM_DIR=$REPO/build/vm2 MAPDIRECT_VM_SMP=1 MAPDIRECT_VM_QUIET=1 \
		"$REPO/vm/run.sh" "tests/run-guest.sh 'tap:*'" >"$REPO/build/check-selftests.log" 2>&1 &
	selftests=$!
	cmd="tests/run-guest.sh '!tap:*'"
	[ -n "$powercut" ] && cmd+="; tests/powercut.sh guest-write"
else
	echo "==> booting the VM and running the tests (one line per test)"
fi
[ -n "$powercut" ] && export MAPDIRECT_VM_KILL_ON=POWERCUT-CUT
"$REPO/vm/run.sh" "$cmd" 2>&1 | grep --line-buffered -v -e '^POWERCUT-CUT$' \
	-e "^vm: power cut: QEMU killed" | tee -a "$out"
vmrc=${PIPESTATUS[0]}
unset MAPDIRECT_VM_KILL_ON
# Which VM's console log to read when the kernel's verdict is bad.
logs=
vmlog=${MAPDIRECT_VM_DIR:-$REPO/build/vm}/console.log
[ "$vmrc" -eq 0 ] || logs=${vmlog#"$REPO"/}
if [ -n "$split" ]; then
	wait "$selftests"
	rc=$?
	[ "$rc" -eq 0 ] || logs="${logs:+$logs, }build/vm2/console.log (kernel selftests)"
	[ "$vmrc" -eq 0 ] && vmrc=$rc
	grep -v '^vm: exit status' "$REPO/build/check-selftests.log" | tee -a "$out"
fi
# The IOMMU tests (tests/list names iommu*): a VM of their own (q35,
# emulated Intel IOMMU, edu).
iommu=
while read -r name _; do
	case "$name" in iommu*) selected "$name" "$@" && iommu=1 ;; esac
done <"$REPO/tests/list"
if [ -n "$iommu" ]; then
	echo "==> booting the iommu VM: DMA through an emulated Intel IOMMU"
	t0=$(date +%s)
	MAPDIRECT_VM_DIR=$REPO/build/vm-iommu MAPDIRECT_VM_PROFILE=iommu \
		"$REPO/vm/run.sh" "MAPDIRECT_VM_PROFILE=iommu tests/run-guest.sh$([ $# -eq 0 ] || printf ' %q' "$@")" 2>&1 |
		tee -a "$out"
	rc=${PIPESTATUS[0]}
	echo "vm: iommu VM done in $(($(date +%s) - t0)) s"
	[ "$rc" -eq 0 ] || logs="${logs:+$logs, }build/vm-iommu/console.log (iommu VM)"
	[ "$vmrc" -eq 0 ] && vmrc=$rc
fi
trap - INT TERM HUP
[ -n "$powercut" ] && echo "vm: tests done and power cut ($(($(date +%s) - start)) s; console logs: build/vm/console.log${split:+, build/vm2/console.log})"

# Power cut, second half: reboot on the same NVDIMMs and check the data.
if [ -n "$powercut" ]; then
	start=$(date +%s)
	if "$REPO/tests/powercut.sh" check >"$REPO/build/vm/out/powercut.log" 2>&1; then
		echo "PASS powercut (reboot and check: $(($(date +%s) - start)) s)" | tee -a "$out"
	else
		echo "FAIL powercut ($(($(date +%s) - start)) s)" | tee -a "$out"
		tail -n 15 "$REPO/build/vm/out/powercut.log" | sed 's/^/     | /' | tee -a "$out"
	fi
fi

passed=$(grep -c '^PASS ' "$out")
failed=$(grep -c '^FAIL ' "$out")
# The kernel's own verdict is a test too: no oops, WARN, lockdep report,
# hung task or timeout during the whole run (vm/run.sh decides).
if [ "$vmrc" -eq 0 ]; then
	echo "PASS kernel-log-clean"
	passed=$((passed + 1))
else
	echo "FAIL kernel-log-clean (vm/run.sh exit $vmrc; console log: $logs)"
	failed=$((failed + 1))
fi
[ $((passed + failed)) -gt 1 ] || { echo "no test ran"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
