/* The framebuffer console's font: printable ASCII glyphs, 8 pixels wide,
 * one byte per row (bit 7 leftmost), generated at build time from a PSF
 * console font of a Debian package (tools/psf2c.c, Makefile: FONT). */
#ifndef ZF_DEV_FB_FONT_H
#define ZF_DEV_FB_FONT_H

#include <stdint.h>

#define FB_FONT_FIRST 0x20
#define FB_FONT_LAST 0x7e
#define FB_FONT_WIDTH 8
#define FB_FONT_MAX_HEIGHT 32

extern const unsigned fb_font_height;
extern const uint8_t fb_font_glyphs[FB_FONT_LAST - FB_FONT_FIRST + 1][FB_FONT_MAX_HEIGHT];

#endif
