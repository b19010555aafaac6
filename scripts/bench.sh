#!/usr/bin/env bash
# bench.sh: Zeroframe's figures under QEMU -icount shift=0,sleep=off, where
# the guest TSC advances once per guest instruction (deterministic):
#   - guest instructions per page fault, by path: zero-fill, CoW copy, CoW
#     reuse (test vmm.bench, median of 64), 128M and 4T;
#   - guest instructions per alloc+free pair (test pmm.bench), 128M and 4T;
#   - guest instructions from reset to the end of pmm_init and of the
#     self-tests (whole boot, BIOS and GRUB included), 128M and 4T;
#   - QEMU's maximum resident set size for the 4T boot;
#   - user mode (user/zfbench.c as the first program): first read / write of
#     untouched memory, CoW copy and reuse after fork, a null system call,
#     fork+exit and munmap per page.
# Informational: prints figures, never judges them on time.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export QEMU_EXTRA="${QEMU_EXTRA:-} -icount shift=0,sleep=off"
for mem in 128M 4T; do
    tests/run-boot.sh --name "bench-pair-$mem" --mem "$mem" --timeout 300 \
        --cmdline 'test=pmm.bench' >/dev/null || echo "bench: pair boot at $mem failed"
    pair=$(grep -a -m1 '^# bench:' "build/boots/bench-pair-$mem.serial" | tr -d '\r')
    rss_file=build/boots/bench-boot-$mem.time
    /usr/bin/time -v -o "$rss_file" tests/run-boot.sh --name "bench-boot-$mem" --mem "$mem" \
        --timeout 300 >/dev/null || echo "bench: boot at $mem failed"
    entry=$(grep -a -m1 'kernel entry at tsc=' "build/boots/bench-boot-$mem.serial" | sed 's/.*tsc=//' | tr -d '\r')
    init=$(grep -a -m1 'pmm: init done at tsc=' "build/boots/bench-boot-$mem.serial" | sed 's/.*tsc=//' | tr -d '\r')
    done_=$(grep -a -m1 'self-tests done at tsc=' "build/boots/bench-boot-$mem.serial" | sed 's/.*tsc=//' | tr -d '\r')
    rss=$(grep 'Maximum resident' "$rss_file" | awk '{print $NF}')
    echo "MEM=$mem: ${pair#\# bench: }"
    tests/run-boot.sh --name "bench-vmm-$mem" --mem "$mem" --timeout 300 \
        --cmdline 'test=vmm.bench' >/dev/null || echo "bench: fault-path boot at $mem failed"
    grep -a '^# bench:' "build/boots/bench-vmm-$mem.serial" | tr -d '\r' | sed "s/^# bench: /MEM=$mem: /"
    echo "MEM=$mem: guest instructions from reset (BIOS and GRUB included) to end of pmm_init: $init; to end of self-tests: $done_"
    echo "MEM=$mem: the kernel's own share: kernel entry to end of pmm_init: $((init - entry)); to end of self-tests: $((done_ - entry))"
    echo "MEM=$mem: QEMU max RSS: ${rss} KiB"
    # User mode: the same static binary Linux can run (user/zfbench.c).
    tests/run-boot.sh --name "bench-user-$mem" --mem "$mem" --timeout 300 \
        --cmdline 'test=pmm.stats_add_up vmcheck=off init=/bin/zfbench' --module build/user/zfbench=/bin/zfbench \
        >/dev/null || echo "bench: user-mode boot at $mem failed"
    grep -a '^bench name=' "build/boots/bench-user-$mem.serial" | tr -d '\r' | sed "s/^/MEM=$mem: /"
done
