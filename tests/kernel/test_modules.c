/* Multiboot2 modules as the kernel sees them.  make test generates module
 * files whose first line is "zeroframe-module NAME SIZE" and whose last 8
 * bytes are "ZFMODEND", and passes modules=N on the command line: each
 * module must appear with its name, its exact size and its contents at the
 * right frames, and those frames must be reserved. */
#include "boot.h"
#include "cmdline.h"
#include "kmap.h"
#include "kprintf.h"
#include "kstring.h"
#include "ktest.h"
#include "pmm.h"

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Check @m against its header; returns false (with a diagnostic) on any
 * mismatch, true when it matches or has no header (*checked says which). */
static bool check_module(unsigned i, const struct boot_module *m, bool *checked)
{
    static const char magic[] = "zeroframe-module ";
    char head[128];
    uint64_t size = m->end - m->start;
    *checked = false;
    if (size < sizeof(magic) + 8)
        return true;
    uint64_t n = size < sizeof(head) - 1 ? size : sizeof(head) - 1;
    boot_copy_from_phys(head, m->start, n);
    head[n] = '\0';
    if (strncmp(head, magic, sizeof(magic) - 1) != 0)
        return true;
    *checked = true;
    const char *name = head + sizeof(magic) - 1;
    const char *sp = name;
    while (*sp && *sp != ' ')
        sp++;
    const char *nl = sp;
    while (*nl && *nl != '\n')
        nl++;
    uint64_t want;
    if (!*sp || !*nl || !parse_u64(sp + 1, (size_t)(nl - sp - 1), &want)) {
        kprintf("# module %u: malformed header\n", i);
        return false;
    }
    if ((size_t)(sp - name) != strlen(m->name) || strncmp(name, m->name, (size_t)(sp - name))) {
        kprintf("# module %u: named \"%s\" but its header says \"%.*s\"\n", i, m->name,
                (int)(sp - name), name);
        return false;
    }
    if (want != size) {
        kprintf("# module %u (%s): %llu bytes, its header says %llu\n", i, m->name,
                (unsigned long long)size, (unsigned long long)want);
        return false;
    }
    char tail[9] = { 0 };
    boot_copy_from_phys(tail, m->end - 8, 8);
    if (strcmp(tail, "ZFMODEND") != 0) {
        kprintf("# module %u (%s): last 8 bytes are not ZFMODEND\n", i, m->name);
        return false;
    }
    return true;
}

TEST(boot, modules_as_the_loader_passed_them)
{
    char want_s[16];
    unsigned n = boot_module_count();
    unsigned checked = 0, empty = 0;
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct boot_module *m = boot_module_get(i);
        ASSERT_TRUE(m != NULL);
        bool c = false;
        EXPECT_TRUE(check_module(i, m, &c));
        checked += c;
        empty += m->start == m->end;
        total += m->end - m->start;
        /* Every frame of a module is reserved: the allocator never hands
         * out (nor poisons) module memory. */
        if (m->end > m->start) {
            EXPECT_EQ(pmm_free(m->start & ~(uint64_t)(PAGE_SIZE - 1)), PMM_ERR_RESERVED);
            EXPECT_EQ(pmm_free((m->end - 1) & ~(uint64_t)(PAGE_SIZE - 1)), PMM_ERR_RESERVED);
        }
        if (i < 4 || i + 2 >= n)
            kprintf("# module %u: %s, %llu bytes at %#llx\n", i, m->name,
                    (unsigned long long)(m->end - m->start), (unsigned long long)m->start);
    }
    EXPECT_TRUE(boot_module_get(n) == NULL);
    kprintf("# modules: %u, %u with a verified header, %u empty, %llu bytes\n", n, checked, empty,
            (unsigned long long)total);
    if (cmdline_get(boot_info.cmdline, "modules", want_s, sizeof(want_s))) {
        uint64_t want = 0;
        ASSERT_TRUE(parse_u64(want_s, strlen(want_s), &want));
        EXPECT_EQ(n, want);
        /* make test's modules are all either empty or have a header. */
        EXPECT_EQ(checked + empty, n);
    }
}
