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
prof() { # tag title command...
	local data=/tmp/perf-$1.data title=$2
	shift 2
	echo "== $title: top kernel functions (self, % of samples)"
	perf record -q -g -e cpu-clock -F 5000 -o "$data" -- "$@" >/dev/null 2>&1
	perf report -i "$data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | awk 'NR <= 20'
	echo "-- the lease's own functions, with what they call (% of samples)"
	perf report -i "$data" --stdio --children --sort symbol -g none 2>/dev/null |
		grep -E '^ +[0-9.]+%.*(mapdirect_|setlease|break_lease|breaks_layouts|overwrite_io)' |
		awk '{ for (i = 2; i < NF; i++) if ($i == "[k]") print "  " $1, $(i + 1) }' || true
}
# Samples per symbol (self), for two runs of the same work: the functions
# that take more of the second's time, whoever calls them (the call-graph
# view above misses what the unwinder cannot attribute).
samples() { # perf.data
	perf report -i "$1" --stdio --no-children --sort symbol -n 2>/dev/null |
		awk '/^ +[0-9.]+%/ { for (i = 3; i < NF; i++) if ($i == "[k]" || $i == "[.]") { print $(i + 1), $2; break } }'
}
prof direct "MAP_DIRECT mmap+munmap of 2 MiB, 300000 times" \
	build/bench/mapdirect_bench --mmap-loop "$dir" 300000
prof plain "plain mmap+munmap of 2 MiB, 300000 times" \
	build/bench/mapdirect_bench --mmap-loop-plain "$dir" 300000
echo "== MAP_DIRECT minus plain mmap+munmap: extra samples per function (self)"
samples /tmp/perf-plain.data >/tmp/samples-plain
samples /tmp/perf-direct.data >/tmp/samples-direct
awk 'NR == FNR { plain[$1] = $2; next } { d[$1] = $2 - plain[$1]; tot += $2 }
     END { for (f in plain) { if (!(f in d)) d[f] = -plain[f]; ptot += plain[f] }
	   printf "  total %d samples, plain %d: %+d (%.2fx)\n", tot, ptot, tot - ptot, tot / ptot
	   for (f in d) if (d[f] > 0) printf "  %6d %s\n", d[f], f }' \
	/tmp/samples-plain /tmp/samples-direct | { IFS= read -r head; echo "$head"; sort -rn | head -25; }
prof overwrite "4 KiB overwrite with a MAP_DIRECT lease held, 200000 times" \
	build/bench/mapdirect_bench --overwrite-loop "$dir" 200000
