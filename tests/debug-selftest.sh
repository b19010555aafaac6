#!/usr/bin/env bash
# `make debug` must stop at the kernel's first instruction with symbols
# loaded: run the same script under GDB in batch mode and check where it
# stopped against the symbol table.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
elf=$here/build/zeroframe.elf iso=$here/build/zeroframe.iso
cmds=$(mktemp) && trap 'rm -f "$cmds"' EXIT
printf '%s\n' 'printf "stopped-at %#lx\n", $pc' 'info symbol $pc' 'kill' > "$cmds"
port=$((20000 + RANDOM % 20000))
out=$(GDB_PORT=$port GDB_BATCH=$cmds timeout 60 "$here/scripts/debug.sh" "$elf" "$iso" 2>&1)
want=$(nm "$elf" | awk '$3 == "_start" { print "0x" $1 }' | sed 's/0x0*/0x/')
got=$(sed -n 's/^stopped-at //p' <<<"$out")
if [[ -n $want && $got == "$want" ]] && grep -q '^_start in section .boot' <<<"$out"; then
    echo "PASS debug-selftest: GDB stopped at _start ($got) with symbols"
else
    echo "FAIL debug-selftest: expected a stop at _start ($want), got '${got:-nothing}'"
    tail -n 15 <<<"$out"
    exit 1
fi
