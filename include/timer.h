/* The periodic timer: PIT channel 0 on IRQ 0 of the legacy PIC, SCHED_HZ
 * times a second (kernel/arch/x86_64/pit.c). */
#ifndef ZF_TIMER_H
#define ZF_TIMER_H

void timer_init(void);

#endif
