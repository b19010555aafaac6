/* 16550 UART driver, polled, 115200 8N1. */
#include "arch/x86_64/cpu.h"
#include "console.h"

enum {
    UART_DATA = 0,  /* THR/RBR, or divisor low with DLAB */
    UART_IER = 1,   /* interrupt enable, or divisor high with DLAB */
    UART_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_SCR = 7,
};

#define LSR_THR_EMPTY 0x20
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define MCR_DTR_RTS_OUT2 0x0b
#define MCR_LOOPBACK 0x10

bool serial_present(uint16_t port)
{
    /* The scratch register holds what we write iff a UART is there. */
    outb(port + UART_SCR, 0x5a);
    if (inb(port + UART_SCR) != 0x5a)
        return false;
    outb(port + UART_SCR, 0xa5);
    return inb(port + UART_SCR) == 0xa5;
}

bool serial_init(uint16_t port)
{
    if (!serial_present(port))
        return false;
    outb(port + UART_IER, 0x00);
    outb(port + UART_LCR, LCR_DLAB);
    outb(port + UART_DATA, 1); /* divisor 1: 115200 baud */
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, LCR_8N1);
    outb(port + UART_FCR, 0xc7); /* enable and clear FIFOs, 14-byte threshold */

    /* Loopback self-check: a byte sent must come back. */
    outb(port + UART_MCR, MCR_LOOPBACK | 0x0e);
    outb(port + UART_DATA, 0xae);
    bool ok = inb(port + UART_DATA) == 0xae;
    outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
    return ok;
}

void serial_putc(uint16_t port, char c)
{
    /* Bounded wait: a wedged UART must not hang the kernel's last words. */
    for (int spins = 0; spins < 100000; spins++) {
        if (inb(port + UART_LSR) & LSR_THR_EMPTY)
            break;
        cpu_pause();
    }
    outb(port + UART_DATA, (uint8_t)c);
}

int serial_getc_nonblock(uint16_t port)
{
    if (!serial_present(port) || !(inb(port + UART_LSR) & 0x01)) /* LSR bit 0: data ready */
        return -1;
    return inb(port);
}
