/* Fault-path cost in guest instructions: meaningful under
 * -icount shift=0,sleep=off (make bench), where the TSC advances once per
 * guest instruction.  Manual: never part of make test's pass/fail. */
#include "arch/x86_64/cpu.h"
#include "kprintf.h"
#include "ktest.h"
#include "pmm.h"
#include "vmm.h"

#define BENCH_PAGES 64
#define BENCH_A (KERNEL_ARENA_BASE + 20 * PAGE_2M)
#define BENCH_B (KERNEL_ARENA_BASE + 21 * PAGE_2M)

static uint64_t median(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* Instructions for one store to each page, fault included. */
static uint64_t time_writes(uintptr_t base, uint64_t *d)
{
    for (int i = 0; i < BENCH_PAGES; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(base + (uintptr_t)i * PAGE_SIZE);
        uint64_t t0 = rdtsc();
        *p = (uint64_t)i + 1;
        uint64_t t1 = rdtsc();
        d[i] = t1 - t0;
    }
    return median(d, BENCH_PAGES);
}

TEST_MANUAL(vmm, bench)
{
    uint64_t d[BENCH_PAGES];
    pmm_poison_fn old = pmm_set_poison_writer(NULL);
    ASSERT_EQ(vmm_map_zeroed(&vmm_kernel_space, BENCH_A, BENCH_PAGES, PTE_NX), VMM_OK);
    uint64_t fill = time_writes(BENCH_A, d);   /* first write: zero-fill */
    uint64_t plain = time_writes(BENCH_A, d);  /* no fault: the measurement's own cost */
    ASSERT_EQ(vmm_share_cow(&vmm_kernel_space, BENCH_A, &vmm_kernel_space, BENCH_B, BENCH_PAGES),
              VMM_OK);
    uint64_t copy = time_writes(BENCH_B, d);   /* shared: copy */
    /* The decision alone, without the exception: a direct call on a page
     * whose CoW frame is ours alone (reuse). */
    struct vmm_fault f;
    uint64_t t0 = rdtsc();
    vmm_fault_handle(&vmm_kernel_space, BENCH_A, PF_ERR_P | PF_ERR_W, &f);
    uint64_t direct = rdtsc() - t0;
    struct vmm_walk w;
    t0 = rdtsc();
    vmm_walk(&vmm_kernel_space, BENCH_A, 1, &w);
    uint64_t walk = rdtsc() - t0;
    paddr_t fr = *w.entry & PTE_ADDR_MASK;
    t0 = rdtsc();
    uint32_t rc = pmm_refcount(fr);
    uint64_t refc = rdtsc() - t0;
    kprintf("# bench: parts, called directly: vmm_walk %llu, pmm_refcount %llu (count %u)\n",
            (unsigned long long)walk, (unsigned long long)refc, rc);
    uint64_t reuse = time_writes(BENCH_A, d);  /* last sharer: reuse */
    struct vmm_fault_counters c = vmm_counters_get();
    kprintf("# bench: fault paths, median of %d, guest instructions including the faulting "
            "store: zero-fill %llu, cow copy %llu, cow reuse %llu (a store without a fault: %llu; "
            "vmm_fault_handle alone, reuse: %llu)\n",
            BENCH_PAGES, (unsigned long long)fill, (unsigned long long)copy,
            (unsigned long long)reuse, (unsigned long long)plain, (unsigned long long)direct);
    EXPECT_GE(c.zero_fills, BENCH_PAGES);
    EXPECT_GE(c.copies, BENCH_PAGES);
    EXPECT_GE(c.reuses, BENCH_PAGES);
    EXPECT_EQ(vmm_release(&vmm_kernel_space, BENCH_A, BENCH_PAGES), VMM_OK);
    EXPECT_EQ(vmm_release(&vmm_kernel_space, BENCH_B, BENCH_PAGES), VMM_OK);
    pmm_set_poison_writer(old);
}
