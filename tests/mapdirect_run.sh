#!/usr/bin/env bash
# mapdirect_run: `mapdirect run` lets an unmodified RDMA program use a file
# on fs-DAX as its buffer (tests/rdma_file_app.c maps it MAP_SHARED and
# registers it; it knows nothing of MAP_DIRECT):
#   - alone, its registration fails (EOPNOTSUPP), as on stock Linux;
#   - under `mapdirect run -v`, it works: the RDMA WRITE lands in the file,
#     and stderr names the mapping that became MAP_DIRECT;
#   - while it runs, `mapdirect ls -J` lists its pid and command as a
#     mapping and an rdma holder;
#   - a truncate is reported on its stderr (file and deadline), revokes it
#     after lease-break-time (2 s), and nothing is left once it exits.
set -u
cd "${MAPDIRECT_REPO:?run this test in the mapdirect VM (make check)}" || exit 1
app=build/tests/rdma_file_app
tool=build/bin/mapdirect
file=${MAPDIRECT_XFS:?}/mapdirect-run.dat
err=/tmp/mapdirect-run.err
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
old_break=$(cat /proc/sys/fs/lease-break-time)
cleanup() {
	echo "$old_break" >/proc/sys/fs/lease-break-time
	[ -n "${apid:-}" ] && kill "$apid" 2>/dev/null
	rm -f "$file" "$err"
}
trap cleanup EXIT

# 1. Unmodified and alone: refused, as on stock Linux.
if "$app" "$file" 2>"$err"; then
	bad "the plain MAP_SHARED registration on fs-DAX worked without mapdirect run"
else
	grep -q "Couldn't register MR on the file: Operation not supported" "$err" ||
		bad "alone, it failed otherwise than EOPNOTSUPP: $(cat "$err")"
fi

# 2. Under mapdirect run: works, and -v names the upgraded mapping.
coproc APP { exec "$tool" run -v -- "$app" "$file" wait 2>"$err"; }
apid=$APP_PID ain=${APP[1]}
while read -r -t 60 line <&"${APP[0]}"; do
	echo "app: $line"
	[ "$line" = waiting ] && break
done
[ "${line:-}" = waiting ] || { bad "under mapdirect run it failed: $(cat "$err")"; exit 1; }
grep -q "MAP_DIRECT: $file " "$err" || bad "-v did not report the mapping: $(cat "$err")"

# 3. mapdirect ls sees the program: its mapping and its registration.
"$tool" ls -J "$file" >/tmp/mapdirect-run.json || bad "mapdirect ls -J exited $?"
python3 - "$file" "$apid" <<'PY' || bad "mapdirect ls -J does not show the program (above)"
import json, sys
path, pid = sys.argv[1], int(sys.argv[2])
ls = json.load(open('/tmp/mapdirect-run.json'))['leases']
assert len(ls) == 1 and ls[0]['path'] == path, ls
hs = {(h['kind'], h['pid'], h['command']) for h in ls[0]['holders']}
assert ('mapping', pid, 'rdma_file_app') in hs and ('rdma', pid, 'rdma_file_app') in hs, hs
print('ls -J:', hs)
PY

# 4. A break: reported on its stderr with the file; revoked after 2 s.
echo 2 >/proc/sys/fs/lease-break-time
timeout 20 truncate -s 0 "$file" || bad "the truncate did not finish within 20 s"
grep -q "the lease on $file is breaking: unmap it within [0-9]* s" "$err" ||
	bad "no break report on the program's stderr: $(cat "$err")"
exec {ain}>&-
wait "$apid"
apid=
[ -z "$("$tool" ls -n "$file")" ] || bad "leases left after the program exited"
cat "$err"
[ "$fails" = 0 ] || exit 1
echo "mapdirect run: an unmodified RDMA program used a DAX file; the break was reported"
