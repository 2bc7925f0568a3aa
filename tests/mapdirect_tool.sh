#!/usr/bin/env bash
# mapdirect_tool: `mapdirect ls` shows who holds a file's block map.  A
# process maps a file on XFS with libmapdirect and registers it with rxe0
# (tests/libmapdirect.c hold); then:
#   - `mapdirect ls -J` (parsed as JSON) lists the file with that process as
#     a "mapping" holder of bytes 0..2 MiB and as an "rdma" holder on
#     rxe0 of 2 MiB;
#   - the table, -p PID, -o COLUMNS, PATH filters; bad usage exits 2;
#   - `rdma -dd res show mr` marks the holder's MR as leased, with the
#     file's device and inode (rxe's driver attributes drv_lease...);
#   - a truncate past lease-break-time (2 s) leaves the lease "revoked"
#     while the holder still maps it (and the MR "revoked" in rdma res);
#     once it exits, nothing is listed;
#   - a mount point as PATH selects every lease of that file system;
#     `mapdirect wait -t` times out (exit 1) while the file is held;
#   - `mapdirect kill -w 10 FILE` sends SIGTERM to a second holder, says
#     so, and returns 0 once nothing holds the file; bad signals, missing
#     PATHs and files nobody holds are reported.
set -u
cd "${MAPDIRECT_REPO:?run this test in the mapdirect VM (make check)}" || exit 1
tool=build/bin/mapdirect
file=${MAPDIRECT_XFS:?}/mapdirect-tool.dat
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
old_break=$(cat /proc/sys/fs/lease-break-time)
cleanup() {
	echo "$old_break" >/proc/sys/fs/lease-break-time
	[ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null
	rm -f "$file"
}
trap cleanup EXIT

coproc HOLDER { exec build/tests/libmapdirect hold "$file"; }
hpid=$HOLDER_PID hin=${HOLDER[1]}
read -r -t 30 word <&"${HOLDER[0]}"
[ "${word:-}" = held ] || { echo "FAIL: the holder did not start" >&2; exit 1; }

# JSON, checked by a JSON parser.
"$tool" ls -J >/tmp/mapdirect-ls.json || bad "mapdirect ls -J exited $?"
python3 - "$file" "$hpid" <<'PY' || bad "mapdirect ls -J does not show the holder (above)"
import json, sys
path, pid = sys.argv[1], int(sys.argv[2])
doc = json.load(open('/tmp/mapdirect-ls.json'))
mine = [l for l in doc['leases'] if l['path'] == path]
assert len(mine) == 1, f'{len(mine)} leases listed for {path}: {doc}'
l = mine[0]
assert l['state'] == 'active' and l['left_ms'] is None, l
kinds = {(h['kind'], h['pid']) for h in l['holders']}
assert ('mapping', pid) in kinds, f'no mapping holder with pid {pid}: {l}'
m = [h for h in l['holders'] if h['kind'] == 'mapping'][0]
assert m['start'] == 0 and m['end'] == 2 << 20, f'mapping range: {m}'
rdma = [h for h in l['holders'] if h['kind'] == 'rdma']
assert len(rdma) == 1 and rdma[0]['pid'] == pid and rdma[0]['device'] == 'rxe0' \
    and rdma[0]['bytes'] == 2 << 20 and rdma[0]['command'] == 'libmapdirect', rdma
print('ls -J:', l)
PY

# rdma res show mr: the MR of the holder says which file's lease it holds.
# (Text output: iproute2 6.1 aborts on -j with driver details.)
ino=$(stat -c %i "$file") dev=$(stat -c %Hd:%Ld "$file")
mr_lease() { rdma -dd res show mr | grep " pid $hpid " | grep -o "drv_lease.*"; }
want="drv_lease active drv_lease_dev $dev drv_lease_ino $ino"
[ "$(mr_lease | sed 's/ *$//')" = "$want" ] ||
	bad "rdma -dd res show mr: '$(mr_lease)', expected '$want'"

# The table and its filters.
table=$("$tool" ls "$file")
echo "$table"
[ "$(echo "$table" | head -n 1 | awk '{print $1, $2, $3}')" = "PID COMMAND HOLDER" ] ||
	bad "no header line"
[ "$(echo "$table" | grep -c " $file\$")" = 2 ] || bad "expected 2 rows (mapping, rdma) for $file"
[ "$("$tool" ls -n -p "$hpid" -o HOLDER,DEVICE,START,END "$file" | tr -s ' ' | sort | tr '\n' ';')" = \
  "mapping - 0 2097152;rdma rxe0 - -;" ] ||
	bad "ls -n -p PID -o HOLDER,DEVICE,START,END: $("$tool" ls -n -p "$hpid" -o HOLDER,DEVICE,START,END "$file")"
[ -z "$("$tool" ls -n -p 1 "$file")" ] || bad "-p 1 lists another process's lease"
"$tool" ls -o NOPE >/dev/null 2>&1; [ $? = 2 ] || bad "an unknown column must exit 2"
"$tool" frobnicate >/dev/null 2>&1; [ $? = 2 ] || bad "an unknown command must exit 2"
"$tool" --help | grep -q "^usage: mapdirect" || bad "--help"
"$tool" ls /nonexistent >/dev/null 2>&1; [ $? = 1 ] || bad "a missing PATH must exit 1"
[ "$("$tool" ls -n -o PID "$MAPDIRECT_XFS" | sort -u | tr -d ' ')" = "$hpid" ] ||
	bad "ls of the mount point $MAPDIRECT_XFS: '$("$tool" ls -n "$MAPDIRECT_XFS")'"
[ -z "$("$tool" ls -n "$MAPDIRECT_EXT4")" ] || bad "ls of $MAPDIRECT_EXT4 lists XFS's lease"
msg=$("$tool" wait -t 0.3 "$file" 2>&1); rc=$?
if [ $rc != 1 ] || [[ $msg != *"1 lease(s) still held after 0.3 s"* ]]; then
	bad "wait -t 0.3 on a held file: exit $rc, '$msg'"
fi

# A truncate past lease-break-time: the lease is revoked while still mapped.
echo 2 >/proc/sys/fs/lease-break-time
timeout 20 truncate -s 0 "$file" || bad "the truncate did not finish within 20 s"
state=$("$tool" ls -n -o STATE "$file" | sort -u)
[ "$state" = revoked ] || bad "after lease-break-time the state is '$state', expected revoked"
mr_lease | grep -q "^drv_lease revoked " || bad "rdma res show mr after the revocation: '$(mr_lease)'"
exec {hin}>&-	# the holder unmaps and exits at EOF
wait "$hpid"
hpid=
left=$("$tool" ls -n "$file")
[ -z "$left" ] || bad "leases left after the holder exited: $left"
"$tool" wait -t 0 "$file" || bad "wait on a file nobody holds must exit 0"

# Free a held file: kill its holders and wait for them.
coproc HOLDER { exec build/tests/libmapdirect hold "$file"; }
hpid=$HOLDER_PID
read -r -t 30 word <&"${HOLDER[0]}"
[ "${word:-}" = held ] || bad "the second holder did not start"
msg=$("$tool" kill -w 10 "$file" 2>&1); rc=$?
echo "$msg"
[ $rc = 0 ] || bad "kill -w 10 exited $rc"
[[ $msg == "sent Terminated to $hpid (libmapdirect), holding $file" ]] ||
	bad "kill said '$msg'"
wait "$hpid"; rc=$?
hpid=
[ $rc = 143 ] || bad "the holder exited $rc, not by SIGTERM (143)"
[ -z "$("$tool" ls -n "$file")" ] || bad "leases left after kill -w"
[ "$("$tool" kill "$file")" = "no process holds a lease on $file" ] ||
	bad "kill of a file nobody holds: '$("$tool" kill "$file")'"
"$tool" kill -s BOGUS "$file" >/dev/null 2>&1; [ $? = 2 ] || bad "a bad signal must exit 2"
"$tool" kill >/dev/null 2>&1; [ $? = 2 ] || bad "kill without PATH must exit 2"
"$tool" wait -t x "$file" >/dev/null 2>&1; [ $? = 2 ] || bad "wait -t x must exit 2"
"$tool" kill /nonexistent >/dev/null 2>&1; [ $? = 1 ] || bad "kill of a missing PATH must exit 1"
[ "$fails" = 0 ] || exit 1
echo "mapdirect ls, kill, wait: JSON, table, filters, states and freeing as expected"
