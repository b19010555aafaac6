/* In-kernel self-tests, reported as KTAP on the serial console.
 *
 *   TEST(suite, name) { EXPECT_EQ(a, b); ASSERT_TRUE(p != NULL); ... }
 *
 * EXPECT_* records a failure and goes on; ASSERT_* records it and ends the
 * test (from any call depth).  TEST_MANUAL tests run only when the kernel
 * command line's test= names them exactly (never by default, never through
 * a wildcard): they are for the runner's own tests (deliberate failures,
 * hangs, triple faults, panics).
 * TEST_FINAL tests run after all others (end-of-run invariants).
 *
 * Guards (KTEST_GUARD) are sampled before and after every test; a test that
 * changes a guard's value (e.g. leaks frames) fails. */
#ifndef ZF_KTEST_H
#define ZF_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#define KTEST_MANUAL 1u

struct ktest {
    const char *suite;
    const char *name;
    void (*fn)(void);
    unsigned flags;
};

struct ktest_guard {
    const char *name;
    uint64_t (*sample)(void);
};

/* Run after a test that failed: undoes what such a test may leave behind
 * (an ASSERT skips its own clean-up) and returns how many things it undid. */
struct ktest_cleanup {
    const char *name;
    unsigned (*fn)(void);
};

/* Longest test= selection accepted whole; a longer one is refused. */
#define KTEST_SELECTION_MAX 255

#define KTEST_DEFINE_(suite_, name_, flags_, order_)                                        \
    static void ktest_fn_##suite_##_##name_(void);                                          \
    static const struct ktest ktest_##suite_##_##name_                                      \
        __attribute__((used, section(".ktests." order_), aligned(8))) = {                   \
            #suite_, #name_, ktest_fn_##suite_##_##name_, flags_                            \
        };                                                                                  \
    static void ktest_fn_##suite_##_##name_(void)

#define TEST(suite, name) KTEST_DEFINE_(suite, name, 0, "1")
#define TEST_MANUAL(suite, name) KTEST_DEFINE_(suite, name, KTEST_MANUAL, "1")
#define TEST_FINAL(suite, name) KTEST_DEFINE_(suite, name, 0, "9.final")

#define KTEST_GUARD(name_, fn_)                                                             \
    static const struct ktest_guard ktest_guard_##name_                                     \
        __attribute__((used, section(".ktest_guards"), aligned(8))) = { #name_, fn_ }

#define KTEST_CLEANUP(name_, fn_)                                                           \
    static const struct ktest_cleanup ktest_cleanup_##name_                                 \
        __attribute__((used, section(".ktest_cleanups"), aligned(8))) = { #name_, fn_ }

/* Harness internals used by the macros. */
void ktest_fail_bool(bool fatal, const char *file, int line, const char *expr);
void ktest_fail_cmp(bool fatal, const char *file, int line, const char *op, const char *ea,
                    const char *eb, uint64_t a, uint64_t b);
void ktest_fail_str(bool fatal, const char *file, int line, const char *ea, const char *eb,
                    const char *a, const char *b);
__attribute__((noreturn)) void ktest_skip(const char *why);
int ktest_strcmp_safe(const char *a, const char *b);

#define KTEST_BOOL_(fatal, cond, text)                                                      \
    do {                                                                                    \
        if (!(cond))                                                                        \
            ktest_fail_bool(fatal, __FILE__, __LINE__, text);                               \
    } while (0)

#define KTEST_CMP_(fatal, a, op, b)                                                         \
    do {                                                                                    \
        uint64_t ktest_a_ = (uint64_t)(a), ktest_b_ = (uint64_t)(b);                        \
        if (!(ktest_a_ op ktest_b_))                                                        \
            ktest_fail_cmp(fatal, __FILE__, __LINE__, #op, #a, #b, ktest_a_, ktest_b_);     \
    } while (0)

#define KTEST_STR_(fatal, a, b)                                                             \
    do {                                                                                    \
        const char *ktest_a_ = (a), *ktest_b_ = (b);                                        \
        if (ktest_strcmp_safe(ktest_a_, ktest_b_) != 0)                                     \
            ktest_fail_str(fatal, __FILE__, __LINE__, #a, #b, ktest_a_, ktest_b_);          \
    } while (0)

/* Comparisons are on the values converted to uint64_t. */
#define EXPECT_TRUE(c) KTEST_BOOL_(false, (c), "EXPECT_TRUE(" #c ")")
#define EXPECT_FALSE(c) KTEST_BOOL_(false, !(c), "EXPECT_FALSE(" #c ")")
#define EXPECT_EQ(a, b) KTEST_CMP_(false, a, ==, b)
#define EXPECT_NE(a, b) KTEST_CMP_(false, a, !=, b)
#define EXPECT_LT(a, b) KTEST_CMP_(false, a, <, b)
#define EXPECT_LE(a, b) KTEST_CMP_(false, a, <=, b)
#define EXPECT_GT(a, b) KTEST_CMP_(false, a, >, b)
#define EXPECT_GE(a, b) KTEST_CMP_(false, a, >=, b)
#define EXPECT_STREQ(a, b) KTEST_STR_(false, a, b)

#define ASSERT_TRUE(c) KTEST_BOOL_(true, (c), "ASSERT_TRUE(" #c ")")
#define ASSERT_FALSE(c) KTEST_BOOL_(true, !(c), "ASSERT_FALSE(" #c ")")
#define ASSERT_EQ(a, b) KTEST_CMP_(true, a, ==, b)
#define ASSERT_NE(a, b) KTEST_CMP_(true, a, !=, b)
#define ASSERT_LT(a, b) KTEST_CMP_(true, a, <, b)
#define ASSERT_LE(a, b) KTEST_CMP_(true, a, <=, b)
#define ASSERT_GT(a, b) KTEST_CMP_(true, a, >, b)
#define ASSERT_GE(a, b) KTEST_CMP_(true, a, >=, b)
#define ASSERT_STREQ(a, b) KTEST_STR_(true, a, b)

#define SKIP(why) ktest_skip(why)

struct ktest_totals {
    int planned, passed, failed, skipped;
};

/* Run the tests selected by @glob (NULL: all non-manual tests; otherwise
 * the rules at the top of tests/ktest.c), printing KTAP.  Returns the
 * totals; a selection error counts as one failure. */
struct ktest_totals ktest_run(const char *glob);
/* A run refused before it starts (e.g. a test= value too long to keep). */
struct ktest_totals ktest_refuse(const char *sel, const char *why);

/* Non-local jump (kernel/arch/x86_64/kjmp.asm). */
struct kjmp_buf {
    uint64_t regs[8];
};
int kjmp_set(struct kjmp_buf *buf) __attribute__((returns_twice));
__attribute__((noreturn)) void kjmp_long(struct kjmp_buf *buf, int value);

#endif
