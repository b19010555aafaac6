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
# Halt messages on VGA too, without CR and LF drawn as glyphs.
boot cpu-without-nx --cpu qemu64,-nx --expect halt --timeout 10 \
    --match 'does not support the NX \(no-execute\) bit; halting' \
    --vga-match '^Zeroframe: this CPU does not support the NX \(no-execute\) bit; halting\. *$'
# GRUB boots a CPU without PAE; the kernel's first check stops it.
boot cpu-without-pae --cpu qemu64,-pae --expect halt --timeout 10 \
    --match '^Zeroframe: this CPU does not support PAE \(physical address extension\); halting\.$' \
    --vga-match '^Zeroframe: this CPU does not support PAE \(physical address extension\); halting\. *$'
# The minimum (README: Minimum memory) on both sides: at MEM=8320K every
# self-test passes; 8 KiB less (QEMU's granule) is one line, then halt.
boot selftests-minimum-memory --mem 8320K --timeout 60
boot too-little-memory --mem 8312K --expect halt --timeout 15 \
    --match '^Zeroframe: too little memory: 7796 KiB of usable RAM found, 7804 KiB needed; halting\.$' \
    --vga-match '^Zeroframe: too little memory: 7796 KiB of usable RAM found, 7804 KiB needed; hal$' \
    --vga-match '^ting\. *$'
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
    --match '^# modules: 3, 2 with a verified header, 1 empty, 48234619 bytes$' \
    --match '^# module /bin/six-mb: 6291579 bytes compared through a paged region$' \
    --match '^ok [0-9]+ region\.paged_region_over_a_module_is_the_module_byte_for_byte$'
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
    --match '^  region: \[0xffff8[0-9a-f]{11}, 0xffff8[0-9a-f]{11}\) r--- private, anonymous object #[0-9]+ from page 0 \(fault in page 0\) .read-only.$' \
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
    --match '^PID [0-9]+ \[test_mem\] data read fault at 0x[0-9a-f]+: read of a region without read permission$' \
    --match '^PID [0-9]+ \[test_mem\] data write fault at 0x[0-9a-f]+: access to a guard region$' \
    --match '^PID [0-9]+ \[test_traps\] #DE \(divide error\) at 0x' \
    --match '^  Hint: #GP with error code 0 is usually an access to a non-canonical address$' \
    --match '^    Non-canonical values in: (.*, )?RBX=dead000000002000(,|$)' \
    --match '^PID [0-9]+ \[test_oom\] out of memory resolving a data write fault at 0x[0-9a-f]+: killed$' \
    --match '^  RIP=[0-9a-f]{16} touch_guard\+0x[0-9a-f]+ \(in test_mem\)$' \
    --match '^  error code 0x7: protection violation on a present page, write, user mode$' \
    --match "^  region: \\[0x7fffff7fe000, 0x7fffff7ff000\\) guard '\\[stack guard\\]'\$" \
    --match '^    PD  \[507\] = 0{16}  not present   <- walk ended here$' \
    --match '^  R13=[0-9a-f]{16} R14=[0-9a-f]{16} R15=[0-9a-f]{16}$' \
    --match '^PID [0-9]+ \[test_mem\] killed by signal 11$' \
    --match '^PID [0-9]+ \[test_sysret\] cannot return to 0x800000000000: not a canonical user address$' \
    --match '^PID [0-9]+ \[test_traps\] #UD \(invalid opcode\) at 0x' \
    --match '^PID [0-9]+ \[test_traps\] #GP \(general protection fault\) at 0x' \
    --match '^execve: /bin/badelf: program headers lie past the end of the file$' \
    --match '^execve: /bin/badelf-class32: not a 64-bit ELF file$' \
    --match '^execve: /bin/badelf-arm64: not an x86-64 executable$' \
    --match '^execve: /bin/badelf-overlap: segments overlap or are not in address order$' \
    --match '^execve: /bin/badelf-kernel-half: segment outside the user half$' \
    --match '^execve: /bin/badelf-huge: absurd segment size$' \
    --match '^PID [0-9]+ \[test_sys\] system call 1000 \(unknown\) is not implemented: -ENOSYS$' \
    --match '^PID [0-9]+ \[test_sys\] system call 25 \(mremap\) is not implemented: -ENOSYS$' \
    --match '^vmm: consistency checked after each of [1-9][0-9]+ processes: 0 failed$' \
    --match "^userfaultfd: PID [0-9]+ \\[test_uffd_exit\\] closed the last descriptor of PID [0-9]+ \\[test_uffd_exit\\]'s pager with faults pending: \\[0x[0-9a-f]+, 0x[0-9a-f]+\\) unregistered, 1 waiter released as ordinary memory\$" \
    --no-match '^vmm consistency check after'
# The PROGRAMS knob of make iso / make run: an executable from outside
# user/ (a copy of hello under another name) becomes /bin/<its name>, and
# CMDLINE makes it the first program.
knob_iso() {
    mkdir -p build/knob && cp build/user/hello build/knob/zf-extra &&
    make --no-print-directory -s iso ISO=build/knob/knob.iso PROGRAMS=build/knob/zf-extra \
        CMDLINE="init=/bin/zf-extra -- via the knob"
}
step "make iso PROGRAMS=... builds" knob_iso
boot make-iso-programs --iso build/knob/knob.iso --expect halt --timeout 60 \
    --match '^# module [0-9]+: /bin/zf-extra, [0-9]+ bytes' \
    --match '^hello from /bin/zf-extra: via the knob \(3 environment strings\)$' \
    --match '^init: /bin/zf-extra exited with status 0$'
boot user-fault-stop --timeout 60 \
    --cmdline 'fault=stop init=/bin/faultstop' --module build/user/faultstop=/bin/faultstop \
    --match 'stopped for inspection \(fault=stop\)' \
    --match '^faultstop: ok: /proc/[0-9]+/status shows it stopped \(state T\)$' \
    --match '^faultstop: ok: it is reaped, killed by SIGKILL$' --match '^faultstop: .* 0 failed$'

# The same user test binaries on the host's Linux kernel: one ABI, one
# behaviour (tests/run-on-linux.sh).
step "user tests on the host's Linux" tests/run-on-linux.sh

# --- make run's configuration: the shell over the serial line (typed commands,
# Ctrl-C, demos, a fatal fault), tests/shell-test.py
step "shell at the prompt of make run (typed over serial)" tests/shell-test.py

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
