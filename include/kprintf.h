/* Formatted output to the console (serial COM1, mirrored to VGA text).
 *
 * Conversions: %d %i %u %x %X %o %p %s %c %%, length modifiers hh h l ll z t j,
 * flags '-' (left-align), '0' (zero-pad), '+', ' ', '#', width and precision
 * (digits or '*').  %p prints 0x followed by 16 hex digits.  A NULL %s prints
 * "(null)".  Unknown conversions are printed as written. */
#ifndef ZF_KPRINTF_H
#define ZF_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

#define KPRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

int kprintf(const char *fmt, ...) KPRINTF_FMT(1, 2);
int kvprintf(const char *fmt, va_list ap);
/* C99 semantics: always NUL-terminates when size > 0, returns the length the
 * full output would have had. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) KPRINTF_FMT(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
