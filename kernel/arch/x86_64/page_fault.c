/* #PF entry, C side: read CR2, let the VMM decide, and report what it could
 * not resolve.  Two halves: page_fault_lean decides every fault on the lean
 * frame pf_entry built (kernel/irq/entry.asm), and resolved faults retry
 * from there; page_fault_entry, the registered handler, gets the rest on
 * the full path with the whole frame.  Policy stays here: everything not
 * resolved goes back to the dispatcher (a probe's fixup, or the fatal
 * report and panic).
 * "Wait" for a user-space pager (userfaultfd) blocks the faulting thread
 * until the pager answers, then retries: from user mode, or from a kernel
 * access to user memory (copy_to_user) in a system call, which runs on the
 * thread's own stack.  An in-kernel pager's "later" has nobody to wait for
 * here and stays unresolved. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "percpu.h"
#include "uffd.h"
#include "vmm.h"

static struct vmm_fault last_unresolved;

/* For debuggers (gdb/zf: zf-fault), which read memory only and never call
 * the kernel: the last page fault, resolved or not, with its number and
 * RIP.  The VMM decides straight into it (no copy on the fault path); while
 * it decides, pf_deciding points at it.  A fault nested inside a decision (a
 * bug) is decided in a record of its own, so the outer one stays intact.
 * Reason words: vmm_fault_reason_words[reason], the VMM's own
 * vmm_fault_reason_str() texts, filled in once at install. */
struct pf_record {
    uint64_t seq;          /* #PFs taken so far; fault is number seq */
    uint64_t rip;
    struct vmm_fault fault;
};
struct pf_record pf_last;
static uint64_t pf_nested; /* #PFs taken inside a decision (not in pf_last.seq) */
struct vmm_fault *volatile pf_deciding;
#define PF_REASON_WORDS 64
const char *vmm_fault_reason_words[PF_REASON_WORDS];

/* What the VMM did not resolve: a wait for a user-space pager (then
 * retried: true), else kept for the report.  Out of line: the resolved
 * path keeps fewer registers across the decision. */
static __attribute__((noinline)) bool not_resolved(struct irq_frame *frame, struct vmm_fault *f,
                                                   enum vmm_fault_result r, bool nested)
{
    if (r == VMM_FAULT_WAIT && f->wait_uffd && !nested) {
        /* While this thread sleeps, other threads' faults are decided into
         * pf_last: wait on a copy of our own. */
        struct vmm_fault mine = *f;
        struct irq_nesting held = irq_exception_suspend();
        bool retry = uffd_fault_wait(&mine, (frame->cs & 3) != 0);
        irq_exception_resume(held);
        if (!retry)
            last_unresolved = mine;
        return retry;
    }
    last_unresolved = *f;
    return false;
}

/* Decide the fault at CR2 into @f, inside the decision @outer (NULL: none):
 * its result. */
static inline enum vmm_fault_result decide(const struct irq_frame *frame, struct vmm_fault *f,
                                           struct vmm_fault *outer)
{
    pf_deciding = f;
    /* The live space straight from the per-CPU area (vmm_space_active()
     * is the same read behind a call).  The record's va and error are its
     * first two stores. */
    enum vmm_fault_result r =
        vmm_fault_handle(this_cpu()->mm.active_space, read_cr2(), frame->error_code, f);
    pf_deciding = outer;
    return r;
}

/* page_fault_lean left the full path a fault it did not decide (a fault
 * inside a decision); otherwise the full path takes over pf_last.fault,
 * which it decided (the result in ->result).  Like pf_last and
 * pf_deciding, one CPU's: per-CPU state with SMP. */
static bool pf_undecided;

/* The #PF entry's decision (pf_entry in kernel/irq/entry.asm), on a frame
 * whose callee-saved registers are not saved yet.  VMM_FAULT_RESOLVED: the
 * access is retried at once; anything else sends the fault the full way,
 * through irq_dispatch to page_fault_entry below. */
enum vmm_fault_result page_fault_lean(struct irq_frame *frame);
enum vmm_fault_result page_fault_lean(struct irq_frame *frame)
{
    if (pf_deciding) {
        pf_nested++;
        pf_undecided = true;
        return VMM_FAULT_FATAL; /* not decided: page_fault_nested decides it */
    }
    /* Not counted in irq_nesting (exception() does that on the full path):
     * pf_deciding says a decision is in progress (page_fault_in_progress). */
    pf_last.seq++;
    pf_last.rip = frame->rip;
    return decide(frame, &pf_last.fault, NULL);
}

/* A fault inside a decision (a bug): a record of its own on the stack, out
 * of line so that the ordinary path does not reserve it. */
static __attribute__((noinline)) irq_result_t page_fault_nested(struct irq_frame *frame)
{
    struct vmm_fault nested;
    enum vmm_fault_result r = decide(frame, &nested, pf_deciding);
    return r == VMM_FAULT_RESOLVED || not_resolved(frame, &nested, r, true) ? IRQ_HANDLED
                                                                            : IRQ_UNHANDLED;
}

/* The full path, with the whole frame: what the lean entry decided and
 * could not resolve (a wait for a pager, or the report), or a fault inside
 * a decision, decided here. */
static irq_result_t page_fault_entry(struct irq_frame *frame)
{
    if (pf_undecided) {
        pf_undecided = false;
        return page_fault_nested(frame);
    }
    struct vmm_fault *f = &pf_last.fault;
    return not_resolved(frame, f, f->result, false) ? IRQ_HANDLED : IRQ_UNHANDLED;
}

uint64_t page_fault_count(void)
{
    return pf_last.seq + pf_nested;
}

bool page_fault_in_progress(uint64_t *rip)
{
    if (!pf_deciding)
        return false;
    *rip = pf_last.rip;
    return true;
}

static void page_fault_report(const struct irq_frame *frame)
{
    (void)frame;
    vmm_fault_report(&last_unresolved);
}

const struct vmm_fault *vmm_fault_last_unresolved(void)
{
    return &last_unresolved;
}

void vmm_fault_entry_install(void)
{
    for (int r = 0; r < PF_REASON_WORDS; r++)
        vmm_fault_reason_words[r] = vmm_fault_reason_str((enum vmm_fault_reason)r);
    irq_set_handler(IRQ_PF, page_fault_entry);
    irq_set_report_hook(IRQ_PF, page_fault_report);
}
