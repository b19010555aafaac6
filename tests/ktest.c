/* The self-test harness: selects tests, runs each under a jump buffer so that
 * ASSERT can end it, samples guards around it and prints KTAP.
 *
 * Selection (test=...): a comma-separated list of items.  An item selects
 * the automatic tests whose "suite.name" matches it as a glob, and a manual
 * test only when it is exactly that test's name (never through a wildcard).
 * An empty selection, or one that selects nothing, is an error: the run
 * prints "# selection error: ..." and fails. */
#include "cmdline.h"
#include "kprintf.h"
#include "kstring.h"
#include "ktest.h"

extern const struct ktest ktests_start[], ktests_end[];
extern const struct ktest_guard ktest_guards_start[], ktest_guards_end[];
extern const struct ktest_cleanup ktest_cleanups_start[], ktest_cleanups_end[];

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

/* Does the item @item (@len bytes, no comma) select @t, named @full? */
static bool item_selects(const struct ktest *t, const char *full, const char *item, size_t len)
{
    char pat[KTEST_SELECTION_MAX + 1];
    if (len == 0 || len > KTEST_SELECTION_MAX)
        return false;
    memcpy(pat, item, len);
    pat[len] = '\0';
    if (t->flags & KTEST_MANUAL)
        return strcmp(pat, full) == 0;
    return glob_match(pat, full);
}

static bool selected(const struct ktest *t, const char *sel)
{
    char full[160];
    if (!sel)
        return !(t->flags & KTEST_MANUAL);
    ksnprintf(full, sizeof(full), "%s.%s", t->suite, t->name);
    for (const char *p = sel;;) {
        const char *comma = p;
        while (*comma && *comma != ',')
            comma++;
        if (item_selects(t, full, p, (size_t)(comma - p)))
            return true;
        if (!*comma)
            return false;
        p = comma + 1;
    }
}

/* Ends a run that cannot start: a KTAP header, the reason, an empty plan. */
struct ktest_totals ktest_refuse(const char *sel, const char *why)
{
    struct ktest_totals tot = { 0 };
    kprintf("KTAP version 1\n");
    kprintf("# Zeroframe self-tests\n");
    if (sel)
        kprintf("# selection error: %s (test=%s)\n", why, sel);
    else
        kprintf("# selection error: %s\n", why);
    kprintf("1..0\n");
    kprintf("0 passed, 0 failed\n");
    tot.failed = 1; /* no test failed, but the run must not pass */
    return tot;
}

/* After a test that failed: undo what it left behind (mappings, temporary
 * mappings, fault injection), so later tests start from a clean state. */
static void run_cleanups(void)
{
    for (const struct ktest_cleanup *c = ktest_cleanups_start; c < ktest_cleanups_end; c++) {
        unsigned n = c->fn();
        if (n)
            kprintf("# cleanup %s: undid %u thing%s this test left behind\n", c->name, n,
                    n == 1 ? "" : "s");
    }
}

struct ktest_totals ktest_run(const char *glob)
{
    struct ktest_totals tot = { 0 };
    size_t nguards = (size_t)(ktest_guards_end - ktest_guards_start);
    uint64_t before[KTEST_MAX_GUARDS];

    if (nguards > KTEST_MAX_GUARDS)
        nguards = KTEST_MAX_GUARDS;
    if (glob && !*glob)
        return ktest_refuse(NULL, "empty test selection (test= needs a name or pattern)");
    if (glob && strlen(glob) > KTEST_SELECTION_MAX)
        return ktest_refuse(NULL, "test selection too long");
    for (const struct ktest *t = ktests_start; t < ktests_end; t++)
        tot.planned += selected(t, glob);
    if (tot.planned == 0)
        return ktest_refuse(glob, "the selection matches no test (manual tests must be named "
                                  "exactly)");

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
                    kprintf("# guard %s changed by %lld in this test: before %llu, after %llu\n",
                            ktest_guards_start[g].name, (long long)(after - before[g]),
                            (unsigned long long)before[g], (unsigned long long)after);
                }
            }
        }
        /* A failed test (an ASSERT especially) may leave state behind: undo
         * what can be undone.  Guards are sampled afresh before each test,
         * so whatever stays lost is charged to this test alone. */
        if (test_failures)
            run_cleanups();

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
