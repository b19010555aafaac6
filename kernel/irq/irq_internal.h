/* Shared between the files of kernel/irq/ only. */
#ifndef ZF_IRQ_INTERNAL_H
#define ZF_IRQ_INTERNAL_H

#include <stdint.h>

#include "irq.h"

/* Exceptions being handled right now (nested ones included), and the
 * outermost of them: reported by the #DF report. */
extern struct irq_nesting irq_nesting;

irq_report_hook_t irq_report_hook(unsigned vector);

/* IDT (idt.c). */
void idt_init(void);

#endif
