#!/usr/bin/env bash
# `make debug`'s launcher (scripts/debug.sh):
#  1. stops at the kernel's first instruction with symbols and helpers loaded
#     (checked against the symbol table; zf-walk, zf-pte, zf-pf answer);
#  2. refuses a gdbstub port that is taken, with a clear error, without
#     attaching GDB to the other QEMU (a `debug.sh --server` run holds it),
#     and leaves that QEMU alone; the server's QEMU ends with the server; a
#     GDB_PORT that is no port number is refused;
#  3. gives every run its own serial log.
# The helpers' scenarios are tests/gdb-test.py's.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
elf=$here/build/zeroframe.elf iso=$here/build/zeroframe.iso
tmp=$(mktemp -d) && trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
server=
fail() { echo "FAIL debug-selftest: $*"; exit 1; }

# 1. Stop at _start.
printf '%s\n' 'printf "stopped-at %#lx\n", $pc' 'info symbol $pc' \
    'hbreak kernel_main' 'continue' 'zf-walk kernel_main' 'zf-pf 3' 'zf-pte 0x8000000000282201' \
    > "$tmp/cmds"
out=$(GDB_PORT=auto GDB_BATCH=$tmp/cmds timeout 120 "$here/scripts/debug.sh" "$elf" "$iso" 2>&1)
want=$(nm "$elf" | awk '$3 == "_start" { print "0x" $1 }' | sed 's/0x0*/0x/')
got=$(sed -n 's/^stopped-at //p' <<<"$out")
km=$(nm "$elf" | awk '$3 == "kernel_main" { print $1 }')
km_pa=$(printf '%#x' $((0x$km - 0xffffffff80000000)))
[[ -n $want && $got == "$want" ]] || { tail -n 15 <<<"$out"; fail "expected a stop at _start ($want), got '${got:-nothing}'"; }
grep -q '^_start in section .boot' <<<"$out" || fail "no symbol for _start"
grep -q -- "-> physical $km_pa in a 4 KiB page" <<<"$out" || { tail -n 15 <<<"$out"; fail "zf-walk kernel_main is not $km_pa"; }
grep -q '^protection violation on a present page, write, kernel mode$' <<<"$out" || fail "zf-pf 3"
grep -q '^frame 0x282000  P COW NX$' <<<"$out" || fail "zf-pte"
serial1=$(sed -n 's/.*serial console: //p' <<<"$out")
[[ -s $serial1 ]] || fail "no serial log for the run ($serial1)"

# 2. A taken port: a server run holds one; a second run on it must refuse.
GDB_PORT=auto "$here/scripts/debug.sh" --server "$elf" "$iso" > "$tmp/server.out" 2>&1 < /dev/null &
server=$!
for _ in $(seq 600); do
    grep -q 'gdbstub 127.0.0.1:' "$tmp/server.out" && break
    kill -0 $server 2>/dev/null || break
    sleep 0.1
done
port=$(sed -n 's/.*gdbstub 127.0.0.1:\([0-9]*\);.*/\1/p' "$tmp/server.out")
qemu=$(sed -n 's/.*QEMU pid \([0-9]*\),.*/\1/p' "$tmp/server.out")
[[ -n $port && -n $qemu ]] || { cat "$tmp/server.out"; fail "debug.sh --server did not start"; }
grep -q "attach with: gdb -q -x .*zeroframe.py .*target remote 127.0.0.1:$port" "$tmp/server.out" ||
    fail "the server does not say how to attach"
out=$(GDB_PORT=$port GDB_BATCH=$tmp/cmds timeout 120 "$here/scripts/debug.sh" "$elf" "$iso" 2>&1)
rc=$?
((rc == 3)) || { echo "$out"; fail "a taken port gave exit status $rc, not 3"; }
grep -q "port $port on 127.0.0.1 is taken .*not attaching" <<<"$out" || { echo "$out"; fail "no clear error for a taken port"; }
grep -q 'stopped-at\|Remote\|target remote' <<<"$out" && { echo "$out"; fail "GDB attached to the other QEMU"; }
kill -0 "$qemu" 2>/dev/null || fail "the other run's QEMU died"
# (TERM: a background job of a script ignores SIGINT.)
kill -TERM $server; wait $server; server=
for _ in $(seq 100); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qemu" 2>/dev/null && fail "the server's QEMU outlived the server"

out=$(GDB_PORT=12x34 "$here/scripts/debug.sh" "$elf" "$iso" 2>&1)
rc=$?
((rc == 2)) && grep -q "GDB_PORT=12x34 is not a TCP port number" <<<"$out" || fail "a bad GDB_PORT: status $rc, '$out'"

# 3. Runs have their own logs.
serial2=$(sed -n 's/.*serial console: //p' "$tmp/server.out")
[[ -n $serial2 && $serial2 != "$serial1" ]] || fail "two runs share the serial log $serial1"
echo "PASS debug-selftest: stop at _start ($got), zf-walk kernel_main -> $km_pa; taken port $port refused; one serial log per run"
