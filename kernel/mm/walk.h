/* Internal to kernel/mm: the walker with table creation, and its undo. */
#ifndef ZF_MM_WALK_H
#define ZF_MM_WALK_H

#include "mmu_hooks.h"
#include "vmm.h"

uint64_t walk_table_flags(uintptr_t va);
/* A frame from the allocator, zeroed through a temporary mapping. */
enum vmm_status frame_alloc_zeroed(paddr_t *out);
void walk_undo_created(const struct vmm_space *s, struct vmm_walk *w);

/* The walker: the only code that descends the four levels.  One
 * definition, always inlined, so that each caller gets it specialised:
 * read-only (@create false, vmm_walk), allocating missing tables
 * (walk_tables with @create, for map), or the fault path's (@lean: the
 * decision needs only the leaf, the level and the effective rights; the
 * values seen on the way are kept for the report, where they were and the
 * tables created are not).  It stops at @target_level, at a huge page or at
 * a missing table, and records every entry it passed and the effective
 * rights (W and U AND-ed, NX OR-ed). */
static inline __attribute__((always_inline)) enum vmm_status
walk_core(const struct vmm_space *s, uintptr_t va, int target_level, bool create, bool lean,
          struct vmm_walk *w)
{
    __auto_type window = mmu_window(s->pml4); /* the hook's own type */
    paddr_t table = s->pml4;
    uint64_t all = ~0ull, any = 0; /* AND and OR of the present entries passed */
    uint64_t *e;
    uint64_t v;
    int level;

    if (!lean) {
        w->va = va;
        w->created = 0;
    }
    /* Unrolled, each level's shifts and masks are constants. */
#pragma GCC unroll 4
    for (level = 4; level >= 1; level--) {
        e = mmu_entry(window, level, va, table);
        v = *e;
        if (!lean)
            w->slot[level] = e;
        w->seen[level] = v;
        if (level == target_level) {
            w->end = WALK_LEAF;
            break;
        }
        /* One test for "not present, or a huge page": v - 1 has bit 0 set
         * exactly when P is clear, and keeps PS when P is set. */
        if (__builtin_expect(((v - 1) & (PTE_P | PTE_PS)) != 0, 0)) {
            if (v & PTE_P) {
                w->end = WALK_HUGE;
                break;
            }
            if (!create) {
                w->end = WALK_NOT_PRESENT;
                break;
            }
            paddr_t fresh;
            if (frame_alloc_zeroed(&fresh) != VMM_OK) {
                walk_undo_created(s, w);
                return VMM_ERR_NOMEM;
            }
            v = fresh | walk_table_flags(va);
            *e = v;
            w->seen[level] = v;
            w->created |= 1u << level;
        }
        all &= v;
        any |= v;
        table = v & PTE_ADDR_MASK;
    }
    w->level = level;
    w->entry = e;
    /* The entry we stopped at (leaf or huge) counts too, when present. */
    if (v & PTE_P) {
        all &= v;
        any |= v;
    }
    w->eff = (all & (PTE_W | PTE_U)) | (any & PTE_NX);
    return VMM_OK;
}

/* The fault path's walk (lean) to the 4 KiB leaf of @va, as a function. */
void walk_fault(const struct vmm_space *s, uintptr_t va, struct vmm_walk *w);

/* Walk to @target_level; with @create, allocate missing tables on the way
 * (recorded in w->created).  VMM_ERR_NOMEM leaves nothing allocated. */
enum vmm_status walk_tables(const struct vmm_space *s, uintptr_t va, int target_level,
                            bool create, struct vmm_walk *w);
void walk_prune_empty(const struct vmm_space *s, struct vmm_walk *w);
/* Whether the level-@level table at @pa (covering @va) has no entry. */
bool walk_table_empty(const struct vmm_space *s, int level, uintptr_t va, paddr_t pa);
/* The leaf bits a region grants its pages before W or CoW (region.c):
 * present with U and NX from its rights, or, with no rights at all, not
 * present but held (PTE_PROTNONE).  W only where a caller decides it. */
uint64_t region_leaf_rights(const struct region *r);
/* Remove every region of @s (region.c; space teardown). */
void region_unmap_all(struct vmm_space *s);

/* Shared by the mapping operations (vmm_map.c). */
enum vmm_status vmm_check_va(uintptr_t va, uint64_t size);
enum vmm_status vmm_check_range(uintptr_t va, size_t npages);
enum vmm_status vmm_install(struct vmm_space *s, uintptr_t va, int level, uint64_t leaf);
/* Ownership: whether a leaf owns its frames, its frame base, and dropping
 * the references it owns.
 * Whether the leaf @e (at @level) owns its frames' references: every leaf
 * does except PTE_NOREF ones and those onto the zero frame.  1 GiB leaves
 * are never made by the VMM (only boot code could) and are treated as
 * physical.  Inline: the CoW decision asks on every fault. */
static inline bool vmm_leaf_owns(uint64_t e, int level)
{
    if (e & PTE_NOREF || level > 2)
        return false;
    return level == 2 || (e & PTE_ADDR_MASK) != vmm_zero_frame;
}
paddr_t vmm_leaf_frame(uint64_t e, int level);
void vmm_leaf_put(uint64_t e, int level);

#endif
