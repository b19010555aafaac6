/* Fault-path cost in guest instructions: meaningful under
 * -icount shift=0,sleep=off (make bench), where the TSC advances once per
 * guest instruction.  Manual: never part of make test's pass/fail. */
#include "arch/x86_64/cpu.h"
#include "kprintf.h"
#include "ktest.h"
#include "pmm.h"
#include "region.h"
#include "vmm.h"

#define BENCH_PAGES 64

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

/* Instructions for one store (or load) to each page, fault included. */
static uint64_t time_access(uintptr_t base, bool write, uint64_t *d)
{
    for (int i = 0; i < BENCH_PAGES; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(base + (uintptr_t)i * PAGE_SIZE);
        uint64_t t0 = rdtsc();
        if (write)
            *p = (uint64_t)i + 1;
        else
            (void)*p;
        uint64_t t1 = rdtsc();
        d[i] = t1 - t0;
    }
    return median(d, BENCH_PAGES);
}

static uintptr_t bench_map(struct vmobj *o, unsigned flags)
{
    struct region_req req = { .addr = KERNEL_ARENA_BASE, .len = BENCH_PAGES * PAGE_SIZE,
                              .prot = REGION_R | REGION_W, .flags = flags, .obj = o };
    uintptr_t va = 0;
    region_map(&vmm_kernel_space, &req, &va);
    return va;
}

/* Region lookup with @n regions in the kernel space (every other page, so
 * none merge), the remembered hint defeated by alternating far addresses. */
static uint64_t time_lookup(unsigned n, uint64_t *d, uint64_t *in_space)
{
    struct vmobj *o = vmobj_create_anon(2 * n, "bench");
    uintptr_t base = KERNEL_ARENA_BASE + 0x80000000ull;
    for (unsigned i = 0; i < n; i++) {
        struct region_req req = { .addr = base + 2ull * i * PAGE_SIZE, .len = PAGE_SIZE,
                                  .prot = REGION_R, .flags = REGION_FIXED, .obj = o,
                                  .offset = 2ull * i };
        region_map(&vmm_kernel_space, &req, NULL);
    }
    vmobj_put(o);
    *in_space = region_count(&vmm_kernel_space); /* the kernel's own too */
    for (int i = 0; i < BENCH_PAGES; i++) {
        unsigned k = (unsigned)(i * 7919u) % n;
        uintptr_t va = base + 2ull * k * PAGE_SIZE;
        vmm_kernel_space.hint = NULL;
        uint64_t t0 = rdtsc();
        struct region *r = region_find_locked(&vmm_kernel_space, va);
        uint64_t t1 = rdtsc();
        d[i] = r ? t1 - t0 : ~0ull;
    }
    region_unmap(&vmm_kernel_space, base, 2ull * n * PAGE_SIZE);
    return median(d, BENCH_PAGES);
}

TEST_MANUAL(vmm, bench)
{
    uint64_t d[BENCH_PAGES];
    pmm_poison_fn old = pmm_set_poison_writer(NULL);
    struct vmobj *anon = vmobj_create_anon(BENCH_PAGES, "bench");
    struct vmobj *shm = vmobj_create_anon(BENCH_PAGES, "bench shared");
    ASSERT_TRUE(anon && shm);
    uintptr_t a = bench_map(anon, 0), sh = bench_map(shm, REGION_SHARED), pr = bench_map(shm, 0);
    ASSERT_TRUE(a && sh && pr);
    uint64_t fill = time_access(a, true, d);   /* first write to never-touched memory */
    uint64_t plain = time_access(a, true, d);  /* no fault: the measurement's own cost */
    time_access(sh, true, d);                  /* the object gets its pages */
    uint64_t pmap = time_access(pr, false, d); /* private read: object page mapped CoW */
    uint64_t copy = time_access(pr, true, d);  /* shared frame: copy */
    /* Reuse: our own pages made CoW by a protect round trip. */
    region_protect(&vmm_kernel_space, a, BENCH_PAGES * PAGE_SIZE, REGION_R);
    region_protect(&vmm_kernel_space, a, BENCH_PAGES * PAGE_SIZE, REGION_R | REGION_W);
    uint64_t reuse = time_access(a, true, d);
    struct vmm_walk w;
    uint64_t t0 = rdtsc();
    vmm_walk(&vmm_kernel_space, a, 1, &w);
    uint64_t walk = rdtsc() - t0;
    paddr_t fr = *w.entry & PTE_ADDR_MASK;
    t0 = rdtsc();
    uint32_t rc = pmm_refcount(fr);
    uint64_t refc = rdtsc() - t0;
    uint64_t n10, n1000;
    uint64_t look10 = time_lookup(10, d, &n10), look1000 = time_lookup(1000, d, &n1000);
    kprintf("# bench: parts, called directly: vmm_walk %llu, pmm_refcount %llu (count %u), "
            "region lookup %llu with 10 regions (%llu in the space), %llu with 1000 (%llu)\n",
            (unsigned long long)walk, (unsigned long long)refc, rc, (unsigned long long)look10,
            (unsigned long long)n10, (unsigned long long)look1000, (unsigned long long)n1000);
    kprintf("# bench: fault paths, median of %d, guest instructions including the faulting "
            "access: zero-fill %llu, cow copy %llu, cow reuse %llu, private read of an object "
            "page %llu (an access without a fault: %llu)\n",
            BENCH_PAGES, (unsigned long long)fill, (unsigned long long)copy,
            (unsigned long long)reuse, (unsigned long long)pmap, (unsigned long long)plain);
    struct vmm_fault_counters c = vmm_counters_get();
    EXPECT_GE(c.zero_fills, BENCH_PAGES);
    EXPECT_GE(c.copies, BENCH_PAGES);
    EXPECT_GE(c.reuses, BENCH_PAGES);
    region_unmap(&vmm_kernel_space, a, BENCH_PAGES * PAGE_SIZE);
    region_unmap(&vmm_kernel_space, sh, BENCH_PAGES * PAGE_SIZE);
    region_unmap(&vmm_kernel_space, pr, BENCH_PAGES * PAGE_SIZE);
    vmobj_put(anon);
    vmobj_put(shm);
    pmm_set_poison_writer(old);
}
