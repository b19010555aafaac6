/* The one C entry point for every vector: exceptions go to a registered
 * handler, then to the probe fixups, then to the fatal report; PIC
 * interrupts get their spurious check and EOI. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "irq_internal.h"
#include "ksym.h"
#include "kprintf.h"
#include "pic.h"
#include "probe.h"

static irq_handler_t handlers[IRQ_VECTORS];
static irq_user_fault_t user_fault;
static irq_report_hook_t report_hooks[IRQ_VECTORS];
static uint64_t counts[IRQ_VECTORS];
static uint64_t spurious;

struct irq_nesting irq_nesting;

irq_handler_t irq_set_handler(unsigned vector, irq_handler_t fn)
{
    if (vector >= IRQ_VECTORS)
        return NULL;
    irq_handler_t old = handlers[vector];
    handlers[vector] = fn;
    return old;
}

void irq_set_user_fault_handler(irq_user_fault_t fn)
{
    user_fault = fn;
}

void irq_set_report_hook(unsigned vector, irq_report_hook_t hook)
{
    if (vector < IRQ_VECTORS)
        report_hooks[vector] = hook;
}

irq_report_hook_t irq_report_hook(unsigned vector)
{
    return vector < IRQ_VECTORS ? report_hooks[vector] : 0;
}

uint64_t irq_count(unsigned vector)
{
    if (vector == IRQ_PF)
        return page_fault_count();
    return vector < IRQ_VECTORS ? counts[vector] : 0;
}

uint64_t irq_spurious_count(void)
{
    return spurious;
}

unsigned irq_exception_depth(void)
{
    return irq_nesting.depth;
}

struct irq_nesting irq_exception_suspend(void)
{
    struct irq_nesting saved = irq_nesting;
    irq_nesting.depth = 0;
    return saved;
}

void irq_exception_resume(struct irq_nesting saved)
{
    irq_nesting = saved;
}

/* int3 without a handler: say where, and carry on (the CPU already moved
 * RIP past the instruction). */
static void breakpoint(const struct irq_frame *frame)
{
    const char *name;
    uintptr_t off;
    if (ksym_lookup(frame->rip - 1, &name, &off))
        kprintf("# irq: breakpoint (int3) at %s+0x%lx; continuing\n", name,
                (unsigned long)off + 1);
    else
        kprintf("# irq: breakpoint (int3) at %p; continuing\n", (void *)frame->rip);
}

/* What no handler resolved: a breakpoint, a probe's fixup, the process's
 * end, or the fatal report.  Out of line: the resolved faults' path through
 * exception() then saves fewer registers. */
static __attribute__((noinline)) void exception_unhandled(struct irq_frame *frame, unsigned v,
                                                         uint64_t cr2)
{
    if (v == IRQ_BP && !(frame->cs & 3)) { /* user mode: SIGTRAP, below */
        breakpoint(frame);
        return;
    }
    /* Aborts never resume, not even into a probe's fixup. */
    if (v != IRQ_DF && v != IRQ_NMI && v != IRQ_MC && probe_fixup(frame, cr2))
        return;
    /* User mode: the process pays, never the kernel (an abort excepted). */
    if ((frame->cs & 3) && user_fault && v != IRQ_DF && v != IRQ_MC) {
        user_fault(frame, cr2);
        return;
    }
    irq_report_fatal(frame);
}

/* Always inline: with @v a constant (the #PF case of irq_dispatch) the
 * vector tests and the handler's table slot fold away. */
static inline __attribute__((always_inline)) void exception(struct irq_frame *frame, unsigned v)
{
    /* Read CR2 first: anything later could fault and overwrite it. */
    uint64_t cr2 = v == IRQ_PF ? read_cr2() : 0;

    if (irq_nesting.depth++ == 0) {
        irq_nesting.outer_vector = v;
        irq_nesting.outer_rip = frame->rip;
    }
    if (!handlers[v] || handlers[v](frame) != IRQ_HANDLED)
        exception_unhandled(frame, v, cr2);
    irq_nesting.depth--;
}

static void pic_interrupt(struct irq_frame *frame)
{
    unsigned irq = (unsigned)frame->vector - PIC_VECTOR_BASE;
    if ((irq == 7 || irq == 15) && pic_irq_is_spurious(irq)) {
        spurious++;
        /* The master did see a cascade interrupt for a spurious IRQ 15. */
        if (irq == 15)
            pic_eoi(2);
        return;
    }
    if (handlers[frame->vector])
        handlers[frame->vector](frame);
    pic_eoi(irq);
}

void irq_dispatch(struct irq_frame *frame)
{
    unsigned v = (unsigned)frame->vector;
    /* #PF first: what its lean entry (page_fault_lean) did not resolve.
     * It keeps its own count (page_fault_count). */
    if (v == IRQ_PF) {
        exception(frame, IRQ_PF);
        return;
    }
    if (v >= IRQ_VECTORS)
        irq_report_fatal(frame); /* a corrupt frame: say so rather than guess */
    counts[v]++;
    if (v < IRQ_EXCEPTIONS)
        exception(frame, v);
    else if (v >= PIC_VECTOR_BASE && v < PIC_VECTOR_BASE + PIC_IRQ_COUNT)
        pic_interrupt(frame);
    else if (v == IRQ_SPURIOUS_VECTOR)
        spurious++; /* the APIC's spurious vector takes no EOI */
    else if (!handlers[v] || handlers[v](frame) != IRQ_HANDLED)
        irq_report_fatal(frame);
}
