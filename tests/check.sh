#!/usr/bin/env bash
# make check: boot the VM once, run the tests of tests/list in it, then judge
# the kernel log too.  Ends with the one line "N passed, N failed".
# usage: tests/check.sh [NAME-PATTERN...]
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
out=$REPO/build/check.log
mkdir -p "$REPO/build"

selected() { # name patterns...
	local t=$1 pat
	shift
	[ $# -eq 0 ] && return 0
	for pat in "$@"; do [[ $t == "$pat" ]] && return 0; done
	return 1
}

# The power cut needs two boots: its first half (store, then QEMU killed with
# no sync) ends the main run, so it costs only the one extra boot.
cmd="tests/run-guest.sh $*"
powercut=
if selected powercut "$@"; then
	powercut=1
	rm -f "$REPO"/build/vm/out/powercut.*
	cmd+="; tests/powercut.sh guest-write"
	export MAPDIRECT_VM_KILL_ON=POWERCUT-CUT
fi

echo "==> booting the VM and running the tests (one line per test)"
start=$(date +%s)
"$REPO/vm/run.sh" "$cmd" 2>&1 | grep --line-buffered -v -e '^POWERCUT-CUT$' \
	-e "^vm: power cut: QEMU killed" | tee "$out"
vmrc=${PIPESTATUS[0]}
unset MAPDIRECT_VM_KILL_ON
[ -n "$powercut" ] && echo "vm: tests done and power cut ($(($(date +%s) - start)) s; console log: build/vm/console.log)"

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
	echo "FAIL kernel-log-clean (vm/run.sh exit $vmrc; console log: build/vm/console.log)"
	failed=$((failed + 1))
fi
[ $((passed + failed)) -gt 1 ] || { echo "no test ran"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
