#!/usr/bin/env bash
# linux-kernel.sh: a stock Debian Linux kernel for side-by-side runs
# (make bench-linux), downloaded with `apt-get download` and unpacked with
# `dpkg -x` under build/linux/ (never installed).  Prints the path of its
# vmlinuz on stdout; progress goes to stderr.
#   LINUX_PACKAGE  the package to follow (default linux-image-amd64, Debian's
#                  metapackage: it names the current linux-image-<abi>-amd64)
# A second run reuses what the first unpacked.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$here/build/linux
pkg=${LINUX_PACKAGE:-linux-image-amd64}
mkdir -p "$dir"
cd "$dir"
command -v apt-get >/dev/null || { echo "linux-kernel: apt-get is needed (Debian)" >&2; exit 1; }
# A fresh machine may have no package lists yet.
if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    echo "linux-kernel: apt-get update (no package lists for $pkg)" >&2
    "${sudo[@]}" apt-get update -qq >&2 || { echo "linux-kernel: apt-get update failed" >&2; exit 1; }
fi
# The metapackage holds no kernel: it depends on the versioned image.
image=$(apt-cache depends "$pkg" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[[ -n $image ]] || image=$pkg
if ! ls "$dir/root/boot/vmlinuz-"* >/dev/null 2>&1 || [[ ! -f $dir/.$image ]]; then
    rm -rf "$dir/root" "$dir"/*.deb "$dir"/.linux-image-*
    echo "linux-kernel: apt-get download $image" >&2
    apt-get download "$image" >&2 ||
        { echo "linux-kernel: apt-get download $image failed (try apt-get update)" >&2; exit 1; }
    echo "linux-kernel: dpkg -x $image" >&2
    dpkg -x "$dir"/"$image"_*.deb "$dir/root"
    touch "$dir/.$image"
fi
vmlinuz=$(find "$dir/root/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
[[ -f $vmlinuz ]] || { echo "linux-kernel: no vmlinuz in $image" >&2; exit 1; }
echo "$vmlinuz"
