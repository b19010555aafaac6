/* Exceptions and interrupts: the IDT, one C dispatcher for every vector,
 * registered handlers, and the fatal exception report.
 * Code: kernel/irq/ (entry stubs, IDT, dispatch, report, decoders).
 *
 * Exception dispatch order (vectors 0-31):
 *   1. the handler registered with irq_set_handler(); IRQ_HANDLED returns
 *      and the faulting instruction is retried;
 *   2. the exception-fixup table (probe.h): a fault inside a probe accessor
 *      is recorded for the probe, which returns false;
 *   3. from user mode: the user-fault handler (the process is reported and
 *      killed or stopped; the kernel goes on);
 *   4. the fatal report (irq_report_fatal) and the end of the run, like
 *      panic().
 * A nested fault that cannot be delivered (e.g. the stack overflowed into
 * its guard page) becomes a double fault, taken on its own IST stack. */
#ifndef ZF_IRQ_H
#define ZF_IRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRQ_VECTORS 256
#define IRQ_EXCEPTIONS 32
#define IRQ_SPURIOUS_VECTOR 255 /* reserved for the local APIC's spurious vector */

enum irq_vector {
    IRQ_DE = 0, IRQ_DB = 1, IRQ_NMI = 2, IRQ_BP = 3, IRQ_OF = 4, IRQ_BR = 5,
    IRQ_UD = 6, IRQ_NM = 7, IRQ_DF = 8, IRQ_TS = 10, IRQ_NP = 11, IRQ_SS = 12,
    IRQ_GP = 13, IRQ_PF = 14, IRQ_MF = 16, IRQ_AC = 17, IRQ_MC = 18, IRQ_XM = 19,
    IRQ_VE = 20, IRQ_CP = 21,
};

/* The vector slot of a #PF frame whose callee-saved registers (rbx, rbp,
 * r12-r15) are still in the CPU, not in the frame: the lean #PF entry's
 * (kernel/irq/entry.asm), until the fault goes the full way.  Debuggers
 * read it; handlers never see such a frame. */
#define IRQ_PF_LEAN_FRAME 0x10e

/* What the entry stubs push (kernel/irq/entry.asm), lowest address first:
 * the general registers, the vector, the error code (0 when the CPU pushes
 * none), then the CPU's interrupt frame.  A handler may change any field;
 * the stub restores from it. */
struct irq_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef enum irq_result { IRQ_HANDLED, IRQ_UNHANDLED } irq_result_t;
typedef irq_result_t (*irq_handler_t)(struct irq_frame *);
typedef void (*irq_report_hook_t)(const struct irq_frame *);

/* Load the GDT/TSS and the IDT, remap and mask the PIC.  Interrupts stay
 * disabled.  Call right after boot_unmap_guard_pages(). */
void irq_init(void);

/* Handler for @vector, or NULL to remove it; returns the previous one so a
 * temporary handler (tests) can put it back.  Out-of-range vectors are
 * ignored.  For PIC vectors (32-47) the dispatcher sends the EOI.  #PF's
 * handler sees only what its lean entry did not resolve (page_fault_lean,
 * kernel/arch/x86_64/page_fault.c, decides every fault first). */
irq_handler_t irq_set_handler(unsigned vector, irq_handler_t fn);

/* An exception in user mode that no handler resolved goes to @fn instead of
 * the fatal report (the process layer: report, then kill or stop it). */
typedef void (*irq_user_fault_t)(struct irq_frame *frame, uint64_t cr2);
void irq_set_user_fault_handler(irq_user_fault_t fn);

/* Called inside the fatal report for @vector, after the decoded error code
 * and before the registers, to print extra detail (e.g. a page-table walk). */
void irq_set_report_hook(unsigned vector, irq_report_hook_t hook);

/* The C entry point of every stub. */
void irq_dispatch(struct irq_frame *frame);

/* Print the fatal report for @frame and end the run (test mode: QEMU exits
 * with BOOT_EXIT_PANIC). */
__attribute__((noreturn)) void irq_report_fatal(const struct irq_frame *frame);

/* For a #GP with error code 0: say that a non-canonical address is the
 * usual cause and name every general register of @frame holding a
 * non-canonical value (or say none does).  Each line starts with @indent. */
void irq_print_gp_hint(const struct irq_frame *frame, const char *indent);

/* Statistics, for tests and reports. */
uint64_t irq_count(unsigned vector);        /* dispatches of @vector */
uint64_t irq_spurious_count(void);          /* spurious IRQ 7/15 and vector 255 */
unsigned irq_exception_depth(void);         /* exceptions being handled now */

/* The exceptions being handled, and the outermost: a handler that blocks
 * its thread (a fault waiting for a pager) takes them along while other
 * threads run: irq_exception_suspend before, irq_exception_resume after. */
struct irq_nesting {
    unsigned depth;
    unsigned outer_vector;
    uint64_t outer_rip;
};
struct irq_nesting irq_exception_suspend(void);
void irq_exception_resume(struct irq_nesting saved);
/* Whether a page fault is being decided by #PF's lean entry, which does not
 * count itself in irq_nesting, and at which RIP it was taken (the
 * outermost fault's: kernel/arch/x86_64/page_fault.c). */
bool page_fault_in_progress(uint64_t *rip);
/* #PFs taken: #PF's lean entry keeps its own count (irq_count asks it). */
uint64_t page_fault_count(void);

/* "#PF" and "page fault" for exception vectors; "IRQ", "INT", "SPURIOUS"
 * and a short description for the others.  Never NULL. */
const char *irq_vector_mnemonic(unsigned vector);
const char *irq_vector_name(unsigned vector);
/* True when the CPU pushes an error code for @vector. */
bool irq_vector_has_error_code(unsigned vector);

/* Describe an error code in words, snprintf style (returns the length the
 * full text would have; @buf always NUL-terminated when @n > 0).
 *   #PF: "page not present, write, kernel mode, instruction fetch, ..."
 *   #GP/#TS/#NP/#SS: "selector index 5 in the GDT" / "IDT vector 0x80" ... */
int irq_pf_error_describe(uint64_t err, char *buf, size_t n);
int irq_selector_error_describe(uint64_t err, char *buf, size_t n);
/* RFLAGS as "IF ZF RF IOPL=0". */
int irq_rflags_describe(uint64_t rflags, char *buf, size_t n);

#endif
