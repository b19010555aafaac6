#include "boot.h"
#include "console.h"
#include "kprintf.h"

static bool serial_ok;

/* What was printed before the framebuffer console could exist (it needs the
 * VMM): replayed onto it so the screen shows the whole boot. */
static char early_log[16384];
static unsigned early_len;
static bool early_done;

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
    fb_putc(c);
    if (!early_done && early_len < sizeof(early_log))
        early_log[early_len++] = c;
}

void console_write(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_use_boot_display(void)
{
    /* Only a BIOS boot (no framebuffer tag, or EGA text) has VGA text. */
    if (boot_info.have_fb && boot_info.fb.type != BOOT_FB_TYPE_EGA_TEXT)
        vga_disable();
}

void console_attach_framebuffer(void)
{
    early_done = true;
    if (!fb_console_init())
        return;
    for (unsigned i = 0; i < early_len; i++)
        fb_putc(early_log[i]);
    unsigned cols, rows;
    fb_console_size(&cols, &rows);
    kprintf("console: framebuffer %ux%ux%u at %#llx, %ux%u text (font %ux%u)\n",
            boot_info.fb.width, boot_info.fb.height, boot_info.fb.bpp,
            (unsigned long long)boot_info.fb.pa, cols, rows, 8u, fb_console_glyph_height());
}
