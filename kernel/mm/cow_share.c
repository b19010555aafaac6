/* Setting up copy-on-write: lazily zero-filled ranges, sharing pages
 * between spaces, and releasing shared pages.  The decisions on the first
 * write live in fault.c. */
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

/* Undo helper: unmap the first @n pages at @va (which this module mapped)
 * and, with @drop_refs, give back the reference each one took. */
static void unmap_pages(struct vmm_space *s, uintptr_t va, size_t n, bool drop_refs)
{
    for (size_t i = 0; i < n; i++) {
        paddr_t pa;
        if (vmm_unmap(s, va + i * PAGE_SIZE, &pa) == VMM_OK && drop_refs && pa != 0)
            pmm_ref_dec(pa, NULL);
    }
}

enum vmm_status vmm_map_zeroed(struct vmm_space *s, uintptr_t va, size_t npages, uint64_t flags)
{
    if (!vmm_zero_frame)
        return VMM_ERR_NOMEM;
    if (flags & ~PTE_LEAF_FLAGS)
        return VMM_ERR_BAD_FLAGS;
    enum vmm_status st = vmm_check_range(va, npages);
    if (st != VMM_OK)
        return st;
    /* Read-only onto the zero frame; CoW records that a write is legal. */
    uint64_t leaf = vmm_zero_frame | PTE_P | PTE_COW | (flags & ~PTE_W);
    for (size_t i = 0; i < npages; i++) {
        st = vmm_install(s, va + i * PAGE_SIZE, 1, leaf);
        if (st != VMM_OK) {
            unmap_pages(s, va, i, false);
            return st;
        }
    }
    return VMM_OK;
}

/* The 4 KiB leaf mapping @va, or an error saying why there is none. */
static enum vmm_status leaf_of(const struct vmm_space *s, uintptr_t va, struct vmm_walk *w)
{
    vmm_walk(s, va, 1, w);
    if (w->end == WALK_HUGE)
        return VMM_ERR_HUGE;
    if (!(*w->entry & PTE_P))
        return VMM_ERR_NOT_MAPPED;
    return VMM_OK;
}

enum vmm_status vmm_share_cow(struct vmm_space *src, uintptr_t src_va, struct vmm_space *dst,
                              uintptr_t dst_va, size_t npages)
{
    struct vmm_walk w;
    enum vmm_status st = vmm_check_range(src_va, npages);
    if (st == VMM_OK)
        st = vmm_check_range(dst_va, npages);
    if (st != VMM_OK)
        return st;
    if (src == dst && src_va < dst_va + npages * PAGE_SIZE && dst_va < src_va + npages * PAGE_SIZE)
        return VMM_ERR_RANGE; /* overlapping halves of one space */

    /* Validate everything first: every source page mapped (4 KiB), every
     * destination page free. */
    for (size_t i = 0; i < npages; i++) {
        st = leaf_of(src, src_va + i * PAGE_SIZE, &w);
        if (st != VMM_OK)
            return st;
        vmm_walk(dst, dst_va + i * PAGE_SIZE, 1, &w);
        if (w.end == WALK_HUGE)
            return VMM_ERR_HUGE;
        if (*w.entry & PTE_P)
            return VMM_ERR_EXISTS;
    }

    /* Map the destination and take references; undone on any failure. */
    for (size_t i = 0; i < npages; i++) {
        leaf_of(src, src_va + i * PAGE_SIZE, &w);
        uint64_t e = *w.entry;
        paddr_t pa = e & PTE_ADDR_MASK;
        uint64_t shared = e & ~(PTE_W | PTE_A | PTE_D);
        if (e & (PTE_W | PTE_COW))
            shared |= PTE_COW;
        if (pa != vmm_zero_frame) {
            enum pmm_status ps = pmm_ref_inc(pa);
            if (ps != PMM_OK) {
                unmap_pages(dst, dst_va, i, true);
                return ps == PMM_ERR_REFCOUNT ? VMM_ERR_REFCOUNT : VMM_ERR_NOT_MAPPED;
            }
        }
        st = vmm_install(dst, dst_va + i * PAGE_SIZE, 1, shared);
        if (st != VMM_OK) {
            if (pa != vmm_zero_frame)
                pmm_ref_dec(pa, NULL);
            unmap_pages(dst, dst_va, i, true);
            return st;
        }
    }

    /* Finally the source side loses its write right (cannot fail). */
    for (size_t i = 0; i < npages; i++) {
        uintptr_t va = src_va + i * PAGE_SIZE;
        leaf_of(src, va, &w);
        if (*w.entry & PTE_W) {
            *w.entry = (*w.entry & ~PTE_W) | PTE_COW;
            mmu_invalidate(src->pml4, va);
        }
    }
    return VMM_OK;
}

enum vmm_status vmm_release(struct vmm_space *s, uintptr_t va, size_t npages)
{
    struct vmm_walk w;
    enum vmm_status st = vmm_check_range(va, npages);
    if (st != VMM_OK)
        return st;
    for (size_t i = 0; i < npages; i++) {
        st = leaf_of(s, va + i * PAGE_SIZE, &w);
        if (st != VMM_OK)
            return st;
    }
    unmap_pages(s, va, npages, true);
    return VMM_OK;
}
