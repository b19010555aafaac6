/* Physical frame allocator: 1 GiB chunks with lazily built per-frame
 * metadata, an O(1) free stack per chunk, refcounts, statistics, fault
 * injection.  Pure code: no inline assembly, no printing; the platform hooks
 * (struct pmm_platform) map metadata, so host tests build this file unchanged.
 *
 * Metadata word per frame (uint32_t, chunk->meta[frame index in chunk]):
 *   0                       not RAM (hole in the memory map)
 *   1 .. PMM_REFCOUNT_MAX   allocated, reference count
 *   META_RESERVED           usable RAM held back (kernel, boot data, metadata)
 *   META_FREE | next        free; next = index of the next free frame or META_END
 *   META_CACHED             free, held in a CPU's frame cache (not on a list)
 *
 * Two layers: this CPU's frame cache (struct pmm_frame_cache in the per-CPU
 * area, reached through mm_cpu()), which pmm_alloc pops and pmm_free pushes,
 * and the shared chunks behind it (free stacks, bitmap, counters: the one
 * lock point when there are several CPUs).  Frames move to the shared lists
 * when the cache is full, and come from them only when it is empty.
 */
#include "mm_cpu.h"
#include "mmu_hooks.h"
#include "pmm.h"

#define META_FREE 0x80000000u
#define META_RESERVED 0x7fffffffu
#define META_END 0x7fffffffu /* as a "next" index */
#define META_CACHED (META_FREE | (META_END - 1))
#define CHUNK_FRAME_SHIFT (PMM_CHUNK_SHIFT - PAGE_SHIFT)
#define CHUNK_BYTES (1ull << PMM_CHUNK_SHIFT)
#define BITMAP_WORDS (PMM_MAX_CHUNKS / 64)
#define SUMMARY_WORDS ((BITMAP_WORDS + 63) / 64)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(sizeof(struct pmm_chunk) == 32, "chunk descriptor is 32 bytes");
_Static_assert(META_CACHED == PMM_META_CACHED, "pmm.h's inline free marks cached frames");

struct pmm_chunk pmm_chunks[PMM_MAX_CHUNKS];
static uint32_t nchunks;
static struct pmm_chunk *cur; /* where pmm_alloc takes frames from */
/* cur, or NULL while fault injection is armed: the shared path's one test. */
static struct pmm_chunk *alloc_src;
/* The cache is popped while it holds more than this: 0, or UINT32_MAX while
 * fault injection is armed (every allocation then counts in alloc_next_chunk). */
uint32_t pmm_cache_floor;
/* Bit c set: chunk c may have free frames (READY with nfree > 0, or LAZY with
 * available frames).  summary bit w set: bitmap word w may be non-zero. */
static uint64_t has_free[BITMAP_WORDS];
static uint64_t has_free_summary[SUMMARY_WORDS];

static struct range usable_r[PMM_MAX_RANGES], avail_r[PMM_MAX_RANGES];
static struct range_set usable, avail; /* RAM; RAM minus reserved (normalized) */
static struct pmm_platform platform;
/* stats.total and stats.reserved are kept; peak - headroom is the frames
 * out of the shared lists (allocated or cached), allocated is that minus the
 * cached ones, free = total - reserved - allocated; so the shared paths
 * update a single counter and the cache's paths none.  peak is exact: the
 * shared lists are only drawn on when the cache is empty, so frames out of
 * them only grow while none is cached (one CPU; with several, another
 * CPU's cache would make peak an upper bound). */
static struct pmm_stats stats;
static uint64_t peak, headroom;
static pmm_poison_fn poison;
/* pmm_free pushes inline while the cache holds fewer frames than this:
 * PMM_CACHE_FRAMES, or 0 while a poison writer is set (the push then goes
 * out of line, where poisoning costs far more than the call anyway). */
uint32_t pmm_push_limit = PMM_CACHE_FRAMES;

static bool fi_armed;     /* either below is active */
static bool fi_all;
static uint64_t fi_countdown;

/* ---------------------------------------------------------------- helpers */

static inline void bit_set(uint32_t c)
{
    has_free[c / 64] |= 1ull << (c % 64);
    has_free_summary[c / 4096] |= 1ull << ((c / 64) % 64);
}

static void bit_clear(uint32_t c)
{
    has_free[c / 64] &= ~(1ull << (c % 64));
    if (!has_free[c / 64])
        has_free_summary[c / 4096] &= ~(1ull << ((c / 64) % 64));
}

/* Lowest chunk whose bit is set, or -1.  O(SUMMARY_WORDS) = O(1). */
static long bit_first(void)
{
    for (uint32_t s = 0; s < SUMMARY_WORDS; s++) {
        if (!has_free_summary[s])
            continue;
        uint32_t w = s * 64 + (uint32_t)__builtin_ctzll(has_free_summary[s]);
        return (long)w * 64 + __builtin_ctzll(has_free[w]);
    }
    return -1;
}

static inline uint32_t chunk_index(const struct pmm_chunk *c)
{
    return (uint32_t)(c - pmm_chunks);
}

static inline paddr_t frame_pa(const struct pmm_chunk *c, uint32_t i)
{
    return ((paddr_t)chunk_index(c) << PMM_CHUNK_SHIFT) + ((paddr_t)i << PAGE_SHIFT);
}

/* Frames of @s inside [a, b). */
static uint64_t frames_in(const struct range_set *s, uint64_t a, uint64_t b)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t x = s->r[i].start > a ? s->r[i].start : a;
        uint64_t y = s->r[i].end < b ? s->r[i].end : b;
        if (y > x)
            n += (y - x) >> PAGE_SHIFT;
    }
    return n;
}

static void account_alloc(uint64_t n)
{
    if (headroom >= n) {
        headroom -= n;
    } else {
        peak += n - headroom;
        headroom = 0;
    }
}

static inline struct pmm_frame_cache *frame_cache(void)
{
    return &mm_cpu()->frames;
}

static inline uint64_t allocated_now(void)
{
    return peak - headroom - frame_cache()->n;
}

static inline uint64_t free_now(void)
{
    return stats.total - stats.reserved - allocated_now();
}

/* ---------------------------------------------------------------- set-up */

enum pmm_status pmm_setup(const struct pmm_platform *plat, const struct range_set *u,
                          const struct range_set *reserved)
{
    for (uint32_t c = 0; c < nchunks; c++)
        pmm_chunks[c] = (struct pmm_chunk){ 0 };
    for (uint32_t w = 0; w < BITMAP_WORDS; w++)
        has_free[w] = 0;
    for (uint32_t w = 0; w < SUMMARY_WORDS; w++)
        has_free_summary[w] = 0;
    nchunks = 0;
    cur = alloc_src = NULL;
    frame_cache()->n = 0; /* whatever it held belonged to the old set-up */
    pmm_cache_floor = 0;
    peak = headroom = 0;
    stats = (struct pmm_stats){ 0 };
    fi_armed = fi_all = false;
    fi_countdown = 0;
    platform = *plat;
    range_set_init(&usable, usable_r, PMM_MAX_RANGES);
    range_set_init(&avail, avail_r, PMM_MAX_RANGES);

    for (size_t i = 0; i < u->n; i++) {
        uint64_t a = u->r[i].start, b = u->r[i].end;
        if (a >= PMM_MAX_PHYS)
            continue;
        if (b > PMM_MAX_PHYS)
            b = PMM_MAX_PHYS;
        a = (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        b &= ~(PAGE_SIZE - 1);
        if (!range_add(&usable, a, b) || !range_add(&avail, a, b))
            return PMM_ERR_INVALID;
    }
    range_normalize(&usable);
    range_normalize(&avail);
    /* Reserved ranges are widened to whole frames. */
    struct range rr[PMM_MAX_RANGES];
    struct range_set rs;
    range_set_init(&rs, rr, PMM_MAX_RANGES);
    for (size_t i = 0; i < reserved->n; i++) {
        uint64_t a = reserved->r[i].start & ~(PAGE_SIZE - 1);
        uint64_t b = reserved->r[i].end;
        b = b > UINT64_MAX - PAGE_SIZE ? UINT64_MAX & ~(PAGE_SIZE - 1)
                                       : (b + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        if (!range_add(&rs, a, b))
            return PMM_ERR_INVALID;
    }
    range_normalize(&rs);
    range_subtract(&avail, &rs);
    if (avail.overflow)
        return PMM_ERR_INVALID;

    stats.total = range_total(&usable) >> PAGE_SHIFT;
    stats.reserved = stats.total - (range_total(&avail) >> PAGE_SHIFT);
    if (usable.n)
        nchunks = (uint32_t)((usable.r[usable.n - 1].end + CHUNK_BYTES - 1) >> PMM_CHUNK_SHIFT);
    /* One bit per chunk holding available frames: O(number of chunks). */
    for (size_t i = 0; i < avail.n; i++) {
        uint32_t c0 = (uint32_t)(avail.r[i].start >> PMM_CHUNK_SHIFT);
        uint32_t c1 = (uint32_t)((avail.r[i].end - 1) >> PMM_CHUNK_SHIFT);
        for (uint32_t c = c0; c <= c1; c++)
            bit_set(c);
    }
    return PMM_OK;
}

/* Mark the run [i, i + n) of READY chunk @c (all free) with @value and
 * rebuild the chunk's free stack (ascending). */
static void take_run(struct pmm_chunk *c, uint32_t i, uint32_t n, uint32_t value)
{
    for (uint32_t k = i; k < i + n; k++)
        c->meta[k] = value;
    uint32_t head = META_END, prev = META_END;
    for (uint32_t k = 0; k < c->nframes; k++) {
        if (c->meta[k] & META_FREE) {
            if (prev == META_END)
                head = k;
            else
                c->meta[prev] = META_FREE | k;
            prev = k;
        }
    }
    if (prev != META_END)
        c->meta[prev] = META_FREE | META_END;
    c->free_head = head;
}

/* First free run of @n frames in READY chunk @c whose physical address is a
 * multiple of @align frames; index or -1. */
static long find_run(const struct pmm_chunk *c, uint32_t n, uint64_t align)
{
    uint64_t base = (uint64_t)chunk_index(c) << CHUNK_FRAME_SHIFT;
    uint64_t i = ((base + align - 1) & ~(align - 1)) - base;
    while (i + n <= c->nframes) {
        uint64_t k = 0;
        while (k < n && (c->meta[i + k] & META_FREE))
            k++;
        if (k == n)
            return (long)i;
        uint64_t next = base + i + k + 1;
        i = ((next + align - 1) & ~(align - 1)) - base;
    }
    return -1;
}

/* Metadata for chunk @ci from an already READY chunk (never recursive). */
static long find_run_extending(uint32_t ci, uint32_t n, uint64_t align_frames);

static void cache_drain(void);

static bool meta_from_other(uint32_t ci, uint64_t pages, uint64_t align_frames, paddr_t *pa)
{
    cache_drain(); /* take_run rebuilds free stacks from the words */
    for (uint32_t o = 0; o < nchunks; o++) {
        struct pmm_chunk *c = &pmm_chunks[o];
        if (o == ci || c->state != PMM_CHUNK_READY)
            continue;
        long i = find_run_extending(o, (uint32_t)pages, align_frames);
        if (i < 0)
            continue;
        take_run(c, (uint32_t)i, (uint32_t)pages, META_RESERVED);
        if (c->free_head == META_END)
            bit_clear(o);
        stats.reserved += pages;
        *pa = frame_pa(c, (uint32_t)i);
        return true;
    }
    return false;
}

/* Build chunk @ci's metadata.  Cost O(frames of the chunk), paid once, when
 * the chunk is first needed. */
/* Frames [0, n) of chunk @ci are covered by RAM ranges (holes included):
 * the number of metadata words the chunk needs. */
static uint32_t chunk_top_frames(uint32_t ci)
{
    uint64_t cbase = (uint64_t)ci << PMM_CHUNK_SHIFT, cend = cbase + CHUNK_BYTES;
    uint64_t top = cbase;
    for (size_t i = 0; i < usable.n; i++) {
        if (usable.r[i].start < cend && usable.r[i].end > cbase)
            top = usable.r[i].end < cend ? usable.r[i].end : cend;
    }
    return (uint32_t)((top - cbase) >> PAGE_SHIFT);
}

/* A READY chunk's metadata words are written a segment at a time, the
 * first when the chunk comes up and the next when its free stack runs dry,
 * so that no allocation waits for a whole 1 GiB chunk (262144 words) to be
 * written: boot cost does not grow with the size of the lowest chunk.
 * Frames at or above c->nframes are free-or-reserved exactly as in a LAZY
 * chunk (classify() answers from the range sets). */
#define CHUNK_SEGMENT_FRAMES 32768u /* 128 MiB of frames, 128 KiB of words */

/* Write the words of frames [c->nframes, @upto) of READY chunk @ci (capped
 * at the chunk's RAM): holes 0, reserved frames META_RESERVED, available
 * frames pushed on the free stack (ascending). */
static void chunk_extend(uint32_t ci, uint32_t upto)
{
    struct pmm_chunk *c = &pmm_chunks[ci];
    uint32_t full = chunk_top_frames(ci);
    uint32_t lo = c->nframes, hi = upto < full ? upto : full;
    if (hi <= lo)
        return;
    uint32_t *meta = c->meta;
    uint64_t cbase = c->base;
    uint64_t a_lo = cbase + ((uint64_t)lo << PAGE_SHIFT), a_hi = cbase + ((uint64_t)hi << PAGE_SHIFT);
    paddr_t mpa = (paddr_t)c->meta_frame << PAGE_SHIFT;
    bool self = mpa >= cbase && mpa < cbase + CHUNK_BYTES;
    uint64_t ma = self ? mpa : 0, mb = self ? mpa + ((uint64_t)c->meta_pages << PAGE_SHIFT) : 0;

    for (uint32_t k = lo; k < hi; k++)
        meta[k] = 0;
    for (size_t i = 0; i < usable.n; i++) {
        uint64_t a = usable.r[i].start > a_lo ? usable.r[i].start : a_lo;
        uint64_t b = usable.r[i].end < a_hi ? usable.r[i].end : a_hi;
        for (uint64_t pa = a; pa < b; pa += PAGE_SIZE)
            meta[(pa - cbase) >> PAGE_SHIFT] = META_RESERVED;
    }
    uint32_t head = META_END, prev = META_END;
    for (size_t i = 0; i < avail.n; i++) {
        uint64_t a = avail.r[i].start > a_lo ? avail.r[i].start : a_lo;
        uint64_t b = avail.r[i].end < a_hi ? avail.r[i].end : a_hi;
        for (uint64_t pa = a; pa < b; pa += PAGE_SIZE) {
            if (pa >= ma && pa < mb)
                continue; /* stays META_RESERVED */
            uint32_t k = (uint32_t)((pa - cbase) >> PAGE_SHIFT);
            if (prev == META_END)
                head = k;
            else
                meta[prev] = META_FREE | k;
            prev = k;
        }
    }
    if (prev != META_END) {
        meta[prev] = META_FREE | c->free_head; /* the segment goes on top */
        c->free_head = head;
    }
    c->nframes = hi;
}

static void chunk_extend_all(uint32_t ci)
{
    chunk_extend(ci, PMM_CHUNK_FRAMES);
}

/* find_run over READY chunk @ci, initialising the rest of the chunk only
 * when no run fits in the part already initialised. */
static long find_run_extending(uint32_t ci, uint32_t n, uint64_t align_frames)
{
    struct pmm_chunk *c = &pmm_chunks[ci];
    long i = find_run(c, n, align_frames);
    if (i < 0 && c->nframes < chunk_top_frames(ci)) {
        chunk_extend_all(ci);
        i = find_run(c, n, align_frames);
    }
    return i;
}

static void chunk_init(uint32_t ci)
{
    struct pmm_chunk *c = &pmm_chunks[ci];
    uint64_t cbase = (uint64_t)ci << PMM_CHUNK_SHIFT, cend = cbase + CHUNK_BYTES;
    uint64_t chunk_avail = frames_in(&avail, cbase, cend);
    uint32_t nframes = chunk_top_frames(ci);
    if (nframes == 0) {
        c->state = PMM_CHUNK_EMPTY;
        bit_clear(ci);
        return;
    }
    uint64_t size = 0, align = PAGE_SIZE;
    platform.meta_geometry(ci, (uint64_t)nframes * sizeof(uint32_t), &size, &align);
    size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t pages = size >> PAGE_SHIFT;

    /* Metadata frames: first an aligned run of this chunk's own available
     * frames (nothing in a LAZY chunk is handed out yet), else from a READY
     * chunk. */
    paddr_t mpa = 0;
    bool self = false;
    for (size_t i = 0; i < avail.n && !self; i++) {
        uint64_t a = avail.r[i].start > cbase ? avail.r[i].start : cbase;
        uint64_t b = avail.r[i].end < cend ? avail.r[i].end : cend;
        if (b <= a)
            continue;
        a = (a + align - 1) & ~(align - 1);
        if (a < b && b - a >= size) {
            mpa = a;
            self = true;
        }
    }
    uint32_t *meta = NULL;
    if (self || meta_from_other(ci, pages, align >> PAGE_SHIFT, &mpa))
        meta = platform.map_meta(ci, mpa, size);
    if (!meta) {
        /* Unusable chunk: its available frames become reserved. */
        c->state = PMM_CHUNK_DEAD;
        bit_clear(ci);
        stats.reserved += chunk_avail;
        return;
    }

    c->meta = meta;
    c->free_head = META_END;
    c->base = cbase;
    c->nframes = 0;
    c->meta_frame = (uint32_t)(mpa >> PAGE_SHIFT);
    c->meta_pages = (uint16_t)pages;
    c->state = PMM_CHUNK_READY;
    if (self)
        stats.reserved += pages;
    /* The first segment always covers the chunk's own metadata frames, so
     * that they are marked reserved before anything could hand them out. */
    uint32_t first = CHUNK_SEGMENT_FRAMES;
    if (self && ((mpa + size - cbase) >> PAGE_SHIFT) > first)
        first = (uint32_t)((mpa + size - cbase) >> PAGE_SHIFT);
    chunk_extend(ci, first);
    if (c->free_head != META_END || c->nframes < nframes)
        bit_set(ci);
    else
        bit_clear(ci);
}

/* ---------------------------------------------------------------- errors */

/* Why @pa cannot be freed / referenced (it is not an allocated frame). */
static enum pmm_status classify(paddr_t pa)
{
    if (pa & (PAGE_SIZE - 1))
        return PMM_ERR_UNALIGNED;
    uint64_t ci = pa >> PMM_CHUNK_SHIFT;
    if (ci >= nchunks)
        return PMM_ERR_OUT_OF_RANGE;
    const struct pmm_chunk *c = &pmm_chunks[ci];
    uint32_t li = (uint32_t)((pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1));
    if (c->state == PMM_CHUNK_READY && li < c->nframes) {
        uint32_t m = c->meta[li];
        if (m == 0)
            return PMM_ERR_OUT_OF_RANGE;
        if (m == META_RESERVED)
            return PMM_ERR_RESERVED;
        if (m & META_FREE)
            return PMM_ERR_NOT_ALLOCATED;
        return PMM_OK;
    }
    if (c->state == PMM_CHUNK_DEAD && range_contains(&usable, pa, pa + PAGE_SIZE))
        return PMM_ERR_RESERVED;
    if (range_contains(&avail, pa, pa + PAGE_SIZE))
        return PMM_ERR_NOT_ALLOCATED; /* free, never allocated (lazy chunk) */
    if (range_contains(&usable, pa, pa + PAGE_SIZE))
        return PMM_ERR_RESERVED;
    return PMM_ERR_OUT_OF_RANGE;
}

/* Whether @pa is a frame with a metadata word (allocated or not); if so
 * *@cp, *@lip and *@mp say where it is. */
static inline bool meta_of(paddr_t pa, struct pmm_chunk **cp, uint32_t *lip, uint32_t **mp)
{
    /* Chunks beyond nchunks have nframes == 0. */
    if (unlikely(pa & ((PAGE_SIZE - 1) | ~(PMM_MAX_PHYS - 1))))
        return false;
    struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
    uint32_t li = (uint32_t)((pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1));
    if (unlikely(li >= c->nframes))
        return false;
    *cp = c;
    *lip = li;
    *mp = &c->meta[li];
    return true;
}

/* ---------------------------------------------------------------- alloc / free */

static bool fi_fail(void)
{
    if (fi_all)
        return true;
    if (fi_countdown && --fi_countdown == 0) {
        fi_armed = fi_all;
        alloc_src = fi_armed ? NULL : cur;
        pmm_cache_floor = fi_armed ? UINT32_MAX : 0;
        return true;
    }
    return false;
}

static inline paddr_t pop(struct pmm_chunk *c)
{
    uint32_t i = c->free_head;
    c->free_head = c->meta[i] & ~META_FREE;
    c->meta[i] = 1;
    if (unlikely(headroom-- == 0)) {
        headroom = 0;
        peak++;
    }
    return c->base + ((paddr_t)i << PAGE_SHIFT);
}

/* Back on its chunk's free stack (the shared lists). */
static inline void release(struct pmm_chunk *c, uint32_t li, uint32_t *m)
{
    uint32_t old = c->free_head;
    *m = META_FREE | old;
    c->free_head = li;
    if (unlikely(old == META_END))
        bit_set(chunk_index(c));
    headroom++;
}

/* The @k oldest frames of this CPU's cache (the bottom ones) back to the
 * shared lists, oldest first, so that the most recently freed frame is
 * still the next one handed out. */
__attribute__((noinline)) static void cache_spill(uint32_t k)
{
    struct pmm_frame_cache *fc = frame_cache();
    for (uint32_t i = 0; i < k; i++) {
        paddr_t pa = fc->pa[i];
        struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
        uint32_t li = (uint32_t)((pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1));
        release(c, li, fc->meta[i]);
    }
    for (uint32_t i = k; i < fc->n; i++) {
        fc->pa[i - k] = fc->pa[i];
        fc->meta[i - k] = fc->meta[i];
    }
    fc->n -= k;
}

/* All of it: before the operations that scan or rebuild a chunk's free
 * stack (contiguous runs, metadata taken from another chunk), which know
 * only the lists. */
static void cache_drain(void)
{
    cache_spill(frame_cache()->n);
}

static inline paddr_t cache_pop(struct pmm_frame_cache *fc, uint32_t n)
{
    n--;
    *fc->meta[n] = 1;
    fc->n = n;
    return fc->pa[n];
}

__attribute__((noinline)) static enum pmm_status alloc_next_chunk(paddr_t *out)
{
    if (fi_armed && fi_fail())
        return PMM_ERR_NOMEM;
    struct pmm_frame_cache *fc = frame_cache();
    if (fc->n) { /* here only because fault injection was armed */
        *out = cache_pop(fc, fc->n);
        return PMM_OK;
    }
    while (!cur || cur->free_head == META_END) {
        if (cur) {
            uint32_t ci = chunk_index(cur);
            if (cur->nframes < chunk_top_frames(ci)) {
                chunk_extend(ci, cur->nframes + CHUNK_SEGMENT_FRAMES);
                continue;
            }
            bit_clear(ci);
        }
        cur = NULL;
        long c = bit_first();
        if (c < 0)
            return PMM_ERR_NOMEM; /* and the cache is empty: no frame is free */
        if (pmm_chunks[c].state == PMM_CHUNK_LAZY)
            chunk_init((uint32_t)c);
        if (pmm_chunks[c].state != PMM_CHUNK_READY) {
            bit_clear((uint32_t)c);
            continue;
        }
        /* Its first segment may hold no free frame (a big module right
         * after the kernel): the loop above extends it before giving up. */
        cur = &pmm_chunks[c];
    }
    alloc_src = fi_armed ? NULL : cur;
    *out = pop(cur);
    return PMM_OK;
}

/* pmm_alloc (pmm.h) when it cannot pop this CPU's cache: the shared lists
 * (or the cache after all, while fault injection is armed). */
enum pmm_status pmm_alloc_slow(paddr_t *out)
{
    struct pmm_chunk *c = alloc_src;
    if (unlikely(!c || c->free_head == META_END))
        return alloc_next_chunk(out);
    *out = pop(c);
    return PMM_OK;
}

static inline void cache_push(struct pmm_frame_cache *fc, uint32_t n, uint32_t *m, paddr_t pa)
{
    fc->pa[n] = pa;
    fc->meta[n] = m;
    *m = META_CACHED;
    fc->n = n + 1;
}

/* The push when the cache is full (its older half goes to the shared lists
 * first) or a poison writer is set. */
__attribute__((noinline)) static enum pmm_status cache_push_slow(uint32_t *m, paddr_t pa)
{
    struct pmm_frame_cache *fc = frame_cache();
    if (fc->n == PMM_CACHE_FRAMES)
        cache_spill(PMM_CACHE_FRAMES / 2);
    cache_push(fc, fc->n, m, pa);
    if (poison)
        poison(pa);
    return PMM_OK;
}

/* Frame @pa (word *@m, which said 1) is free: onto this CPU's cache.
 * PMM_OK (a value, so that the slow case is a tail call). */
static inline enum pmm_status free_frame(uint32_t *m, paddr_t pa)
{
    struct pmm_frame_cache *fc = frame_cache();
    uint32_t n = fc->n;
    if (unlikely(n >= pmm_push_limit))
        return cache_push_slow(m, pa);
    cache_push(fc, n, m, pa);
    return PMM_OK;
}

/* The whole of pmm_free: pmm.h's inline part sends here every frame it does
 * not push itself (refusals, a full cache, a poison writer). */
enum pmm_status pmm_free_slow(paddr_t pa)
{
    struct pmm_chunk *c;
    uint32_t li;
    uint32_t *m;
    if (unlikely(!meta_of(pa, &c, &li, &m) || *m != 1)) {
        if (meta_of(pa, &c, &li, &m) && *m > 1 && *m <= PMM_REFCOUNT_MAX)
            return PMM_ERR_REFCOUNT; /* still shared */
        return classify(pa);
    }
    return free_frame(m, pa);
}

/* The whole of pmm_ref_inc (pmm.h's inline part does the common case). */
enum pmm_status pmm_ref_inc_slow(paddr_t pa)
{
    struct pmm_chunk *c;
    uint32_t li;
    uint32_t *m;
    bool known = meta_of(pa, &c, &li, &m);
    if (likely(known && *m - 1u < PMM_REFCOUNT_MAX - 1u)) {
        (*m)++;
        return PMM_OK;
    }
    if (known && *m == PMM_REFCOUNT_MAX)
        return PMM_ERR_REFCOUNT;
    return classify(pa);
}

/* The whole of pmm_ref_dec (pmm.h's inline part does the common case). */
enum pmm_status pmm_ref_dec_slow(paddr_t pa, uint32_t *remaining)
{
    struct pmm_chunk *c;
    uint32_t li;
    uint32_t *m;
    bool known = meta_of(pa, &c, &li, &m);
    uint32_t left = 0;
    enum pmm_status st = PMM_OK;
    if (likely(known && *m - 2u < PMM_REFCOUNT_MAX - 1u))
        left = --(*m);
    else if (known && *m == 1)
        st = free_frame(m, pa);
    else
        st = classify(pa);
    if (remaining) /* callers that only drop a reference pass NULL */
        *remaining = left;
    return st;
}

/* The whole of pmm_refcount: pmm.h's inline part sends here every frame
 * whose word is not a count. */
uint32_t pmm_refcount_slow(paddr_t pa)
{
    struct pmm_chunk *c;
    uint32_t li;
    uint32_t *m;
    if (meta_of(pa, &c, &li, &m) && *m - 1u < PMM_REFCOUNT_MAX)
        return *m;
    return 0;
}

enum pmm_status pmm_alloc_contig(size_t n, size_t align_frames, paddr_t *out)
{
    if (n == 0 || n > PMM_CHUNK_FRAMES)
        return PMM_ERR_INVALID;
    if (align_frames == 0 || (align_frames & (align_frames - 1)) ||
        align_frames > PMM_CHUNK_FRAMES)
        return PMM_ERR_UNALIGNED;
    if (fi_armed && fi_fail())
        return PMM_ERR_NOMEM;
    cache_drain(); /* cached frames may be part of the run */
    /* READY chunks first; then bring LAZY ones up, lowest first, until one
     * fits.  O(frames scanned): not a hot path. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t ci = 0; ci < nchunks; ci++) {
            struct pmm_chunk *c = &pmm_chunks[ci];
            if (pass == 1 && c->state == PMM_CHUNK_LAZY) {
                uint64_t cb = (uint64_t)ci << PMM_CHUNK_SHIFT;
                if (frames_in(&avail, cb, cb + CHUNK_BYTES) < n)
                    continue;
                chunk_init(ci);
            }
            if (c->state != PMM_CHUNK_READY)
                continue;
            long i = find_run_extending(ci, (uint32_t)n, align_frames);
            if (i < 0)
                continue;
            take_run(c, (uint32_t)i, (uint32_t)n, 1);
            account_alloc(n);
            *out = frame_pa(c, (uint32_t)i);
            return PMM_OK;
        }
    }
    return PMM_ERR_NOMEM;
}

/* ---------------------------------------------------------------- tooling */

void pmm_get_stats(struct pmm_stats *out)
{
    *out = stats;
    out->allocated = allocated_now();
    out->free = free_now();
    out->peak = peak;
}

pmm_poison_fn pmm_set_poison_writer(pmm_poison_fn fn)
{
    pmm_poison_fn old = poison;
    poison = fn;
    pmm_push_limit = fn ? 0 : PMM_CACHE_FRAMES;
    return old;
}

void pmm_fail_nth(uint64_t n)
{
    fi_countdown = n;
    fi_armed = fi_all || n;
    alloc_src = fi_armed ? NULL : cur;
    pmm_cache_floor = fi_armed ? UINT32_MAX : 0;
}

void pmm_fail_all(bool on)
{
    fi_all = on;
    fi_armed = on || fi_countdown;
    alloc_src = fi_armed ? NULL : cur;
    pmm_cache_floor = fi_armed ? UINT32_MAX : 0;
}

uint32_t pmm_chunk_count(void)
{
    return nchunks;
}

bool pmm_chunk_get_info(uint32_t ci, struct pmm_chunk_info *out)
{
    if (ci >= nchunks)
        return false;
    const struct pmm_chunk *c = &pmm_chunks[ci];
    out->state = (enum pmm_chunk_state)c->state;
    out->nframes = c->nframes;
    out->nfree = 0;
    if (c->state == PMM_CHUNK_READY)
        for (uint32_t k = c->free_head; k != META_END && out->nfree <= c->nframes;
             k = c->meta[k] & ~META_FREE)
            out->nfree++;
    const struct pmm_frame_cache *fc = frame_cache();
    for (uint32_t k = 0; k < fc->n; k++)
        if (fc->pa[k] >> PMM_CHUNK_SHIFT == ci)
            out->nfree++;
    out->meta_pa = (paddr_t)c->meta_frame << PAGE_SHIFT;
    out->meta_size = (uint64_t)c->meta_pages << PAGE_SHIFT;
    return true;
}

#define CHECK(cond, msg, pa)                                                                \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            *why = msg;                                                                     \
            *where = (pa);                                                                  \
            return PMM_ERR_INVALID;                                                         \
        }                                                                                   \
    } while (0)

enum pmm_status pmm_check(const struct range_set *u, const struct range_set *reserved,
                          const char **why, paddr_t *where)
{
    uint64_t free_frames = 0, allocated = 0, cached = 0;
    const struct pmm_frame_cache *fc = frame_cache();
    *why = "ok";
    *where = 0;
    CHECK(fc->n <= PMM_CACHE_FRAMES, "frame cache overfull", 0);
    for (uint32_t k = 0; k < fc->n; k++) {
        paddr_t pa = fc->pa[k];
        struct pmm_chunk *c;
        uint32_t li;
        uint32_t *m;
        CHECK(meta_of(pa, &c, &li, &m) && c->state == PMM_CHUNK_READY,
              "cached frame without metadata", pa);
        CHECK(fc->meta[k] == m, "cached frame's metadata pointer wrong", pa);
        CHECK(*m == META_CACHED, "cached frame not marked cached", pa);
        CHECK(range_contains(u, pa, pa + PAGE_SIZE), "cached frame outside usable RAM", pa);
        CHECK(!range_overlaps(reserved, pa, pa + PAGE_SIZE), "cached frame is reserved", pa);
    }
    CHECK(stats.reserved + allocated_now() <= stats.total,
          "stats: reserved + allocated above total", 0);
    for (uint32_t ci = 0; ci < nchunks; ci++) {
        const struct pmm_chunk *c = &pmm_chunks[ci];
        uint64_t cb = (uint64_t)ci << PMM_CHUNK_SHIFT;
        if (c->state == PMM_CHUNK_LAZY) {
            /* Implicitly free: the chunk's available frames. */
            for (size_t i = 0; i < avail.n; i++) {
                uint64_t a = avail.r[i].start > cb ? avail.r[i].start : cb;
                uint64_t b = avail.r[i].end < cb + CHUNK_BYTES ? avail.r[i].end
                                                               : cb + CHUNK_BYTES;
                if (b <= a)
                    continue;
                CHECK(range_contains(u, a, b), "lazy chunk: free frames outside usable RAM", a);
                CHECK(!range_overlaps(reserved, a, b), "lazy chunk: free frames reserved", a);
                free_frames += (b - a) >> PAGE_SHIFT;
            }
            continue;
        }
        if (c->state != PMM_CHUNK_READY)
            continue;
        uint32_t listed = 0;
        for (uint32_t k = c->free_head; k != META_END; k = c->meta[k] & ~META_FREE) {
            paddr_t pa = frame_pa(c, k);
            CHECK(k < c->nframes, "free list index beyond metadata", pa);
            CHECK(c->meta[k] & META_FREE, "free list runs through a non-free frame", pa);
            CHECK(++listed <= c->nframes, "free list has a cycle", pa);
            CHECK(range_contains(u, pa, pa + PAGE_SIZE), "free frame outside usable RAM", pa);
            CHECK(!range_overlaps(reserved, pa, pa + PAGE_SIZE), "free frame is reserved", pa);
            CHECK(pa != 0, "frame 0 is free", pa);
        }
        uint32_t marked = 0;
        for (uint32_t k = 0; k < c->nframes; k++) {
            uint32_t m = c->meta[k];
            if (m == META_CACHED)
                cached++;
            else if (m & META_FREE)
                marked++;
            else if (m != 0 && m != META_RESERVED)
                allocated++;
            if (m != 0)
                CHECK(range_contains(u, frame_pa(c, k), frame_pa(c, k) + PAGE_SIZE),
                      "metadata claims RAM outside usable memory", frame_pa(c, k));
        }
        CHECK(marked == listed, "free-marked frames not all on the free list", cb);
        paddr_t mp = (paddr_t)c->meta_frame << PAGE_SHIFT;
        if (mp >= cb && mp < cb + CHUNK_BYTES && ((mp - cb) >> PAGE_SHIFT) < c->nframes)
            CHECK(c->meta[(mp - cb) >> PAGE_SHIFT] == META_RESERVED,
                  "metadata frame not reserved", mp);
        free_frames += listed;
        /* Past the initialised segments, available frames are implicitly free. */
        free_frames += frames_in(&avail, frame_pa(c, c->nframes), cb + CHUNK_BYTES);
        bool bit = has_free[ci / 64] & (1ull << (ci % 64));
        CHECK(!listed || bit, "chunk with free frames missing from the bitmap", cb);
        CHECK(c->base == cb, "chunk base wrong", cb);
    }
    /* Every word marked cached is in the cache (the entries, checked above
     * to point at such words, are then distinct too). */
    CHECK(cached == fc->n, "cached-marked frames and the frame cache disagree", cached);
    free_frames += cached;
    CHECK(free_frames == free_now(), "stats.free disagrees with the free lists", free_frames);
    CHECK(allocated == allocated_now(), "stats.allocated disagrees with the metadata",
          allocated);
    return PMM_OK;
}

const char *pmm_status_str(enum pmm_status st)
{
    switch (st) {
    case PMM_OK: return "ok";
    case PMM_ERR_NOMEM: return "out of physical memory";
    case PMM_ERR_UNALIGNED: return "address or alignment not valid";
    case PMM_ERR_OUT_OF_RANGE: return "not a frame of usable RAM";
    case PMM_ERR_RESERVED: return "frame is reserved";
    case PMM_ERR_NOT_ALLOCATED: return "frame is free (double free or never allocated)";
    case PMM_ERR_REFCOUNT: return "reference count overflow, or freeing a shared frame";
    case PMM_ERR_INVALID: return "invalid argument";
    }
    return "unknown pmm status";
}
