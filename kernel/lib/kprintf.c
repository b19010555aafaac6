#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "kprintf.h"
#include "kstring.h"

/* One formatter, two sinks: the console and a bounded buffer. */
struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;
    size_t size;
    size_t len;
};

static void sink_put(struct sink *s, char c)
{
    s->put(s, c);
    s->len++;
}

static void sink_repeat(struct sink *s, char c, int n)
{
    while (n-- > 0)
        sink_put(s, c);
}

struct spec {
    bool left, zero, plus, space, alt;
    int width;
    int prec; /* -1: none */
};

static void emit_padded(struct sink *s, const struct spec *sp, const char *prefix,
                        const char *digits, int ndigits)
{
    int plen = (int)strlen(prefix);
    int zeros = sp->prec > ndigits ? sp->prec - ndigits : 0;
    int body = plen + zeros + ndigits;
    int pad = sp->width > body ? sp->width - body : 0;

    /* '0' is ignored with '-' and, as in C, when a precision is given. */
    if (sp->zero && !sp->left && sp->prec < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!sp->left)
        sink_repeat(s, ' ', pad);
    for (int i = 0; i < plen; i++)
        sink_put(s, prefix[i]);
    sink_repeat(s, '0', zeros);
    for (int i = 0; i < ndigits; i++)
        sink_put(s, digits[i]);
    if (sp->left)
        sink_repeat(s, ' ', pad);
}

static void emit_number(struct sink *s, const struct spec *sp, uint64_t v, bool negative,
                        unsigned base, bool upper, const char *prefix_in)
{
    const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    char prefix[4] = { 0 };
    int p = 0;

    if (negative)
        prefix[p++] = '-';
    else if (sp->plus)
        prefix[p++] = '+';
    else if (sp->space)
        prefix[p++] = ' ';
    for (const char *q = prefix_in; q && *q; q++)
        prefix[p++] = *q;

    /* C: a zero value with precision 0 prints no digits. */
    if (!(v == 0 && sp->prec == 0)) {
        do {
            tmp[n++] = xdigits[v % base];
            v /= base;
        } while (v);
    }
    char digits[24];
    for (int i = 0; i < n; i++)
        digits[i] = tmp[n - 1 - i];
    emit_padded(s, sp, prefix, digits, n);
}

static const char *parse_int(const char *f, int *out, va_list *ap)
{
    if (*f == '*') {
        *out = va_arg(*ap, int);
        return f + 1;
    }
    int v = 0;
    while (*f >= '0' && *f <= '9')
        v = v * 10 + (*f++ - '0');
    *out = v;
    return f;
}

static void format(struct sink *s, const char *f, va_list ap_in)
{
    va_list ap;
    va_copy(ap, ap_in);

    while (*f) {
        if (*f != '%') {
            sink_put(s, *f++);
            continue;
        }
        const char *start = f++;
        struct spec sp = { .prec = -1 };

        for (;; f++) {
            if (*f == '-')
                sp.left = true;
            else if (*f == '0')
                sp.zero = true;
            else if (*f == '+')
                sp.plus = true;
            else if (*f == ' ')
                sp.space = true;
            else if (*f == '#')
                sp.alt = true;
            else
                break;
        }
        f = parse_int(f, &sp.width, &ap);
        if (sp.width < 0) { /* a negative '*' width means left-align */
            sp.left = true;
            sp.width = -sp.width;
        }
        if (*f == '.') {
            f = parse_int(f + 1, &sp.prec, &ap);
            if (sp.prec < 0)
                sp.prec = -1;
        }

        int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        if (*f == 'h') {
            lng = -1;
            if (*++f == 'h') {
                lng = -2;
                f++;
            }
        } else if (*f == 'l') {
            lng = 1;
            if (*++f == 'l') {
                lng = 2;
                f++;
            }
        } else if (*f == 'z' || *f == 't' || *f == 'j') {
            lng = 1;
            f++;
        }

        char conv = *f;
        if (conv)
            f++;
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v;
            if (lng >= 1)
                v = lng == 2 ? va_arg(ap, long long) : va_arg(ap, long);
            else
                v = va_arg(ap, int);
            if (lng == -1)
                v = (short)v;
            else if (lng == -2)
                v = (signed char)v;
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_number(s, &sp, mag, v < 0, 10, false, NULL);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            if (lng >= 1)
                v = lng == 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned long);
            else
                v = va_arg(ap, unsigned int);
            if (lng == -1)
                v = (unsigned short)v;
            else if (lng == -2)
                v = (unsigned char)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            const char *prefix = NULL;
            if (sp.alt && v != 0)
                prefix = conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0" : NULL;
            emit_number(s, &sp, v, false, base, conv == 'X', prefix);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            struct spec ps = sp;
            ps.prec = 16;
            emit_number(s, &ps, v, false, 16, false, "0x");
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!sp.left)
                sink_repeat(s, ' ', sp.width - 1);
            sink_put(s, c);
            if (sp.left)
                sink_repeat(s, ' ', sp.width - 1);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = (int)(sp.prec >= 0 ? strnlen(str, (size_t)sp.prec) : strlen(str));
            if (!sp.left)
                sink_repeat(s, ' ', sp.width - n);
            for (int i = 0; i < n; i++)
                sink_put(s, str[i]);
            if (sp.left)
                sink_repeat(s, ' ', sp.width - n);
            break;
        }
        case '%':
            sink_put(s, '%');
            break;
        default:
            /* Unknown or truncated conversion: show it as written. */
            while (start < f)
                sink_put(s, *start++);
            break;
        }
    }
    va_end(ap);
}

static void put_console(struct sink *s, char c)
{
    (void)s;
    console_putc(c);
}

static void put_buffer(struct sink *s, char c)
{
    if (s->len + 1 < s->size)
        s->buf[s->len] = c;
}

int kvprintf(const char *fmt, va_list ap)
{
    struct sink s = { .put = put_console };
    format(&s, fmt, ap);
    return (int)s.len;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .put = put_buffer, .buf = buf, .size = size };
    format(&s, fmt, ap);
    if (size > 0)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
