/* The hardware hooks of the mm code, kernel side.  mm/ includes
 * "mmu_hooks.h" and gets this file in the kernel build and
 * tests/host/mmu_hooks.h (simulated physical memory) in host builds.
 *
 * Page tables are reached through recursive slots: every PML4 maps itself at
 * PML4_SLOT_SELF, so the active space's tables sit at fixed virtual
 * addresses; another space is reached by pointing the active PML4's
 * PML4_SLOT_FOREIGN entry at its PML4 (mmu_foreign_attach). */
#ifndef ZF_ARCH_MMU_HOOKS_H
#define ZF_ARCH_MMU_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "paging.h"
#include "mm/tlb_policy.h"
#include "percpu.h"
#include "pmm.h"

struct vmm_space;

/* This CPU's memory-manager state (percpu.h). */
static inline struct mm_cpu *mm_cpu(void)
{
    return &this_cpu()->mm;
}
/* Adopt @kernel as the live space and link the kmap window (vmm_init). */
struct vmm_space;
void mmu_init(struct vmm_space *kernel);

/* Point the foreign slot at @pml4 (flushes the TLB when the target changes). */
void mmu_foreign_attach(paddr_t pml4);

static inline unsigned mmu_window_slot(paddr_t space_pml4)
{
    struct mm_cpu *c = mm_cpu();
    if (space_pml4 == c->active_pml4)
        return PML4_SLOT_SELF;
    if (space_pml4 != c->foreign_pml4)
        mmu_foreign_attach(space_pml4);
    return PML4_SLOT_FOREIGN;
}

/* Virtual address of the level-@level table covering @va in the space whose
 * PML4 is @space_pml4 (the CPU takes one extra step through the self slot per
 * level above). */
static inline uint64_t *mmu_table_va(paddr_t space_pml4, int level, uintptr_t va)
{
    uint64_t a = mmu_window_slot(space_pml4);
    uint64_t r = PML4_SLOT_SELF;
    uint64_t i4 = pt_index(va, 4), i3 = pt_index(va, 3), i2 = pt_index(va, 2);
    uint64_t x;
    switch (level) {
    case 4: x = (r << 30) | (r << 21) | (r << 12); break;
    case 3: x = (r << 30) | (r << 21) | (i4 << 12); break;
    case 2: x = (r << 30) | (i4 << 21) | (i3 << 12); break;
    default: x = (i4 << 30) | (i3 << 21) | (i2 << 12); break;
    }
    return (uint64_t *)(VA_SLOT_BASE(a) | x);
}

/* The hot path of the walker: choose the window once per walk (mmu.c's
 * tables: for each level, the slot's base OR-ed with the recursive steps
 * through the self slot that reach that level's tables) ... */
extern const uint64_t mmu_window_self[5], mmu_window_foreign[5];
static inline const uint64_t *mmu_window(paddr_t space_pml4)
{
    return mmu_window_slot(space_pml4) == PML4_SLOT_SELF ? mmu_window_self : mmu_window_foreign;
}

/* The live space's window (the walk cache's hits are in it). */
static inline const uint64_t *mmu_window_live(void)
{
    return mmu_window_self;
}

/* ... then each level's entry for @va is one shift, one mask and one OR
 * away: the recursive slot turns the index bits above @level into table
 * addresses.  @table_pa (the table's frame) is not needed here. */
static inline uint64_t *mmu_entry(const uint64_t *window, int level, uintptr_t va,
                                  paddr_t table_pa)
{
    (void)table_pa;
    unsigned shift = 9 * (unsigned)level;
    return (uint64_t *)(window[level] |
                        ((va >> shift) & (0x7ffffffff8ull >> (shift - 9)) & ~7ull));
}

/* The table at @level covering @va; @table_pa (its frame) is unused here. */
static inline uint64_t *mmu_table(paddr_t space_pml4, int level, uintptr_t va, paddr_t table_pa)
{
    (void)table_pa;
    return mmu_table_va(space_pml4, level, va);
}

/* A leaf entry of @space changed: drop the stale translation if this CPU
 * may cache it (mm/tlb_policy.h). */
static inline void mmu_invalidate(paddr_t space_pml4, uintptr_t va)
{
    if (mm_tlb_may_cache(space_pml4, mm_cpu()->active_pml4, va))
        invlpg(va);
}

/* A leaf entry of the live space changed (the caller knows it is live):
 * mmu_invalidate without the policy's test. */
static inline void mmu_invalidate_live(uintptr_t va)
{
    invlpg(va);
}

/* A level-@level table covering @va was unlinked: its window address must not
 * stay in the TLB, and (active space) neither may cached upper-level entries;
 * invlpg drops paging-structure caches as well (SDM 4.10.4.1). */
static inline void mmu_table_unlinked(paddr_t space_pml4, int level, uintptr_t va)
{
    invlpg((uintptr_t)mmu_table_va(space_pml4, level, va));
    mmu_invalidate(space_pml4, va);
}

/* A space's PML4 is about to be freed: forget it as the foreign window. */
void mmu_space_gone(paddr_t space_pml4);

/* Whether @space_pml4 is the live space (in CR3). */
static inline bool mmu_space_is_live(paddr_t space_pml4)
{
    return space_pml4 == mm_cpu()->active_pml4;
}

/* The kmem window (kmem.c's slabs): map frame @pa at KMEM_BASE + pa and
 * return that address (NULL: no page table), and unmap it again, returning
 * the frame. */
void *mmu_kmem_map(paddr_t pa);
paddr_t mmu_kmem_unmap(void *va);
static inline bool mmu_kmem_contains(const void *p)
{
    return (uintptr_t)p - KMEM_BASE < KMEM_SIZE;
}

/* Whole-quadword string instructions: 512 iterations per page. */
static inline void mm_zero_page(void *dst)
{
    void *d = dst;
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

static inline void mm_copy_page(void *dst, const void *src)
{
    void *d = dst;
    const void *s = src;
    uint64_t n = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* Temporary-mapping window slots: the page table of the top 2 MiB
 * (kernel/arch/x86_64/mmu.c links it).  Inline: a fault's copy maps and
 * unmaps two frames. */
extern uint64_t kmap_pt[512];

/* The slot is empty (kmap_arch_clear left it not present and flushed), and
 * no TLB holds a translation made from a not-present entry (SDM 4.10.4.3):
 * filling it needs no invlpg. */
static inline void *kmap_arch_set(unsigned slot, paddr_t pa, bool writable)
{
    kmap_pt[slot] = pa | PTE_P | PTE_NX | (writable ? PTE_W : 0);
    return (void *)(KMAP_BASE + (uintptr_t)slot * PAGE_SIZE);
}

/* Emptied and flushed at once, so that a stale use faults.  @va is the
 * address kmap_arch_set gave the slot (the caller holds it already). */
static inline void kmap_arch_clear(unsigned slot, void *va)
{
    kmap_pt[slot] = 0;
    invlpg((uintptr_t)va);
}

#endif
