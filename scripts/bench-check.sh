#!/usr/bin/env bash
# bench-check.sh: judge the figures make bench left in build/bench/<MEM>.txt
# against tests/bench-targets: every case's median at or below its target at
# every MEM, and an alloc+free pair costing the same at every MEM.  Exits 1
# naming each miss (or a missing figure), 0 when all are met.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
mems=${BENCH_MEMS:-128M 4T}
fail=0
for mem in $mems; do
    f=build/bench/$mem.txt
    [[ -s $f ]] || { echo "bench-check: no figures for MEM=$mem ($f): run make bench"; fail=1; continue; }
    while read -r name target; do
        [[ -z $name || $name == \#* ]] && continue
        m=$(grep -h "^bench name=$name " "$f" | sed 's/.*median=\([0-9]*\).*/\1/')
        if [[ -z $m ]]; then
            echo "bench-check: MEM=$mem $name: no figure"
            fail=1
        elif ((m > target)); then
            echo "bench-check: MEM=$mem $name: median $m is above its target $target (by $((m - target)))"
            fail=1
        else
            echo "bench-check: MEM=$mem $name: median $m, target $target: met"
        fi
    done < tests/bench-targets
done
pairs=$(for mem in $mems; do grep -h '^bench name=kernel_pmm_pair ' "build/bench/$mem.txt" 2>/dev/null |
    sed 's/.*median=\([0-9]*\).*/\1/'; done | sort -u | wc -l)
if ((pairs > 1)); then
    echo "bench-check: kernel_pmm_pair differs between MEM=${mems// /, }"
    fail=1
fi
((fail == 0)) && echo "bench-check: every target met"
exit $fail
