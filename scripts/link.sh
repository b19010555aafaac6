#!/usr/bin/env bash
# link.sh OUT.elf OBJ...: link the kernel with its own symbol table embedded
# (section .ksyms, see scripts/gen-ksyms.sh and kernel/ksym.c).
#
#   pass 1: empty table            -> addresses A1
#   pass 2: table from pass 1      -> addresses A2 (the table's size is final
#                                     now, so data after it may have moved)
#   pass 3: table from pass 2      -> OUT; nothing may move any more
# The table extracted from OUT must equal the one linked into it, else the
# link fails: a stale symbol table would be worse than none.
# Environment: LD, LDFLAGS, NASM, NASMFLAGS, NM.
set -euo pipefail
out=$1; shift
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(dirname "$out")/ksyms
mkdir -p "$dir"
LD=${LD:-ld} NASM=${NASM:-nasm}
# shellcheck disable=SC2206
ldflags=(${LDFLAGS:-}) nasmflags=(${NASMFLAGS:--f elf64})

table() { # pass-number [elf]
    "$here/scripts/gen-ksyms.sh" "${@:2}" > "$dir/ksyms$1.asm"
    "$NASM" "${nasmflags[@]}" "$dir/ksyms$1.asm" -o "$dir/ksyms$1.o"
}

table 0
"$LD" "${ldflags[@]}" -o "$dir/pass1.elf" "$@" "$dir/ksyms0.o"
table 1 "$dir/pass1.elf"
"$LD" "${ldflags[@]}" -o "$dir/pass2.elf" "$@" "$dir/ksyms1.o"
table 2 "$dir/pass2.elf"
"$LD" "${ldflags[@]}" -o "$out.tmp" "$@" "$dir/ksyms2.o"
"$here/scripts/gen-ksyms.sh" "$out.tmp" > "$dir/ksyms-check.asm"
if ! cmp -s "$dir/ksyms2.asm" "$dir/ksyms-check.asm"; then
    echo "link.sh: symbol addresses moved between link passes; the embedded table would be wrong" >&2
    diff "$dir/ksyms2.asm" "$dir/ksyms-check.asm" | head -n 10 >&2
    rm -f "$out.tmp"
    exit 1
fi
mv "$out.tmp" "$out"
