/* The 8253/8254 PIT as the scheduler's clock: channel 0, mode 2 (rate
 * generator), SCHED_HZ interrupts a second on IRQ 0.  Facts: input clock
 * 1193182 Hz; command port 0x43, channel 0 data port 0x40. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "pic.h"
#include "sched.h"
#include "timer.h"

#define PIT_HZ 1193182u
#define PIT_CMD 0x43
#define PIT_CH0 0x40

static irq_result_t timer_interrupt(struct irq_frame *frame)
{
    (void)frame;
    sched_tick();
    return IRQ_HANDLED;
}

void timer_init(void)
{
    unsigned divisor = (PIT_HZ + SCHED_HZ / 2) / SCHED_HZ;
    outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, (uint8_t)divisor);
    outb(PIT_CH0, (uint8_t)(divisor >> 8));
    irq_set_handler(PIC_VECTOR_BASE + 0, timer_interrupt);
    pic_unmask(0);
}
