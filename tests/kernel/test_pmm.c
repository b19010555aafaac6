/* Frame allocator self-tests.  The guard below fails any test that changes
 * the number of free frames (a leak, or a frame freed twice). */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "kmap.h"
#include "kprintf.h"
#include "ktest.h"
#include "multiboot2.h"
#include "pmm.h"

static uint64_t free_frames(void)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    return s.free;
}
KTEST_GUARD(pmm_free_frames, free_frames);

TEST(pmm, stats_add_up)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    EXPECT_GT(s.total, 0);
    EXPECT_GT(s.free, 0);
    EXPECT_EQ(s.total, s.free + s.reserved + s.allocated);
    EXPECT_GE(s.peak, s.allocated);
    /* The kernel image (RAM from 1 MiB) is reserved, at least. */
    EXPECT_GE(s.reserved, ((uint64_t)(uintptr_t)kernel_phys_end - 0x100000) >> PAGE_SHIFT);
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    struct pmm_stats t;
    pmm_get_stats(&t);
    EXPECT_EQ(t.free + 1, s.free);
    EXPECT_EQ(t.allocated, s.allocated + 1);
    EXPECT_GE(t.peak, t.allocated);
    EXPECT_EQ(t.total, t.free + t.reserved + t.allocated);
    EXPECT_EQ(pmm_free(pa), PMM_OK);
}

/* The allocator's state checked against an independent reading of the
 * memory map and of what must stay reserved. */
TEST(pmm, free_frames_inside_usable_ram_outside_reserved)
{
    static struct mb2_boot mb;
    static struct range rr[64];
    struct mb2_view view;
    struct range_set res;
    ASSERT_EQ(mb2_view_init(&view, boot_info.mbi, boot_info.mbi_size), MB2_OK);
    mb2_parse(&mb, &view, 1ull << 52);
    range_set_init(&res, rr, 64);
    range_add(&res, 0, 0x100000);
    range_add(&res, (uint64_t)(uintptr_t)kernel_phys_start, (uint64_t)(uintptr_t)kernel_phys_end);
    range_add(&res, boot_info.mbi_phys, boot_info.mbi_phys + view.size);
    for (size_t i = 0; i < mb.module_mem.n; i++)
        range_add(&res, mb.module_mem.r[i].start, mb.module_mem.r[i].end);
    range_normalize(&res);
    const char *why;
    paddr_t where;
    enum pmm_status st = pmm_check(&mb.usable, &res, &why, &where);
    if (st != PMM_OK)
        kprintf("# pmm_check: %s at %#llx\n", why, (unsigned long long)where);
    EXPECT_EQ(st, PMM_OK);
    /* And a sample of fresh frames, one by one. */
    paddr_t got[64];
    for (int i = 0; i < 64; i++) {
        ASSERT_EQ(pmm_alloc(&got[i]), PMM_OK);
        EXPECT_TRUE(range_contains(&mb.usable, got[i], got[i] + PAGE_SIZE));
        EXPECT_FALSE(range_overlaps(&res, got[i], got[i] + PAGE_SIZE));
    }
    for (int i = 0; i < 64; i++)
        EXPECT_EQ(pmm_free(got[i]), PMM_OK);
}

TEST(pmm, alloc_free_round_trip)
{
    enum { N = 512 };
    static paddr_t pa[N];
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(pmm_alloc(&pa[i]), PMM_OK);
        EXPECT_EQ(pa[i] % PAGE_SIZE, 0);
        EXPECT_EQ(pmm_refcount(pa[i]), 1);
        for (int j = 0; j < i; j++)
            if (pa[j] == pa[i])
                ASSERT_NE(pa[j], pa[i]); /* never handed out twice */
    }
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(pmm_free(pa[i]), PMM_OK);
        EXPECT_EQ(pmm_refcount(pa[i]), 0);
    }
    /* LIFO: the last frame freed comes back first. */
    paddr_t again;
    ASSERT_EQ(pmm_alloc(&again), PMM_OK);
    EXPECT_EQ(again, pa[N - 1]);
    EXPECT_EQ(pmm_free(again), PMM_OK);
}

TEST(pmm, contiguous_with_alignment)
{
    static const struct { size_t n, align; } cases[] = {
        { 1, 1 }, { 3, 1 }, { 8, 8 }, { 16, 4 }, { 512, 512 }, { 100, 64 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        paddr_t pa;
        ASSERT_EQ(pmm_alloc_contig(cases[c].n, cases[c].align, &pa), PMM_OK);
        EXPECT_EQ((pa >> PAGE_SHIFT) % cases[c].align, 0);
        for (size_t i = 0; i < cases[c].n; i++)
            EXPECT_EQ(pmm_refcount(pa + i * PAGE_SIZE), 1);
        /* A single allocation meanwhile must not land inside the run. */
        paddr_t one;
        ASSERT_EQ(pmm_alloc(&one), PMM_OK);
        EXPECT_TRUE(one < pa || one >= pa + cases[c].n * PAGE_SIZE);
        EXPECT_EQ(pmm_free(one), PMM_OK);
        for (size_t i = 0; i < cases[c].n; i++)
            EXPECT_EQ(pmm_free(pa + i * PAGE_SIZE), PMM_OK);
    }
    paddr_t pa;
    EXPECT_EQ(pmm_alloc_contig(0, 1, &pa), PMM_ERR_INVALID);
    EXPECT_EQ(pmm_alloc_contig(4, 3, &pa), PMM_ERR_UNALIGNED);
    EXPECT_EQ(pmm_alloc_contig(PMM_CHUNK_FRAMES + 1, 1, &pa), PMM_ERR_INVALID);
}

TEST(pmm, refcounts)
{
    paddr_t pa;
    uint32_t left = 99;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    EXPECT_EQ(pmm_ref_inc(pa), PMM_OK);
    EXPECT_EQ(pmm_ref_inc(pa), PMM_OK);
    EXPECT_EQ(pmm_refcount(pa), 3);
    EXPECT_EQ(pmm_free(pa), PMM_ERR_REFCOUNT); /* still shared */
    EXPECT_EQ(pmm_ref_dec(pa, &left), PMM_OK);
    EXPECT_EQ(left, 2);
    EXPECT_EQ(pmm_ref_dec(pa, &left), PMM_OK);
    EXPECT_EQ(left, 1);
    EXPECT_EQ(pmm_ref_dec(pa, &left), PMM_OK); /* frees */
    EXPECT_EQ(left, 0);
    EXPECT_EQ(pmm_refcount(pa), 0);
    EXPECT_EQ(pmm_ref_dec(pa, &left), PMM_ERR_NOT_ALLOCATED); /* underflow */
    EXPECT_EQ(pmm_ref_inc(pa), PMM_ERR_NOT_ALLOCATED);
}

TEST(pmm, misuse_is_an_error)
{
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    EXPECT_EQ(pmm_free(pa + 8), PMM_ERR_UNALIGNED);
    EXPECT_EQ(pmm_free(pa), PMM_OK);
    EXPECT_EQ(pmm_free(pa), PMM_ERR_NOT_ALLOCATED); /* double free */
    EXPECT_EQ(pmm_free(0), PMM_ERR_RESERVED);       /* frame 0 */
    EXPECT_EQ(pmm_free((uint64_t)(uintptr_t)kernel_phys_start), PMM_ERR_RESERVED);
    EXPECT_EQ(pmm_free(boot_info.mbi_phys & ~(PAGE_SIZE - 1)), PMM_ERR_RESERVED);
    EXPECT_EQ(pmm_free(1ull << 50), PMM_ERR_OUT_OF_RANGE);
    EXPECT_EQ(pmm_refcount((uint64_t)(uintptr_t)kernel_phys_start), 0);
    /* The chunk's metadata frames are reserved too. */
    struct pmm_chunk_info ci;
    ASSERT_TRUE(pmm_chunk_get_info(0, &ci));
    ASSERT_EQ(ci.state, PMM_CHUNK_READY);
    EXPECT_EQ(pmm_free(ci.meta_pa), PMM_ERR_RESERVED);
}

TEST(pmm, fault_injection)
{
    paddr_t a, b, c;
    pmm_fail_nth(2);
    EXPECT_EQ(pmm_alloc(&a), PMM_OK);
    EXPECT_EQ(pmm_alloc(&b), PMM_ERR_NOMEM);
    EXPECT_EQ(pmm_alloc(&c), PMM_OK);
    pmm_fail_all(true);
    EXPECT_EQ(pmm_alloc(&b), PMM_ERR_NOMEM);
    EXPECT_EQ(pmm_alloc_contig(2, 1, &b), PMM_ERR_NOMEM);
    pmm_fail_all(false);
    EXPECT_EQ(pmm_free(a), PMM_OK);
    EXPECT_EQ(pmm_free(c), PMM_OK);
}

TEST(pmm, freed_frames_are_poisoned)
{
#if ZF_DEBUG
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    volatile uint8_t *p = kmap_push(pa, true, NULL);
    if (!p) {
        EXPECT_EQ(pmm_free(pa), PMM_OK);
        ASSERT_TRUE(p != NULL);
    }
    p[0] = 1;
    p[4095] = 2;
    EXPECT_EQ(pmm_free(pa), PMM_OK);
    EXPECT_EQ(p[0], PMM_POISON_BYTE);
    EXPECT_EQ(p[4095], PMM_POISON_BYTE);
    kmap_pop((void *)p);
#else
    SKIP("not a debug build");
#endif
}

/* Guest instructions per alloc+free pair: meaningful under
 * -icount shift=0,sleep=off (make bench), where the TSC counts instructions. */
TEST_MANUAL(pmm, bench)
{
    enum { PAIRS = 10000 };
    pmm_poison_fn old = pmm_set_poison_writer(NULL);
    paddr_t pa;
    uint64_t t0 = rdtsc();
    for (int i = 0; i < PAIRS; i++) {
        pmm_alloc(&pa);
        pmm_free(pa);
    }
    uint64_t t1 = rdtsc();
    for (int i = 0; i < PAIRS; i++)
        __asm__ volatile("" ::: "memory");
    uint64_t t2 = rdtsc();
    pmm_set_poison_writer(old);
    uint64_t pair = (t1 - t0) / PAIRS, loop = (t2 - t1) / PAIRS;
    kprintf("# bench: alloc+free pair = %llu guest instructions (loop overhead %llu)\n",
            (unsigned long long)(pair - loop), (unsigned long long)loop);
    EXPECT_GT(pair, 0);
}

TEST_MANUAL(pmm_panic, double_free)
{
    paddr_t pa = pmm_kalloc();
    pmm_kfree(pa);
    pmm_kfree(pa);
}

TEST_MANUAL(pmm_panic, refcount_underflow)
{
    paddr_t pa = pmm_kalloc();
    pmm_kref_dec(pa);
    pmm_kref_dec(pa);
}

TEST_FINAL(pmm, report)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    kprintf("# pmm: total %llu free %llu reserved %llu allocated %llu peak %llu (frames)\n",
            (unsigned long long)s.total, (unsigned long long)s.free,
            (unsigned long long)s.reserved, (unsigned long long)s.allocated,
            (unsigned long long)s.peak);
    kprintf("# boot: self-tests done at tsc=%llu\n", (unsigned long long)rdtsc());
    EXPECT_EQ(s.total, s.free + s.reserved + s.allocated);
}

/* After a failed test: fault injection must not outlive it. */
static unsigned fault_injection_cleanup(void)
{
    pmm_fail_nth(0);
    pmm_fail_all(false);
    return 0;
}
KTEST_CLEANUP(pmm_fault_injection, fault_injection_cleanup);
