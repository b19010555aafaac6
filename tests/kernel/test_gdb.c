/* The kernel side of the GDB test (tests/gdb-test.py): one lazily
 * zero-filled page (of two), read (so it maps the zero frame copy-on-write)
 * and then written once, so that GDB can break in the CoW fault path
 * (cow_zero_fill), watch the entry change from the zero frame to a private
 * writable frame, and come back.  Manual: runs only when selected
 * (test=gdb.cow_zero_fill_watched). */
#include "ktest.h"
#include "region.h"
#include "vmm.h"

/* Lazy kernel memory: an anonymous arena region of two pages, whose first
 * reads map the zero frame copy-on-write; the write below then takes
 * cow_zero_fill. */
static uintptr_t lazy_pages(void)
{
    return (uintptr_t)vmm_arena_alloc(2, "gdb-test");
}

static void lazy_pages_free(uintptr_t p)
{
    EXPECT_EQ(vmm_arena_free((void *)p), VMM_OK);
}

/* GDB compares $cr2 with this (by symbol): the address the test writes. */
volatile uintptr_t gdb_test_cow_va;

TEST_MANUAL(gdb, cow_zero_fill_watched)
{
    uintptr_t page = lazy_pages();
    ASSERT_NE(page, 0);
    gdb_test_cow_va = page + 0x18;
    /* The second page first: its fault makes the page table.  Then the
     * read of the first descends all four levels and leaves the table in
     * the walk cache, so that the watched write goes straight to its leaf
     * (GDB's zf-fault then walks it again itself). */
    EXPECT_EQ(*(volatile uint64_t *)(page + PAGE_SIZE), 0);
    EXPECT_EQ(*(volatile uint64_t *)gdb_test_cow_va, 0); /* maps the zero frame, CoW */
    uint64_t fills = vmm_counters_get().zero_fills;
    *(volatile uint64_t *)gdb_test_cow_va = 0x5a17;  /* the write GDB watches */
    EXPECT_EQ(*(volatile uint64_t *)gdb_test_cow_va, 0x5a17);
    EXPECT_EQ(vmm_counters_get().zero_fills - fills, 1);
    lazy_pages_free(page);
}
