/* The IDT: a gate for every stub in entry.asm; #DF, NMI and #MC switch to
 * their own IST stacks because the current stack may be unusable. */
#include "arch/x86_64/cpu.h"
#include "gdt.h"
#include "irq.h"
#include "irq_internal.h"
#include "pic.h"

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate (IF cleared) */
#define GATE_INTERRUPT_USER 0xee /* the same with DPL 3: ring 3 may raise it by int */

extern const uintptr_t irq_stub_table[IRQ_VECTORS];

static struct idt_gate idt[IRQ_VECTORS] __attribute__((aligned(16)));

static unsigned ist_for(unsigned vector)
{
    switch (vector) {
    case IRQ_DF:
        return TSS_IST_DF;
    case IRQ_NMI:
        return TSS_IST_NMI;
    case IRQ_MC:
        return TSS_IST_MC;
    }
    return 0; /* stay on the current stack */
}

void idt_init(void)
{
    for (unsigned v = 0; v < IRQ_VECTORS; v++) {
        uintptr_t stub = irq_stub_table[v];
        if (!stub)
            continue; /* not present: an "int" to it raises #GP */
        idt[v] = (struct idt_gate){
            .offset_low = (uint16_t)stub,
            .selector = GDT_KERNEL_CODE,
            .ist = (uint8_t)ist_for(v),
            /* int3 from user mode is a breakpoint (SIGTRAP, as on
             * Linux), not a #GP for raising a kernel vector. */
            .type_attr = v == IRQ_BP ? GATE_INTERRUPT_USER : GATE_INTERRUPT,
            .offset_mid = (uint16_t)(stub >> 16),
            .offset_high = (uint32_t)(stub >> 32),
        };
    }
    struct cpu_dtr d = { sizeof(idt) - 1, (uintptr_t)idt };
    cpu_lidt(&d);
}

void irq_init(void)
{
    gdt_init();
    idt_init();
    pic_init();
}
