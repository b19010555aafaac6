/* kprintf formatting, checked through ksnprintf (same formatter). */
#include <stdint.h>

#include "kprintf.h"
#include "ktest.h"

#define EXPECT_FMT(want, ...)                                                               \
    do {                                                                                    \
        char buf_[128];                                                                     \
        int n_ = ksnprintf(buf_, sizeof(buf_), __VA_ARGS__);                                \
        EXPECT_STREQ(buf_, want);                                                           \
        EXPECT_EQ(n_, sizeof(want) - 1);                                                    \
    } while (0)

static int kvsnprintf_wrapper(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

TEST(kprintf, integers)
{
    EXPECT_FMT("42", "%d", 42);
    EXPECT_FMT("-42", "%i", -42);
    EXPECT_FMT("0", "%d", 0);
    EXPECT_FMT("-2147483648", "%d", (int)INT32_MIN);
    EXPECT_FMT("4294967295", "%u", 0xffffffffu);
    EXPECT_FMT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    EXPECT_FMT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
    EXPECT_FMT("-1", "%ld", -1L);
    /* hh/h narrow the promoted argument, as in C. */
    int wide_u = 0x1ff, wide_d = 0xff, wide_h = 0x18000;
    EXPECT_FMT("255 -1 -32768", "%hhu %hhd %hd", (unsigned char)wide_u, (signed char)wide_d,
               (short)wide_h);
}

TEST(kprintf, hex_and_pointer)
{
    EXPECT_FMT("deadbeef", "%x", 0xdeadbeefu);
    EXPECT_FMT("DEADBEEF", "%X", 0xdeadbeefu);
    EXPECT_FMT("ffffffff80000000", "%lx", 0xffffffff80000000ul);
    EXPECT_FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ull);
    EXPECT_FMT("0x1f", "%#x", 0x1f);
    EXPECT_FMT("0", "%#x", 0);
    EXPECT_FMT("0xffffffff80001000", "%p", (void *)0xffffffff80001000ul);
    EXPECT_FMT("0x0000000000000000", "%p", (void *)0);
    EXPECT_FMT("17", "%o", 15);
}

TEST(kprintf, width_padding_alignment)
{
    EXPECT_FMT("   42", "%5d", 42);
    EXPECT_FMT("00042", "%05d", 42);
    EXPECT_FMT("-0042", "%05d", -42);
    EXPECT_FMT("42   |", "%-5d|", 42);
    EXPECT_FMT("0000beef", "%08x", 0xbeef);
    EXPECT_FMT("  ab", "%4s", "ab");
    EXPECT_FMT("ab  |", "%-4s|", "ab");
    EXPECT_FMT("   x", "%*c", 4, 'x');
    EXPECT_FMT("x   |", "%-4c|", 'x');
    EXPECT_FMT("  007", "%5.3d", 7);
    EXPECT_FMT("+5", "%+d", 5);
    EXPECT_FMT("abc", "%.3s", "abcdef");
    EXPECT_FMT("42|   ", "%d|%*s", 42, 3, "");
}

TEST(kprintf, chars_strings_percent)
{
    EXPECT_FMT("a", "%c", 'a');
    EXPECT_FMT("hello world", "%s %s", "hello", "world");
    const char *volatile null_str = 0; /* volatile: hide it from -Wformat */
    EXPECT_FMT("(null)", "%s", null_str);
    EXPECT_FMT("100%", "%d%%", 100);
    /* An unknown conversion prints as written (built at run time so that
     * -Wformat does not reject the literal). */
    char unknown[8];
    ksnprintf(unknown, sizeof(unknown), "%c%c|%c", '%', 'q', '%');
    char out[16];
    EXPECT_EQ(kvsnprintf_wrapper(out, sizeof(out), unknown), 4);
    EXPECT_STREQ(out, "%q|%");
}

TEST(kprintf, snprintf_truncates_and_terminates)
{
    char buf[8];
    int n = ksnprintf(buf, sizeof(buf), "%s", "0123456789");
    EXPECT_EQ(n, 10);
    EXPECT_STREQ(buf, "0123456");
    buf[0] = 'x';
    n = ksnprintf(buf, 0, "%d", 12345);
    EXPECT_EQ(n, 5);
    EXPECT_EQ(buf[0], 'x');
}
