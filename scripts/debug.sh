#!/usr/bin/env bash
# debug.sh [--server] ELF ISO: boot the ISO in QEMU, paused, with a gdbstub.
#
# Without --server: attach GDB with the kernel's symbols and the helpers
# (gdb/zeroframe.py) and stop at _start, the kernel's first instruction.
# With --server: start only QEMU and say how to attach (an IDE, a second
# terminal); Ctrl-C here stops QEMU.
#
# QEMU runs in its own session (setsid), so the terminal's Ctrl-C reaches GDB
# only: GDB then interrupts the guest and returns to its prompt, whatever the
# kernel is doing (even halted after a fatal fault); this script ignores it
# while GDB runs.
#
# Every run has its own directory build/debug/run-DATE-PID/ with serial.log
# (the kernel's console), qemu.log (QEMU's messages) and qemu.pid;
# build/debug/last points at the newest; the newest 20 are kept.
#
# Environment:
#   GDB_PORT   gdbstub TCP port on 127.0.0.1 (default 1234); "auto" picks a
#              free one.  A port that is taken is an error: this script
#              attaches only to the QEMU it started.
#   GDB_BATCH  a file of GDB commands to run in batch mode (tests)
#   GDB_EXTRA  extra GDB arguments, split on spaces (tests)
set -euo pipefail
server=0
if [[ ${1:-} == --server ]]; then server=1; shift; fi
(($# == 2)) || { echo "usage: debug.sh [--server] ELF ISO" >&2; exit 2; }
elf=$1 iso=$2
here=$(cd "$(dirname "$0")/.." && pwd)
for f in "$elf" "$iso"; do
    [[ -f $f ]] || { echo "debug: $f does not exist (run make first)" >&2; exit 2; }
done

port=${GDB_PORT:-1234}
if [[ $port != auto ]] && { ! [[ $port =~ ^[0-9]+$ ]] || ((port == 0 || port > 65535)); }; then
    echo "debug: GDB_PORT=$port is not a TCP port number or 'auto'" >&2
    exit 2
fi

runs=$here/build/debug
run=$runs/run-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$run"
ln -sfn "$(basename "$run")" "$runs/last"
# Keep the newest 20 runs; never a run whose QEMU is still alive.
ls -1dt "$runs"/run-* 2>/dev/null | tail -n +21 | while read -r old; do
    pid=$(cat "$old/qemu.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && continue
    rm -rf "$old"
done
qemu=

cleanup() {
    if [[ -n $qemu ]] && kill -0 "$qemu" 2>/dev/null; then
        kill "$qemu" 2>/dev/null || true
        wait "$qemu" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Is the LISTEN socket on 127.0.0.1:$1 one of QEMU's own file descriptors?
# (/proc only: no ss/netstat needed.)
qemu_listens() {
    local hex inode fd
    hex=$(printf '0100007F:%04X' "$1")
    for inode in $(awk -v a="$hex" '$2 == a && $4 == "0A" { print $10 }' /proc/net/tcp); do
        for fd in /proc/"$qemu"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "socket:[$inode]" ]] && return 0
        done
    done
    return 1
}

# Start QEMU on port $1.  0: listening and ours; 1: the port is taken;
# 2: QEMU failed for another reason.
start_qemu() {
    local port=$1
    rm -f "$run/qemu.pid"
    # shellcheck disable=SC2046
    setsid qemu-system-x86_64 $("$here/scripts/qemu-args.sh") -cdrom "$iso" -display none \
        -serial "file:$run/serial.log" -monitor none -pidfile "$run/qemu.pid" \
        -S -gdb "tcp:127.0.0.1:$port" </dev/null >"$run/qemu.log" 2>&1 &
    qemu=$!
    local i
    for ((i = 0; i < 600; i++)); do
        if ! kill -0 "$qemu" 2>/dev/null; then
            wait "$qemu" 2>/dev/null || true
            qemu=
            grep -qi 'address already in use\|failed to find an available port' "$run/qemu.log" && return 1
            return 2
        fi
        qemu_listens "$port" && return 0
        sleep 0.1
    done
    echo "debug: QEMU did not open its gdbstub on port $port within 60 s" >&2
    return 2
}

if [[ $port == auto ]]; then
    ok=0
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 40000))
        rc=0; start_qemu "$port" || rc=$?
        ((rc == 1)) && continue
        ((rc == 0)) && ok=1
        break
    done
    ((ok)) || { echo "debug: QEMU failed to start:" >&2; cat "$run/qemu.log" >&2; exit 1; }
else
    rc=0; start_qemu "$port" || rc=$?
    if ((rc == 1)); then
        echo "debug: port $port on 127.0.0.1 is taken (another 'make debug'?);" \
             "not attaching to someone else's QEMU. Use GDB_PORT=<free port> or GDB_PORT=auto." >&2
        exit 3
    elif ((rc != 0)); then
        echo "debug: QEMU failed to start:" >&2; cat "$run/qemu.log" >&2; exit 1
    fi
fi
echo "$port" > "$run/port"
export ZF_DEBUG_RUN=$run   # for GDB scripts (shell commands): this run's files
echo "debug: QEMU pid $qemu, paused, gdbstub 127.0.0.1:$port; serial console: $run/serial.log"

if ((server)); then
    echo "debug: attach with: gdb -q -x $here/gdb/zeroframe.py -ex 'file $elf' -ex 'target remote 127.0.0.1:$port'"
    echo "debug: Ctrl-C here stops QEMU."
    wait "$qemu" || true
    qemu=
    exit 0
fi

gdb_args=(-q -x "$here/gdb/zeroframe.py" -ex "file $elf" -ex "target remote 127.0.0.1:$port"
          -ex "hbreak _start" -ex "continue")
# shellcheck disable=SC2206
extra=(${GDB_EXTRA:-})
# Ctrl-C reaches GDB and this script (same process group; QEMU is in its
# own session): GDB interrupts the guest; this script ignores it (the trap
# runs a no-op when GDB exits) so that QEMU lives until GDB quits.  (make,
# also in the foreground, waits for GDB and then ends with status 130.)
trap : INT
if [[ -n ${GDB_BATCH:-} ]]; then
    gdb -batch -nx "${gdb_args[@]}" "${extra[@]}" -x "$GDB_BATCH"
    exit $?
fi
echo "debug: tail -f $run/serial.log in another terminal to watch the console."
gdb "${gdb_args[@]}" -ex "zf-help" "${extra[@]}"
