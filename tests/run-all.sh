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

# --- kernel boots (a normal SeaBIOS memory map is not worth a warning)
boot selftests --no-match '^pmm: warning'
boot selftests-clang --elf build/clang/zeroframe.elf
boot cpu-without-nx --cpu qemu64,-nx --expect halt --timeout 5 \
    --match 'does not support the NX \(no-execute\) bit; halting'
# GRUB boots a CPU without PAE; the kernel's first check stops it.
boot cpu-without-pae --cpu qemu64,-pae --expect halt --timeout 10 \
    --match '^Zeroframe: this CPU does not support PAE \(physical address extension\); halting\.$'
# Below the minimum (README: Minimum memory): one line, then halt.
boot too-little-memory --mem 8M --expect halt --timeout 15 \
    --match '^Zeroframe: too little memory: 7676 KiB of usable RAM found, 7804 KiB needed; halting\.$'
# Too little even for GRUB: its own error reaches the serial log.
boot grub-out-of-memory --mem 4M --expect halt --timeout 15 --match '^error: out of memory\.$'

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
boot panic-non-canonical --cmdline 'test=irq_panic.non_canonical_address' --expect panic \
    --match '^PANIC: #GP general protection fault \(vector 13\) in kernel mode' \
    --match '^Hint: #GP with error code 0 is usually an access to a non-canonical address$' \
    --match '^  Non-canonical values in: (.*, )?RBX=dead000000001000(,|$)' \
    --match ' CR2=[0-9a-f]{16} \(stale: an earlier #PF.s\) CR3=' \
    --match '^RIP=[0-9a-f]{16} ktest_fn_irq_panic_non_canonical_address\+0x'
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
# --- the VMM model checker (issue 12): kernel/mm against a reference model
step "VMM model checker: corpus replay (regressions included)" make --no-print-directory -s fuzz-vmm-replay
step "VMM model checker: bounded fuzz run (fixed seed and input count)" \
    make --no-print-directory -s fuzz-vmm-smoke
step "VMM model checker: mutation self-test (every injected bug caught)" tests/fuzz/vmm-mutants.sh
boot selftests-32M --mem 32M
boot selftests-4T --mem 4T --timeout 120
boot pmm-panic-double-free --cmdline 'test=pmm_panic.double_free' --expect panic \
    --match 'pmm: pmm_free\(0x[0-9a-f]+\) called from .*frame is free \(double free'
boot pmm-panic-refcount-underflow --cmdline 'test=pmm_panic.refcount_underflow' --expect panic \
    --match 'pmm: pmm_ref_dec\(0x[0-9a-f]+\) called from .*frame is free'

# --- boot handover (issue #8): modules of any size, both firmwares.
# Module files are generated here (build/modules, sparse), never committed.
mods=build/modules
gen_modules() {
    tests/make-module.sh $mods/empty /bin/empty 0 &&
    tests/make-module.sh $mods/six-mb /bin/six-mb $((6 * 1024 * 1024 + 123)) &&
    tests/make-module.sh $mods/forty-mb /lib/forty-mb $((40 * 1024 * 1024)) &&
    tests/make-module.sh $mods/m130 /bin/m130 $((130 * 1024 * 1024)) || return 1
    local i
    for i in $(seq 0 256); do
        tests/make-module.sh $mods/many/$i /bin/m$i $((4096 + i * 37)) || return 1
    done
}
step "generate test modules" gen_modules
sized=(--module $mods/empty=/bin/empty --module $mods/six-mb=/bin/six-mb
       --module $mods/forty-mb=/lib/forty-mb)
many=()
for i in $(seq 0 199); do many+=(--module $mods/many/$i=/bin/m$i); done
boot modules-0-6M-40M --cmdline 'modules=3' "${sized[@]}" \
    --match '^# modules: 3, 2 with a verified header, 1 empty, 48234619 bytes$'
# 130 MB: the frame allocator's first 128 MiB segment holds no free frame.
boot modules-130M --mem 256M --cmdline 'modules=1' --module $mods/m130=/bin/m130 \
    --match '^# modules: 1, 1 with a verified header, 0 empty, 136314880 bytes$'
boot modules-200 --cmdline 'modules=200' "${many[@]}" \
    --match '^# modules: 200, 200 with a verified header, 0 empty'
# One module more than the kernel keeps: refused with a message, not cut.
too_many=("${many[@]}")
for i in $(seq 200 256); do too_many+=(--module $mods/many/$i=/bin/m$i); done
ZF_MKISO_NO_MODULE_LIMIT=1 boot modules-257-refused "${too_many[@]}" --expect panic \
    --match '^PANIC: boot: the loader passed 257 modules; Zeroframe accepts at most 256$'
# UEFI (OVMF) boots of the same hybrid ISO; the firmware is slow under TCG.
# GRUB's EFI heap is a fraction of RAM: at 128M it cannot load 40 MB.  No
# VGA text there: the console is drawn on GRUB's framebuffer.
fbcon=(--match '^console: framebuffer [0-9]+x[0-9]+x(16|24|32) at 0x[0-9a-f]+, [0-9]+x[0-9]+ text'
       --match '^ok [0-9]+ console.framebuffer_draws_text$')
boot uefi-pc --firmware uefi --machine pc --timeout 240 "${fbcon[@]}"
boot uefi-q35-modules --firmware uefi --machine q35 --mem 256M --timeout 240 --cmdline 'modules=3' \
    "${sized[@]}" --match '^# modules: 3, 2 with a verified header, 1 empty' "${fbcon[@]}"

# --- virtual memory (issue #5): unresolved faults end in the precise report
boot vmm-panic-write-read-only --cmdline 'test=vmm_panic.write_to_read_only_region' --expect panic \
    --match '^PANIC: #PF page fault \(vector 14\) in kernel mode' \
    --match '^Page fault: kernel write at 0xffff8[0-9a-f]{8}040 \(protection violation on a present page\)' \
    --match '^  reason: write to a region without write permission$' \
    --match '^  region: \[0xffff8[0-9a-f]{11}, 0xffff8[0-9a-f]{11}\) r--- private, anonymous object #[0-9]+, page 0 of it .read-only.$' \
    --match '^    PML4\[256\] = [0-9a-f]{16}  P W' \
    --match '^    PT  \[ *[0-9]+\] = 80000000[0-9a-f]{8}  P A NX   <- walk ended here' \
    --match '\(the zero frame\), effective rights: read-only kernel no-exec' \
    --match '#0 +0x[0-9a-f]+ ktest_fn_vmm_panic_write_to_read_only_region\+0x'
boot vmm-panic-oom-in-cow --cmdline 'test=vmm_panic.out_of_memory_in_cow_fault' --expect panic \
    --match '^  reason: out of memory while resolving the fault$' \
    --match 'P A COW NX   <- walk ended here' \
    --match '\(the zero frame\), effective rights: read-only'

# --- processes (issue #10): the user test programs, static musl executables,
# each a module /bin/NAME; /bin/runtests runs every test_* program (and every
# PROGRAMS file) and reports each; the VMM consistency checker runs after
# every process that ends.
user_mods=() user_tests=()
for p in build/user/* $PROGRAMS; do
    [[ -f $p ]] || continue
    user_mods+=(--module "$p=/bin/$(basename "$p")")
    case $(basename "$p") in test_*) user_tests+=("/bin/$(basename "$p")") ;; esac
done
for p in $PROGRAMS; do user_tests+=("/bin/$(basename "$p")"); done
boot user-programs --timeout 180 --cmdline "init=/bin/runtests -- ${user_tests[*]}" "${user_mods[@]}" \
    --match "^user tests: ${#user_tests[@]} of ${#user_tests[@]} passed\$" \
    --match '^PID [0-9]+ \[test_mem\] data write fault at 0x[0-9a-f]+: write to a region without write permission$' \
    --match '^PID [0-9]+ \[test_mem\] instruction fetch fault at 0x[0-9a-f]+: execute in a region without execute permission$' \
    --match '^PID [0-9]+ \[test_mem\] data read fault at 0x[0-9a-f]+: no region holds this address$' \
    --match '^PID [0-9]+ \[test_mem\] data write fault at 0x[0-9a-f]+: access to a guard region$' \
    --match '^PID [0-9]+ \[test_traps\] #DE \(divide error\) at 0x' \
    --match '^PID [0-9]+ \[test_oom\] out of memory resolving a data write fault at 0x[0-9a-f]+: killed$' \
    --match '^  RIP=[0-9a-f]{16} touch_guard\+0x[0-9a-f]+ \(in test_mem\)$' \
    --match '^  error code 0x7: protection violation on a present page, write, user mode$' \
    --match '^PID [0-9]+ \[test_sysret\] cannot return to 0x800000000000: not a canonical user address$' \
    --no-match '^vmm consistency check after'
boot user-fault-stop --timeout 60 \
    --cmdline 'fault=stop init=/bin/faultstop' --module build/user/faultstop=/bin/faultstop \
    --match 'stopped for inspection \(fault=stop\)' --match '^faultstop: .* 0 failed$'

# --- the tooling's own tests
step "runner self-tests" tests/runner-selftest.sh
step "make debug: stop at _start, taken port refused, per-run logs" tests/debug-selftest.sh
step "GDB helpers' decoders (python3 -m unittest, recorded tables)" \
    python3 -m unittest discover -q -s gdb/tests
step "GDB end to end: CoW fault watched, fatal fault caught, processes and regions, make debug + Ctrl-C" tests/gdb-test.py

echo
if ((failed)); then
    echo "failed steps: ${failures[*]}"
fi
echo "make test: $passed passed, $failed failed"
((failed == 0))
