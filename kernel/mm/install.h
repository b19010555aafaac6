/* Internal to kernel/mm: installing fork's leaves through a cursor that
 * keeps the last page table (vmm_map.c; used by region.c's clone).  Kept
 * apart from walk.h, the walker's header. */
#ifndef ZF_MM_INSTALL_H
#define ZF_MM_INSTALL_H

#include "mmu_hooks.h"
#include "vmm.h"

/* Whether @leaf may be installed in the half of @va: a global translation
 * survives CR3 switches, so never in the user half.  (Without P, G's bit is
 * PTE_PROTNONE: a clone's held entry.) */
static inline bool leaf_allowed_at(uintptr_t va, uint64_t leaf)
{
    return (leaf & (PTE_P | PTE_G)) != (PTE_P | PTE_G) || va >= KERNEL_HALF_START;
}

/* Installing 4 KiB leaves in rising address order (fork's copy of a
 * space): the page table of the last one installed is remembered, so the
 * next leaf in the same table needs no walk from the PML4.  Start zeroed.
 * The table is kept by its frame, not by an address in a window: the
 * foreign window may be pointed at another space between two installs (a
 * slab page for the next region goes into the kernel space through it). */
struct vmm_install_cursor {
    uintptr_t block;  /* the 2 MiB that @table maps */
    paddr_t table;    /* 0: no table yet */
};
enum vmm_status vmm_install_walk(struct vmm_space *s, struct vmm_install_cursor *cur,
                                 uintptr_t va, uint64_t leaf);

/* vmm_install of a 4 KiB leaf, with the same checks; only the walk is
 * skipped when the cursor's table holds @va (tables are freed only by
 * unmapping, which the caller does not do meanwhile, so it is still
 * linked).  Inline: fork installs one leaf per page. */
static inline enum vmm_status vmm_install_next(struct vmm_space *s,
                                               struct vmm_install_cursor *cur, uintptr_t va,
                                               uint64_t leaf)
{
    if (!cur->table || (va & ~(PAGE_2M - 1)) != cur->block || !leaf_allowed_at(va, leaf))
        return vmm_install_walk(s, cur, va, leaf);
    uint64_t *e = mmu_entry(mmu_window(s->pml4), 1, va, cur->table);
    if (vmm_entry_held(*e))
        return VMM_ERR_EXISTS;
    *e = leaf;
    /* Not-present entries are never cached, but a stale translation from an
     * earlier mapping may be. */
    mmu_invalidate(s->pml4, va);
    return VMM_OK;
}

#endif
