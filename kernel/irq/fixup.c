/* The exception-fixup side of the probe accessors (probe.asm): find the
 * faulting instruction in the fixup table and resume at its fixup with the
 * fault in the registers the fixup expects. */
#include <stddef.h>

#include "irq.h"
#include "probe.h"

struct probe_fixup_entry {
    uintptr_t insn;
    uintptr_t fixup;
};

/* Every .fixup section (probe.asm, uaccess.asm, ...), gathered by linker.ld. */
extern const struct probe_fixup_entry fixup_table_start[], fixup_table_end[];
extern uintptr_t probe_exec_entry_rsp;
extern char probe_exec_fault[];

/* probe.asm stores the fault at these offsets. */
_Static_assert(offsetof(struct probe_fault, vector) == 0, "probe.asm layout");
_Static_assert(offsetof(struct probe_fault, error_code) == 8, "probe.asm layout");
_Static_assert(offsetof(struct probe_fault, cr2) == 16, "probe.asm layout");

static void hand_over(struct irq_frame *frame, uintptr_t resume, uint64_t cr2)
{
    frame->rax = frame->vector;
    frame->rdi = frame->error_code;
    frame->rsi = frame->vector == IRQ_PF ? cr2 : 0;
    frame->rip = resume;
}

bool probe_fixup(struct irq_frame *frame, uint64_t cr2)
{
    for (const struct probe_fixup_entry *e = fixup_table_start; e < fixup_table_end; e++) {
        if (e->insn == frame->rip) {
            hand_over(frame, e->fixup, cr2);
            return true;
        }
    }
    /* probe_exec: the fault belongs to the probe when the called code has
     * not moved the stack since entry.  Resume after the call. */
    if (probe_exec_entry_rsp && frame->rsp == probe_exec_entry_rsp) {
        hand_over(frame, (uintptr_t)probe_exec_fault, cr2);
        frame->rsp += 8;
        return true;
    }
    return false;
}
