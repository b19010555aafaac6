#!/usr/bin/env bash
# make test-linux: the same static test programs (build/user/test_*) as the
# init of a stock Debian Linux kernel, in the same QEMU; passes only when
# every one passes there too.  The kernel is the linux-image-amd64 package's
# (apt-get download, dpkg -x: fetched, never installed), cached in
# build/linux.  Needs the network the first time.
#
#   scripts/test-linux.sh [--timeout 300]
#
# Logs: build/linux/serial.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
timeout=300
[[ ${1:-} == --timeout ]] && timeout=$2
out=build/linux
mkdir -p "$out"

# The kernel (scripts/linux-kernel.sh: fetched once, never installed).
vmlinuz=$(scripts/linux-kernel.sh)
echo "test-linux: kernel $vmlinuz"

# The initramfs: /init and every program of build/user (the tests run some
# of the others: echoargs, hello, badelf).
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/dev"
${MUSL_CC:-musl-gcc} -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$root/init" tests/linux/init.c
tests=()
for p in build/user/*; do
    [[ -f $p ]] || continue
    cp "$p" "$root/bin/"
    case $(basename "$p") in test_*) tests+=("/bin/$(basename "$p")") ;; esac
done
chmod 755 "$root"/bin/* # badelf is made by head: no x bit, which Linux checks first
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$out/initramfs.cpio.gz"

serial=$out/serial.log
rm -f "$serial"
# The same QEMU as the Zeroframe boots (scripts/qemu-args.sh), 128 MiB by default.
qargs=$(MEM=${MEM:-128M} scripts/qemu-args.sh)
# shellcheck disable=SC2086
timeout --kill-after=5 "$timeout" qemu-system-x86_64 $qargs -kernel "$vmlinuz" \
    -initrd "$out/initramfs.cpio.gz" -append "console=ttyS0 quiet panic=-1 -- ${tests[*]}" \
    -serial "file:$serial" -display none -monitor none </dev/null || true

grep -a -E '^(user-test: |[a-z_]+: (FAIL|[0-9]+ checks)|user tests: )' "$serial" | tr -d '\r' || true
want="user tests: ${#tests[@]} of ${#tests[@]} passed"
if tr -d '\r' < "$serial" | grep -qx "$want"; then
    echo "PASS test-linux: $want (Linux $(basename "$vmlinuz" | sed 's/vmlinuz-//'))"
else
    echo "FAIL test-linux: no line '$want'; log $serial" >&2
    tail -n 20 "$serial" >&2
    exit 1
fi
