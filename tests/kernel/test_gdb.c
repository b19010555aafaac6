/* The kernel side of the GDB test (tests/gdb-test.py): one lazily
 * zero-filled page, read (so it maps the zero frame copy-on-write) and then
 * written once, so that GDB can break in the CoW fault path
 * (cow_zero_fill), watch the entry change from the zero frame to a private
 * writable frame, and come back.  Manual: runs only when selected
 * (test=gdb.cow_zero_fill_watched). */
#include "ktest.h"
#include "region.h"
#include "vmm.h"

/* Lazy kernel memory: an anonymous arena region, whose first read maps
 * the zero frame copy-on-write; the write below then takes cow_zero_fill. */
static uintptr_t lazy_page(void)
{
    return (uintptr_t)vmm_arena_alloc(1, "gdb-test");
}

static void lazy_page_free(uintptr_t p)
{
    EXPECT_EQ(vmm_arena_free((void *)p), VMM_OK);
}

/* GDB compares $cr2 with this (by symbol): the address the test writes. */
volatile uintptr_t gdb_test_cow_va;

TEST_MANUAL(gdb, cow_zero_fill_watched)
{
    uintptr_t page = lazy_page();
    ASSERT_NE(page, 0);
    gdb_test_cow_va = page + 0x18;
    EXPECT_EQ(*(volatile uint64_t *)gdb_test_cow_va, 0); /* maps the zero frame, CoW */
    uint64_t fills = vmm_counters_get().zero_fills;
    *(volatile uint64_t *)gdb_test_cow_va = 0x5a17;  /* the write GDB watches */
    EXPECT_EQ(*(volatile uint64_t *)gdb_test_cow_va, 0x5a17);
    EXPECT_EQ(vmm_counters_get().zero_fills - fills, 1);
    lazy_page_free(page);
}
