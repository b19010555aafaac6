/* Console input: bytes from COM1 into a small ring, taken by read() on the
 * console.  The UART's receive interrupt (IRQ 4) fills the ring while
 * programs run, so Ctrl-C (0x03) reaches the kernel even when nobody reads:
 * the driver drops the byte, echoes "^C" and calls the interrupt hook
 * (SIGINT to the foreground, proc_console_interrupt).  Lock point: the ring
 * is touched with interrupts off only (the IRQ handler, and the kernel,
 * which runs with interrupts off). */
#include "arch/x86_64/cpu.h"
#include "console.h"
#include "irq.h"
#include "pic.h"

#define RING 256
#define CTRL_C 0x03
#define UART_IER 1
#define UART_LSR 5
#define IER_RX_AVAILABLE 0x01
#define LSR_DATA_READY 0x01
#define COM1_IRQ 4

static unsigned char ring[RING];
static unsigned head, count;
static void (*interrupt_hook)(void);

/* Move every byte the UART holds into the ring. */
static void drain(void)
{
    if (!serial_present(SERIAL_COM1))
        return;
    while (inb(SERIAL_COM1 + UART_LSR) & LSR_DATA_READY) {
        unsigned char c = inb(SERIAL_COM1);
        if (c == CTRL_C && interrupt_hook) {
            console_write("^C\n");
            interrupt_hook();
            continue;
        }
        if (count < RING) /* full: the byte is lost, like a UART overrun */
            ring[(head + count++) % RING] = c;
    }
}

static irq_result_t com1_interrupt(struct irq_frame *frame)
{
    (void)frame;
    drain();
    return IRQ_HANDLED;
}

void console_input_start(void (*on_interrupt)(void))
{
    interrupt_hook = on_interrupt;
    if (!serial_present(SERIAL_COM1))
        return;
    irq_set_handler(PIC_VECTOR_BASE + COM1_IRQ, com1_interrupt);
    outb(SERIAL_COM1 + UART_IER, IER_RX_AVAILABLE);
    pic_unmask(COM1_IRQ);
    drain(); /* bytes typed before now raised no interrupt */
}

int console_input_getc(void)
{
    drain(); /* also works before (or without) the interrupt */
    if (!count)
        return -1;
    int c = ring[head];
    head = (head + 1) % RING;
    count--;
    return c;
}
