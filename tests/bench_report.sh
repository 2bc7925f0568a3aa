#!/usr/bin/env bash
# bench_report: bench/report.py turns @result lines into results.json,
# goals, charts and a report.  From a synthetic run with known samples:
#   - results.json has one object per figure with the median as value,
#     min, max, samples, baseline and ratio = value / baseline, and for
#     rounds measured in turn with the baseline's ("paired") the median of
#     the per-round ratios;
#   - goals are judged right (met and missed ones, paired/ratio/value/delta);
#   - the charts are PNG files and report.md links them and counts goals;
#   - instruction counts (bench/insns.sh) are tabled and quoted under the
#     timed goal they explain;
#   - no @result lines, or a goal naming a missing figure, fail (exit 1).
set -u
cd "${MAPDIRECT_REPO:?run this test in the mapdirect VM (make check)}" || exit 1
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/raw.txt" <<'RAW'
/mnt/xfs (xfs):
  human-readable lines are ignored
@result {"name": "xfs/mmap_munmap_2MiB", "unit": "us", "samples": [30, 10, 20], "baseline": {"name": "plain MAP_SHARED", "samples": [10, 12, 8]}, "paired": true}
@result {"name": "xfs/break_cooperative", "unit": "ms", "samples": [4, 6, 5]}
@result {"name": "xfs/break_holders", "unit": "ms", "x": 1, "samples": [1, 2, 3]}
@result {"name": "xfs/break_holders", "unit": "ms", "x": 4, "samples": [4, 5, 6]}
@result {"name": "rdma/revoke", "unit": "ms", "x": 1024, "samples": [150], "baseline": {"name": "plain truncate", "samples": [30]}}
@result {"name": "rdma/register", "unit": "s", "x": 64, "samples": [1], "baseline": {"name": "device-dax", "samples": [1]}}
@result {"name": "xfs/mmap_munmap_2MiB_insns", "unit": "instructions", "samples": [1300, 1200, 1250], "baseline": {"name": "plain MAP_SHARED", "samples": [1000, 1000, 1000]}, "paired": true}
RAW
cat >"$dir/goals" <<'GOALS'
# test goals
xfs/mmap_munmap_2MiB   paired <=  1.3  mmap ratio (missed: 2.5)
rdma/register@64       ratio  <=  1.1  registration (met: 1)
xfs/break_cooperative  value  <   6    break latency (met: 5)
rdma/revoke@1024       delta  <=  100  revocation (missed: 120)
GOALS
out=$(MAPDIRECT_BENCH_GOALS=$dir/goals bench/report.py "$dir/raw.txt" "$dir/out" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || bad "report.py exited $rc"
python3 - "$dir/out/results.json" <<'PY' || bad "results.json is not what the samples say (above)"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r) == 7, len(r)
m = r[0]
assert m['name'] == 'xfs/mmap_munmap_2MiB' and m['unit'] == 'us', m
assert (m['value'], m['min'], m['max']) == (20, 10, 30), m
assert m['samples'] == [30, 10, 20] and m['baseline'] == 10, m
assert m['baseline_name'] == 'plain MAP_SHARED' and m['ratio'] == 2.0, m
assert m['ratio_paired'] == 2.5, m      # median of 30/10, 10/12, 20/8
assert 'ratio_paired' not in r[4], r[4]  # no "paired": medians only
assert 'baseline' not in r[1] and r[1]['value'] == 5, r[1]
assert [x.get('x') for x in r[2:4]] == [1, 4], r[2:4]
PY
[[ $out == *"MISS  mmap ratio (missed: 2.5): paired 2.5 (wanted <= 1.3)"* ]] || bad "the mmap goal"
[[ $out == *"met   registration (met: 1): ratio 1 (wanted <= 1.1)"* ]] || bad "the ratio goal"
[[ $out == *"met   break latency (met: 5): value 5 (wanted < 6)"* ]] || bad "the break goal"
[[ $out == *"MISS  revocation (missed: 120): delta 120 (wanted <= 100)"* ]] || bad "the delta goal"
[[ $out == *"2 of 4 goals met"* ]] || bad "the goal count"
for png in break_holders register revoke ratios; do
	[ "$(head -c 4 "$dir/out/$png.png" | tail -c 3)" = PNG ] || bad "$png.png is not a PNG"
	grep -q "($png.png)" "$dir/out/report.md" || bad "report.md does not link $png.png"
done
grep -q "^2 of 4 goals met" "$dir/out/report.md" || bad "report.md does not count the goals"
# A missed timed goal quotes the instructions counted behind it.
grep -q "mmap ratio (missed: 2.5): .*Counted in this run (bench/insns.sh, exact): 1250 instructions per operation against 1000 (plain MAP_SHARED), 1.25x" \
	"$dir/out/report.md" || bad "report.md does not quote the instruction count under the missed mmap goal"
grep -qF "| xfs/mmap_munmap_2MiB_insns | 1250 | 1000 (plain MAP_SHARED) | 1.250 |" \
	"$dir/out/report.md" || bad "report.md has no instruction table row"
# Errors: nothing to report; a goal naming a figure that is not there.
echo "no results here" >"$dir/empty.txt"
msg=$(bench/report.py "$dir/empty.txt" "$dir/out2" 2>&1); rc=$?
if [ $rc != 1 ] || [[ $msg != *"no @result lines"* ]]; then
	bad "empty run: exit $rc, '$msg'"
fi
echo "xfs/nonexistent ratio <= 1 a figure nobody measured" >>"$dir/goals"
msg=$(MAPDIRECT_BENCH_GOALS=$dir/goals bench/report.py "$dir/raw.txt" "$dir/out3" 2>&1); rc=$?
if [ $rc != 1 ] || [[ $msg != *"names figures this run did not produce"* ]]; then
	bad "missing figure: exit $rc, '$msg'"
fi
[ "$fails" = 0 ] || exit 1
echo "bench/report.py: results.json, goals, charts and report as expected"
