/* Text console on the linear framebuffer GRUB sets up under UEFI (no VGA
 * text mode there): a grid of 8-pixel-wide glyphs from a PSF font,
 * scrolling, light grey on black like the VGA console.  The framebuffer is
 * mapped at BOOT_FB_VA once the VMM is up; it must not be usable RAM (no
 * allocator frame may have a permanent kernel mapping). */
#include "boot.h"
#include "console.h"
#include "dev/fb_font.h"
#include "kprintf.h"
#include "kstring.h"
#include "pmm.h"
#include "vmm.h"

static uint8_t *fb;
static uint32_t pitch, bytes_pp, cols, rows, col, row;
static uint32_t fg, bg;

/* A grey level in the framebuffer's pixel format. */
static uint32_t grey(const struct boot_framebuffer *f, uint8_t v)
{
    return (uint32_t)(v >> (8 - f->red_size)) << f->red_pos |
           (uint32_t)(v >> (8 - f->green_size)) << f->green_pos |
           (uint32_t)(v >> (8 - f->blue_size)) << f->blue_pos;
}

static uint32_t get_pixel(const uint8_t *p)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < bytes_pp; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void put_pixel(uint8_t *p, uint32_t v)
{
    for (uint32_t i = 0; i < bytes_pp; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static const uint8_t *glyph(char c)
{
    unsigned char u = (unsigned char)c;
    if (u < FB_FONT_FIRST || u > FB_FONT_LAST)
        u = '?';
    return fb_font_glyphs[u - FB_FONT_FIRST];
}

static uint8_t *cell(uint32_t x, uint32_t y)
{
    return fb + (uint64_t)y * fb_font_height * pitch + (uint64_t)x * FB_FONT_WIDTH * bytes_pp;
}

static void draw(uint32_t x, uint32_t y, char c)
{
    const uint8_t *g = glyph(c);
    uint8_t *line = cell(x, y);
    for (unsigned r = 0; r < fb_font_height; r++, line += pitch) {
        for (unsigned b = 0; b < FB_FONT_WIDTH; b++)
            put_pixel(line + b * bytes_pp, (g[r] & (0x80 >> b)) ? fg : bg);
    }
}

static void clear_rows(uint32_t from, uint32_t to)
{
    for (uint32_t y = from; y < to; y++) {
        for (uint32_t x = 0; x < cols; x++)
            draw(x, y, ' ');
    }
}

static void newline(void)
{
    col = 0;
    if (++row < rows)
        return;
    uint64_t line = (uint64_t)fb_font_height * pitch;
    memmove(fb, fb + line, line * (rows - 1));
    clear_rows(rows - 1, rows);
    row = rows - 1;
}

void fb_putc(char c)
{
    if (!fb)
        return;
    switch (c) {
    case '\n':
        newline();
        return;
    case '\r':
        col = 0;
        return;
    case '\t':
        do
            fb_putc(' ');
        while (col % 8);
        return;
    default:
        draw(col, row, c);
        if (++col == cols)
            newline();
    }
}

bool fb_console_init(void)
{
    const struct boot_framebuffer *f = &boot_info.fb;
    if (!boot_info.have_fb || f->type != BOOT_FB_TYPE_RGB)
        return false;
    if (f->bpp != 16 && f->bpp != 24 && f->bpp != 32) {
        kprintf("console: framebuffer has %u bits per pixel; only 16, 24 and 32 are drawn\n",
                f->bpp);
        return false;
    }
    if (!f->red_size || f->red_size > 8 || !f->green_size || f->green_size > 8 ||
        !f->blue_size || f->blue_size > 8) {
        kprintf("console: framebuffer colour layout unsupported\n");
        return false;
    }
    uint64_t size = (uint64_t)f->pitch * f->height;
    uint64_t first = f->pa & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t end = (f->pa + size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (!size || end - first > BOOT_FB_MAX_SIZE || f->width < FB_FONT_WIDTH ||
        f->height < fb_font_height || f->pitch < (uint64_t)f->width * (f->bpp / 8)) {
        kprintf("console: framebuffer %ux%u pitch %u is not usable\n", f->width, f->height,
                f->pitch);
        return false;
    }
    if (range_overlaps(pmm_boot_usable(), first, end)) {
        kprintf("console: framebuffer at %#llx lies in usable RAM; not mapped\n",
                (unsigned long long)f->pa);
        return false;
    }
    for (uint64_t off = 0; off < end - first; off += PAGE_SIZE) {
        enum vmm_status st = vmm_map(&vmm_kernel_space, BOOT_FB_VA + off, first + off,
                                     PTE_W | PTE_NX | PTE_PWT);
        if (st != VMM_OK) {
            for (uint64_t u = 0; u < off; u += PAGE_SIZE)
                vmm_unmap(&vmm_kernel_space, BOOT_FB_VA + u, NULL);
            kprintf("console: cannot map the framebuffer: %s\n", vmm_status_str(st));
            return false;
        }
    }
    fb = (uint8_t *)(uintptr_t)(BOOT_FB_VA + (f->pa - first));
    pitch = f->pitch;
    bytes_pp = f->bpp / 8;
    cols = f->width / FB_FONT_WIDTH;
    rows = f->height / fb_font_height;
    fg = grey(f, 0xaa);
    bg = grey(f, 0);
    col = row = 0;
    clear_rows(0, rows);
    return true;
}

bool fb_console_active(void)
{
    return fb != NULL;
}

void fb_console_cursor(unsigned *x, unsigned *y)
{
    *x = col;
    *y = row;
}

void fb_console_size(unsigned *x, unsigned *y)
{
    *x = cols;
    *y = rows;
}

bool fb_console_cell_is(unsigned x, unsigned y, char c)
{
    if (!fb || x >= cols || y >= rows)
        return false;
    const uint8_t *g = glyph(c);
    const uint8_t *line = cell(x, y);
    for (unsigned r = 0; r < fb_font_height; r++, line += pitch) {
        for (unsigned b = 0; b < FB_FONT_WIDTH; b++) {
            if (get_pixel(line + b * bytes_pp) != ((g[r] & (0x80 >> b)) ? fg : bg))
                return false;
        }
    }
    return true;
}

unsigned fb_console_glyph_height(void)
{
    return fb_font_height;
}
