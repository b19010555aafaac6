/* Host unit tests of the frame allocator (kernel/mm/pmm.c, unchanged). */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "mm_cpu.h"

/* The one simulated CPU's per-CPU mm state: pmm.c keeps its frame cache
 * there (tests/host/mmu_hooks.h's mm_cpu()). */
struct mm_cpu sim_mm_cpu;

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void stats_add_up(void)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.total, s.free + s.reserved + s.allocated);
    assert_true(s.peak >= s.allocated);
}

/* Allocate everything one by one: distinct, inside usable, outside reserved,
 * then a clean NOMEM; free it all. */
static void exhaustion(void **state)
{
    (void)state;
    const uint64_t u[] = { 0, 64 * MiB };
    const uint64_t r[] = { 0, 1 * MiB, 5 * MiB, 6 * MiB + 100 };
    assert_int_equal(host_pmm_setup(u, 1, r, 2, 0), PMM_OK);
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.total, 64 * MiB / PAGE_SIZE);
    assert_int_equal(s.free, (64 - 1 - 1) * MiB / PAGE_SIZE - 1);
    uint64_t nframes = 64 * MiB / PAGE_SIZE;
    uint8_t *seen = calloc(nframes, 1);
    paddr_t *list = calloc(nframes, sizeof(*list));
    size_t n = 0;
    paddr_t pa;
    while (pmm_alloc(&pa) == PMM_OK) {
        assert_true(pa % PAGE_SIZE == 0 && pa < 64 * MiB);
        assert_false(pa < 1 * MiB || (pa >= 5 * MiB && pa < 6 * MiB + PAGE_SIZE));
        assert_false(seen[pa / PAGE_SIZE]);
        seen[pa / PAGE_SIZE] = 1;
        list[n++] = pa;
    }
    assert_int_equal(pmm_alloc(&pa), PMM_ERR_NOMEM);
    assert_int_equal(pmm_alloc_contig(1, 1, &pa), PMM_ERR_NOMEM);
    pmm_get_stats(&s);
    assert_int_equal(s.free, 0);
    assert_int_equal(s.allocated, n);
    assert_int_equal(s.peak, n);
    /* metadata: 16384 frames * 4 bytes = 16 frames */
    assert_int_equal(n + 256 + 257 + 16, nframes);
    host_pmm_check();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pmm_free(list[i]), PMM_OK);
    pmm_get_stats(&s);
    assert_int_equal(s.allocated, 0);
    assert_int_equal(s.free, n);
    stats_add_up();
    host_pmm_check();
    free(seen);
    free(list);
}

/* Frames in the CPU's frame cache are free in every sense: counted free,
 * refused by a second free and by reference counting, handed out before
 * NOMEM (exhaustion reaches exactly zero free with the cache emptied), and
 * part of contiguous runs; pmm_check agrees at each step. */
static void frame_cache_is_free(void **state)
{
    (void)state;
    const uint64_t u[] = { 0, 8 * MiB };
    const uint64_t r[] = { 0, 1 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, r, 1, 0), PMM_OK);
    struct pmm_stats s0, s;
    paddr_t pa[3 * PMM_CACHE_FRAMES];
    const size_t n = sizeof(pa) / sizeof(pa[0]);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pmm_alloc(&pa[i]), PMM_OK);
    pmm_get_stats(&s0);
    /* Frees beyond the cache's size: some cached, the rest on the lists. */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pmm_free(pa[i]), PMM_OK);
        pmm_get_stats(&s);
        assert_int_equal(s.free, s0.free + i + 1);
        assert_int_equal(s.allocated, s0.allocated - i - 1);
        host_pmm_check();
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pmm_free(pa[i]), PMM_ERR_NOT_ALLOCATED);
        assert_int_equal(pmm_refcount(pa[i]), 0);
        assert_int_equal(pmm_ref_inc(pa[i]), PMM_ERR_NOT_ALLOCATED);
        assert_int_equal(pmm_ref_dec(pa[i], NULL), PMM_ERR_NOT_ALLOCATED);
    }
    /* The last one freed comes back first, with a count of one. */
    paddr_t again;
    assert_int_equal(pmm_alloc(&again), PMM_OK);
    assert_int_equal(again, pa[n - 1]);
    assert_int_equal(pmm_refcount(again), 1);
    /* A reference count dropping to zero caches the frame as well. */
    assert_int_equal(pmm_ref_inc(again), PMM_OK);
    assert_int_equal(pmm_ref_dec(again, NULL), PMM_OK);
    assert_int_equal(pmm_ref_dec(again, NULL), PMM_OK);
    assert_int_equal(pmm_free(again), PMM_ERR_NOT_ALLOCATED);
    host_pmm_check();
    /* Exhaustion: every free frame, cached ones included, then NOMEM. */
    pmm_get_stats(&s);
    uint64_t want = s.free, got = 0;
    paddr_t x;
    while (pmm_alloc(&x) == PMM_OK)
        got++;
    assert_int_equal(got, want);
    pmm_get_stats(&s);
    assert_int_equal(s.free, 0);
    host_pmm_check();
    /* Free a run's worth into the cache: a contiguous allocation finds it. */
    assert_int_equal(host_pmm_setup(u, 1, r, 1, 0), PMM_OK);
    while (pmm_alloc(&x) == PMM_OK)
        ;
    paddr_t base = 2 * MiB;
    for (paddr_t p = base; p < base + 8 * PAGE_SIZE; p += PAGE_SIZE)
        assert_int_equal(pmm_free(p), PMM_OK);
    assert_int_equal(pmm_alloc_contig(8, 8, &x), PMM_OK);
    assert_int_equal(x, base);
    pmm_get_stats(&s);
    assert_int_equal(s.free, 0);
    host_pmm_check();
    stats_add_up();
}

/* A full 1 GiB chunk comes up one segment (32768 frames) at a time:
 * allocation runs across segment boundaries without a gap or a repeat,
 * frames past the initialised part are free-but-untouched (double free and
 * refcounts say so), reserved frames in a later segment stay reserved, and
 * pmm_check agrees at every stage. */
/* A chunk whose first segments are all reserved (GRUB puts a 300 MB module
 * right after the kernel) still hands out the frames above them. */
static void first_segments_all_reserved(void **state)
{
    (void)state;
    const uint64_t u[] = { 0, 512 * MiB };
    const uint64_t r[] = { 0, 302 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, r, 1, 0), PMM_OK);
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_OK);
    assert_true(pa >= 302 * MiB && pa < 512 * MiB);
    host_pmm_check();
    assert_int_equal(pmm_free(pa), PMM_OK);
}

static void chunk_segments(void **state)
{
    (void)state;
    const uint64_t u[] = { 0, 1 * GiB };
    const uint64_t r[] = { 0, 1 * MiB, 300 * MiB, 300 * MiB + 5 * PAGE_SIZE };
    assert_int_equal(host_pmm_setup(u, 1, r, 2, 0), PMM_OK);
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_OK); /* brings chunk 0 up */
    struct pmm_chunk_info ci;
    assert_true(pmm_chunk_get_info(0, &ci));
    assert_true(ci.nframes < 1 * GiB / PAGE_SIZE); /* not the whole chunk */
    host_pmm_check();
    /* Past the frontier: free, never allocated; reserved stays reserved. */
    assert_int_equal(pmm_free(900 * MiB), PMM_ERR_NOT_ALLOCATED);
    assert_int_equal(pmm_refcount(900 * MiB), 0);
    assert_int_equal(pmm_ref_inc(900 * MiB), PMM_ERR_NOT_ALLOCATED);
    assert_int_equal(pmm_free(300 * MiB + PAGE_SIZE), PMM_ERR_RESERVED);
    assert_int_equal(pmm_free(pa), PMM_OK);

    uint64_t nframes = 1 * GiB / PAGE_SIZE;
    uint8_t *seen = calloc(nframes, 1);
    size_t n = 0;
    while (pmm_alloc(&pa) == PMM_OK) {
        assert_false(seen[pa / PAGE_SIZE]);
        assert_false(pa < 1 * MiB || (pa >= 300 * MiB && pa < 300 * MiB + 5 * PAGE_SIZE));
        seen[pa / PAGE_SIZE] = 1;
        n++;
        if (n == 40000)
            host_pmm_check(); /* mid-way through the second segment */
    }
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.free, 0);
    assert_int_equal(n, s.allocated);
    assert_true(pmm_chunk_get_info(0, &ci));
    assert_int_equal(ci.nframes, nframes);
    /* Every frame but the reserved ones and the metadata was handed out. */
    assert_int_equal(n + 256 + 5 + 256, nframes);
    host_pmm_check();
    for (uint64_t f = 0; f < nframes; f++)
        if (seen[f])
            assert_int_equal(pmm_free(f * PAGE_SIZE), PMM_OK);
    host_pmm_check();
    free(seen);
}

static void contiguous_alignment(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 64 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    paddr_t one, pa;
    assert_int_equal(pmm_alloc(&one), PMM_OK); /* fragment the start */
    static const size_t cases[][2] = { { 1, 1 }, { 2, 2 }, { 7, 1 }, { 16, 16 }, { 512, 512 },
                                       { 3, 1024 }, { 1000, 8 } };
    paddr_t got[7];
    for (size_t c = 0; c < 7; c++) {
        assert_int_equal(pmm_alloc_contig(cases[c][0], cases[c][1], &got[c]), PMM_OK);
        assert_int_equal((got[c] / PAGE_SIZE) % cases[c][1], 0);
        for (size_t i = 0; i < cases[c][0]; i++)
            assert_int_equal(pmm_refcount(got[c] + i * PAGE_SIZE), 1);
        host_pmm_check();
    }
    for (size_t c = 0; c < 7; c++)
        for (size_t k = 0; k < 7; k++)
            if (c != k)
                assert_true(got[c] + cases[c][0] * PAGE_SIZE <= got[k] ||
                            got[k] + cases[k][0] * PAGE_SIZE <= got[c]);
    assert_int_equal(pmm_alloc_contig(0, 1, &pa), PMM_ERR_INVALID);
    assert_int_equal(pmm_alloc_contig(1, 0, &pa), PMM_ERR_UNALIGNED);
    assert_int_equal(pmm_alloc_contig(1, 6, &pa), PMM_ERR_UNALIGNED);
    assert_int_equal(pmm_alloc_contig(64 * MiB / PAGE_SIZE, 1, &pa), PMM_ERR_NOMEM);
    for (size_t c = 0; c < 7; c++)
        for (size_t i = 0; i < cases[c][0]; i++)
            assert_int_equal(pmm_free(got[c] + i * PAGE_SIZE), PMM_OK);
    assert_int_equal(pmm_free(one), PMM_OK);
    host_pmm_check();
}

static void refcounts(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 8 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    paddr_t pa;
    uint32_t left;
    assert_int_equal(pmm_alloc(&pa), PMM_OK);
    assert_int_equal(pmm_refcount(pa), 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pmm_ref_inc(pa), PMM_OK);
    assert_int_equal(pmm_refcount(pa), 11);
    assert_int_equal(pmm_free(pa), PMM_ERR_REFCOUNT);
    for (int i = 10; i >= 1; i--) {
        assert_int_equal(pmm_ref_dec(pa, &left), PMM_OK);
        assert_int_equal(left, (uint32_t)i);
    }
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.allocated, 1);
    assert_int_equal(pmm_ref_dec(pa, &left), PMM_OK);
    assert_int_equal(left, 0);
    pmm_get_stats(&s);
    assert_int_equal(s.allocated, 0);
    assert_int_equal(pmm_ref_dec(pa, &left), PMM_ERR_NOT_ALLOCATED); /* underflow */
    assert_int_equal(pmm_ref_inc(pa), PMM_ERR_NOT_ALLOCATED);
    host_pmm_check();
}

static void misuse(void **state)
{
    (void)state;
    const uint64_t u[] = { 0, 640 * 1024, 1 * MiB, 1 * GiB + 64 * MiB };
    const uint64_t r[] = { 0, 1 * MiB, 2 * MiB, 3 * MiB };
    assert_int_equal(host_pmm_setup(u, 2, r, 2, 0), PMM_OK);
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_OK);
    assert_int_equal(pmm_free(pa + 1), PMM_ERR_UNALIGNED);
    assert_int_equal(pmm_free(pa), PMM_OK);
    assert_int_equal(pmm_free(pa), PMM_ERR_NOT_ALLOCATED);
    assert_int_equal(pmm_free(0), PMM_ERR_RESERVED);
    assert_int_equal(pmm_free(2 * MiB), PMM_ERR_RESERVED);
    assert_int_equal(pmm_free(800 * 1024), PMM_ERR_OUT_OF_RANGE); /* hole */
    assert_int_equal(pmm_free(64 * GiB), PMM_ERR_OUT_OF_RANGE);
    assert_int_equal(pmm_free(UINT64_MAX & ~(PAGE_SIZE - 1)), PMM_ERR_OUT_OF_RANGE);
    /* Chunk 1 is still lazy: a frame there was never allocated. */
    struct pmm_chunk_info ci;
    assert_true(pmm_chunk_get_info(1, &ci));
    assert_int_equal(ci.state, PMM_CHUNK_LAZY);
    assert_int_equal(pmm_free(1 * GiB + 8 * PAGE_SIZE), PMM_ERR_NOT_ALLOCATED);
    assert_int_equal(pmm_refcount(1 * GiB + 8 * PAGE_SIZE), 0);
    assert_int_equal(pmm_free(1 * GiB + 64 * MiB), PMM_ERR_OUT_OF_RANGE);
    assert_true(pmm_chunk_get_info(0, &ci));
    assert_int_equal(pmm_free(ci.meta_pa), PMM_ERR_RESERVED);
    assert_int_equal(pmm_refcount(ci.meta_pa), 0);
    host_pmm_check();
}

/* Frames either side of a 1 GiB boundary; chunks come up lazily. */
static void chunk_boundaries(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 1 * GiB + 4 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    struct pmm_chunk_info ci;
    assert_int_equal(pmm_chunk_count(), 2);
    assert_true(pmm_chunk_get_info(0, &ci));
    assert_int_equal(ci.state, PMM_CHUNK_LAZY);
    host_pmm_check();
    /* A run that would straddle the boundary is not possible: the last
     * 4 frames of chunk 0 and the first 4 of chunk 1 are separate. */
    paddr_t a, b;
    assert_int_equal(pmm_alloc_contig(4 * MiB / PAGE_SIZE, 1, &b), PMM_OK);
    assert_true(b < 1 * GiB);
    assert_true(pmm_chunk_get_info(1, &ci));
    assert_int_equal(ci.state, PMM_CHUNK_LAZY);
    /* Drain chunk 0 and watch allocation move to chunk 1. */
    size_t n = 0;
    paddr_t *list = calloc(1 << 18, sizeof(*list));
    while (pmm_alloc(&a) == PMM_OK && a < 1 * GiB)
        list[n++] = a;
    assert_true(a >= 1 * GiB);
    assert_true(pmm_chunk_get_info(1, &ci));
    assert_int_equal(ci.state, PMM_CHUNK_READY);
    assert_int_equal(ci.nframes, 4 * MiB / PAGE_SIZE);
    assert_true(ci.meta_pa >= 1 * GiB); /* its own frames */
    host_pmm_check();
    /* Freeing in chunk 0 makes it the source again once chunk 1 drains. */
    assert_int_equal(pmm_free(list[0]), PMM_OK);
    assert_int_equal(pmm_free(1 * GiB - PAGE_SIZE), PMM_OK); /* last frame of chunk 0 */
    list[0] = 0;
    paddr_t c;
    int back_in_0 = 0;
    while (pmm_alloc(&c) == PMM_OK)
        back_in_0 += c < 1 * GiB;
    assert_int_equal(back_in_0, 2);
    host_pmm_check();
    free(list);
}

/* 2 MiB metadata pages; a chunk without an aligned 2 MiB run takes its
 * metadata from another chunk. */
static void metadata_from_another_chunk(void **state)
{
    (void)state;
    /* Chunk 0's RAM fits one metadata segment, so c0.nfree below is all of
     * its free frames (chunk_segments covers larger chunks). */
    const uint64_t u[] = { 1 * MiB, 100 * MiB, 1 * GiB + PAGE_SIZE, 1 * GiB + 3 * MiB };
    assert_int_equal(host_pmm_setup(u, 2, NULL, 0, 1), PMM_OK);
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_OK);
    struct pmm_chunk_info c0, c1;
    assert_true(pmm_chunk_get_info(0, &c0));
    assert_int_equal(c0.meta_pa % (2 * MiB), 0);
    assert_int_equal(c0.meta_size, 2 * MiB);
    /* Fill chunk 0, then free one aligned 2 MiB run there. */
    size_t n = 0;
    paddr_t *list = calloc(1 << 18, sizeof(*list));
    while (pmm_alloc(&pa) == PMM_OK && pa < 1 * GiB)
        list[n++] = pa;
    assert_true(pa < 1 * GiB); /* chunk 1 cannot come up: no room for its metadata */
    assert_true(pmm_chunk_get_info(1, &c1));
    assert_int_equal(c1.state, PMM_CHUNK_DEAD);
    free(list);

    assert_int_equal(host_pmm_setup(u, 2, NULL, 0, 1), PMM_OK);
    assert_int_equal(pmm_alloc_contig(512, 512, &pa), PMM_OK);
    paddr_t run = pa;
    assert_true(pmm_chunk_get_info(0, &c0));
    for (uint32_t i = 0; i < c0.nfree; i++) {
        assert_int_equal(pmm_alloc(&pa), PMM_OK);
        assert_true(pa < 1 * GiB);
    }
    assert_true(pmm_chunk_get_info(1, &c1));
    assert_int_equal(c1.state, PMM_CHUNK_LAZY);
    for (int i = 0; i < 512; i++)
        assert_int_equal(pmm_free(run + (paddr_t)i * PAGE_SIZE), PMM_OK);
    /* 600 frames do not fit chunk 0's free 512: chunk 1 comes up. */
    assert_int_equal(pmm_alloc_contig(600, 1, &pa), PMM_OK);
    assert_true(pa >= 1 * GiB);
    assert_true(pmm_chunk_get_info(1, &c1));
    assert_int_equal(c1.state, PMM_CHUNK_READY);
    assert_true(c1.meta_pa < 1 * GiB); /* borrowed from chunk 0 ... */
    assert_int_equal(pmm_free(c1.meta_pa), PMM_ERR_RESERVED); /* ... and reserved there */
    host_pmm_check();
    stats_add_up();
}

static void metadata_map_failure(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 16 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    host_map_fail = 1;
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_ERR_NOMEM);
    struct pmm_chunk_info ci;
    assert_true(pmm_chunk_get_info(0, &ci));
    assert_int_equal(ci.state, PMM_CHUNK_DEAD);
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.free, 0);
    assert_int_equal(s.reserved, s.total);
    assert_int_equal(pmm_free(2 * MiB), PMM_ERR_RESERVED);
}

static void fault_injection(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 16 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    paddr_t a, b, c, d;
    pmm_fail_nth(3);
    assert_int_equal(pmm_alloc(&a), PMM_OK);
    assert_int_equal(pmm_alloc_contig(2, 2, &b), PMM_OK);
    assert_int_equal(pmm_alloc(&c), PMM_ERR_NOMEM);
    assert_int_equal(pmm_alloc(&c), PMM_OK);
    pmm_fail_all(true);
    assert_int_equal(pmm_alloc(&d), PMM_ERR_NOMEM);
    assert_int_equal(pmm_alloc_contig(1, 1, &d), PMM_ERR_NOMEM);
    pmm_fail_all(false);
    assert_int_equal(pmm_alloc(&d), PMM_OK);
}

static paddr_t poisoned[4];
static int npoisoned;
static void record_poison(paddr_t pa)
{
    if (npoisoned < 4)
        poisoned[npoisoned] = pa;
    npoisoned++;
}

static void poison_hook(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 16 * MiB };
    assert_int_equal(host_pmm_setup(u, 1, NULL, 0, 0), PMM_OK);
    paddr_t a, b;
    uint32_t left;
    assert_int_equal(pmm_alloc(&a), PMM_OK);
    assert_int_equal(pmm_alloc(&b), PMM_OK);
    assert_int_equal(pmm_ref_inc(b), PMM_OK);
    assert_null(pmm_set_poison_writer(record_poison));
    assert_int_equal(pmm_free(a), PMM_OK);
    assert_int_equal(pmm_ref_dec(b, &left), PMM_OK);
    assert_int_equal(npoisoned, 1); /* b still referenced */
    assert_int_equal(pmm_ref_dec(b, &left), PMM_OK);
    assert_int_equal(pmm_free(a), PMM_ERR_NOT_ALLOCATED);
    assert_int_equal(npoisoned, 2);
    assert_int_equal(poisoned[0], a);
    assert_int_equal(poisoned[1], b);
    assert_ptr_equal(pmm_set_poison_writer(NULL), record_poison);
}

/* A 4 TiB machine: set-up and first allocations touch one chunk only. */
static void four_tib_is_lazy(void **state)
{
    (void)state;
    const uint64_t u[] = { 1 * MiB, 3 * GiB, 4 * GiB, 4ull << 40 };
    assert_int_equal(host_pmm_setup(u, 2, NULL, 0, 1), PMM_OK);
    assert_int_equal(pmm_chunk_count(), 4096);
    paddr_t pa;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(pmm_alloc(&pa), PMM_OK);
    struct pmm_chunk_info ci;
    int ready = 0;
    for (uint32_t c = 0; c < pmm_chunk_count(); c++) {
        assert_true(pmm_chunk_get_info(c, &ci));
        ready += ci.state == PMM_CHUNK_READY;
    }
    assert_int_equal(ready, 1);
    struct pmm_stats s;
    pmm_get_stats(&s);
    assert_int_equal(s.total, ((3 * GiB - 1 * MiB) + ((4ull << 40) - 4 * GiB)) / PAGE_SIZE);
    host_pmm_check();
    /* A contiguous request too big for chunk 0's remains brings up chunk 1. */
    assert_int_equal(pmm_alloc_contig(PMM_CHUNK_FRAMES - 1024, 1, &pa), PMM_OK);
    assert_true(pa >= 1 * GiB);
    host_pmm_check();
}

static void setup_rejects_too_many_ranges(void **state)
{
    (void)state;
    static uint64_t r[2 * PMM_MAX_RANGES];
    const uint64_t u[] = { 0, 1 * GiB };
    for (int i = 0; i < PMM_MAX_RANGES; i++) {
        r[2 * i] = (uint64_t)i * 2 * MiB + MiB;
        r[2 * i + 1] = r[2 * i] + PAGE_SIZE;
    }
    assert_int_equal(host_pmm_setup(u, 1, r, PMM_MAX_RANGES - 1, 0), PMM_OK);
    assert_int_equal(host_pmm_setup(u, 1, r, PMM_MAX_RANGES, 0), PMM_ERR_INVALID);
    assert_string_equal(pmm_status_str(PMM_ERR_NOMEM), "out of physical memory");
}

int run_pmm_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exhaustion),
        cmocka_unit_test(frame_cache_is_free),
        cmocka_unit_test(chunk_segments),
        cmocka_unit_test(first_segments_all_reserved),
        cmocka_unit_test(contiguous_alignment),
        cmocka_unit_test(refcounts),
        cmocka_unit_test(misuse),
        cmocka_unit_test(chunk_boundaries),
        cmocka_unit_test(metadata_from_another_chunk),
        cmocka_unit_test(metadata_map_failure),
        cmocka_unit_test(fault_injection),
        cmocka_unit_test(poison_hook),
        cmocka_unit_test(four_tib_is_lazy),
        cmocka_unit_test(setup_rejects_too_many_ranges),
    };
    return cmocka_run_group_tests_name("pmm", tests, NULL, NULL);
}
