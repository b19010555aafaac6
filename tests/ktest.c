/* The self-test harness: selects tests, runs each under a jump buffer so that
 * ASSERT can end it, samples guards around it and prints KTAP. */
#include "cmdline.h"
#include "kprintf.h"
#include "kstring.h"
#include "ktest.h"

extern const struct ktest ktests_start[], ktests_end[];
extern const struct ktest_guard ktest_guards_start[], ktest_guards_end[];

#define KTEST_MAX_GUARDS 16

enum { JUMP_ASSERT = 1, JUMP_SKIP = 2 };

static struct kjmp_buf test_jmp;
static bool test_running;
static int test_failures;
static const char *skip_reason;

static void fail_header(const char *file, int line)
{
    test_failures++;
    kprintf("# %s:%d: ", file, line);
}

static void fail_end(bool fatal)
{
    if (fatal && test_running)
        kjmp_long(&test_jmp, JUMP_ASSERT);
}

void ktest_fail_bool(bool fatal, const char *file, int line, const char *expr)
{
    fail_header(file, line);
    kprintf("%s failed\n", expr);
    fail_end(fatal);
}

void ktest_fail_cmp(bool fatal, const char *file, int line, const char *op, const char *ea,
                    const char *eb, uint64_t a, uint64_t b)
{
    fail_header(file, line);
    kprintf("%s(%s %s %s) failed\n", fatal ? "ASSERT" : "EXPECT", ea, op, eb);
    kprintf("#   %s = 0x%llx (%lld)\n", ea, (unsigned long long)a, (long long)a);
    kprintf("#   %s = 0x%llx (%lld)\n", eb, (unsigned long long)b, (long long)b);
    fail_end(fatal);
}

int ktest_strcmp_safe(const char *a, const char *b)
{
    if (!a || !b)
        return a == b ? 0 : 1;
    return strcmp(a, b);
}

void ktest_fail_str(bool fatal, const char *file, int line, const char *ea, const char *eb,
                    const char *a, const char *b)
{
    fail_header(file, line);
    kprintf("%s(%s == %s) failed\n", fatal ? "ASSERT_STREQ" : "EXPECT_STREQ", ea, eb);
    kprintf("#   %s = \"%s\"\n", ea, a);
    kprintf("#   %s = \"%s\"\n", eb, b);
    fail_end(fatal);
}

void ktest_skip(const char *why)
{
    skip_reason = why;
    if (test_running)
        kjmp_long(&test_jmp, JUMP_SKIP);
    /* Outside a test a skip means nothing; carry on is impossible (noreturn). */
    for (;;)
        ;
}

static bool selected(const struct ktest *t, const char *glob)
{
    char full[96];
    if (!glob)
        return !(t->flags & KTEST_MANUAL);
    ksnprintf(full, sizeof(full), "%s.%s", t->suite, t->name);
    return glob_match(glob, full);
}

struct ktest_totals ktest_run(const char *glob)
{
    struct ktest_totals tot = { 0 };
    size_t nguards = (size_t)(ktest_guards_end - ktest_guards_start);
    uint64_t before[KTEST_MAX_GUARDS];

    if (nguards > KTEST_MAX_GUARDS)
        nguards = KTEST_MAX_GUARDS;
    for (const struct ktest *t = ktests_start; t < ktests_end; t++)
        tot.planned += selected(t, glob);

    kprintf("KTAP version 1\n");
    kprintf("# Zeroframe self-tests%s%s\n", glob ? ", selection: " : "", glob ? glob : "");
    kprintf("1..%d\n", tot.planned);

    int n = 0;
    for (const struct ktest *t = ktests_start; t < ktests_end; t++) {
        if (!selected(t, glob))
            continue;
        n++;
        for (size_t g = 0; g < nguards; g++)
            before[g] = ktest_guards_start[g].sample();

        test_failures = 0;
        skip_reason = NULL;
        test_running = true;
        int how = kjmp_set(&test_jmp);
        if (how == 0)
            t->fn();
        test_running = false;

        if (how != JUMP_SKIP) {
            for (size_t g = 0; g < nguards; g++) {
                uint64_t after = ktest_guards_start[g].sample();
                if (after != before[g]) {
                    test_failures++;
                    kprintf("# guard %s changed: before %llu, after %llu\n",
                            ktest_guards_start[g].name, (unsigned long long)before[g],
                            (unsigned long long)after);
                }
            }
        }

        if (how == JUMP_SKIP && test_failures == 0) {
            tot.skipped++;
            kprintf("ok %d %s.%s # SKIP %s\n", n, t->suite, t->name, skip_reason);
        } else if (test_failures == 0) {
            tot.passed++;
            kprintf("ok %d %s.%s\n", n, t->suite, t->name);
        } else {
            tot.failed++;
            kprintf("not ok %d %s.%s\n", n, t->suite, t->name);
        }
    }

    if (tot.skipped)
        kprintf("%d passed, %d failed, %d skipped\n", tot.passed, tot.failed, tot.skipped);
    else
        kprintf("%d passed, %d failed\n", tot.passed, tot.failed);
    return tot;
}
