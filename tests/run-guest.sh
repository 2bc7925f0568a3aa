#!/usr/bin/env bash
# Run the tests of tests/list inside the VM.  Prints one line per test:
#   PASS name (seconds)   or   FAIL name (seconds) + the end of its output
# and for a TAP program (kselftest_harness.h) one line per TAP result:
#   PASS program.variant.test   or   FAIL ... + that test's own output
# Full output of each test: /mnt/out/tests/NAME.log in the guest, which is
# build/vm/out/tests/NAME.log on the host.
# usage: tests/run-guest.sh [NAME-PATTERN...]   (shell globs, !GLOB excludes;
#        default: all)
set -u
cd "$(dirname "$0")/.." || exit 1
logdir=${MAPDIRECT_OUT:-/tmp}/tests
rm -rf "$logdir"
mkdir -p "$logdir"
per_test_timeout=${MAPDIRECT_TEST_TIMEOUT:-600}

# shellcheck source=lib/select.sh
. tests/lib/select.sh

# shellcheck disable=SC2094 # only reads $log, awk too
report_tap() { # prefix log rc secs
	local prefix=$1 log=$2 rc=$3 secs=$4 n=0 line status t
	while IFS= read -r line; do
		case "$line" in
		'ok '*|'not ok '*) ;;
		*) continue ;;
		esac
		status=PASS
		[ "${line#not ok}" != "$line" ] && status=FAIL
		t=$(printf '%s\n' "$line" | sed -E 's/^(not )?ok [0-9]+ //; s/ # .*//')
		case "$line" in *'# SKIP'*) status=FAIL; t="$t (skipped: must run here)" ;; esac
		# A program's tests are named after it (reg_mr_direct.xfs.rw);
		# the kernel's selftests get their program's name in front.
		case "$t" in
		"$prefix".*) printf '%s %s\n' "$status" "$t" ;;
		*) printf '%s %s/%s\n' "$status" "$prefix" "$t" ;;
		esac
		# The failing test's own diagnostics: from its "RUN" line on.
		[ $status = FAIL ] && awk -v t="$t" 'index($0, "RUN") && index($0, t) {on = 1}
			on {print "     | " $0} on && /^(not )?ok / {exit}' "$log" | tail -n 12
		n=$((n + 1))
	done <"$log"
	if [ $n -eq 0 ] || ! grep -q '^# Totals:' "$log"; then
		printf 'FAIL %s (exit %d after %s s; no complete TAP report)\n' "$prefix" "$rc" "$secs"
		tail -n 15 "$log" | sed 's/^/     | /'
	fi
}

while read -r name cmd; do
	case "$name" in ''|'#'*) continue ;; esac
	selected "$name" "$@" || continue
	# Tests named iommu* need the iommu VM profile (tests/check.sh boots
	# it for them); the others run in the test VM.
	case "$name" in
	iommu*) [ "${MAPDIRECT_VM_PROFILE:-}" = iommu ] || continue ;;
	*) [ "${MAPDIRECT_VM_PROFILE:-}" = iommu ] && continue ;;
	esac
	start=$(date +%s.%N)
	timeout -k 5 "$per_test_timeout" bash -c "$cmd" >"$logdir/$name.log" 2>&1 </dev/null
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
	if [ "$(head -n 1 "$logdir/$name.log")" = "TAP version 13" ]; then
		# A kselftest_harness.h program: one line per TAP result; a
		# crash or a missing plan is a failure too.
		report_tap "${name#tap:}" "$logdir/$name.log" "$rc" "$secs"
		continue
	fi
	if [ $rc -eq 0 ]; then
		printf 'PASS %-28s (%s s)\n' "$name" "$secs"
	else
		[ $rc -eq 124 ] && echo "timed out after ${per_test_timeout} s" >>"$logdir/$name.log"
		printf 'FAIL %-28s (%s s, exit %d)\n' "$name" "$secs" "$rc"
		tail -n 15 "$logdir/$name.log" | sed 's/^/     | /'
	fi
done <tests/list
