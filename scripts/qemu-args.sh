#!/usr/bin/env bash
# Prints the QEMU arguments for the knobs MEM, SMP, MACHINE, CPU, ACCEL,
# FIRMWARE (bios: SeaBIOS, QEMU's default; uefi: OVMF from Debian's `ovmf`,
# its code as a read-only pflash) and QEMU_EXTRA (environment).  MEM of 64G or more switches to q35 with 46-bit
# physical addresses and a lazily backed RAM object so that huge guests boot
# without the host committing the memory.
set -euo pipefail
mem=${MEM:-128M} smp=${SMP:-1} machine=${MACHINE:-pc} cpu=${CPU:-qemu64} accel=${ACCEL:-tcg}
firmware=${FIRMWARE:-bios}

to_mib() { # 128M, 4G, 4T, or a plain number of MiB
    local v=$1 n=${1%[KkMmGgTt]}
    case $v in
        *[Kk]) echo $((n / 1024)) ;;
        *[Mm]) echo "$n" ;;
        *[Gg]) echo $((n * 1024)) ;;
        *[Tt]) echo $((n * 1024 * 1024)) ;;
        *)     echo "$n" ;;
    esac
}
if ! [[ $mem =~ ^[0-9]+[KkMmGgTt]?$ ]]; then
    echo "qemu-args: MEM=$mem is not a size like 128M, 4G or 4T" >&2
    exit 2
fi
args=(-accel "$accel" -smp "$smp" -m "$mem" -no-reboot
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
if (( $(to_mib "$mem") >= 64 * 1024 )); then
    case $cpu in *phys-bits*) ;; *) cpu="$cpu,phys-bits=46" ;; esac
    args+=(-machine q35 -cpu "$cpu"
           -object "memory-backend-ram,id=ram0,size=$mem,reserve=off"
           -machine memory-backend=ram0)
else
    args+=(-machine "$machine" -cpu "$cpu")
fi
case $firmware in
    bios) ;;
    uefi)
        code=
        for f in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE.fd; do
            [[ -f $f ]] && { code=$f; break; }
        done
        if [[ -z $code ]]; then
            echo "qemu-args: FIRMWARE=uefi needs OVMF (Debian package ovmf; try: make deps)" >&2
            exit 2
        fi
        # Read-only code, no variable store: nothing persists between boots.
        args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code") ;;
    *) echo "qemu-args: FIRMWARE=$firmware is not bios or uefi" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
extra=(${QEMU_EXTRA:-})
printf '%s\n' "${args[@]}" "${extra[@]}" | paste -sd' '
