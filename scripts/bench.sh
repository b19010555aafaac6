#!/usr/bin/env bash
# bench.sh: Zeroframe's figures under QEMU -icount shift=0,sleep=off, where
# the guest TSC advances once per guest instruction (deterministic, whatever
# the host's load).  At MEM=128M and MEM=4T (BENCH_MEMS):
#   - kernel mode (test vmm.bench, tests/kernel/bench_vmm.c): fault paths,
#     the walk, a temporary mapping, a reference count, an alloc+free pair,
#     region lookup with 10 and 1000 regions;
#   - user mode (user/zfbench.c as the first program, the same binary that
#     make bench-linux runs on Linux);
#   - the whole boot: instructions to the end of pmm_init and of the
#     self-tests, and QEMU's maximum resident set size.
# Each case prints `bench name=<case> samples=<n> min=<n> median=<n> max=<n>`
# (also kept in build/bench/<MEM>.txt for bench-check.sh), then a table of
# medians against tests/bench-targets.  Informational: judging is
# bench-check.sh's job.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
export QEMU_EXTRA="${QEMU_EXTRA:-} -icount shift=0,sleep=off"
mems=${BENCH_MEMS:-128M 4T}
mkdir -p build/bench
status=0
for mem in $mems; do
    out=build/bench/$mem.txt
    : > "$out"
    echo "== MEM=$mem"
    tests/run-boot.sh --name "bench-vmm-$mem" --mem "$mem" --timeout 300 \
        --cmdline 'test=vmm.bench' >/dev/null || { echo "bench: kernel-mode boot at $mem failed"; status=1; }
    tests/run-boot.sh --name "bench-user-$mem" --mem "$mem" --timeout 300 \
        --cmdline 'test=pmm.stats_add_up vmcheck=off init=/bin/zfbench' --module build/user/zfbench=/bin/zfbench \
        >/dev/null || { echo "bench: user-mode boot at $mem failed"; status=1; }
    grep -a -h '^bench name=' "build/boots/bench-vmm-$mem.serial" "build/boots/bench-user-$mem.serial" |
        tr -d '\r' | tee "$out"
    if [[ -z ${BENCH_QUICK:-} ]]; then
        rss_file=build/bench/boot-$mem.time
        /usr/bin/time -v -o "$rss_file" tests/run-boot.sh --name "bench-boot-$mem" --mem "$mem" \
            --timeout 300 >/dev/null || { echo "bench: boot at $mem failed"; status=1; }
        s=build/boots/bench-boot-$mem.serial
        entry=$(grep -a -m1 'kernel entry at tsc=' "$s" | sed 's/.*tsc=//' | tr -d '\r')
        init=$(grep -a -m1 'pmm: init done at tsc=' "$s" | sed 's/.*tsc=//' | tr -d '\r')
        done_=$(grep -a -m1 'self-tests done at tsc=' "$s" | sed 's/.*tsc=//' | tr -d '\r')
        rss=$(grep 'Maximum resident' "$rss_file" | awk '{print $NF}')
        if [[ -n $entry && -n $init && -n $done_ ]]; then
            echo "boot mem=$mem kernel_entry_to_pmm_init=$((init - entry)) kernel_entry_to_selftests_done=$((done_ - entry)) qemu_max_rss_kib=$rss"
        fi
    fi
done
# The table: medians side by side, with the target.
echo
printf '%-28s' case
for mem in $mems; do printf '%10s' "$mem"; done
printf '%10s\n' target
awk '{sub(/^name=/, "", $2); if (!seen[$2]++) print $2}' build/bench/*.txt | while read -r name; do
    printf '%-28s' "$name"
    for mem in $mems; do
        m=$(grep -h "^bench name=$name " "build/bench/$mem.txt" | sed 's/.*median=\([0-9]*\).*/\1/')
        printf '%10s' "${m:--}"
    done
    t=$(awk -v n="$name" '$1 == n {print $2}' tests/bench-targets)
    printf '%10s\n' "${t:+<= $t}"
done
exit $status
