/* Exceptions and interrupts: tables loaded, the frame the stubs build, the
 * probes and their exact faults, the decoders, IST and PIC wiring. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "gdt.h"
#include "irq.h"
#include "kprintf.h"
#include "ksym.h"
#include "kstring.h"
#include "ktest.h"
#include "paging.h"
#include "panic.h"
#include "pic.h"
#include "probe.h"

static uint64_t sample_exception_depth(void)
{
    return irq_exception_depth();
}
/* Every test must leave no exception half-handled. */
KTEST_GUARD(irq_exception_depth, sample_exception_depth);

static bool page_mapped(uintptr_t va)
{
    return boot_pt[(va - KERNEL_VMA) >> 12] & 1;
}

TEST(irq, gdt_tss_and_ist_stacks)
{
    EXPECT_EQ(read_cs(), GDT_KERNEL_CODE);
    EXPECT_EQ(read_ss(), GDT_KERNEL_DATA);
    EXPECT_EQ(cpu_str(), GDT_TSS);
    struct cpu_dtr gdtr;
    cpu_sgdt(&gdtr);
    EXPECT_EQ(gdtr.limit, 7 * 8 - 1);
    EXPECT_GE(gdtr.base, KERNEL_VMA);
    for (unsigned ist = 1; ist <= TSS_IST_COUNT; ist++) {
        uintptr_t lo, hi;
        ASSERT_TRUE(tss_ist_bounds(ist, &lo, &hi));
        EXPECT_EQ(hi - lo, TSS_IST_STACK_SIZE);
        EXPECT_EQ(lo % 4096, 0);
        EXPECT_FALSE(page_mapped(lo - 4096)); /* the guard page */
        EXPECT_TRUE(page_mapped(lo));
        EXPECT_TRUE(page_mapped(hi - 1));
        EXPECT_EQ(tss_ist_containing(hi - 8), ist);
    }
    EXPECT_EQ(tss_ist_containing(read_rsp()), 0);
}

TEST(irq, idt_loaded)
{
    struct cpu_dtr idtr;
    cpu_sidt(&idtr);
    EXPECT_EQ(idtr.limit, IRQ_VECTORS * 16 - 1);
    EXPECT_GE(idtr.base, KERNEL_VMA);
}

TEST(irq, int3_returns_and_execution_continues)
{
    uint64_t before = irq_count(IRQ_BP);
    volatile int after = 0;
    cpu_breakpoint();
    after = 1;
    cpu_breakpoint();
    after++;
    EXPECT_EQ(after, 2);
    EXPECT_EQ(irq_count(IRQ_BP) - before, 2);
}

/* kernel/irq/frame_selftest.asm */
uint64_t irq_selftest_int3_regs(uint64_t seed, uint64_t mask);
extern char irq_selftest_int3_site[];

#define REGS_SEED 0x1122334455667700ull
#define REGS_MASK 0xa5a5a5a5a5a5a5a5ull

static struct {
    int calls;
    uint64_t bad_regs, vector, error_code, cs, ss, rip, rflags;
    bool interrupted_fn_in_backtrace;
} seen;

static irq_result_t check_and_flip_regs(struct irq_frame *f)
{
    uint64_t *regs[15] = { &f->rax, &f->rbx, &f->rcx, &f->rdx, &f->rsi, &f->rdi, &f->rbp,
                           &f->r8,  &f->r9,  &f->r10, &f->r11, &f->r12, &f->r13, &f->r14,
                           &f->r15 };
    seen.calls++;
    for (int i = 0; i < 15; i++) {
        if (*regs[i] != REGS_SEED + (uint64_t)i)
            seen.bad_regs |= 1ull << i;
        *regs[i] ^= REGS_MASK;
    }
    seen.vector = f->vector, seen.error_code = f->error_code, seen.cs = f->cs;
    seen.ss = f->ss, seen.rip = f->rip, seen.rflags = f->rflags;
    /* The stub's frame record leads a backtrace into the interrupted code. */
    uintptr_t frames[8];
    int n = backtrace_collect(read_rbp(), frames, 8);
    for (int i = 0; i < n; i++) {
        const char *name;
        uintptr_t off;
        /* For a trap the saved RIP is the next instruction: the label
         * irq_selftest_int3_site inside irq_selftest_int3_regs. */
        if (ksym_lookup(frames[i] - 1, &name, &off) &&
            strncmp(name, "irq_selftest_int3_", 18) == 0)
            seen.interrupted_fn_in_backtrace = true;
    }
    return IRQ_HANDLED;
}

TEST(irq, frame_holds_every_register_and_is_restored_from)
{
    memset(&seen, 0, sizeof(seen));
    irq_handler_t old = irq_set_handler(IRQ_BP, check_and_flip_regs);
    uint64_t bad_after = irq_selftest_int3_regs(REGS_SEED, REGS_MASK);
    irq_set_handler(IRQ_BP, old);
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.bad_regs, 0);  /* what the handler saw */
    EXPECT_EQ(bad_after, 0);      /* what the interrupted code got back */
    EXPECT_EQ(seen.vector, IRQ_BP);
    EXPECT_EQ(seen.error_code, 0);
    EXPECT_EQ(seen.cs, GDT_KERNEL_CODE);
    EXPECT_EQ(seen.ss, GDT_KERNEL_DATA);
    EXPECT_EQ(seen.rip, (uintptr_t)irq_selftest_int3_site);
    EXPECT_NE(seen.rflags & 2, 0); /* bit 1 always reads 1 */
    EXPECT_TRUE(seen.interrupted_fn_in_backtrace);
}

static uint64_t probe_target = 0x0123456789abcdefull;

TEST(probe, read_write_exec_without_fault)
{
    struct probe_fault f = { 99, 99, 99 };
    uint64_t v = 0;
    probe_target = 0x0123456789abcdefull;
    EXPECT_TRUE(probe_read64((uintptr_t)&probe_target, &v, &f));
    EXPECT_EQ(v, 0x0123456789abcdefull);
    EXPECT_TRUE(probe_write64((uintptr_t)&probe_target, 42, &f));
    EXPECT_EQ(probe_target, 42);
    EXPECT_TRUE(probe_exec((uintptr_t)probe_snippet_ret, &f));
    EXPECT_EQ(f.vector, 99); /* untouched */
    EXPECT_TRUE(probe_read64((uintptr_t)&probe_target, &v, NULL));
}

#define EXPECT_FAULT(f, vec, err, cr2_)                                                     \
    do {                                                                                    \
        EXPECT_EQ((f).vector, vec);                                                         \
        EXPECT_EQ((f).error_code, err);                                                     \
        EXPECT_EQ((f).cr2, cr2_);                                                           \
    } while (0)

TEST(probe, page_fault_null_read_write_exec)
{
    struct probe_fault f;
    uint64_t v = 7;
    EXPECT_FALSE(probe_read64(0, &v, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x0, 0); /* not present, read, kernel */
    EXPECT_EQ(v, 7);
    EXPECT_FALSE(probe_write64(8, 1, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x2, 8); /* not present, write */
    EXPECT_FALSE(probe_exec(0x10, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x10, 0x10); /* not present, instruction fetch (NXE on) */
    EXPECT_FALSE(probe_read64(0, &v, NULL)); /* no record wanted */
}

TEST(probe, page_fault_unmapped_higher_half)
{
    struct probe_fault f;
    uint64_t v;
    uintptr_t guard = (uintptr_t)boot_stack_guard + 0x18;
    EXPECT_FALSE(probe_read64(guard, &v, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x0, guard);
    EXPECT_FALSE(probe_write64(guard, 1, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x2, guard);
    /* The arena's last page: no region ever reaches it. */
    uintptr_t top = KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE - PAGE_4K;
    EXPECT_FALSE(probe_read64(top, &v, &f));
    EXPECT_FAULT(f, IRQ_PF, 0x0, top);
}

TEST(probe, general_protection_non_canonical)
{
    struct probe_fault f;
    uint64_t v;
    EXPECT_FALSE(probe_read64(0x8000000000000000ull, &v, &f));
    EXPECT_FAULT(f, IRQ_GP, 0, 0);
    EXPECT_FALSE(probe_write64(0x0000800000000000ull, 1, &f));
    EXPECT_FAULT(f, IRQ_GP, 0, 0);
}

TEST(probe, invalid_opcode_and_divide_error)
{
    struct probe_fault f;
    EXPECT_FALSE(probe_exec((uintptr_t)probe_snippet_ud2, &f));
    EXPECT_FAULT(f, IRQ_UD, 0, 0);
    EXPECT_FALSE(probe_exec((uintptr_t)probe_snippet_div0, &f));
    EXPECT_FAULT(f, IRQ_DE, 0, 0);
    /* Still working after the faults. */
    EXPECT_TRUE(probe_exec((uintptr_t)probe_snippet_ret, &f));
}

static int pf_handler_calls;

static irq_result_t decline_pf(struct irq_frame *f)
{
    pf_handler_calls++;
    return IRQ_UNHANDLED;
}

/* Resolve the fault the way the VMM will (by making the access valid) and
 * retry: here by pointing probe_read64's address register, rdi, at a
 * readable variable. */
static irq_result_t repair_pf(struct irq_frame *f)
{
    pf_handler_calls++;
    if (read_cr2() != 0)
        return IRQ_UNHANDLED;
    f->rdi = (uintptr_t)&probe_target;
    return IRQ_HANDLED;
}

TEST(probe, registered_handler_sees_probe_faults_first)
{
    struct probe_fault f = { 0, 0, 0 };
    uint64_t v = 0;
    pf_handler_calls = 0;
    irq_handler_t old = irq_set_handler(IRQ_PF, decline_pf);
    EXPECT_FALSE(probe_read64(0, &v, &f));
    EXPECT_EQ(pf_handler_calls, 1);
    EXPECT_FAULT(f, IRQ_PF, 0, 0);

    pf_handler_calls = 0;
    probe_target = 0xfeed;
    irq_set_handler(IRQ_PF, repair_pf);
    bool ok = probe_read64(0, &v, &f);
    irq_set_handler(IRQ_PF, old); /* the VMM's handler, once it is up */
    EXPECT_TRUE(ok);
    EXPECT_EQ(v, 0xfeed);
    EXPECT_EQ(pf_handler_calls, 1);
}

/* The decoder's words, written out again here on purpose. */
static void expected_pf_text(uint64_t err, char *buf, size_t n)
{
    ksnprintf(buf, n, "%s, %s, %s%s%s%s%s%s",
              err & 1 ? "protection violation on a present page" : "page not present",
              err & 2 ? "write" : "read", err & 4 ? "user mode" : "kernel mode",
              err & 8 ? ", reserved bit set in a paging entry" : "",
              err & 16 ? ", instruction fetch" : "", err & 32 ? ", protection key" : "",
              err & 64 ? ", shadow stack" : "", err & 0x8000 ? ", SGX" : "");
}

TEST(irq, pf_error_decoder_every_bit_combination)
{
    char got[200], want[200];
    int mismatches = 0;
    for (uint64_t combo = 0; combo < 256; combo++) {
        uint64_t err = (combo & 0x7f) | (combo & 0x80 ? 0x8000 : 0);
        int n = irq_pf_error_describe(err, got, sizeof(got));
        expected_pf_text(err, want, sizeof(want));
        if (strcmp(got, want) != 0 || n != (int)strlen(want)) {
            if (mismatches++ < 3)
                kprintf("# err %#lx: got \"%s\", want \"%s\"\n", (unsigned long)err, got, want);
        }
    }
    EXPECT_EQ(mismatches, 0);
}

TEST(irq, error_code_decoder_samples)
{
    char buf[200];
    irq_pf_error_describe(0x2, buf, sizeof(buf));
    EXPECT_STREQ(buf, "page not present, write, kernel mode");
    irq_pf_error_describe(0x15, buf, sizeof(buf));
    EXPECT_STREQ(buf, "protection violation on a present page, read, user mode, "
                      "instruction fetch");
    irq_pf_error_describe(0x10100, buf, sizeof(buf));
    EXPECT_STREQ(buf, "page not present, read, kernel mode, unknown bits 0x10100");
    /* snprintf contract: truncated, terminated, full length returned. */
    char small[10];
    int n = irq_pf_error_describe(0x2, small, sizeof(small));
    EXPECT_EQ(n, (int)strlen("page not present, write, kernel mode"));
    EXPECT_STREQ(small, "page not ");

    irq_selector_error_describe(0, buf, sizeof(buf));
    EXPECT_STREQ(buf, "no selector (error code 0)");
    irq_selector_error_describe(0x28, buf, sizeof(buf));
    EXPECT_STREQ(buf, "selector 0x28: index 5 in the GDT");
    irq_selector_error_describe(0x0c | 1, buf, sizeof(buf));
    EXPECT_STREQ(buf, "selector 0x8: index 1 in the LDT, external event");
    irq_selector_error_describe(0x80 * 8 + 2, buf, sizeof(buf));
    EXPECT_STREQ(buf, "IDT vector 128 (0x80)");

    irq_rflags_describe(0x10246, buf, sizeof(buf));
    EXPECT_STREQ(buf, "PF ZF IF RF IOPL=0");
    irq_rflags_describe(0x3002, buf, sizeof(buf));
    EXPECT_STREQ(buf, "IOPL=3");

    EXPECT_STREQ(irq_vector_mnemonic(14), "#PF");
    EXPECT_STREQ(irq_vector_name(8), "double fault");
    EXPECT_TRUE(irq_vector_has_error_code(14));
    EXPECT_FALSE(irq_vector_has_error_code(6));
}

static uintptr_t frame_addr[IRQ_VECTORS];

static irq_result_t note_frame(struct irq_frame *f)
{
    frame_addr[f->vector] = (uintptr_t)f;
    return IRQ_HANDLED;
}

TEST(irq, nmi_and_machine_check_run_on_their_ist_stacks)
{
    /* A software "int" goes through the same gate, IST switch included. */
    irq_handler_t old_nmi = irq_set_handler(IRQ_NMI, note_frame);
    irq_handler_t old_mc = irq_set_handler(IRQ_MC, note_frame);
    cpu_soft_int(2);
    cpu_soft_int(18);
    irq_set_handler(IRQ_NMI, old_nmi);
    irq_set_handler(IRQ_MC, old_mc);
    EXPECT_EQ(tss_ist_containing(frame_addr[IRQ_NMI]), TSS_IST_NMI);
    EXPECT_EQ(tss_ist_containing(frame_addr[IRQ_MC]), TSS_IST_MC);
    /* Ordinary exceptions stay on the current stack. */
    irq_handler_t old_bp = irq_set_handler(IRQ_BP, note_frame);
    cpu_breakpoint();
    irq_set_handler(IRQ_BP, old_bp);
    EXPECT_EQ(tss_ist_containing(frame_addr[IRQ_BP]), 0);
    EXPECT_GE(frame_addr[IRQ_BP], (uintptr_t)boot_stack_bottom);
    EXPECT_LT(frame_addr[IRQ_BP], (uintptr_t)boot_stack_top);
}

static int pic_handler_calls;

static irq_result_t count_pic(struct irq_frame *f)
{
    pic_handler_calls++;
    return IRQ_HANDLED;
}

TEST(irq, pic_remapped_masked_and_spurious_irqs)
{
    EXPECT_EQ(pic_get_mask(), 0xffff); /* nothing unmasked */
    uint64_t spurious = irq_spurious_count();
    /* A software int 39/47 has no IRQ 7/15 in service: exactly what a
     * spurious IRQ looks like to the handler. */
    cpu_soft_int(39);
    EXPECT_EQ(irq_spurious_count() - spurious, 1);
    cpu_soft_int(47);
    EXPECT_EQ(irq_spurious_count() - spurious, 2);
    cpu_soft_int(255);
    EXPECT_EQ(irq_spurious_count() - spurious, 3);
    EXPECT_EQ(pic_get_mask(), 0xffff);

    pic_handler_calls = 0;
    irq_handler_t old = irq_set_handler(PIC_VECTOR_BASE + 0, count_pic);
    uint64_t before = irq_count(PIC_VECTOR_BASE);
    cpu_soft_int(32);
    irq_set_handler(PIC_VECTOR_BASE + 0, old);
    EXPECT_EQ(pic_handler_calls, 1);
    EXPECT_EQ(irq_count(PIC_VECTOR_BASE) - before, 1);
    EXPECT_EQ(irq_spurious_count() - spurious, 3);
}
