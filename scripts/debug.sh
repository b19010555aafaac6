#!/usr/bin/env bash
# debug.sh ELF ISO: start QEMU paused with its gdbstub, attach GDB with the
# kernel's symbols, and stop at the kernel's first instruction (_start).
# The serial console goes to build/debug.serial (tail -f it in another
# terminal).  GDB_PORT (default 1234) picks the gdbstub port; GDB_BATCH, when
# set, is a file of GDB commands to run non-interactively (used by tests).
set -euo pipefail
elf=$1 iso=$2
here=$(cd "$(dirname "$0")/.." && pwd)
port=${GDB_PORT:-1234}
serial=$here/build/debug.serial

# shellcheck disable=SC2046
qemu-system-x86_64 $("$here/scripts/qemu-args.sh") -cdrom "$iso" -display none \
    -serial "file:$serial" -monitor none -S -gdb "tcp:127.0.0.1:$port" &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT

# GDB connects as soon as the stub listens.
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 $qemu 2>/dev/null || { echo "debug: QEMU exited early" >&2; exit 1; }
    sleep 0.1
done

gdb_args=(-q -x "$here/gdb/zeroframe.gdb" -ex "source $here/gdb/zeroframe.py" -ex "file $elf" -ex "target remote 127.0.0.1:$port"
          -ex "hbreak _start" -ex "continue")
if [[ -n ${GDB_BATCH:-} ]]; then
    gdb -batch "${gdb_args[@]}" -x "$GDB_BATCH"
else
    echo "debug: QEMU paused; GDB stops at _start. Serial console: $serial"
    gdb "${gdb_args[@]}"
fi
