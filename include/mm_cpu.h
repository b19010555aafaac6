/* The memory manager's per-CPU state: the temporary-mapping slots in use,
 * the live address space and the frame allocator's cache.  It lives in the
 * per-CPU area (percpu.h) in the kernel and in a plain variable in host
 * builds; mm code reaches it through mm_cpu() (the mmu hooks). */
#ifndef ZF_MM_CPU_H
#define ZF_MM_CPU_H

#include "pmm.h"

/* Temporary-mapping slots per CPU (kmap.h). */
#define KMAP_SLOTS 8

struct vmm_space;

struct mm_cpu {
    void *kmap_stack[KMAP_SLOTS]; /* the address each held slot was given */
    unsigned kmap_top;
    paddr_t active_pml4;          /* in CR3 */
    paddr_t foreign_pml4;         /* behind the foreign slot (0: none) */
    struct vmm_space *active_space;
    struct pmm_frame_cache frames; /* free frames kept for this CPU (pmm.c) */
};

#endif
