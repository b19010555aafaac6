/* The hardware hooks of the mm code, host side: physical memory is a heap
 * buffer (tests/host/sim.c), page tables are reached by physical address,
 * and invalidations are counted so tests can check them. */
#ifndef ZF_HOST_MMU_HOOKS_H
#define ZF_HOST_MMU_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mm_cpu.h"
#include "paging.h"
#include "pmm.h"
#include "tlb_policy.h"

/* Simulated physical memory (sim.c). */
extern uint8_t *sim_ram;
extern uint64_t sim_ram_size;
extern uint64_t sim_invlpg_count;
extern uintptr_t sim_last_invlpg;
#define SIM_INVLPG_LOG 64
extern uintptr_t sim_invlpg_log[SIM_INVLPG_LOG]; /* the last ones, by count modulo */
extern uint64_t sim_table_unlinks;

void *sim_phys(paddr_t pa); /* aborts the test on an out-of-range address */

/* The one simulated CPU's memory-manager state. */
extern struct mm_cpu sim_mm_cpu;
static inline struct mm_cpu *mm_cpu(void)
{
    return &sim_mm_cpu;
}

static inline uint64_t *mmu_table(paddr_t space_pml4, int level, uintptr_t va, paddr_t table_pa)
{
    (void)space_pml4;
    (void)level;
    (void)va;
    return (uint64_t *)sim_phys(table_pa);
}

static inline uintptr_t mmu_window(paddr_t space_pml4)
{
    (void)space_pml4;
    return 0;
}

static inline uintptr_t mmu_window_live(void)
{
    return 0;
}

static inline uint64_t *mmu_entry(uintptr_t window, int level, uintptr_t va, paddr_t table_pa)
{
    (void)window;
    return (uint64_t *)sim_phys(table_pa) + pt_index(va, level);
}

/* The model checker (tests/fuzz/vmm) plugs in its simulated TLB here and
 * tracks which space is live; the unit tests leave both off. */
extern void (*sim_tlb_invlpg)(uintptr_t va);
extern bool sim_live_tracking;

/* The invlpg the kernel's hook would issue, by the same rule
 * (mm/tlb_policy.h), logged for the unit tests and sent to the simulated
 * TLB when there is one. */
static inline void mmu_invalidate_live(uintptr_t va)
{
    sim_invlpg_log[sim_invlpg_count % SIM_INVLPG_LOG] = va;
    sim_invlpg_count++;
    sim_last_invlpg = va;
    if (sim_tlb_invlpg)
        sim_tlb_invlpg(va);
}

static inline void mmu_invalidate(paddr_t space_pml4, uintptr_t va)
{
    if (mm_tlb_may_cache(space_pml4, sim_mm_cpu.active_pml4, va))
        mmu_invalidate_live(va);
}

/* As the kernel's hook: an invlpg of the table's window address (which
 * also empties the paging-structure caches), then the address itself. */
static inline void mmu_table_unlinked(paddr_t space_pml4, int level, uintptr_t va)
{
    (void)level;
    sim_table_unlinks++;
    if (sim_tlb_invlpg)
        sim_tlb_invlpg(VA_SLOT_BASE(space_pml4 == sim_mm_cpu.active_pml4 ? PML4_SLOT_SELF
                                                                          : PML4_SLOT_FOREIGN));
    mmu_invalidate(space_pml4, va);
}

static inline void mmu_space_gone(paddr_t space_pml4) { (void)space_pml4; }

/* Simulated tables are reached by physical address: any space will do,
 * unless the model checker tracks the live space as the kernel does. */
static inline bool mmu_space_is_live(paddr_t space_pml4)
{
    return !sim_live_tracking || space_pml4 == sim_mm_cpu.active_pml4;
}

/* Slabs live in simulated RAM itself. */
static inline void *mmu_kmem_map(paddr_t pa) { return sim_phys(pa); }
static inline paddr_t mmu_kmem_unmap(void *va) { return (paddr_t)((uint8_t *)va - sim_ram); }
static inline bool mmu_kmem_contains(const void *p)
{
    return (const uint8_t *)p >= sim_ram && (const uint8_t *)p < sim_ram + sim_ram_size;
}

static inline void mm_zero_page(void *dst) { memset(dst, 0, PAGE_SIZE); }
static inline void mm_copy_page(void *dst, const void *src) { memcpy(dst, src, PAGE_SIZE); }

void *kmap_arch_set(unsigned slot, paddr_t pa, bool writable);
void kmap_arch_clear(unsigned slot, void *va);

#endif
