#!/usr/bin/env bash
# make check: boot the VM once, run the tests of tests/list in it, then judge
# the kernel log too.  Ends with the one line "N passed, N failed".
# usage: tests/check.sh [NAME-PATTERN...]
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
out=$REPO/build/check.log
mkdir -p "$REPO/build"

echo "==> booting the VM and running the tests (one line per test)"
"$REPO/vm/run.sh" "tests/run-guest.sh $*" 2>&1 | tee "$out"
vmrc=${PIPESTATUS[0]}

# Host-side tests: each boots the VM itself (power cuts need two boots).
for t in powercut; do
	sel=$([ $# -eq 0 ] && echo 1)
	for pat in "$@"; do [[ $t == $pat ]] && sel=1; done
	[ -n "$sel" ] || continue
	start=$(date +%s)
	if "$REPO/tests/$t.sh" >"$REPO/build/vm/out/$t.log" 2>&1; then
		echo "PASS $t ($(($(date +%s) - start)) s)" | tee -a "$out"
	else
		echo "FAIL $t ($(($(date +%s) - start)) s)" | tee -a "$out"
		tail -n 15 "$REPO/build/vm/out/$t.log" | sed 's/^/     | /' | tee -a "$out"
	fi
done

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
