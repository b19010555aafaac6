#!/usr/bin/env bash
# `make debug` must stop at the kernel's first instruction with symbols
# loaded: run the same script under GDB in batch mode and check where it
# stopped against the symbol table.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
elf=$here/build/zeroframe.elf iso=$here/build/zeroframe.iso
cmds=$(mktemp) && trap 'rm -f "$cmds"' EXIT
printf '%s\n' 'printf "stopped-at %#lx\n", $pc' 'info symbol $pc' \
    'hbreak kernel_main' 'continue' 'zf-walk kernel_main' 'zf-pf 3' 'zf-pte 0x8000000000282201' \
    'kill' > "$cmds"
port=$((20000 + RANDOM % 20000))
out=$(GDB_PORT=$port GDB_BATCH=$cmds timeout 60 "$here/scripts/debug.sh" "$elf" "$iso" 2>&1)
want=$(nm "$elf" | awk '$3 == "_start" { print "0x" $1 }' | sed 's/0x0*/0x/')
got=$(sed -n 's/^stopped-at //p' <<<"$out")
# zf-walk must translate kernel_main to its physical address (VA - KERNEL_VMA).
km=$(nm "$elf" | awk '$3 == "kernel_main" { print $1 }')
km_pa=$(printf '%#x' $((0x$km - 0xffffffff80000000)))
if [[ -n $want && $got == "$want" ]] && grep -q '^_start in section .boot' <<<"$out" &&
   grep -q -- "-> physical $km_pa\$" <<<"$out" &&
   grep -q '^  PT  \[' <<<"$out" &&
   grep -q '^protection violation, write, kernel mode$' <<<"$out" &&
   grep -q '^frame 0x282000  P COW NX$' <<<"$out"; then
    echo "PASS debug-selftest: GDB stopped at _start ($got) with symbols; zf-walk kernel_main -> $km_pa"
else
    echo "FAIL debug-selftest: expected a stop at _start ($want), got '${got:-nothing}'"
    tail -n 15 <<<"$out"
    exit 1
fi
