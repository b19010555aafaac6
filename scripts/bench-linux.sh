#!/usr/bin/env bash
# bench-linux.sh: the same static user/zfbench binary as the first program
# of Zeroframe and of a stock Debian Linux kernel (scripts/linux-kernel.sh:
# downloaded and unpacked, not installed), both under the same QEMU
# arguments (scripts/qemu-args.sh, -icount shift=0,sleep=off, MEM), then
# each case's median side by side with the ratio Linux / Zeroframe.
# On Linux the binary is /init of an initramfs (cpio) holding nothing else;
# its output reaches the serial console through the kernel's built-in
# /dev/console.  Figures are kept in build/bench/linux-<MEM>.txt and
# build/bench/zf-user-<MEM>.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export QEMU_EXTRA="${QEMU_EXTRA:-} -icount shift=0,sleep=off"
mem=${MEM:-128M}
bin=build/user/zfbench
[[ -x $bin ]] || { echo "bench-linux: $bin is missing (make user)" >&2; exit 1; }
vmlinuz=$(scripts/linux-kernel.sh)
out=build/bench
mkdir -p "$out/initramfs"
cp "$bin" "$out/initramfs/init"
(cd "$out/initramfs" && echo init | cpio --quiet -o -H newc) > "$out/initramfs.cpio"

serial=$out/linux-$mem.serial
qargs=$(MEM=$mem scripts/qemu-args.sh)
# /init exits at the end: the kernel panics and, with panic=-1 and
# -no-reboot, QEMU stops.
# shellcheck disable=SC2086
timeout --kill-after=5 600 qemu-system-x86_64 $qargs -kernel "$vmlinuz" -initrd "$out/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=1" -serial "file:$serial" -display none -monitor none \
    </dev/null >/dev/null 2>"$out/linux-$mem.stderr" || true
grep -a '^bench name=' "$serial" | tr -d '\r' > "$out/linux-$mem.txt" || true
[[ -s $out/linux-$mem.txt ]] || { echo "bench-linux: no figures from Linux (see $serial)" >&2; tail -n 20 "$serial" >&2; exit 1; }

tests/run-boot.sh --name "bench-user-$mem" --mem "$mem" --timeout 300 \
    --cmdline 'test=pmm.stats_add_up vmcheck=off init=/bin/zfbench' --module "$bin=/bin/zfbench" >/dev/null ||
    { echo "bench-linux: the Zeroframe boot failed (build/boots/bench-user-$mem.serial)" >&2; exit 1; }
grep -a '^bench name=' "build/boots/bench-user-$mem.serial" | tr -d '\r' > "$out/zf-user-$mem.txt"

lver=$(basename "$vmlinuz" | sed 's/^vmlinuz-//')
ldeb=$(dpkg-deb -f "$(find build/linux -maxdepth 1 -name '*.deb' | head -n1)" Version)
echo "QEMU: $(qemu-system-x86_64 --version | head -n1)"
echo "Linux: $lver (Debian $ldeb); MEM=$mem; median guest instructions per case"
printf '%-26s %10s %10s %8s\n' case Zeroframe Linux ratio
zf=$out/zf-user-$mem.txt
while read -r _ name _; do
    name=${name#name=}
    z=$(grep -h "^bench name=$name " "$zf" | sed 's/.*median=\([0-9]*\).*/\1/')
    l=$(grep -h "^bench name=$name " "$out/linux-$mem.txt" | sed 's/.*median=\([0-9]*\).*/\1/')
    ratio=-
    [[ -n $z && -n $l && $z != 0 ]] && ratio=$(awk -v l="$l" -v z="$z" 'BEGIN {printf "%.2f", l / z}')
    printf '%-26s %10s %10s %8s\n' "$name" "${z:--}" "${l:--}" "$ratio"
done < <(cat "$zf")
