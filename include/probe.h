/* Probe accessors: touch memory that may fault and get the fault back as a
 * value instead of a crash, like Linux's exception table.  Each accessor's
 * faulting instruction is listed in an exception-fixup table; the exception
 * dispatcher (after any registered handler declined the fault) resumes at
 * the accessor's fixup, which records the fault and returns false.
 * Code: kernel/irq/probe.asm (accessors), kernel/irq/fixup.c (lookup). */
#ifndef ZF_PROBE_H
#define ZF_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct irq_frame;

struct probe_fault {
    unsigned vector;     /* exception vector, e.g. 14 for #PF */
    uint64_t error_code; /* as pushed by the CPU, 0 when none */
    uint64_t cr2;        /* faulting address for #PF, else 0 */
};

/* All return true when nothing faulted (then @f is left untouched), false
 * after a fault, recorded in @f unless it is NULL.  probe_read64's @out may
 * be NULL too. */
bool probe_read64(uintptr_t addr, uint64_t *out, struct probe_fault *f);
bool probe_write64(uintptr_t addr, uint64_t v, struct probe_fault *f);

/* Call the code at @addr (it must end with a return).  A fault is the
 * probe's when it happens with the stack pointer as it was on entry to
 * @addr, i.e. in the called code before it pushes anything: the fetch of
 * @addr itself or a short snippet such as probe_snippet_ud2. */
bool probe_exec(uintptr_t addr, struct probe_fault *f);

/* Code snippets for probe_exec, in .text: return at once; fault with #UD
 * (ud2); fault with #DE (divide by zero). */
extern char probe_snippet_ret[], probe_snippet_ud2[], probe_snippet_div0[];

/* Dispatcher side: if @frame faulted inside a probe, point it at the
 * probe's fixup with the fault recorded and return true. */
bool probe_fixup(struct irq_frame *frame, uint64_t cr2);

#endif
