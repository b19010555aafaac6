/* The embedded symbol table and symbolised backtraces. */
#include "arch/x86_64/cpu.h"
#include "ksym.h"
#include "kstring.h"
#include "ktest.h"
#include "panic.h"

void kernel_main(uint32_t magic, uint64_t mbi_phys);

TEST(ksym, lookup_and_address)
{
    const char *name;
    uintptr_t off;
    EXPECT_GT(ksym_table_size(), 100);
    ASSERT_TRUE(ksym_lookup((uintptr_t)kernel_main, &name, &off));
    EXPECT_STREQ(name, "kernel_main");
    EXPECT_EQ(off, 0);
    ASSERT_TRUE(ksym_lookup((uintptr_t)ksym_lookup + 5, &name, &off));
    EXPECT_STREQ(name, "ksym_lookup");
    EXPECT_EQ(off, 5);
    EXPECT_EQ(ksym_address("kernel_main"), (uintptr_t)kernel_main);
    EXPECT_EQ(ksym_address("panic"), (uintptr_t)panic);
    EXPECT_EQ(ksym_address("no_such_symbol"), 0);
    /* Assembly labels are there too. */
    EXPECT_NE(ksym_address("pf_entry"), 0);
    EXPECT_FALSE(ksym_lookup(0x1000, &name, &off));
    EXPECT_FALSE(ksym_lookup(0, &name, &off));
}

/* A known call chain.  noinline and the "+ 1" after each call keep every
 * frame (no inlining, no tail calls). */
#define CHAIN_DEPTH 8
static uintptr_t chain[CHAIN_DEPTH];
static volatile int chain_len;

__attribute__((noinline)) static int bt_inner(int x)
{
    chain_len = backtrace_collect(read_rbp(), chain, CHAIN_DEPTH);
    return x + 1;
}

__attribute__((noinline)) static int bt_middle(int x)
{
    return bt_inner(x * 3) + 1;
}

__attribute__((noinline)) static int bt_outer(int x)
{
    return bt_middle(x + 2) + 1;
}

/* gcc may clone a static function into "name.constprop.0" and the like. */
static bool is_function(uintptr_t ret, const char *want)
{
    const char *name;
    uintptr_t off;
    if (!ksym_lookup(ret - 1, &name, &off))
        return false;
    size_t n = strlen(want);
    return strncmp(name, want, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

TEST(ksym, backtrace_of_known_call_chain)
{
    volatile int seed = 1;
    EXPECT_EQ(bt_outer(seed), 12);
    ASSERT_GE(chain_len, 4);
    EXPECT_TRUE(is_function(chain[0], "bt_middle"));
    EXPECT_TRUE(is_function(chain[1], "bt_outer"));
    EXPECT_TRUE(is_function(chain[2], "ktest_fn_ksym_backtrace_of_known_call_chain"));
    EXPECT_TRUE(is_function(chain[3], "ktest_run"));
}
