#!/usr/bin/env bash
# In the VM (make bench-profile): where MAP_DIRECT mmap+munmap and a 4 KiB
# overwrite under a lease spend their time.  perf samples the CPU clock (no
# PMU under TCG) with call graphs; prints the kernel functions with the most
# samples, self time, for each workload.
#   bench/profile.sh [DIR]     (default: the XFS mount)
set -euo pipefail
cd "${MAPDIRECT_REPO:?run this in the mapdirect VM (make bench-profile)}"
dir=${1:-$MAPDIRECT_XFS}
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
prof() { # title command...
	local title=$1
	shift
	echo "== $title: top kernel functions (self, % of samples)"
	perf record -q -g -e cpu-clock -F 5000 -o /tmp/perf.data -- "$@" >/dev/null 2>&1
	perf report -i /tmp/perf.data --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk 'NR <= 20'
	echo "-- the lease's own functions, with what they call (% of samples)"
	perf report -i /tmp/perf.data --stdio --children --sort symbol -g none 2>/dev/null |
		grep -E '^ +[0-9.]+%.*(mapdirect_|setlease|break_lease|breaks_layouts|overwrite_io)' |
		awk '{ for (i = 2; i < NF; i++) if ($i == "[k]") print "  " $1, $(i + 1) }' || true
}
prof "MAP_DIRECT mmap+munmap of 2 MiB, 100000 times" \
	build/bench/mapdirect_bench --mmap-loop "$dir" 100000
prof "plain mmap+munmap of 2 MiB, 100000 times" \
	build/bench/mapdirect_bench --mmap-loop-plain "$dir" 100000
prof "4 KiB overwrite with a MAP_DIRECT lease held, 200000 times" \
	build/bench/mapdirect_bench --overwrite-loop "$dir" 200000
