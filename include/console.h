/* The kernel console: COM1 (16550 UART) is the primary, machine-readable
 * output; everything is mirrored for humans to the VGA text screen (BIOS)
 * or, when GRUB set up a graphics mode (UEFI), to the framebuffer. */
#ifndef ZF_CONSOLE_H
#define ZF_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

void console_init(void);
void console_putc(char c);
void console_write(const char *s);
/* Once boot_info is known: drop VGA text when the machine has none. */
void console_use_boot_display(void);
/* Once the VMM is up: draw on the framebuffer, if any, replaying the boot
 * messages so far. */
void console_attach_framebuffer(void);

/* Console input (kernel/dev/console_in.c): COM1's bytes, gathered by its
 * receive interrupt once started.  Ctrl-C is not passed on: it calls
 * @on_interrupt instead. */
void console_input_start(void (*on_interrupt)(void));
/* The next byte typed, or -1 when none is waiting. */
int console_input_getc(void);

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

/* Linear framebuffer text console (kernel/dev/fb.c). */
bool fb_console_init(void);        /* map boot_info.fb; false (reason printed) if unusable */
void fb_putc(char c);
bool fb_console_active(void);
void fb_console_cursor(unsigned *col, unsigned *row);
void fb_console_size(unsigned *cols, unsigned *rows);
unsigned fb_console_glyph_height(void);
/* Does text cell (@col, @row) show exactly the glyph of @c? (self-tests) */
bool fb_console_cell_is(unsigned col, unsigned row, char c);

#endif
