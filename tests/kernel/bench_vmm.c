/* Fault-path cost in guest instructions: meaningful under
 * -icount shift=0,sleep=off (make bench), where the TSC advances once per
 * guest instruction.  Manual: never part of make test's pass/fail.
 * Each case is BENCH_N samples on distinct pages (or frames, or regions),
 * printed as one line
 *   bench name=<case> samples=<n> min=<n> median=<n> max=<n>
 * that scripts/bench.sh collects and scripts/bench-check.sh judges.  Every
 * sample includes the two rdtsc around it: kernel_measure is that cost on
 * its own, never subtracted. */
#include "arch/x86_64/cpu.h"
#include "kmap.h"
#include "kprintf.h"
#include "ktest.h"
#include "mm/walk.h"
#include "pmm.h"
#include "region.h"
#include "vmm.h"

#define BENCH_N 256

static void report(const char *name, uint64_t *v)
{
    for (int i = 1; i < BENCH_N; i++) /* insertion sort: once per case */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    kprintf("bench name=%s samples=%d min=%llu median=%llu max=%llu\n", name, BENCH_N,
            (unsigned long long)v[0], (unsigned long long)v[BENCH_N / 2],
            (unsigned long long)v[BENCH_N - 1]);
}

/* One store (or load) to each page, fault included. */
static void time_access(uintptr_t base, bool write, uint64_t *d)
{
    for (int i = 0; i < BENCH_N; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(base + (uintptr_t)i * PAGE_SIZE);
        uint64_t t0 = rdtsc();
        if (write)
            *p = (uint64_t)i + 1;
        else
            (void)*p;
        d[i] = rdtsc() - t0;
    }
}

static uintptr_t bench_map(struct vmobj *o, unsigned flags)
{
    struct region_req req = { .addr = KERNEL_ARENA_BASE, .len = BENCH_N * PAGE_SIZE,
                              .prot = REGION_R | REGION_W, .flags = flags, .obj = o };
    uintptr_t va = 0;
    region_map(&vmm_kernel_space, &req, &va);
    return va;
}

/* Region lookup with @n regions in the kernel space (every other page, so
 * none merge), the remembered hint defeated before each lookup.  False when
 * a lookup missed. */
static bool time_lookup(unsigned n, uint64_t *d)
{
    struct vmobj *o = vmobj_create_anon(2 * n, "bench");
    uintptr_t base = KERNEL_ARENA_BASE + 0x80000000ull;
    bool found = true;
    for (unsigned i = 0; i < n; i++) {
        struct region_req req = { .addr = base + 2ull * i * PAGE_SIZE, .len = PAGE_SIZE,
                                  .prot = REGION_R, .flags = REGION_FIXED, .obj = o,
                                  .offset = 2ull * i };
        region_map(&vmm_kernel_space, &req, NULL);
    }
    vmobj_put(o);
    for (int i = 0; i < BENCH_N; i++) {
        unsigned k = (unsigned)(i * 7919u) % n;
        uintptr_t va = base + 2ull * k * PAGE_SIZE;
        vmm_kernel_space.hint = NULL;
        uint64_t t0 = rdtsc();
        struct region *r = region_find_locked(&vmm_kernel_space, va);
        d[i] = rdtsc() - t0;
        found = found && r;
    }
    region_unmap(&vmm_kernel_space, base, 2ull * n * PAGE_SIZE);
    return found;
}

TEST_MANUAL(vmm, bench)
{
    static uint64_t d[BENCH_N];
    pmm_poison_fn old = pmm_set_poison_writer(NULL);
    struct vmobj *anon = vmobj_create_anon(BENCH_N, "bench");
    struct vmobj *shm = vmobj_create_anon(BENCH_N, "bench shared");
    ASSERT_TRUE(anon && shm);
    uintptr_t a = bench_map(anon, 0), sh = bench_map(shm, REGION_SHARED), pr = bench_map(shm, 0);
    ASSERT_TRUE(a && sh && pr);
    struct vmm_fault_counters c0 = vmm_counters_get();

    for (int i = 0; i < BENCH_N; i++) {
        uint64_t t0 = rdtsc();
        d[i] = rdtsc() - t0;
    }
    report("kernel_measure", d);
    time_access(a, true, d);
    report("kernel_zero_fill", d);       /* first write to never-touched memory */
    time_access(a, true, d);
    report("kernel_store_no_fault", d);  /* the same stores again: no fault */
    time_access(sh, true, d);
    report("kernel_shared_fill", d);     /* shared region: the object's page, zeroed */
    time_access(pr, false, d);
    report("kernel_private_read", d);    /* private read: the object's page mapped CoW */
    time_access(pr, true, d);
    report("kernel_cow_copy", d);        /* the object still holds the frame: copy */
    /* Reuse: our own pages made CoW by a protect round trip. */
    region_protect(&vmm_kernel_space, a, BENCH_N * PAGE_SIZE, REGION_R);
    region_protect(&vmm_kernel_space, a, BENCH_N * PAGE_SIZE, REGION_R | REGION_W);
    time_access(a, true, d);
    report("kernel_cow_reuse", d);
    struct vmm_fault_counters c1 = vmm_counters_get();
    EXPECT_EQ(c1.zero_fills - c0.zero_fills, 2 * BENCH_N);
    EXPECT_EQ(c1.copies - c0.copies, BENCH_N);
    EXPECT_EQ(c1.reuses - c0.reuses, BENCH_N);

    /* The walk the fault path takes (there inlined), to the leaf of each
     * page. */
    for (int i = 0; i < BENCH_N; i++) {
        struct vmm_walk w;
        uintptr_t va = a + (uintptr_t)i * PAGE_SIZE;
        uint64_t t0 = rdtsc();
        walk_fault(&vmm_kernel_space, va, &w);
        d[i] = rdtsc() - t0;
        EXPECT_TRUE(w.end == WALK_LEAF && (*w.entry & PTE_P));
    }
    report("kernel_walk", d);
    /* A temporary mapping of each frame and its removal. */
    for (int i = 0; i < BENCH_N; i++) {
        struct vmm_walk w;
        vmm_walk(&vmm_kernel_space, a + (uintptr_t)i * PAGE_SIZE, 1, &w);
        paddr_t fr = *w.entry & PTE_ADDR_MASK;
        uint64_t t0 = rdtsc();
        void *p = kmap_push(fr, true, NULL);
        kmap_pop(p);
        d[i] = rdtsc() - t0;
        EXPECT_TRUE(p != NULL);
    }
    report("kernel_kmap_pair", d);
    for (int i = 0; i < BENCH_N; i++) {
        struct vmm_walk w;
        vmm_walk(&vmm_kernel_space, a + (uintptr_t)i * PAGE_SIZE, 1, &w);
        paddr_t fr = *w.entry & PTE_ADDR_MASK;
        uint64_t t0 = rdtsc();
        uint32_t rc = pmm_refcount(fr);
        d[i] = rdtsc() - t0;
        EXPECT_EQ(rc, 1);
    }
    report("kernel_refcount", d);
    for (int i = 0; i < BENCH_N; i++) {
        paddr_t pa;
        uint64_t t0 = rdtsc();
        enum pmm_status st = pmm_alloc(&pa);
        pmm_free(pa);
        d[i] = rdtsc() - t0;
        EXPECT_EQ(st, PMM_OK);
    }
    report("kernel_pmm_pair", d);
    EXPECT_TRUE(time_lookup(10, d));
    report("kernel_region_lookup_10", d);
    EXPECT_TRUE(time_lookup(1000, d));
    report("kernel_region_lookup_1000", d);

    region_unmap(&vmm_kernel_space, a, BENCH_N * PAGE_SIZE);
    region_unmap(&vmm_kernel_space, sh, BENCH_N * PAGE_SIZE);
    region_unmap(&vmm_kernel_space, pr, BENCH_N * PAGE_SIZE);
    vmobj_put(anon);
    vmobj_put(shm);
    pmm_set_poison_writer(old);
}
