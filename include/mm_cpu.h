/* The memory manager's per-CPU state: the temporary-mapping slots in use,
 * the live address space and the frame allocator's cache.  It lives in the
 * per-CPU area (percpu.h) in the kernel and in a plain variable in host
 * builds; mm code reaches it through mm_cpu() (the mmu hooks). */
#ifndef ZF_MM_CPU_H
#define ZF_MM_CPU_H

#include <stdint.h>

typedef uint64_t paddr_t; /* as in pmm.h, which includes this file */

/* This CPU's cache of free frames, so that a free followed by an alloc is a
 * push and a pop that touch no shared list.  Cached frames are free:
 * counted free by the stats, marked free in their metadata word (double
 * frees and references are refused), handed out before the shared lists
 * are touched.  pmm.c, and pmm.h's inline pmm_alloc and pmm_free. */
#define PMM_CACHE_FRAMES 32
struct pmm_frame_cache {
    uint32_t n;
    paddr_t pa[PMM_CACHE_FRAMES];
    uint32_t *meta[PMM_CACHE_FRAMES]; /* pa[i]'s metadata word: a pop needs no lookup */
};

/* Temporary-mapping slots per CPU (kmap.h). */
#define KMAP_SLOTS 8

struct vmm_space;

/* The fault path's walk remembers the last level-1 table it reached in the
 * live space, as the CPU's paging-structure caches do, so that the next
 * fault in the same 2 MiB reads its leaf at once instead of descending four
 * levels (walk.h).  Dropped (walk_cache_drop) when the live space changes,
 * wherever a table is unlinked and when a space goes: the places that
 * flush the TLB or invlpg a table's window.  With SMP every CPU's copy goes
 * then, like their TLBs' paging-structure caches. */
struct walk_cache {
    const struct vmm_space *space; /* NULL: nothing cached */
    uint64_t key;                  /* va >> 21 of the 2 MiB the table maps */
    paddr_t table;                 /* the level-1 table's frame */
    /* The rights of the three entries above it (as walk.eff): W and U
     * as they allow, with NX (so that a leaf's NX passes an AND), and NX
     * when one of them has it. */
    uint64_t up_and, up_nx;
};

struct mm_cpu {
    void *kmap_stack[KMAP_SLOTS]; /* the address each held slot was given */
    unsigned kmap_top;
    paddr_t active_pml4;          /* in CR3 */
    paddr_t foreign_pml4;         /* behind the foreign slot (0: none) */
    struct vmm_space *active_space;
    struct pmm_frame_cache frames; /* free frames kept for this CPU (pmm.c) */
    struct walk_cache walk;        /* the fault path's last level-1 table (walk.h) */
};

#endif
