/* VGA text mode, 80x25, scrolling; a mirror of the serial console. */
#include <stddef.h>

#include "console.h"

#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_ATTR 0x07 /* light grey on black */

static volatile uint16_t *vga;
static int row, col;

void vga_init(uintptr_t buffer_va)
{
    vga = (volatile uint16_t *)buffer_va;
    for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
        vga[i] = (VGA_ATTR << 8) | ' ';
    row = col = 0;
}

void vga_disable(void)
{
    vga = NULL;
}

static void vga_newline(void)
{
    col = 0;
    if (++row < VGA_ROWS)
        return;
    for (int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
        vga[i] = vga[i + VGA_COLS];
    for (int i = 0; i < VGA_COLS; i++)
        vga[VGA_COLS * (VGA_ROWS - 1) + i] = (VGA_ATTR << 8) | ' ';
    row = VGA_ROWS - 1;
}

void vga_putc(char c)
{
    if (!vga)
        return;
    switch (c) {
    case '\n':
        vga_newline();
        return;
    case '\r':
        col = 0;
        return;
    case '\t':
        do
            vga_putc(' ');
        while (col % 8);
        return;
    default:
        vga[row * VGA_COLS + col] = (uint16_t)((VGA_ATTR << 8) | (uint8_t)c);
        if (++col == VGA_COLS)
            vga_newline();
    }
}
