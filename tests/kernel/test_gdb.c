/* The kernel side of the GDB test (tests/gdb-test.py): one lazily
 * zero-filled page written once, so that GDB can break in the CoW fault
 * path (cow_zero_fill), watch the entry change from the zero frame to a
 * private writable frame, and come back.  Manual: runs only when selected
 * (test=gdb.cow_zero_fill_watched). */
#include "ktest.h"
#include "vmm.h"

/* GDB compares $cr2 with this (by symbol): the address the test writes. */
volatile uintptr_t gdb_test_cow_va;

TEST_MANUAL(gdb, cow_zero_fill_watched)
{
    uintptr_t page = KERNEL_ARENA_BASE + 30 * PAGE_2M;
    ASSERT_EQ(vmm_map_zeroed(&vmm_kernel_space, page, 1, PTE_NX), VMM_OK);
    gdb_test_cow_va = page + 0x18;
    uint64_t fills = vmm_counters_get().zero_fills;
    *(volatile uint64_t *)gdb_test_cow_va = 0x5a17;  /* the write GDB watches */
    EXPECT_EQ(*(volatile uint64_t *)gdb_test_cow_va, 0x5a17);
    EXPECT_EQ(vmm_counters_get().zero_fills - fills, 1);
    EXPECT_EQ(vmm_release(&vmm_kernel_space, page, 1), VMM_OK);
}
