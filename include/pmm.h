/* Physical frame allocator: the contract shared by the allocator
 * (kernel/mm/pmm*.c) and its users (the VMM, copy-on-write).
 *
 * Frames are 4 KiB, named by physical address.  Every allocated frame has a
 * reference count, starting at 1; copy-on-write sharing raises it.  Results
 * are small status codes; the caller decides policy (panic, retry, fail). */
#ifndef ZF_PMM_H
#define ZF_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t paddr_t;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)

enum pmm_status {
    PMM_OK = 0,
    PMM_ERR_NOMEM,        /* no frame (or no run of frames) available */
    PMM_ERR_UNALIGNED,    /* address not frame aligned, or bad alignment request */
    PMM_ERR_OUT_OF_RANGE, /* not a frame of usable RAM known to the allocator */
    PMM_ERR_RESERVED,     /* frame is reserved (kernel, firmware, metadata, ...) */
    PMM_ERR_NOT_ALLOCATED,/* frame is free: double free or never allocated */
    PMM_ERR_REFCOUNT,     /* reference count would overflow */
    PMM_ERR_INVALID,      /* bad argument (e.g. zero frames) */
};

struct pmm_stats {
    uint64_t total;     /* frames of usable RAM */
    uint64_t free;
    uint64_t reserved;  /* usable-RAM frames held back (kernel, metadata, ...) */
    uint64_t allocated; /* total == free + reserved + allocated */
    uint64_t peak;      /* highest 'allocated' seen */
};

/* pmm_alloc(paddr_t *out): one frame, refcount 1.  pmm_free(paddr_t pa):
 * drop the only reference (refcount must be 1) and free.  Both are inline,
 * at the end of this file. */

/* @n physically contiguous frames, first one aligned to @align_frames (a
 * power of two), each with refcount 1. */
enum pmm_status pmm_alloc_contig(size_t n, size_t align_frames, paddr_t *out);
/* Reference counts of allocated frames: pmm_ref_inc(paddr_t pa), and
 * pmm_ref_dec(paddr_t pa, uint32_t *remaining): decrement; at zero the
 * frame is freed; *@remaining (if not NULL) gets the new count.  Inline in
 * their common case (end of this file): fork counts, and exit and munmap
 * drop, one reference per page. */
/* 0 for free, reserved or unknown frames.  Inline (end of this file) in
 * kernel builds: the CoW fault asks it on every write to a shared page. */

void pmm_get_stats(struct pmm_stats *out);
const char *pmm_status_str(enum pmm_status st);

/* ==== Beyond the VMM contract: set-up, tooling, kernel wrappers ============
 *
 * Design (README "Physical memory"): physical memory is cut into 1 GiB
 * chunks.  Each chunk that holds usable RAM gets, on first use, one 32-bit
 * metadata word per frame (refcount, or "free" + index of the next free frame
 * of the chunk, or reserved / not RAM).  Free frames of a chunk form a linked
 * stack threaded through those words, so alloc and free are O(1); a two-level
 * bitmap names the chunks that may have free frames.  Nothing is touched per
 * frame at boot: a chunk's words are written when the chunk is first needed.
 * Not thread-safe: callers serialise (single CPU, no IRQ users yet). */
#include "range.h"

#define PMM_CHUNK_SHIFT 30
#define PMM_CHUNK_FRAMES (1u << (PMM_CHUNK_SHIFT - PAGE_SHIFT))
#define PMM_MAX_PHYS (1ull << 44) /* 16 TiB: RAM above is ignored (with a warning) */
#define PMM_MAX_CHUNKS ((uint32_t)(PMM_MAX_PHYS >> PMM_CHUNK_SHIFT))
#define PMM_REFCOUNT_MAX 0x7ffffffeu
/* pmm_free of a frame whose refcount is above 1 returns PMM_ERR_REFCOUNT. */

/* How the allocator gets at its metadata (kernel: kernel/arch/x86_64/
 * pmm_window.c, the PML4[509] window; host tests: malloc'd memory). */
struct pmm_platform {
    /* Chunk @chunk needs @need bytes of metadata: say how many bytes to take
     * (*size >= need) and their physical alignment (*align, a power of two
     * >= PAGE_SIZE). */
    void (*meta_geometry)(uint32_t chunk, uint64_t need, uint64_t *size, uint64_t *align);
    /* Make @size bytes at physical @pa usable as chunk @chunk's metadata;
     * return their virtual address or NULL (the chunk is then unusable). */
    void *(*map_meta)(uint32_t chunk, paddr_t pa, uint64_t size);
};

/* (Re)initialise: manage the frames of @usable (RAM per the memory map, page
 * aligned, normalized) minus @reserved (normalized; kernel, boot data, ...).
 * Touches no per-frame memory.  PMM_ERR_INVALID when the sets are too large
 * (more than PMM_MAX_RANGES ranges after subtraction). */
#define PMM_MAX_RANGES 256
enum pmm_status pmm_setup(const struct pmm_platform *plat, const struct range_set *usable,
                          const struct range_set *reserved);

/* Debug poisoning: called with every frame as it is freed (NULL: off).  The
 * kernel's default writes PMM_POISON_BYTE over frames it can reach through the
 * boot window (pa < 1 GiB); the VMM may install one using its temporary
 * mappings.  Returns the previous writer. */
#define PMM_POISON_BYTE 0x6b
typedef void (*pmm_poison_fn)(paddr_t pa);
pmm_poison_fn pmm_set_poison_writer(pmm_poison_fn fn);

/* Fault injection (pmm_alloc and pmm_alloc_contig each count as one
 * allocation): pmm_fail_nth(n) makes the n-th allocation from now fail
 * (n = 1: the next one), once; pmm_fail_all(true) fails every allocation
 * until pmm_fail_all(false); pmm_fail_nth(0) + pmm_fail_all(false) disarm. */
void pmm_fail_nth(uint64_t n);
void pmm_fail_all(bool on);

/* Introspection for tests and diagnostics. */
enum pmm_chunk_state { PMM_CHUNK_LAZY, PMM_CHUNK_READY, PMM_CHUNK_EMPTY, PMM_CHUNK_DEAD };
struct pmm_chunk_info {
    enum pmm_chunk_state state;
    uint32_t nframes;  /* frames covered by metadata (READY) */
    uint32_t nfree;
    paddr_t meta_pa;   /* metadata frames (READY) */
    uint64_t meta_size;
};
uint32_t pmm_chunk_count(void);
bool pmm_chunk_get_info(uint32_t chunk, struct pmm_chunk_info *out);

/* Check every invariant: free frames (listed, and implied by lazy chunks)
 * lie inside @usable and outside @reserved (the caller's own view), lists
 * and counters agree, stats add up.  PMM_OK, or PMM_ERR_INVALID with *why and
 * *where (a frame) describing the first problem. */
enum pmm_status pmm_check(const struct range_set *usable, const struct range_set *reserved,
                          const char **why, paddr_t *where);

/* Kernel only (kernel/pmm_boot.c): set up from the multiboot2 information,
 * and wrappers that panic on any error, naming the frame and the caller. */
void pmm_init(void);
paddr_t pmm_kalloc(void);
void pmm_kfree(paddr_t pa);
void pmm_kref_inc(paddr_t pa);
uint32_t pmm_kref_dec(paddr_t pa);
/* The usable RAM and reserved ranges pmm_init() used (for self-tests). */
const struct range_set *pmm_boot_usable(void);
const struct range_set *pmm_boot_reserved(void);

/* ==== The inline fast paths (kernel, and the allocator's host tests) ======
 *
 * A pop from this CPU's frame cache, and a push of a frame whose metadata
 * word says "allocated, one reference", are inline in their callers: a
 * fault allocates, and munmap frees, page after page.  Everything else goes
 * to pmm_alloc_slow / pmm_free_slow (pmm.c), which decide exactly as the
 * whole operation does.  The VMM's host builds (ZF_HOST) link a simulated
 * allocator (tests/host/sim.c) that defines both functions instead. */
#ifdef ZF_HOST
enum pmm_status pmm_alloc(paddr_t *out);
enum pmm_status pmm_free(paddr_t pa);
uint32_t pmm_refcount(paddr_t pa);
enum pmm_status pmm_ref_inc(paddr_t pa);
enum pmm_status pmm_ref_dec(paddr_t pa, uint32_t *remaining);
static inline bool pmm_sole_reference(paddr_t pa)
{
    return pmm_refcount(pa) == 1;
}
#else
/* A chunk's descriptor (pmm.c owns it; here for the inline free's lookup:
 * the chunk is pa's top bits, the frame's word meta[pa's next 18 bits]). */
struct pmm_chunk {
    uint32_t *meta;
    paddr_t base;        /* physical address of the chunk */
    uint32_t free_head;  /* index of the first free frame, or META_END */
    uint32_t nframes;    /* metadata words valid: frames [0, nframes) of the chunk */
    uint32_t meta_frame; /* first metadata frame (pa >> PAGE_SHIFT) */
    uint16_t meta_pages;
    uint16_t state;      /* enum pmm_chunk_state; zero (LAZY) after setup */
};
extern struct pmm_chunk pmm_chunks[PMM_MAX_CHUNKS]; /* beyond the last: nframes 0 */
extern uint32_t pmm_cache_floor; /* pop while the cache holds more (UINT32_MAX: never) */
extern uint32_t pmm_push_limit;  /* push while it holds fewer (0: never) */
#define PMM_META_CACHED 0xfffffffeu /* a frame's word while it is in a CPU's cache */
enum pmm_status pmm_alloc_slow(paddr_t *out);
enum pmm_status pmm_free_slow(paddr_t pa);
uint32_t pmm_refcount_slow(paddr_t pa);
enum pmm_status pmm_ref_inc_slow(paddr_t pa);
enum pmm_status pmm_ref_dec_slow(paddr_t pa, uint32_t *remaining);

#include "mm_cpu.h"
/* The arch hook (mmu_hooks.h, included below; it may already be half-way
 * through including this file). */
static inline struct mm_cpu *mm_cpu(void);
#include "mmu_hooks.h"

static inline enum pmm_status pmm_alloc(paddr_t *out)
{
    struct pmm_frame_cache *fc = &mm_cpu()->frames;
    uint32_t n = fc->n;
    if (__builtin_expect(n <= pmm_cache_floor, 0))
        return pmm_alloc_slow(out);
    n--;
    *fc->meta[n] = 1;
    fc->n = n;
    *out = fc->pa[n];
    return PMM_OK;
}

/* Frame @pa, whose word *@m says 1, onto this CPU's cache, which holds @n
 * frames (fewer than pmm_push_limit). */
static inline void pmm_cache_put(struct pmm_frame_cache *fc, uint32_t n, uint32_t *m, paddr_t pa)
{
    fc->pa[n] = pa;
    fc->meta[n] = m;
    *m = PMM_META_CACHED;
    fc->n = n + 1;
}

static inline enum pmm_status pmm_free(paddr_t pa)
{
    /* The limit first: with a poison writer set (debug builds) every free
     * goes out of line, and should not look the word up twice. */
    struct pmm_frame_cache *fc = &mm_cpu()->frames;
    uint32_t n = fc->n;
    if (__builtin_expect(n >= pmm_push_limit || (pa & ((PAGE_SIZE - 1) | ~(PMM_MAX_PHYS - 1))), 0))
        return pmm_free_slow(pa);
    const struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
    uint32_t li = (uint32_t)(pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1);
    if (__builtin_expect(li >= c->nframes || c->meta[li] != 1, 0))
        return pmm_free_slow(pa);
    pmm_cache_put(fc, n, &c->meta[li], pa);
    return PMM_OK;
}

/* Whether @pa is an allocated frame with exactly one reference, read
 * straight from its metadata word; false also when that word cannot say at
 * once (pmm_refcount's slow cases): for callers whose other path is right
 * whatever the count (copy-on-write copies). */
static inline bool pmm_sole_reference(paddr_t pa)
{
    if (pa & ((PAGE_SIZE - 1) | ~(PMM_MAX_PHYS - 1)))
        return false;
    const struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
    uint32_t li = (uint32_t)(pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1);
    return li < c->nframes && c->meta[li] == 1;
}

/* An allocated frame's word is its count (1 .. PMM_REFCOUNT_MAX); anything
 * else (bad address, no word, free, reserved, cached) is pmm_refcount_slow's
 * to judge, as the whole function did. */
static inline uint32_t pmm_refcount(paddr_t pa)
{
    if (__builtin_expect(!(pa & ((PAGE_SIZE - 1) | ~(PMM_MAX_PHYS - 1))), 1)) {
        const struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
        uint32_t li = (uint32_t)(pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1);
        if (__builtin_expect(li < c->nframes, 1)) {
            uint32_t m = c->meta[li];
            if (__builtin_expect(m - 1u < PMM_REFCOUNT_MAX, 1))
                return m;
        }
    }
    return pmm_refcount_slow(pa);
}

/* The metadata word of @pa, or NULL when it has none (bad address, beyond
 * the chunk's initialised words). */
static inline uint32_t *pmm_word(paddr_t pa)
{
    if (__builtin_expect(pa & ((PAGE_SIZE - 1) | ~(PMM_MAX_PHYS - 1)), 0))
        return NULL;
    const struct pmm_chunk *c = &pmm_chunks[pa >> PMM_CHUNK_SHIFT];
    uint32_t li = (uint32_t)(pa >> PAGE_SHIFT) & (PMM_CHUNK_FRAMES - 1);
    return __builtin_expect(li < c->nframes, 1) ? &c->meta[li] : NULL;
}

/* The common cases: a count that stays a count changes in place, and the
 * last reference pushes the frame onto this CPU's cache.  Everything else
 * (an overflow, a full cache or a poison writer, a word that is no count)
 * is the _slow function's, which decides as the whole operation does. */
static inline enum pmm_status pmm_ref_inc(paddr_t pa)
{
    uint32_t *m = pmm_word(pa);
    if (__builtin_expect(m && *m - 1u < PMM_REFCOUNT_MAX - 1u, 1)) {
        (*m)++;
        return PMM_OK;
    }
    return pmm_ref_inc_slow(pa);
}

static inline enum pmm_status pmm_ref_dec(paddr_t pa, uint32_t *remaining)
{
    uint32_t *m = pmm_word(pa);
    if (__builtin_expect(!m || *m - 1u >= PMM_REFCOUNT_MAX, 0))
        return pmm_ref_dec_slow(pa, remaining);
    uint32_t left = *m - 1;
    if (remaining)
        *remaining = left;
    if (left) {
        *m = left;
        return PMM_OK;
    }
    struct pmm_frame_cache *fc = &mm_cpu()->frames;
    uint32_t n = fc->n;
    if (__builtin_expect(n >= pmm_push_limit, 0))
        return pmm_free_slow(pa);
    pmm_cache_put(fc, n, m, pa);
    return PMM_OK;
}
#endif

#endif
