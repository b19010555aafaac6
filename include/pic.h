/* The legacy 8259A interrupt controllers (master + slave), remapped away
 * from the exception vectors and masked.  Code: kernel/arch/x86_64/pic.c. */
#ifndef ZF_PIC_H
#define ZF_PIC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC_VECTOR_BASE 32 /* IRQ 0-7 -> 32-39, IRQ 8-15 -> 40-47 */
#define PIC_IRQ_COUNT 16

/* Remap both PICs to PIC_VECTOR_BASE and mask every line. */
void pic_init(void);

/* Unmask / mask one line (0-15). */
void pic_unmask(unsigned irq);
void pic_mask(unsigned irq);
uint16_t pic_get_mask(void);

/* End of interrupt for @irq: the slave and the master for 8-15. */
void pic_eoi(unsigned irq);

/* IRQ 7 and 15 are where a PIC delivers an interrupt that went away before
 * it could be acknowledged.  True when @irq (7 or 15) is not in service,
 * i.e. spurious: then it must not get an EOI from its own PIC (a spurious 15
 * still needs one on the master, which saw a real cascade interrupt). */
bool pic_irq_is_spurious(unsigned irq);

#endif
