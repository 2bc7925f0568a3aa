#!/usr/bin/env bash
# harness: the test harness itself, on the host (make check runs it first).
#   harness.setup_failure  a guest set-up failure fails the run with its
#                          reason, and the command never runs
#   harness.interrupt      Ctrl-C (SIGINT to the process group) stops the VM:
#                          no QEMU left, the lock is free, exit status 130
#   harness.parent_death   SIGKILL of vm/run.sh takes QEMU with it
# Each boots a VM of its own in build/vm-harness (about 15 s each under TCG).
# Prints one PASS/FAIL line per test, like tests/run-guest.sh.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
export MAPDIRECT_VM_DIR=$REPO/build/vm-harness MAPDIRECT_VM_QUIET=1 MAPDIRECT_VM_SMP=1
out=$MAPDIRECT_VM_DIR/harness.out
mkdir -p "$MAPDIRECT_VM_DIR"

qemus() { pgrep -f "qemu-system.*$MAPDIRECT_VM_DIR/nvdimm0.img"; }
result() { # name start-seconds failure-reason-or-empty
	local secs=$(($(date +%s) - $2))
	if [ -z "$3" ]; then
		printf 'PASS %-28s (%s s)\n' "$1" "$secs"
	else
		printf 'FAIL %-28s (%s s)\n     | %s\n' "$1" "$secs" "$3"
		sed 's/^/     | /' "$out" | tail -n 8
	fi
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds; fails after SECONDS.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.5
	done
}
ready() { grep -q HARNESS-READY "$out"; }
gone() { ! qemus >/dev/null; }
# QEMU's exit drops its memory (pgrep stops seeing it) before its files.
lock_free() { flock -n "$MAPDIRECT_VM_DIR/lock" true; }
[ -n "$(qemus)" ] && { echo "FAIL harness: a VM of build/vm-harness is already running"; exit 1; }

# 1. A set-up failure ends the run with its reason; the command never runs.
t=$(date +%s) why=
MAPDIRECT_VM_APPEND=mapdirect.test_setup_fail "$REPO/vm/run.sh" 'echo COMMAND-RAN' >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then why="vm/run.sh exited 0 after a set-up failure"
elif grep -q COMMAND-RAN "$out"; then why="the command ran in a VM whose set-up failed"
elif ! grep -q "set-up failed: injected" "$out"; then why="the run did not say which set-up step failed"
fi
result harness.setup_failure "$t" "$why"

# Each VM below runs as it would in the foreground of a terminal: in a
# process group of its own, with SIGINT not ignored (bash ignores it in
# background jobs of scripts, and set -m does not help without a terminal).
# Not a function: $! must be run.sh itself, the leader of that group.
fg=(setsid env --default-signal=INT)

# 2. Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
t=$(date +%s) why=
"${fg[@]}" "$REPO/vm/run.sh" 'echo HARNESS-READY; sleep 600' >"$out" 2>&1 &
pid=$!
if ! wait_for 120 ready; then why="the guest did not start within 120 s"
else
	kill -INT -- "-$pid"
	wait "$pid"
	rc=$?
	if ! wait_for 10 gone; then why="QEMU still runs 10 s after Ctrl-C"
	elif [ $rc -ne 130 ]; then why="vm/run.sh exited $rc after Ctrl-C, expected 130"
	elif ! wait_for 10 lock_free; then why="the VM lock is still held 10 s after Ctrl-C"
	fi
fi
kill -KILL -- "-$pid" 2>/dev/null
result harness.interrupt "$t" "$why"

# 3. The parent dies outright: QEMU must not outlive it.
t=$(date +%s) why=
"${fg[@]}" "$REPO/vm/run.sh" 'echo HARNESS-READY; sleep 600' >"$out" 2>&1 &
pid=$!
if ! wait_for 120 ready; then why="the guest did not start within 120 s"
else
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	if ! wait_for 10 gone; then why="QEMU still runs 10 s after vm/run.sh was killed"
	elif ! wait_for 10 lock_free; then why="the VM lock is still held 10 s after vm/run.sh was killed"
	fi
fi
kill -KILL -- "-$pid" 2>/dev/null
pkill -KILL -f "qemu-system.*$MAPDIRECT_VM_DIR/nvdimm0.img" 2>/dev/null
result harness.parent_death "$t" "$why"
