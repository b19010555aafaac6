/* Host unit tests of the multiboot2 parser (kernel/lib/mb2_parse.c). */
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define MAXP (1ull << 46)
static _Alignas(8) uint8_t buf[65536];
static size_t len;

static void begin(void) { memset(buf, 0, sizeof(buf)); len = 8; }
static void put32(size_t off, uint32_t v) { memcpy(buf + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(buf + off, &v, 8); }
static void pad(void) { len = (len + 7) & ~(size_t)7; }
static void finish(void)
{
    pad();
    put32(len, 0);
    put32(len + 4, 8);
    len += 8;
    put32(0, (uint32_t)len);
}
/* Memory-map tag of @n entries (addr, len, type triples). */
static void mmap_tag(const uint64_t *e, size_t n)
{
    size_t t = len;
    put32(t, MB2_TAG_MMAP);
    put32(t + 4, (uint32_t)(16 + 24 * n));
    put32(t + 8, 24);
    put32(t + 12, 0);
    for (size_t i = 0; i < n; i++) {
        put64(t + 16 + 24 * i, e[3 * i]);
        put64(t + 24 + 24 * i, e[3 * i + 1]);
        put32(t + 32 + 24 * i, (uint32_t)e[3 * i + 2]);
    }
    len = t + 16 + 24 * n;
    pad();
}
static void string_tag(uint32_t type, const char *s, int terminate)
{
    size_t n = strlen(s) + (terminate ? 1 : 0);
    put32(len, type);
    put32(len + 4, (uint32_t)(8 + n));
    memcpy(buf + len + 8, s, n);
    len += 8 + n;
    pad();
}

static struct mb2_boot mb;
static void parse(void)
{
    struct mb2_view v;
    assert_int_equal(mb2_view_init(&v, buf, len), MB2_OK);
    mb2_parse(&mb, &v, MAXP);
}
static void expect_usable(const uint64_t *r, size_t n)
{
    assert_int_equal(mb.usable.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mb.usable.r[i].start, r[2 * i]);
        assert_int_equal(mb.usable.r[i].end, r[2 * i + 1]);
    }
}

static void clean_map(void **state)
{
    (void)state;
    begin();
    string_tag(MB2_TAG_CMDLINE, "mode=test", 1);
    string_tag(MB2_TAG_BOOTLOADER, "GRUB 2.06", 1);
    const uint64_t e[] = { 0, 0x9f000, 1, 0x9f000, 0x1000, 2, 0xf0000, 0x10000, 2,
                           0x100000, 0x7ee0000, 1, 0xfffc0000, 0x40000, 2 };
    mmap_tag(e, 5);
    finish();
    parse();
    assert_int_equal(mb.warnings, 0);
    assert_string_equal(mb.cmdline, "mode=test");
    assert_string_equal(mb.bootloader, "GRUB 2.06");
    const uint64_t want[] = { 0, 0x9f000, 0x100000, 0x7fe0000 };
    expect_usable(want, 2);
    assert_int_equal(mb.mmap_entries, 5);
}

static void unsorted_and_overlapping(void **state)
{
    (void)state;
    begin();
    const uint64_t e[] = { 0x200000, 0x100000, 1, 0x100000, 0x180000, 1, 0x1000, 0x1000, 1 };
    mmap_tag(e, 3);
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_UNSORTED);
    assert_true(mb.warnings & MB2_W_MMAP_OVERLAP);
    const uint64_t want[] = { 0x1000, 0x2000, 0x100000, 0x300000 };
    expect_usable(want, 2);
}

static void usable_overlapping_reserved_is_reserved(void **state)
{
    (void)state;
    begin();
    const uint64_t e[] = { 0x100000, 0x400000, 1, 0x200000, 0x800, 2, 0x480000, 0x1000, 3 };
    mmap_tag(e, 3);
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_CONFLICT);
    const uint64_t want[] = { 0x100000, 0x200000, 0x201000, 0x480000, 0x481000, 0x500000 };
    expect_usable(want, 3);
}

static void unaligned_zero_length_and_huge(void **state)
{
    (void)state;
    begin();
    const uint64_t e[] = { 0x100800, 0x2000, 1,  0x300000, 0, 1,
                           MAXP - 0x2000, 0x10000, 1, UINT64_MAX - 0xfff, 0x2000, 1,
                           0x500000, 0x1fff, 1 };
    mmap_tag(e, 5);
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_UNALIGNED);
    assert_true(mb.warnings & MB2_W_MMAP_ZERO_LENGTH);
    assert_true(mb.warnings & MB2_W_MMAP_BEYOND_MAXPHYS);
    const uint64_t want[] = { 0x101000, 0x102000, 0x500000, 0x501000, MAXP - 0x2000, MAXP };
    expect_usable(want, 3);
}

static void truncated_tags(void **state)
{
    (void)state;
    begin();
    const uint64_t e[] = { 0x100000, 0x100000, 1, 0x300000, 0x100000, 1 };
    mmap_tag(e, 2);
    put32(8 + 4, 16 + 24 + 10); /* second entry cut short */
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_TRUNCATED);
    const uint64_t want[] = { 0x100000, 0x200000 };
    expect_usable(want, 1);

    /* A tag whose size runs past the block. */
    begin();
    mmap_tag(e, 2);
    finish();
    put32(8 + 4, 4000);
    parse();
    assert_true(mb.warnings & MB2_W_MALFORMED_TAG);
    assert_true(mb.warnings & MB2_W_NO_MMAP);
    assert_int_equal(mb.usable.n, 0);

    /* No end tag. */
    begin();
    mmap_tag(e, 2);
    put32(0, (uint32_t)len);
    parse();
    assert_true(mb.warnings & MB2_W_NO_END_TAG);
    assert_int_equal(mb.usable.n, 2);
}

static void missing_map_and_fallback(void **state)
{
    (void)state;
    begin();
    string_tag(MB2_TAG_CMDLINE, "x", 0); /* not terminated */
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_NO_MMAP);
    assert_true(mb.warnings & MB2_W_CMDLINE_BAD);
    assert_null(mb.cmdline);
    assert_int_equal(mb.usable.n, 0);

    begin();
    put32(len, MB2_TAG_BASIC_MEMINFO);
    put32(len + 4, 16);
    put32(len + 8, 639);
    put32(len + 12, 31 * 1024);
    len += 16;
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_BASIC_MEMINFO_ONLY);
    const uint64_t want[] = { 0x100000, 0x2000000 };
    expect_usable(want, 1);
}

static void bad_entry_size_and_duplicate(void **state)
{
    (void)state;
    const uint64_t e[] = { 0x100000, 0x100000, 1 };
    begin();
    mmap_tag(e, 1);
    put32(8 + 8, 20);
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_BAD_HEADER);
    assert_int_equal(mb.usable.n, 0);

    begin();
    mmap_tag(e, 1);
    const uint64_t e2[] = { 0x800000, 0x100000, 1 };
    mmap_tag(e2, 1);
    finish();
    parse();
    assert_true(mb.warnings & MB2_W_MMAP_DUPLICATE);
    expect_usable((const uint64_t[]){ 0x100000, 0x200000 }, 1);
}

static void modules_and_elf(void **state)
{
    (void)state;
    begin();
    put32(len, MB2_TAG_MODULE);
    put32(len + 4, 16 + 5);
    put32(len + 8, 0x400000);
    put32(len + 12, 0x401234);
    memcpy(buf + len + 16, "init", 5);
    len += 21;
    pad();
    put32(len, MB2_TAG_MODULE); /* end < start */
    put32(len + 4, 17);
    put32(len + 8, 0x500000);
    put32(len + 12, 0x400000);
    len += 17;
    pad();
    /* ELF sections: 3 headers of 64 bytes, at a 4-byte-misaligned offset. */
    size_t t = len;
    put32(t, MB2_TAG_ELF_SECTIONS);
    put32(t + 4, 20 + 3 * 64);
    put32(t + 8, 3);
    put32(t + 12, 64);
    put32(t + 16, 2);
    put64(t + 20 + 64 + 16, 0xffffffff80100000ull); /* addr */
    put64(t + 20 + 64 + 32, 0x5000);                /* size */
    put64(t + 20 + 128 + 16, 0x900000);
    put64(t + 20 + 128 + 32, 0x100);
    len = t + 20 + 192;
    pad();
    finish();
    parse();
    assert_int_equal(mb.n_modules, 1);
    assert_true(mb.warnings & MB2_W_MODULE_BAD);
    assert_string_equal(mb.modules[0].cmdline, "init");
    assert_int_equal(mb.module_mem.n, 1);
    assert_int_equal(mb.module_mem.r[0].end, 0x401234);
    assert_int_equal(mb.elf_num, 3);
    assert_int_equal(mb.elf_shndx, 2);
    assert_int_equal(mb.elf.n, 2);
    assert_int_equal(mb.elf.r[0].start, 0x900000);
    struct mb2_elf64_shdr sh;
    assert_true(mb2_elf_section(&mb, 1, &sh));
    assert_int_equal(sh.size, 0x5000);
    assert_false(mb2_elf_section(&mb, 3, &sh));
}

/* Random maps: whatever the input, usable memory is sorted, disjoint,
 * aligned, inside type-1 entries and outside every other entry. */
static void random_maps_property(void **state)
{
    (void)state;
    srand(4);
    for (int round = 0; round < 2000; round++) {
        uint64_t e[3 * 300];
        size_t n = (size_t)(rand() % 300);
        for (size_t i = 0; i < n; i++) {
            e[3 * i] = ((uint64_t)rand() << 8) ^ (uint64_t)rand();
            e[3 * i + 1] = (uint64_t)(rand() % 0x400000);
            e[3 * i + 2] = (uint64_t)(rand() % 3 ? 1 : rand() % 6);
        }
        begin();
        mmap_tag(e, n);
        finish();
        parse();
        for (size_t k = 0; k < mb.usable.n; k++) {
            uint64_t a = mb.usable.r[k].start, b = mb.usable.r[k].end;
            assert_true(a < b && a % 4096 == 0 && b % 4096 == 0 && b <= MAXP);
            if (k)
                assert_true(mb.usable.r[k - 1].end < a);
            for (size_t i = 0; i < n; i++) {
                uint64_t x = e[3 * i], y = x + e[3 * i + 1];
                if (e[3 * i + 2] != 1 && e[3 * i + 1])
                    assert_false(a < y && x < b);
            }
            /* inside the union of type-1 entries: every page is covered */
            for (uint64_t p = a; p < b; p += 4096) {
                int covered = 0;
                for (size_t i = 0; i < n && !covered; i++)
                    covered = e[3 * i + 2] == 1 && e[3 * i] <= p &&
                              p + 4096 <= e[3 * i] + e[3 * i + 1];
                if (!covered) { /* may be covered by two touching entries */
                    int lo = 0, hi = 0;
                    for (size_t i = 0; i < n; i++) {
                        if (e[3 * i + 2] != 1)
                            continue;
                        lo |= e[3 * i] <= p && p < e[3 * i] + e[3 * i + 1];
                        hi |= e[3 * i] < p + 4096 && p + 4096 <= e[3 * i] + e[3 * i + 1];
                    }
                    assert_true(lo && hi);
                }
            }
        }
    }
}

int run_mb2_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_map),
        cmocka_unit_test(unsorted_and_overlapping),
        cmocka_unit_test(usable_overlapping_reserved_is_reserved),
        cmocka_unit_test(unaligned_zero_length_and_huge),
        cmocka_unit_test(truncated_tags),
        cmocka_unit_test(missing_map_and_fallback),
        cmocka_unit_test(bad_entry_size_and_duplicate),
        cmocka_unit_test(modules_and_elf),
        cmocka_unit_test(random_maps_property),
    };
    return cmocka_run_group_tests_name("multiboot2", tests, NULL, NULL);
}
