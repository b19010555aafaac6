# Zeroframe build.  `make help` lists the targets.

CROSS   ?=
CC      ?= gcc
ifeq ($(origin CC),default)
CC      := $(CROSS)gcc
endif
LD      := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
NASM    ?= nasm

BUILD   := build
ELF     := $(BUILD)/zeroframe.elf
ISO     := $(BUILD)/zeroframe.iso

# QEMU knobs (scripts/qemu-args.sh reads them from the environment).
MEM        ?= 128M
SMP        ?= 1
MACHINE    ?= pc
CPU        ?= qemu64
ACCEL      ?= tcg
FIRMWARE   ?= bios
# make run's display: none (serial only), or e.g. gtk / sdl / vnc=:0 to see
# the VGA text or framebuffer console.
QEMU_DISPLAY ?= none
QEMU_EXTRA ?=
export MEM SMP MACHINE CPU ACCEL FIRMWARE QEMU_EXTRA

IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)

CFLAGS_COMMON := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
    -Wstrict-prototypes -Wmissing-prototypes -Wshadow -Wvla
KCFLAGS := $(CFLAGS_COMMON) -ffreestanding -nostdlib -fno-builtin -mno-red-zone \
    -mcmodel=kernel -fno-pic -fno-pie -mgeneral-regs-only -fno-stack-protector \
    -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-asynchronous-unwind-tables \
    -Iinclude -Ikernel -Ikernel/arch/x86_64 -MMD -MP
ifeq ($(IS_CLANG),1)
KCFLAGS += --target=x86_64-unknown-none-elf
endif
NASMFLAGS := -f elf64 -g -F dwarf -w+all
LDFLAGS   := -n -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

KSRC_C   := $(shell find kernel tests/ktest.c tests/kernel -name '*.c' 2>/dev/null | sort)
KSRC_ASM := $(shell find boot kernel tests/kernel -name '*.asm' | sort)
KOBJ     := $(patsubst %.c,$(BUILD)/obj/%.o,$(KSRC_C)) $(patsubst %.asm,$(BUILD)/obj/%.o,$(KSRC_ASM))

# The framebuffer console's font: a PSF console font from Debian's
# console-setup-linux, converted to C at build time (tools/psf2c.c).
FONT   ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz
FONT_C := $(BUILD)/gen/fb_font.c
FONT_O := $(BUILD)/obj/gen/fb_font.o
KOBJ   += $(FONT_O)

.PHONY: all iso run test debug debug-server deps help clean check-clang
all: iso
iso: $(ISO)

$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) -c $< -o $@

# Assembly includes: few, shared; every .asm depends on them.
ASM_INC := $(wildcard kernel/arch/x86_64/*.inc)
$(BUILD)/obj/%.o: %.asm Makefile $(ASM_INC)
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@$(NASM) $(NASMFLAGS) $< -o $@
	@# NASM's DWARF unit claims only the file's first code section while its
	@# .debug_aranges lists them all (boot.asm: .boot.text and .text); GDB then
	@# warns "pc ... in read in CU, but not in symtab" for the others.  Without
	@# aranges GDB uses the unit's own range: code outside it is named by its
	@# ELF symbol, with no warning.
	@$(OBJCOPY) --remove-section=.debug_aranges $@

$(BUILD)/tools/psf2c: tools/psf2c.c Makefile
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) -std=gnu11 -O1 -Wall -Wextra -Werror -o $@ $<

$(FONT):
	@echo "font $(FONT) is missing: make deps installs it (console-setup-linux), or set FONT=" >&2
	@exit 1

$(FONT_C): $(BUILD)/tools/psf2c $(FONT)
	@mkdir -p $(dir $@)
	@echo "  FONT    $(FONT)"
	@gzip -dcf $(FONT) | $(BUILD)/tools/psf2c > $@.tmp && mv $@.tmp $@

$(FONT_O): $(FONT_C) kernel/dev/fb_font.h Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KCFLAGS) -Ikernel/dev -c $< -o $@

# Three link passes so that the kernel carries its own symbol table
# (scripts/link.sh explains).
$(ELF): $(KOBJ) linker.ld scripts/link.sh scripts/gen-ksyms.sh
	@echo "  LD      $@ (with embedded symbols)"
	@LD="$(LD)" LDFLAGS="$(LDFLAGS)" NASM="$(NASM)" NASMFLAGS="$(NASMFLAGS)" NM="$(CROSS)nm" \
	    scripts/link.sh $@ $(KOBJ)

# User programs (built below): defined here because the ISO's prerequisites
# are expanded when make reads its rule.
USER_SRC := $(wildcard user/*.c)
BAD_ELF_KINDS := class32 arm64 overlap kernel-half huge
USER_BIN := $(patsubst user/%.c,$(BUILD)/user/%,$(USER_SRC)) $(BUILD)/user/badelf \
    $(patsubst %,$(BUILD)/user/badelf-%,$(BAD_ELF_KINDS))

# The ISO's default command line is empty: `make run` mode.  The test runner
# builds its own ISOs with other command lines (scripts/mkiso.sh).
# Every program of user/ travels in it as the module /bin/NAME, and so does
# every file named in PROGRAMS (any static x86-64 executable).
# CMDLINE is the kernel command line of `make run`'s ISO (e.g. init=/bin/prog).
PROGRAMS ?=
CMDLINE ?=
export PROGRAMS
ISO_MODULES = $(foreach p,$(USER_BIN) $(PROGRAMS),$(p)=/bin/$(notdir $(p)))
$(ISO): $(ELF) $(USER_BIN) $(PROGRAMS) iso/grub.cfg.in scripts/mkiso.sh FORCE
	@echo "  ISO     $@"
	@scripts/mkiso.sh $(ELF) "$(CMDLINE)" $@ $(ISO_MODULES)
.PHONY: FORCE
FORCE:

deps:
	@scripts/deps.sh

run: deps $(ISO)
	@echo "Zeroframe: serial console follows; quit QEMU with Ctrl-A X."
	qemu-system-x86_64 $$(scripts/qemu-args.sh) -cdrom $(ISO) -serial mon:stdio -display $(QEMU_DISPLAY)

test: deps
	@$(MAKE) --no-print-directory $(ELF) $(ISO)
	@tests/run-all.sh

# The user test programs on a stock Debian Linux kernel (downloaded once with
# apt-get download, never installed): outside `make test` (network).
.PHONY: test-linux
test-linux: deps $(USER_BIN)
	@scripts/test-linux.sh

debug: deps $(ISO)
	@scripts/debug.sh $(ELF) $(ISO)

debug-server: deps $(ISO)
	@scripts/debug.sh --server $(ELF) $(ISO)

help:
	@echo "Zeroframe targets:"
	@echo "  make / make iso   build $(ELF) and $(ISO)"
	@echo "  make run          boot in QEMU, serial console on this terminal (quit: Ctrl-A X)"
	@echo "  make test         every test: host tests, all kernel boots, runner self-tests"
	@echo "  make test-linux   the user test programs as init of Debian's Linux kernel (downloads it once)"
	@echo "  make fuzz-vmm     the VMM model checker, open-ended (README: Model-checked VMM)"
	@echo "  make debug        boot paused under GDB (gdbstub), symbols and zf-* helpers loaded, stop at _start"
	@echo "  make debug-server only QEMU, paused, with its gdbstub (attach from an IDE or another terminal)"
	@echo "  make bench        guest instructions per fault path and user-mode case (QEMU -icount)"
	@echo "  make bench-check  make bench, then exit 1 if a case is above its target (tests/bench-targets)"
	@echo "  make bench-linux  the same user-mode bench on Debian's Linux kernel, side by side"
	@echo "  make deps         install missing tools (Debian/Ubuntu, apt-get)"
	@echo "  make clean        remove $(BUILD)/"
	@echo "Knobs: MEM=$(MEM) SMP=$(SMP) MACHINE=$(MACHINE) CPU=$(CPU) ACCEL=$(ACCEL) FIRMWARE=$(FIRMWARE) (bios|uefi)"
	@echo "       QEMU_DISPLAY=$(QEMU_DISPLAY) (make run: gtk, sdl, vnc=:0 ...) QEMU_EXTRA=..."
	@echo "       PROGRAMS=\"prog ...\" (extra /bin programs), CMDLINE=\"init=/bin/prog ...\" (make run)"
	@echo "       GDB_PORT=1234 (debug, debug-server; auto = a free port)"
	@echo "       CC=clang, CROSS=x86_64-elf-"

clean:
	rm -rf $(BUILD)

# ---- physical memory (issue #4): debug knob, host tests, fuzzing, bench ----
# DEBUG=1 (default) poisons freed frames; DEBUG=0 for a release-like build.
DEBUG ?= 1
KCFLAGS += -DZF_DEBUG=$(DEBUG)

HOST_CC    ?= gcc
HOST_BUILD := $(BUILD)/host
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Ikernel \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The allocator and the multiboot2 parser, compiled unchanged for the host.
HOST_SRC := kernel/mm/pmm.c kernel/lib/range.c kernel/lib/multiboot2.c kernel/lib/mb2_parse.c
FUZZ_RUNS ?= 200000
FUZZ_SECONDS ?= 120

.PHONY: host-test fuzz fuzz-smoke bench
$(HOST_BUILD)/test_pmm: tests/host/test_pmm.c tests/host/test_mb2.c tests/host/host_main.c \
        tests/host/host.h tests/host/mmu_hooks.h include/mm_cpu.h $(HOST_SRC) Makefile
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(HOST_CFLAGS) -Itests/host -Ikernel/mm -o $@ tests/host/host_main.c tests/host/test_pmm.c \
	    tests/host/test_mb2.c $(HOST_SRC) -lcmocka

host-test: $(HOST_BUILD)/test_pmm
	@$(HOST_BUILD)/test_pmm

$(HOST_BUILD)/fuzz_mb2: tests/fuzz/fuzz_mb2.c kernel/lib/range.c kernel/lib/multiboot2.c \
        kernel/lib/mb2_parse.c Makefile
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -o $@ $(filter %.c,$^)

# Bounded run for make test; `make fuzz` runs longer.
fuzz-smoke: $(HOST_BUILD)/fuzz_mb2
	@mkdir -p $(HOST_BUILD)/fuzz-corpus
	@$(HOST_BUILD)/fuzz_mb2 -runs=$(FUZZ_RUNS) -max_len=4096 $(HOST_BUILD)/fuzz-corpus tests/fuzz/corpus 2>&1 | tail -n 3

fuzz: $(HOST_BUILD)/fuzz_mb2
	@mkdir -p $(HOST_BUILD)/fuzz-corpus
	$(HOST_BUILD)/fuzz_mb2 -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(HOST_BUILD)/fuzz-corpus tests/fuzz/corpus

# Guest instructions per fault path, walk, temporary mapping, alloc+free pair,
# region lookup and user-mode case, at 128M and 4T (scripts/bench.sh).
# bench-check judges them against tests/bench-targets; it is not part of
# make test (README, Performance, says why).  bench-linux runs the same
# user/zfbench on a stock Debian Linux kernel and prints both side by side.
.PHONY: bench-check bench-linux
bench: deps $(ELF) $(USER_BIN)
	@scripts/bench.sh

bench-check: deps $(ELF) $(USER_BIN)
	@BENCH_QUICK=1 scripts/bench.sh
	@scripts/bench-check.sh

bench-linux: deps $(ELF) $(USER_BIN)
	@scripts/bench-linux.sh

# ---- host tests of the VMM (cmocka, ASan + UBSan, simulated memory) ----
# The consistency checker's tally is small here, so that its multi-pass
# path (more referenced frames than the tally holds) runs in every test.
VMM_HOST_CFLAGS := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=all -DZF_HOST -Itests/host -Iinclude -Ikernel/mm \
    -DVMM_CHECK_TALLY_SLOTS=64u
VMM_HOST_LIB := $(filter-out kernel/mm/pmm% kernel/mm/vmm_init.c kernel/mm/vmm_modules.c,$(wildcard kernel/mm/*.c)) \
    kernel/lib/kprintf.c kernel/lib/avl.c tests/host/sim.c
VMM_HOST_DEPS := $(VMM_HOST_LIB) $(wildcard include/*.h kernel/mm/*.h tests/host/*.h) Makefile
$(BUILD)/host/test_vmm: tests/host/test_vmm.c $(VMM_HOST_DEPS)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(VMM_HOST_CFLAGS) $(VMM_HOST_LIB) $< -lcmocka -o $@
$(BUILD)/host/test_region: tests/host/test_region.c $(VMM_HOST_DEPS)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(VMM_HOST_CFLAGS) $(VMM_HOST_LIB) $< -lcmocka -o $@

# `make host-test` runs every host suite (pmm + multiboot2 above, VMM and
# regions here).
.PHONY: host-test-vmm
host-test-vmm: $(BUILD)/host/test_vmm $(BUILD)/host/test_region
	@$(BUILD)/host/test_vmm
	@$(BUILD)/host/test_region
host-test: host-test-vmm

# ---- the VMM model checker (libFuzzer; tests/fuzz/vmm, README "Model-checked VMM") ----
# The real kernel/mm sources (MM_DIR: the mutation self-test points it at a
# scratch copy with a bug injected) under a simulated CPU and TLB.
MM_DIR ?= kernel/mm
FUZZ_VMM ?= $(HOST_BUILD)/fuzz_vmm
FUZZ_VMM_SAN ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_VMM_EXTRA ?=
FUZZ_VMM_SRC := $(filter-out $(MM_DIR)/pmm% $(MM_DIR)/vmm_init.c $(MM_DIR)/vmm_modules.c,$(wildcard $(MM_DIR)/*.c)) \
    kernel/lib/kprintf.c kernel/lib/avl.c tests/host/sim.c $(wildcard tests/fuzz/vmm/*.c)
FUZZ_VMM_RUNS ?= 3000
FUZZ_VMM_CFLAGS = $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -DZF_HOST -Itests/fuzz/vmm -I$(MM_DIR) \
    -Itests/host -Iinclude
FUZZ_VMM_JOBS ?= 1
$(FUZZ_VMM): $(FUZZ_VMM_SRC) $(wildcard include/*.h $(MM_DIR)/*.h tests/host/*.h tests/fuzz/vmm/*.h) Makefile
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_VMM_CFLAGS) $(FUZZ_VMM_SAN) $(FUZZ_VMM_EXTRA) -o $@ $(FUZZ_VMM_SRC)

.PHONY: fuzz-vmm fuzz-vmm-replay fuzz-vmm-smoke fuzz-vmm-mutants fuzz-vmm-flags
# Every corpus input as a regression test.
fuzz-vmm-replay: $(FUZZ_VMM)
	@$(FUZZ_VMM) --replay tests/fuzz/vmm-corpus
# A bounded run for make test: a fixed number of inputs and seed, from the
# committed corpus only (a fresh working corpus each time).
fuzz-vmm-smoke: $(FUZZ_VMM)
	@rm -rf $(HOST_BUILD)/fuzz-vmm-smoke && mkdir -p $(HOST_BUILD)/fuzz-vmm-smoke
	@$(FUZZ_VMM) -seed=1 -runs=$(FUZZ_VMM_RUNS) -max_len=600 -len_control=0 \
	    -artifact_prefix=$(HOST_BUILD)/fuzz-vmm-smoke/ $(HOST_BUILD)/fuzz-vmm-smoke tests/fuzz/vmm-corpus \
	    >$(HOST_BUILD)/fuzz-vmm-smoke.log 2>&1; st=$$?; \
	    grep -aE 'DIVERGENCE|ERROR|SUMMARY|fuzz_vmm:|^Done' $(HOST_BUILD)/fuzz-vmm-smoke.log; exit $$st
# Open-ended (Ctrl-C stops it; crashes land in $(HOST_BUILD)/fuzz-vmm-crashes).
fuzz-vmm: $(FUZZ_VMM)
	@mkdir -p $(HOST_BUILD)/fuzz-vmm-corpus $(HOST_BUILD)/fuzz-vmm-crashes
	$(FUZZ_VMM) -max_len=600 -jobs=$(FUZZ_VMM_JOBS) -workers=$(FUZZ_VMM_JOBS) \
	    -artifact_prefix=$(HOST_BUILD)/fuzz-vmm-crashes/ $(HOST_BUILD)/fuzz-vmm-corpus tests/fuzz/vmm-corpus
fuzz-vmm-mutants:
	@tests/fuzz/vmm-mutants.sh
# Line coverage of kernel/mm reached by a corpus (FUZZ_VMM_COV_CORPUS, default
# the committed one plus the working corpus of make fuzz-vmm): each input run
# once by an instrumented build, then llvm-cov's per-file report.
FUZZ_VMM_COV_CORPUS ?= tests/fuzz/vmm-corpus $(wildcard $(HOST_BUILD)/fuzz-vmm-corpus)
.PHONY: fuzz-vmm-coverage
fuzz-vmm-coverage:
	@$(MAKE) --no-print-directory -s FUZZ_VMM=$(HOST_BUILD)/fuzz_vmm_cov FUZZ_VMM_SAN=-fsanitize=fuzzer \
	    FUZZ_VMM_EXTRA="-fprofile-instr-generate -fcoverage-mapping" $(HOST_BUILD)/fuzz_vmm_cov
	@rm -f $(HOST_BUILD)/fuzz_vmm_cov.prof*
	@LLVM_PROFILE_FILE=$(HOST_BUILD)/fuzz_vmm_cov.profraw $(HOST_BUILD)/fuzz_vmm_cov -runs=0 \
	    $(FUZZ_VMM_COV_CORPUS) >$(HOST_BUILD)/fuzz_vmm_cov.log 2>&1
	@llvm-profdata merge -o $(HOST_BUILD)/fuzz_vmm_cov.profdata $(HOST_BUILD)/fuzz_vmm_cov.profraw
	@llvm-cov report $(HOST_BUILD)/fuzz_vmm_cov -instr-profile=$(HOST_BUILD)/fuzz_vmm_cov.profdata \
	    $(filter $(MM_DIR)/%,$(FUZZ_VMM_SRC))
# For the mutation script: the compiler flags and the sources outside kernel/mm.
fuzz-vmm-flags:
	@echo "$(FUZZ_VMM_CFLAGS)"
	@echo "$(filter-out $(MM_DIR)/%,$(FUZZ_VMM_SRC))"
	@echo "$(filter $(MM_DIR)/%,$(FUZZ_VMM_SRC))"

# ---- user programs (static musl executables: the same binary runs on Linux) ----
MUSL_CC ?= musl-gcc
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static
.PHONY: user
user: $(USER_BIN)
# A truncated executable: execve must refuse it with ENOEXEC.
$(BUILD)/user/badelf: $(BUILD)/user/hello
	@head -c 100 $< > $@
# Damaged in one way each (tests/make-bad-elf.py): refused with ENOEXEC too.
$(BUILD)/user/badelf-%: $(BUILD)/user/hello tests/make-bad-elf.py
	@python3 tests/make-bad-elf.py $< $* $@
$(BUILD)/user/%: user/%.c $(wildcard user/lib/*.h) Makefile
	@mkdir -p $(dir $@)
	@echo "  MUSLCC  $@"
	@$(MUSL_CC) $(USER_CFLAGS) -o $@ $<

# The ELF loader against real musl executables, on simulated memory.
$(BUILD)/host/test_elf: tests/host/test_elf.c kernel/proc/elf_load.c $(VMM_HOST_DEPS) $(BUILD)/user/hello
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(VMM_HOST_CFLAGS) -DTEST_ELF_PROGRAM='"$(BUILD)/user/hello"' $(VMM_HOST_LIB) \
	    kernel/proc/elf_load.c $< -lcmocka -o $@
.PHONY: host-test-elf
host-test-elf: $(BUILD)/host/test_elf
	@$(BUILD)/host/test_elf
host-test: host-test-elf

-include $(KOBJ:.o=.d)
