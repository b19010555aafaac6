#!/usr/bin/env bash
# Everything `make test` runs.  Each step prints PASS/FAIL lines; the last
# line is the total, "make test: N passed, N failed".  Exit status is 0 only
# when every step passed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
passed=0 failed=0
failures=()

step() { # name command...
    local name=$1; shift
    echo "==> $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

boot() { # name run-boot args...
    local name=$1; shift
    step "boot $name" tests/run-boot.sh --name "$name" "$@"
}

# --- builds: both compilers, warnings are errors
step "build with clang" make --no-print-directory -s CC=clang BUILD=build/clang build/clang/zeroframe.elf

# --- kernel boots
boot selftests
boot selftests-clang --elf build/clang/zeroframe.elf
boot cpu-without-nx --cpu qemu64,-nx --expect halt --timeout 5 \
    --match 'does not support the NX \(no-execute\) bit; halting'

# --- physical memory (issue #4): host tests, fuzzing, small and huge boots
step "host tests (cmocka, ASan+UBSan): pmm + multiboot2" make --no-print-directory -s host-test
step "fuzz multiboot2 parser (bounded)" make --no-print-directory -s fuzz-smoke
boot pmm-32M --mem 32M --cmdline 'test=pmm.*'
boot pmm-4T --mem 4T --timeout 120
boot pmm-panic-double-free --cmdline 'test=pmm_panic.double_free' --expect panic \
    --match 'pmm: pmm_free\(0x[0-9a-f]+\) called from .*frame is free \(double free'
boot pmm-panic-refcount-underflow --cmdline 'test=pmm_panic.refcount_underflow' --expect panic \
    --match 'pmm: pmm_ref_dec\(0x[0-9a-f]+\) called from .*frame is free'

# --- the tooling's own tests
step "runner self-tests" tests/runner-selftest.sh
step "make debug stops at _start" tests/debug-selftest.sh

echo
if ((failed)); then
    echo "failed steps: ${failures[*]}"
fi
echo "make test: $passed passed, $failed failed"
((failed == 0))
