#!/usr/bin/env bash
# mkiso.sh ELF CMDLINE OUT.iso [FILE[=NAME]]...
# A bootable GRUB ISO of the kernel with the given kernel command line and
# multiboot2 modules, hybrid: it boots under BIOS (El Torito, grub-pc-bin)
# and UEFI (EFI system partition image, grub-efi-amd64-bin).  Each module is
# FILE, loaded as `module2 /boot/mods/I NAME` (NAME defaults to FILE's base
# name; the kernel sees NAME as the module's name).  Rebuilt only when the
# ELF, the template, the command line or a module changed.
set -euo pipefail
if (($# < 3)); then
    echo "usage: mkiso.sh ELF CMDLINE OUT.iso [FILE[=NAME]]..." >&2
    exit 2
fi
elf=$1 cmdline=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
max_modules=256 # include/boot.h BOOT_MAX_MODULES

files=() names=()
for spec in "$@"; do
    file=${spec%%=*} name=${spec#*=}
    [[ $spec == *=* ]] || name=$(basename -- "$file")
    [[ -f $file ]] || { echo "mkiso: module file '$file' does not exist" >&2; exit 2; }
    if [[ -z $name || $name =~ [[:space:]\"\'\\\$\;] ]]; then
        echo "mkiso: module name '$name' for $file is empty or has spaces, quotes, '\\', '\$' or ';'" >&2
        exit 2
    fi
    files+=("$file") names+=("$name")
done
# ZF_MKISO_NO_MODULE_LIMIT=1 lifts the limit for make test's boot that checks
# the kernel's own refusal.
if ((${#files[@]} > max_modules)) && [[ ${ZF_MKISO_NO_MODULE_LIMIT:-} != 1 ]]; then
    echo "mkiso: ${#files[@]} modules; the kernel accepts at most $max_modules" >&2
    exit 2
fi
for platform in i386-pc x86_64-efi; do
    if [[ ! -d /usr/lib/grub/$platform ]]; then
        echo "mkiso: GRUB's $platform files are missing (grub-pc-bin, grub-efi-amd64-bin); try: make deps" >&2
        exit 1
    fi
done

# What the ISO depends on besides file times: the command line and modules.
stamp="$out.stamp"
want=$(printf '%s\n' "$cmdline"
       for i in "${!files[@]}"; do
           printf '%s=%s %s\n' "${files[$i]}" "${names[$i]}" "$(stat -c '%s %Y' -- "${files[$i]}")"
       done)
if [[ -f $out && -f $stamp && $out -nt $elf && $out -nt $here/iso/grub.cfg.in &&
      $out -nt $here/scripts/mkiso.sh ]] && [[ "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/zf-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# The ISO tree is $dir/tree; the log stays outside it (xorriso packing a log
# that grub-mkrescue is still writing fails with "Size of file has changed").
tree=$dir/tree
mkdir -p "$tree/boot/grub" "$tree/boot/mods" "$(dirname "$out")"
cp "$elf" "$tree/boot/zeroframe.elf"
modlines=()
for i in "${!files[@]}"; do
    # Hard links when possible: big modules are not copied twice.
    ln -- "${files[$i]}" "$tree/boot/mods/$i" 2>/dev/null || cp -- "${files[$i]}" "$tree/boot/mods/$i"
    modlines+=("    module2 /boot/mods/$i ${names[$i]}")
done
while IFS= read -r line; do
    if [[ $line =~ ^[[:space:]]*@MODULES@[[:space:]]*$ ]]; then
        ((${#modlines[@]} == 0)) || printf '%s\n' "${modlines[@]}"
    else
        printf '%s\n' "${line//@CMDLINE@/"$cmdline"}"
    fi
done < "$here/iso/grub.cfg.in" > "$tree/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$out.tmp" "$tree" >"$dir/log" 2>&1; then
    cat "$dir/log" >&2
    echo "mkiso: grub-mkrescue failed (are grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools installed? try: make deps)" >&2
    exit 1
fi
mv "$out.tmp" "$out"
printf '%s' "$want" > "$stamp"
