/* 8259A programming: the ICW sequence remaps the PICs, OCW1 masks, OCW2
 * sends end-of-interrupt, OCW3 reads the in-service register. */
#include "arch/x86_64/cpu.h"
#include "pic.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

#define ICW1_INIT 0x10
#define ICW1_ICW4 0x01
#define ICW4_8086 0x01
#define OCW2_EOI 0x20
#define OCW3_READ_ISR 0x0b

/* Port 0x80 is unused POST-code space: a write there gives old PICs the
 * few microseconds they want between initialisation words. */
static void io_wait(void) { outb(0x80, 0); }

static void out_wait(uint16_t port, uint8_t v)
{
    outb(port, v);
    io_wait();
}

void pic_init(void)
{
    out_wait(PIC1_CMD, ICW1_INIT | ICW1_ICW4);
    out_wait(PIC2_CMD, ICW1_INIT | ICW1_ICW4);
    out_wait(PIC1_DATA, PIC_VECTOR_BASE);     /* ICW2: vector offset */
    out_wait(PIC2_DATA, PIC_VECTOR_BASE + 8);
    out_wait(PIC1_DATA, 1 << 2);              /* ICW3: slave on IRQ 2 */
    out_wait(PIC2_DATA, 2);                   /* ICW3: slave's cascade id */
    out_wait(PIC1_DATA, ICW4_8086);
    out_wait(PIC2_DATA, ICW4_8086);
    /* Everything masked: nothing drives these lines yet.  The cascade line
     * stays masked too; unmasking a slave IRQ unmasks it. */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}

uint16_t pic_get_mask(void)
{
    return (uint16_t)(inb(PIC1_DATA) | inb(PIC2_DATA) << 8);
}

void pic_unmask(unsigned irq)
{
    if (irq >= PIC_IRQ_COUNT)
        return;
    if (irq >= 8) {
        outb(PIC2_DATA, inb(PIC2_DATA) & ~(1u << (irq - 8)));
        irq = 2;
    }
    outb(PIC1_DATA, inb(PIC1_DATA) & ~(1u << irq));
}

void pic_mask(unsigned irq)
{
    if (irq >= PIC_IRQ_COUNT)
        return;
    if (irq >= 8)
        outb(PIC2_DATA, inb(PIC2_DATA) | 1u << (irq - 8));
    else
        outb(PIC1_DATA, inb(PIC1_DATA) | 1u << irq);
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_CMD, OCW2_EOI);
    outb(PIC1_CMD, OCW2_EOI);
}

bool pic_irq_is_spurious(unsigned irq)
{
    uint16_t cmd = irq >= 8 ? PIC2_CMD : PIC1_CMD;
    outb(cmd, OCW3_READ_ISR);
    bool in_service = inb(cmd) & (1u << (irq & 7));
    return !in_service;
}
