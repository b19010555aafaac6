/* The fatal exception report: everything needed to find the bug from the
 * serial log alone.  The README ("Exception reports") walks through it. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "gdt.h"
#include "irq.h"
#include "irq_internal.h"
#include "kprintf.h"
#include "ksym.h"
#include "panic.h"
#include "probe.h"

struct flag_name {
    unsigned bit;
    const char *name;
};

static const struct flag_name cr0_flags[] = {
    { 0, "PE" }, { 1, "MP" }, { 2, "EM" }, { 3, "TS" }, { 4, "ET" }, { 5, "NE" },
    { 16, "WP" }, { 18, "AM" }, { 29, "NW" }, { 30, "CD" }, { 31, "PG" },
};
static const struct flag_name cr4_flags[] = {
    { 0, "VME" }, { 1, "PVI" }, { 2, "TSD" }, { 3, "DE" }, { 4, "PSE" }, { 5, "PAE" },
    { 6, "MCE" }, { 7, "PGE" }, { 8, "PCE" }, { 9, "OSFXSR" }, { 10, "OSXMMEXCPT" },
    { 11, "UMIP" }, { 12, "LA57" }, { 16, "FSGSBASE" }, { 17, "PCIDE" },
    { 18, "OSXSAVE" }, { 20, "SMEP" }, { 21, "SMAP" }, { 22, "PKE" }, { 23, "CET" },
};
static const struct flag_name efer_flags[] = {
    { 0, "SCE" }, { 8, "LME" }, { 10, "LMA" }, { 11, "NXE" },
};

static void print_flags(uint64_t v, const struct flag_name *f, size_t n)
{
    kprintf(" [");
    const char *sep = "";
    for (size_t i = 0; i < n; i++) {
        if (v & (1ull << f[i].bit)) {
            kprintf("%s%s", sep, f[i].name);
            sep = " ";
        }
    }
    kprintf("]");
}
#define PRINT_FLAGS(v, table) print_flags(v, table, sizeof(table) / sizeof(table[0]))

static void print_symbol(uintptr_t addr)
{
    const char *name;
    uintptr_t off;
    if (ksym_lookup(addr, &name, &off))
        kprintf(" %s+0x%lx", name, (unsigned long)off);
}

/* The guard page containing @addr, or 0. */
static uintptr_t guard_page_of(uintptr_t addr)
{
    for (const uintptr_t *g = guard_pages_start; g < guard_pages_end; g++)
        if (addr >= *g && addr - *g < 4096)
            return *g;
    return 0;
}

static void explain_guard_hit(const char *what, uintptr_t addr)
{
    uintptr_t g = guard_page_of(addr);
    if (!g)
        return;
    const char *name;
    uintptr_t off;
    kprintf("  %s %p is in the guard page", what, (void *)addr);
    if (ksym_lookup(g, &name, &off) && off == 0)
        kprintf(" %s", name);
    kprintf(": stack overflow\n");
}

static void print_error_code(const struct irq_frame *f)
{
    unsigned v = (unsigned)f->vector;
    char buf[200];
    if (!irq_vector_has_error_code(v))
        return;
    kprintf("Error code: %#lx", (unsigned long)f->error_code);
    switch (v) {
    case IRQ_PF:
        irq_pf_error_describe(f->error_code, buf, sizeof(buf));
        kprintf(" (%s)\n", buf);
        break;
    case IRQ_TS:
    case IRQ_NP:
    case IRQ_SS:
    case IRQ_GP:
        irq_selector_error_describe(f->error_code, buf, sizeof(buf));
        kprintf(" (%s)\n", buf);
        break;
    case IRQ_DF:
        kprintf(" (always 0 for #DF)\n");
        break;
    default:
        kprintf("\n");
    }
}

static bool canonical(uint64_t a)
{
    /* 48-bit virtual addresses: bits 63..47 all equal. */
    uint64_t top = a >> 47;
    return top == 0 || top == 0x1ffff;
}

/* #GP with error code 0 gives no address: a non-canonical one is the usual
 * cause, and it sits in (or was computed from) a register.  Shared with the
 * user fault report (kernel/proc/proc.c), which indents it under its line. */
void irq_print_gp_hint(const struct irq_frame *f, const char *indent)
{
    static const char *const names[] = { "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8",
                                         "R9",  "R10", "R11", "R12", "R13", "R14", "R15" };
    const uint64_t regs[] = { f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8,
                              f->r9,  f->r10, f->r11, f->r12, f->r13, f->r14, f->r15 };
    unsigned found = 0;
    kprintf("%sHint: #GP with error code 0 is usually an access to a non-canonical address\n"
            "%s  (bits 63..47 not all equal); the CPU reports no fault address for it.\n",
            indent, indent);
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        if (canonical(regs[i]))
            continue;
        if (found++)
            kprintf(", %s=%016lx", names[i], (unsigned long)regs[i]);
        else
            kprintf("%s  Non-canonical values in: %s=%016lx", indent, names[i],
                    (unsigned long)regs[i]);
    }
    if (found)
        kprintf("\n");
    else
        kprintf("%s  No general register holds a non-canonical value (the address may be\n"
                "%s  base + index + displacement, or the cause is another #GP reason).\n",
                indent, indent);
}

static void print_stack_note(const struct irq_frame *f)
{
    uintptr_t rsp = read_rsp();
    unsigned ist = tss_ist_containing(rsp);
    if (ist) {
        uintptr_t lo, hi;
        tss_ist_bounds(ist, &lo, &hi);
        kprintf("Handler stack: IST%u (%s stack %p-%p), RSP %p\n", ist,
                ist == TSS_IST_DF ? "#DF" : ist == TSS_IST_NMI ? "NMI" : "#MC", (void *)lo,
                (void *)hi, (void *)rsp);
    } else {
        kprintf("Handler stack: the interrupted stack, RSP %p\n", (void *)rsp);
    }
}

static void print_double_fault(const struct irq_frame *f, uint64_t cr2)
{
    /* The CPU saves no state for the first fault; CR2 still holds the
     * address of the last #PF, the usual way into #DF. */
    kprintf("A fault occurred while delivering another exception (the saved RIP is\n"
            "where the first fault happened; the SDM calls it undefined for #DF).\n");
    kprintf("Last page-fault address (CR2): %p\n", (void *)cr2);
    explain_guard_hit("CR2", cr2);
    explain_guard_hit("The next push (RSP-8)", f->rsp - 8);
    /* The lean #PF entry's decision counts as one more, the outermost. */
    uint64_t pf_rip;
    bool pf = page_fault_in_progress(&pf_rip);
    unsigned nested = irq_nesting.depth - 1 + (pf ? 1 : 0);
    if (nested > 0) {
        unsigned outer = pf ? IRQ_PF : irq_nesting.outer_vector;
        uint64_t rip = pf ? pf_rip : irq_nesting.outer_rip;
        kprintf("Exceptions in progress: %u nested, the outermost %s (vector %u) at RIP %p",
                nested, irq_vector_mnemonic(outer), outer, (void *)rip);
        print_symbol(rip);
        kprintf(": a fault inside an exception handler\n");
    }
}

static void print_frame(int i, uintptr_t addr, const char *note)
{
    kprintf("  #%-2d %p", i, (void *)addr);
    print_symbol(addr);
    kprintf("%s\n", note);
}

/* backtrace_print(), plus one thing only an exception frame allows: a leaf
 * function compiled without a frame record still has its return address at
 * the interrupted RSP.  Read it through a probe (the stack may be the thing
 * that broke) and show it, marked, when the frame chain lacks it. */
static void print_backtrace(const struct irq_frame *f)
{
    uintptr_t frames[32];
    int n = backtrace_collect(f->rbp, frames, 32), i = 0;
    uint64_t top;
    kprintf("Backtrace:\n");
    print_frame(i++, f->rip, "");
    /* Not from a guard page (an overflow that hit it): a fault there is
     * sure, and a broken #PF handler (the very bug being reported) would
     * take it. */
    if (!guard_page_of(f->rsp) && probe_read64(f->rsp, &top, NULL) &&
        top >= (uintptr_t)kernel_text_start &&
        top < (uintptr_t)kernel_text_end && (n == 0 || frames[0] != top) && top != f->rip)
        print_frame(i++, top - 1, "  (? return address at RSP: no frame record)");
    for (int k = 0; k < n; k++)
        print_frame(i++, frames[k] - 1, "");
}

static bool reporting;

void irq_report_fatal(const struct irq_frame *f)
{
    cpu_cli();
    unsigned v = (unsigned)f->vector;
    if (reporting) {
        /* The report itself faulted: one line, then stop. */
        kprintf("\nPANIC (nested): %s (vector %u) at RIP %p while printing an exception "
                "report\n",
                irq_vector_mnemonic(v), v, (void *)f->rip);
        boot_exit(BOOT_EXIT_PANIC);
    }
    reporting = true;
    uint64_t cr2 = read_cr2();

    kprintf("\n==================== FATAL EXCEPTION ====================\n");
    kprintf("PANIC: %s %s (vector %u) in %s mode\n", irq_vector_mnemonic(v), irq_vector_name(v),
            v, (f->cs & 3) ? "user" : "kernel");
    print_error_code(f);
    if (v == IRQ_PF) {
        kprintf("Fault address (CR2): %p", (void *)cr2);
        print_symbol(cr2);
        kprintf("\n");
        explain_guard_hit("CR2", cr2);
    }
    if (v == IRQ_DF)
        print_double_fault(f, cr2);
    if (v == IRQ_GP && f->error_code == 0)
        irq_print_gp_hint(f, "");
    print_stack_note(f);

    irq_report_hook_t hook = irq_report_hook(v);
    if (hook)
        hook(f);

    uint64_t cr0 = read_cr0(), cr4 = read_cr4(), efer = rdmsr(MSR_EFER);
    kprintf("CR0=%016lx", (unsigned long)cr0);
    PRINT_FLAGS(cr0, cr0_flags);
    /* CR2 belongs to this report only for #PF (and, as the last #PF, #DF). */
    if (v == IRQ_PF || v == IRQ_DF)
        kprintf(" CR2=%016lx", (unsigned long)cr2);
    else
        kprintf(" CR2=%016lx (stale: an earlier #PF's)", (unsigned long)cr2);
    kprintf(" CR3=%016lx\n", (unsigned long)read_cr3());
    kprintf("CR4=%016lx", (unsigned long)cr4);
    PRINT_FLAGS(cr4, cr4_flags);
    kprintf(" EFER=%016lx", (unsigned long)efer);
    PRINT_FLAGS(efer, efer_flags);
    kprintf("\n");

    char flags[96];
    irq_rflags_describe(f->rflags, flags, sizeof(flags));
    kprintf("RIP=%016lx", (unsigned long)f->rip);
    print_symbol(f->rip);
    kprintf(" CS=%04lx\n", (unsigned long)f->cs);
    kprintf("RSP=%016lx SS=%04lx RFLAGS=%016lx [%s]\n", (unsigned long)f->rsp,
            (unsigned long)f->ss, (unsigned long)f->rflags, flags);
    kprintf("RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", (unsigned long)f->rax,
            (unsigned long)f->rbx, (unsigned long)f->rcx, (unsigned long)f->rdx);
    kprintf("RSI=%016lx RDI=%016lx RBP=%016lx R8 =%016lx\n", (unsigned long)f->rsi,
            (unsigned long)f->rdi, (unsigned long)f->rbp, (unsigned long)f->r8);
    kprintf("R9 =%016lx R10=%016lx R11=%016lx R12=%016lx\n", (unsigned long)f->r9,
            (unsigned long)f->r10, (unsigned long)f->r11, (unsigned long)f->r12);
    kprintf("R13=%016lx R14=%016lx R15=%016lx\n", (unsigned long)f->r13,
            (unsigned long)f->r14, (unsigned long)f->r15);

    print_backtrace(f);
    kprintf("=========================================================\n");
    boot_exit(BOOT_EXIT_PANIC);
}
