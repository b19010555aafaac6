/* #PF entry: read CR2, let the VMM decide, and report what it could not
 * resolve.  Policy stays here: resolved faults retry; everything else goes
 * back to the dispatcher (a probe's fixup, or the fatal report and panic).
 * A kernel fault cannot wait for a pager (there is nothing to switch to),
 * so "wait" is unresolved here too. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "vmm.h"

static struct vmm_fault last_unresolved;

static irq_result_t page_fault_entry(struct irq_frame *frame)
{
    struct vmm_fault f;
    if (vmm_fault_handle(vmm_space_active(), read_cr2(), frame->error_code, &f) ==
        VMM_FAULT_RESOLVED)
        return IRQ_HANDLED;
    last_unresolved = f;
    return IRQ_UNHANDLED;
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
    irq_set_handler(IRQ_PF, page_fault_entry);
    irq_set_report_hook(IRQ_PF, page_fault_report);
}
