#!/usr/bin/env bash
# run-boot.sh: boot the kernel once in QEMU (headless) and judge the run.
#
#   tests/run-boot.sh --name NAME [--cmdline "test=..."] [--mem 128M] [--cpu qemu64]
#                     [--machine pc|q35] [--firmware bios|uefi] [--module FILE[=NAME]]...
#                     [--timeout 60] [--expect pass|panic|halt] [--match REGEX]...
#                     [--no-match REGEX]... [--vga-match REGEX]...
#                     [--elf build/zeroframe.elf] [--mode test|run] [--iso FILE]
#
# --mode run boots as `make run` does (mode=run: the first program, then
# idle; use it with --expect halt); the default is mode=test.
# --iso FILE boots FILE as it is (an ISO `make iso` built): --cmdline,
# --mode, --module and --elf do not apply.
# --module adds a multiboot2 module (repeatable; NAME defaults to FILE's base
# name).  --firmware uefi boots the same hybrid ISO under OVMF.
# Every --match regex must occur in the serial log, whatever --expect says;
# no --no-match regex may.  --vga-match (with --expect halt and --match, BIOS
# only) must match a line of the VGA text screen, read through the QEMU
# monitor once the halt is seen (tests/vga-screen.py: control characters
# drawn as glyphs show as ^M, ^J, and fail the boot wherever they are).
#
# --expect pass  (default) passes only on the pass exit code AND a complete
#                KTAP run: version line, plan 1..N, N result lines numbered in
#                order, summary "P passed, F failed" agreeing with them, F = 0.
# --expect panic passes only when the kernel panicked (exit code 37) and every
#                --match regex occurs in the serial log.
# --expect halt  passes only when the kernel stopped without exiting and every
#                --match regex occurs in the log: the run ends at the timeout,
#                or 3 s after the last --match appeared with QEMU still running.
# Otherwise prints the reason (timeout, triple fault, crash mid-test, failed
# tests, panic) and the tail of the serial log, and exits 1.
#
# Logs: build/boots/NAME.serial (serial), build/boots/NAME.qemu.log (QEMU -d),
# build/boots/NAME.vga.txt (the VGA screen, with --vga-match).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

name= cmdline= mem=${MEM:-128M} cpu=${CPU:-qemu64} timeout=${BOOT_TIMEOUT:-60} expect=pass
machine=${MACHINE:-pc} firmware=${FIRMWARE:-bios} mode=test
elf=$here/build/zeroframe.elf
matches=() nomatches=() modules=() vgamatches=() given_iso=
while (($#)); do
    case $1 in
        --name) name=$2; shift 2 ;;
        --cmdline) cmdline=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        --machine) machine=$2; shift 2 ;;
        --firmware) firmware=$2; shift 2 ;;
        --module) modules+=("$2"); shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --expect) expect=$2; shift 2 ;;
        --match) matches+=("$2"); shift 2 ;;
        --no-match) nomatches+=("$2"); shift 2 ;;
        --vga-match) vgamatches+=("$2"); shift 2 ;;
        --elf) elf=$2; shift 2 ;;
        --mode) mode=$2; shift 2 ;;
        --iso) given_iso=$2; shift 2 ;;
        *) echo "run-boot: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $name ]] || { echo "run-boot: --name is required" >&2; exit 2; }
case $expect in pass|panic|halt) ;; *) echo "run-boot: bad --expect $expect" >&2; exit 2 ;; esac
case $mode in test|run) ;; *) echo "run-boot: bad --mode $mode (test or run)" >&2; exit 2 ;; esac
case $firmware in bios|uefi) ;; *) echo "run-boot: bad --firmware $firmware (bios or uefi)" >&2; exit 2 ;; esac
if ((${#vgamatches[@]})) && [[ $expect != halt || ${#matches[@]} -eq 0 || $firmware != bios ]]; then
    echo "run-boot: --vga-match needs --expect halt, a --match and --firmware bios" >&2; exit 2
fi

out=$here/build/boots
mkdir -p "$out"
iso=$out/$name.iso serial=$out/$name.serial qlog=$out/$name.qemu.log
vga=$out/$name.vga.txt monsock=$out/$name.monitor
rm -f "$serial" "$qlog" "$vga" "$monsock"
monitor=none
((${#vgamatches[@]})) && monitor=unix:$monsock,server=on,wait=off
if [[ -n $given_iso ]]; then
    [[ -f $given_iso ]] || { echo "FAIL $name: no ISO $given_iso"; exit 1; }
    iso=$given_iso
else
    "$here/scripts/mkiso.sh" "$elf" "mode=$mode $cmdline" "$iso" "${modules[@]}" ||
        { echo "FAIL $name: could not build the ISO"; exit 1; }
fi

qargs=$(MEM=$mem CPU=$cpu MACHINE=$machine FIRMWARE=$firmware "$here/scripts/qemu-args.sh") || exit 1
# shellcheck disable=SC2086
timeout --kill-after=5 "$timeout" qemu-system-x86_64 $qargs -cdrom "$iso" \
    -serial "file:$serial" -display none -monitor "$monitor" \
    -d cpu_reset,guest_errors -D "$qlog" </dev/null 2>"$out/$name.stderr" &
qpid=$!
# An expected halt need not wait for the timeout: once every --match is in
# the log, a few more seconds without an exit or reset prove the halt.
halt_settle=3
if [[ $expect == halt && ${#matches[@]} -gt 0 ]]; then
    while kill -0 "$qpid" 2>/dev/null; do
        sleep 0.5
        plain=$(tr -d '\r' < "$serial" 2>/dev/null)
        all=1
        for m in "${matches[@]}"; do
            grep -Eq -- "$m" <<<"$plain" || { all=0; break; }
        done
        ((all)) || continue
        sleep "$halt_settle"
        if kill -0 "$qpid" 2>/dev/null; then
            if ((${#vgamatches[@]})); then
                "$here/tests/vga-screen.py" "$monsock" "$out/$name.vga.bin" > "$vga" 2>"$vga.err" ||
                    cat "$vga.err" > "$vga"
            fi
            kill "$qpid" 2>/dev/null
            wait "$qpid"
            rc=124 # still running: it halted
            break
        fi
    done
fi
if [[ -z ${rc:-} ]]; then
    wait "$qpid"
    rc=$?
fi
touch "$serial" "$qlog"

fail() {
    echo "FAIL $name: $*"
    echo "---- last 25 lines of $serial ----"
    tail -n 25 "$serial" | sed 's/\r$//'
    echo "----"
    exit 1
}

check_matches() {
    local m plain
    # The UART sends CRLF; match against plain lines so '$' works.  (A here
    # string, not a pipe: grep -q quitting early must not look like no match.)
    plain=$(tr -d '\r' < "$serial")
    for m in "${matches[@]}"; do
        grep -Eq -- "$m" <<<"$plain" || fail "$1, but the log lacks /$m/"
    done
    if ((${#vgamatches[@]})); then
        [[ -s $vga ]] || fail "$1, but the VGA screen was not read"
        if grep -q '\^[@-_]' "$vga"; then
            fail "$1, but the VGA screen shows control characters as glyphs: $(grep -m1 '\^[@-_]' "$vga")"
        fi
    fi
    for m in "${vgamatches[@]}"; do
        grep -Eq -- "$m" "$vga" || fail "$1, but no line of the VGA screen matches /$m/: $(grep -v '^ *$' "$vga" | head -n 3 | paste -sd'|')"
    done
    for m in "${nomatches[@]}"; do
        if grep -Eq -- "$m" <<<"$plain"; then
            fail "$1, but the log has /$m/: $(grep -Em1 -- "$m" <<<"$plain")"
        fi
    done
    return 0
}

# What QEMU's exit says about the run.
case $rc in
    33) how=pass ;;
    35) how=failed ;;
    37) how=panic ;;
    124|137) how=timeout ;;
    0) if grep -q 'Triple fault' "$qlog"; then how=triple; else how=reset; fi ;;
    *) how=qemu-error ;;
esac

if [[ $expect == panic ]]; then
    [[ $how == panic ]] || fail "expected a kernel panic, got: $how (QEMU exit $rc)"
    check_matches "panicked as expected"
    echo "PASS $name: expected panic, report matched"
    exit 0
fi
if [[ $expect == halt ]]; then
    [[ $how == timeout ]] || fail "expected the kernel to halt, got: $how (QEMU exit $rc)"
    check_matches "halted as expected"
    echo "PASS $name: halted as expected, message matched"
    exit 0
fi

case $how in
    timeout) fail "timeout: no exit after ${timeout}s (hang)" ;;
    triple) fail "triple fault: the CPU reset (see $qlog)" ;;
    reset) fail "the machine reset or shut down without reporting (QEMU exit 0)" ;;
    qemu-error) fail "QEMU failed with exit code $rc: $(head -c 300 "$out/$name.stderr")" ;;
    panic) fail "kernel panic: $(grep -m1 -a '^PANIC' "$serial" | tr -d '\r')" ;;
esac

# Both pass and failed need a well-formed, complete KTAP run.
ktap=$(tr -d '\r' < "$serial")
grep -qx 'KTAP version 1' <<<"$ktap" || fail "crash before the tests started (no 'KTAP version 1')"
selerr=$(grep -m1 '^# selection error: ' <<<"$ktap")
[[ -z $selerr ]] || fail "test selection refused: ${selerr#\# selection error: }"
plan=$(grep -m1 -xE '1\.\.[0-9]+' <<<"$ktap" | cut -d. -f3)
[[ -n $plan ]] || fail "no KTAP plan line"
mapfile -t results < <(grep -E '^(not )?ok [0-9]+ ' <<<"$ktap")
for i in "${!results[@]}"; do
    num=$(sed -E 's/^(not )?ok ([0-9]+) .*/\2/' <<<"${results[$i]}")
    [[ $num == $((i + 1)) ]] || fail "KTAP results out of order at '${results[$i]}'"
done
(( ${#results[@]} == plan )) ||
    fail "crash mid-test: plan 1..$plan but ${#results[@]} results (last: '${results[-1]:-none}')"
summary=$(grep -xE '[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' <<<"$ktap" | tail -n1)
[[ -n $summary ]] || fail "no summary line"
read -r passed _ failed _ skipped _ <<<"${summary//,/}"
skipped=${skipped:-0}
nok=$(grep -cE '^not ok ' <<<"$ktap")
nskip=$(grep -cE '^ok [0-9]+ .*# SKIP' <<<"$ktap")
(( failed == nok && skipped == nskip && passed + failed + skipped == plan )) ||
    fail "summary '$summary' disagrees with the results"

if (( failed > 0 )); then
    fail "failed tests: $failed of $plan: $(grep -E '^not ok ' <<<"$ktap" | sed -E 's/^not ok [0-9]+ //' | paste -sd' ')"
fi
# The self-tests passed, yet the kernel says the run failed: what came after
# them did (the user programs, or the VMM check after a process ended).
if [[ $how == failed ]]; then
    why=$(grep -E '^user-test: not ok |^vmm consistency check after|^init: ' <<<"$ktap" | paste -sd';' | cut -c1-400)
    fail "the self-tests passed but the run failed after them: ${why:-no reason printed}"
fi
check_matches "passed"
echo "PASS $name: $summary"
