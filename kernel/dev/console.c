#include "boot.h"
#include "console.h"

static bool serial_ok;

void console_init(void)
{
    serial_ok = serial_init(SERIAL_COM1);
    vga_init(BOOT_VGA_TEXT_VA);
}

void console_putc(char c)
{
    if (serial_ok) {
        if (c == '\n')
            serial_putc(SERIAL_COM1, '\r');
        serial_putc(SERIAL_COM1, c);
    }
    vga_putc(c);
}

void console_write(const char *s)
{
    while (*s)
        console_putc(*s++);
}
