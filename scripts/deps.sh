#!/usr/bin/env bash
# Installs the tools Zeroframe needs, when missing.  Debian/Ubuntu: apt-get
# (through sudo when not root).  Elsewhere: names the packages and stops.
set -euo pipefail

# command-or-file  package
needs=(
    "nasm                                nasm"
    "qemu-system-x86_64                  qemu-system-x86"
    "grub-mkrescue                       grub-common"
    "/usr/lib/grub/i386-pc/moddep.lst    grub-pc-bin"
    "/usr/lib/grub/x86_64-efi/moddep.lst grub-efi-amd64-bin"
    "/usr/share/OVMF/OVMF_CODE_4M.fd     ovmf"
    "/usr/share/consolefonts/Lat15-VGA16.psf.gz console-setup-linux"
    "xorriso                             xorriso"
    "mformat                             mtools"
    "gdb                                 gdb"
    "python3                             python3"
    "setsid                              util-linux"
    "unshare                             util-linux"
    "mount                               mount"
    "clang                               clang"
    "llvm-cov                            llvm"
    "/usr/include/cmocka.h               libcmocka-dev"
    "timeout                             coreutils"
    "musl-gcc                            musl-tools"
    "cpio                                cpio"
)

missing=()
for entry in "${needs[@]}"; do
    read -r what pkg <<<"$entry"
    if [[ $what == /* ]]; then
        [[ -e $what ]] && continue
    else
        command -v "$what" >/dev/null 2>&1 && continue
    fi
    missing+=("$pkg")
done
# clang's sanitizer/fuzzer runtimes (libFuzzer, ASan, UBSan) ship separately
# on Debian 12: the versioned package for an installed clang, or the
# default-version one alongside a clang we are about to install.
if command -v clang >/dev/null 2>&1; then
    rt=$(clang --print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
    [[ -n $rt && -e $rt ]] || missing+=("libclang-rt-$(clang --version | sed -n 's/.*version \([0-9]*\).*/\1/p' | head -1)-dev")
else
    missing+=(libclang-rt-dev)
fi

(( ${#missing[@]} == 0 )) && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: this is not a Debian/Ubuntu system; install their equivalents and rerun." >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "deps: installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
