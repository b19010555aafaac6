#!/usr/bin/env bash
# mkiso.sh ELF CMDLINE OUT.iso: a bootable GRUB (BIOS) ISO of the kernel with
# the given kernel command line.  Rebuilt only when ELF or the line changed.
set -euo pipefail
elf=$1 cmdline=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
stamp="$out.cmdline"
if [[ -f $out && -f $stamp && $out -nt $elf && $out -nt $here/iso/grub.cfg.in ]] &&
   [[ "$(cat "$stamp")" == "$cmdline" ]]; then
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/zf-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# The ISO tree is $dir/tree; the log stays outside it (xorriso packing a log
# that grub-mkrescue is still writing fails with "Size of file has changed").
tree=$dir/tree
mkdir -p "$tree/boot/grub" "$(dirname "$out")"
cp "$elf" "$tree/boot/zeroframe.elf"
# Escape characters special to sed's replacement text.
esc=$(printf '%s' "$cmdline" | sed -e 's/[\/&|]/\\&/g')
sed "s|@CMDLINE@|$esc|" "$here/iso/grub.cfg.in" > "$tree/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$out.tmp" "$tree" >"$dir/log" 2>&1; then
    cat "$dir/log" >&2
    echo "mkiso: grub-mkrescue failed (are grub-pc-bin and xorriso installed? try: make deps)" >&2
    exit 1
fi
mv "$out.tmp" "$out"
printf '%s' "$cmdline" > "$stamp"
