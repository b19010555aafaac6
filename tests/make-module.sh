#!/usr/bin/env bash
# make-module.sh FILE NAME SIZE: a test module of SIZE bytes (sparse) that the
# kernel self-test boot.modules_as_the_loader_passed_them can verify: first
# line "zeroframe-module NAME SIZE", last 8 bytes "ZFMODEND".  SIZE 0 gives
# an empty file.  Rewritten only when its content would change.
set -euo pipefail
file=$1 name=$2 size=$3
header="zeroframe-module $name $size"
mkdir -p "$(dirname "$file")"
if ((size == 0)); then
    [[ -f $file && ! -s $file ]] || : > "$file"
    exit 0
fi
if ((size < ${#header} + 1 + 8)); then
    echo "make-module: $size bytes is too small for the header of $name" >&2
    exit 2
fi
if [[ -f $file && $(stat -c %s "$file") == "$size" && $(head -n1 "$file") == "$header" ]]; then
    exit 0
fi
printf '%s\n' "$header" > "$file.tmp"
truncate -s $((size - 8)) "$file.tmp"
printf 'ZFMODEND' >> "$file.tmp"
mv "$file.tmp" "$file"
