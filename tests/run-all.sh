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

# --- exceptions: expected-panic boots, each passing only on its report
boot panic-page-fault --cmdline 'test=irq_panic.page_fault' --expect panic \
    --match '^PANIC: #PF page fault \(vector 14\) in kernel mode' \
    --match '^Error code: 0x2 \(page not present, write, kernel mode\)' \
    --match '^Fault address \(CR2\): 0xffff800000000000' \
    --match '^RIP=[0-9a-f]{16} ktest_fn_irq_panic_page_fault\+0x[0-9a-f]+ CS=0008' \
    --match '^RAX=.* RBX=.* RCX=.* RDX=' --match '^R13=.* R14=.* R15=' \
    --match 'ktest_run\+0x' --match 'kernel_main\+0x'
boot panic-general-protection --cmdline 'test=irq_panic.general_protection' --expect panic \
    --match '^PANIC: #GP general protection fault \(vector 13\) in kernel mode' \
    --match '^Error code: 0 \(no selector \(error code 0\)\)' \
    --match '^RIP=[0-9a-f]{16} ktest_fn_irq_panic_general_protection\+0x'
boot panic-stack-overflow --cmdline 'test=irq_panic.stack_overflow' --expect panic \
    --match '^PANIC: #DF double fault \(vector 8\) in kernel mode' \
    --match '^Handler stack: IST1 \(#DF stack ' \
    --match 'CR2 0x[0-9a-f]+ is in the guard page boot_stack_guard: stack overflow' \
    --match '^RIP=[0-9a-f]{16} overflow_recurse[.a-z0-9]*\+0x' \
    --match '#1 +0x[0-9a-f]+ overflow_recurse'
boot panic-fault-in-pf-handler --cmdline 'test=irq_panic.fault_in_pf_handler' --expect panic \
    --match '^PANIC: #DF double fault \(vector 8\) in kernel mode' \
    --match '^Handler stack: IST1 \(#DF stack ' \
    --match 'nested, the outermost #PF \(vector 14\) at RIP 0x[0-9a-f]+ ktest_fn_irq_panic_fault_in_pf_handler\+0x[0-9a-f]+: a fault inside an exception handler' \
    --match 'faulty_pf_handler\+0x'
boot panic-explicit --cmdline 'test=irq_panic.explicit_panic' --expect panic \
    --match '^PANIC: deliberate panic from irq_panic.explicit_panic' \
    --match '^CR0=[0-9a-f]{16} CR2=' --match 'RSP=[0-9a-f]{16} RBP=' \
    --match '#0 +0x[0-9a-f]+ ktest_fn_irq_panic_explicit_panic\+0x' \
    --match 'ktest_run\+0x' --match 'kernel_main\+0x'
boot panic-stack-overflow-clang --elf build/clang/zeroframe.elf \
    --cmdline 'test=irq_panic.stack_overflow' --expect panic \
    --match '^PANIC: #DF double fault \(vector 8\)' --match '^Handler stack: IST1 ' \
    --match 'in the guard page boot_stack_guard: stack overflow'

# --- physical memory (issue #4): host tests, fuzzing, small and huge boots
step "host tests (cmocka, ASan+UBSan): pmm + multiboot2" make --no-print-directory -s host-test
step "fuzz multiboot2 parser (bounded)" make --no-print-directory -s fuzz-smoke
boot selftests-32M --mem 32M
boot selftests-4T --mem 4T --timeout 120
boot pmm-panic-double-free --cmdline 'test=pmm_panic.double_free' --expect panic \
    --match 'pmm: pmm_free\(0x[0-9a-f]+\) called from .*frame is free \(double free'
boot pmm-panic-refcount-underflow --cmdline 'test=pmm_panic.refcount_underflow' --expect panic \
    --match 'pmm: pmm_ref_dec\(0x[0-9a-f]+\) called from .*frame is free'

# --- virtual memory (issue #5): unresolved faults end in the precise report
boot vmm-panic-write-read-only --cmdline 'test=vmm_panic.write_to_read_only_page' --expect panic \
    --match '^PANIC: #PF page fault \(vector 14\) in kernel mode' \
    --match '^Page fault: kernel write at 0xffff800001600040 \(protection violation on a present page\)' \
    --match '^  reason: write to read-only page$' \
    --match '^    PML4\[256\] = [0-9a-f]{16}  P W' \
    --match '^    PT  \[  0\] = 80000000[0-9a-f]{8}  P NX   <- walk ended here' \
    --match 'effective rights: read-only kernel no-exec' \
    --match '#0 +0x[0-9a-f]+ ktest_fn_vmm_panic_write_to_read_only_page\+0x'
boot vmm-panic-oom-in-cow --cmdline 'test=vmm_panic.out_of_memory_in_cow_fault' --expect panic \
    --match '^  reason: out of memory while resolving copy-on-write$' \
    --match 'P COW NX   <- walk ended here' \
    --match '\(the zero frame\), effective rights: read-only'

# --- the tooling's own tests
step "runner self-tests" tests/runner-selftest.sh
step "make debug: stop at _start, taken port refused, per-run logs" tests/debug-selftest.sh
step "GDB helpers' decoders (python3 -m unittest, recorded tables)" \
    python3 -m unittest discover -q -s gdb/tests
step "GDB end to end: CoW fault watched, fatal fault caught, make debug + Ctrl-C" tests/gdb-test.py

echo
if ((failed)); then
    echo "failed steps: ${failures[*]}"
fi
echo "make test: $passed passed, $failed failed"
((failed == 0))
