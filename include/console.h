/* The kernel console: COM1 (16550 UART) is the primary, machine-readable
 * output; everything is mirrored to the VGA text screen for humans. */
#ifndef ZF_CONSOLE_H
#define ZF_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

void console_init(void);
void console_putc(char c);
void console_write(const char *s);

/* 16550 serial port (kernel/dev/serial.c). */
bool serial_init(uint16_t port);   /* false when no UART answers at @port */
void serial_putc(uint16_t port, char c);
bool serial_present(uint16_t port);
/* A received byte, or -1 when none is waiting. */
int serial_getc_nonblock(uint16_t port);
#define SERIAL_COM1 0x3f8

/* VGA text mode (kernel/dev/vga.c). */
void vga_init(uintptr_t buffer_va);
void vga_putc(char c);
void vga_disable(void);            /* e.g. when its mapping goes away */

#endif
