/* map / unmap / protect / translate on any address space. */
#include "mmu_hooks.h"
#include "vmm.h"
#include "install.h"
#include "walk.h"

const char *vmm_status_str(enum vmm_status st)
{
    switch (st) {
    case VMM_OK: return "ok";
    case VMM_ERR_UNALIGNED: return "address not aligned to the page size";
    case VMM_ERR_NONCANONICAL: return "non-canonical virtual address";
    case VMM_ERR_RESERVED_VA: return "address inside a reserved window (page tables, kmap)";
    case VMM_ERR_EXISTS: return "already mapped";
    case VMM_ERR_NOT_MAPPED: return "not mapped";
    case VMM_ERR_HUGE: return "a huge page is in the way";
    case VMM_ERR_NOMEM: return "out of memory for page tables";
    case VMM_ERR_BAD_FLAGS: return "invalid page flags";
    case VMM_ERR_ZERO_FRAME: return "the zero frame may never be mapped writable";
    case VMM_ERR_RANGE: return "empty or wrapping range";
    case VMM_ERR_REFCOUNT: return "frame reference count would overflow";
    case VMM_ERR_OVERLAP: return "overlaps an existing region";
    case VMM_ERR_NO_REGION: return "part of the range is covered by no region";
    case VMM_ERR_GUARD: return "the range holds a guard region";
    case VMM_ERR_NO_SPACE: return "no free range large enough";
    case VMM_ERR_NOT_LIVE: return "neither address space is the live one";
    case VMM_ERR_KERNEL_SLOT:
        return "kernel-half PML4 slot the kernel space does not have (the kernel half is fixed)";
    }
    return "unknown vmm status";
}

/* The windows the VMM and the allocator manage themselves. */
static bool va_reserved(uintptr_t va)
{
    unsigned slot = pt_index(va, 4);
    if (va < KERNEL_HALF_START)
        return false;
    return slot == PML4_SLOT_FOREIGN || slot == PML4_SLOT_PMM || slot == PML4_SLOT_SELF ||
           va >= KMAP_BASE;
}

/* The address checks of every operation, in this order: canonical, outside
 * the reserved windows, aligned to @size (1: any byte).  Table state comes
 * after them. */
enum vmm_status vmm_check_va(uintptr_t va, uint64_t size)
{
    if (!va_is_canonical(va))
        return VMM_ERR_NONCANONICAL;
    if (va_reserved(va))
        return VMM_ERR_RESERVED_VA;
    if (va & (size - 1))
        return VMM_ERR_UNALIGNED;
    return VMM_OK;
}

enum vmm_status vmm_check_range(uintptr_t va, size_t npages)
{
    if (npages == 0)
        return VMM_ERR_RANGE;
    enum vmm_status st = vmm_check_va(va, PAGE_SIZE);
    if (st != VMM_OK)
        return st;
    if (npages - 1 > (UINT64_MAX - va) / PAGE_SIZE)
        return VMM_ERR_RANGE; /* wraps */
    uintptr_t last = va + (npages - 1) * PAGE_SIZE;
    if (vmm_check_va(last, PAGE_SIZE) != VMM_OK)
        return VMM_ERR_RANGE;
    /* Neither across the non-canonical hole nor across the reserved slots. */
    if ((va < KERNEL_HALF_START) != (last < KERNEL_HALF_START))
        return VMM_ERR_RANGE;
    if (va >= KERNEL_HALF_START && pt_index(va, 4) < PML4_SLOT_FOREIGN &&
        pt_index(last, 4) > PML4_SLOT_SELF)
        return VMM_ERR_RANGE;
    return VMM_OK;
}

/* vmm_install, leaving the walk (the entry written) in *@w. */
static enum vmm_status install(struct vmm_space *s, uintptr_t va, int level, uint64_t leaf,
                               struct vmm_walk *w)
{
    if (!leaf_allowed_at(va, leaf))
        return VMM_ERR_BAD_FLAGS;
    enum vmm_status st = walk_tables(s, va, level, true, w);
    if (st != VMM_OK)
        return st;
    if (w->end == WALK_HUGE) {
        return VMM_ERR_HUGE; /* nothing was created: the walk stopped before */
    }
    if (vmm_entry_held(*w->entry)) { /* a PTE_PROTNONE leaf too: it holds its frame */
        walk_undo_created(s, w);
        return VMM_ERR_EXISTS;
    }
    /* A 2 MiB leaf may not cover an existing page table. */
    if (level == 2 && *w->entry) {
        walk_undo_created(s, w);
        return VMM_ERR_EXISTS;
    }
    *w->entry = leaf;
    /* Not-present entries are never cached, but a stale translation from an
     * earlier mapping may be. */
    mmu_invalidate(s->pml4, va);
    return VMM_OK;
}

/* Install a leaf at @level; @leaf is the complete entry.  Shared by vmm_map,
 * vmm_map_2m, lazy mappings and CoW sharing. */
enum vmm_status vmm_install(struct vmm_space *s, uintptr_t va, int level, uint64_t leaf)
{
    struct vmm_walk w;
    return install(s, va, level, leaf, &w);
}

/* vmm_install_next when the cursor's table does not hold @va: a walk from
 * the PML4, whose table the cursor then keeps. */
enum vmm_status vmm_install_walk(struct vmm_space *s, struct vmm_install_cursor *cur,
                                 uintptr_t va, uint64_t leaf)
{
    struct vmm_walk w;
    enum vmm_status st = install(s, va, 1, leaf, &w);
    if (st == VMM_OK) {
        cur->block = va & ~(PAGE_2M - 1);
        cur->table = w.seen[2] & PTE_ADDR_MASK; /* the table the leaf went into */
    }
    return st;
}

static enum vmm_status check_leaf_flags(paddr_t pa, uint64_t flags, uint64_t align)
{
    if (flags & ~(PTE_LEAF_FLAGS | PTE_NOREF))
        return VMM_ERR_BAD_FLAGS;
    if (pa & (align - 1) || pa & ~PTE_ADDR_MASK)
        return VMM_ERR_UNALIGNED;
    return VMM_OK;
}

/* A caller's leaf mapping of @size (4 KiB or 2 MiB) at @level. */
static enum vmm_status map_leaf(struct vmm_space *s, uintptr_t va, paddr_t pa, uint64_t flags,
                                int level)
{
    uint64_t size = level_page_size(level);
    enum vmm_status st = vmm_check_va(va, size);
    if (st == VMM_OK)
        st = check_leaf_flags(pa, flags, size);
    if (st != VMM_OK)
        return st;
    /* The zero frame may not even be covered by a writable huge page, nor by
     * one that would own (and at teardown drop) its never-counted reference. */
    bool covers_zero = vmm_zero_frame && pa <= vmm_zero_frame && vmm_zero_frame < pa + size;
    if (covers_zero && ((flags & PTE_W) || (level > 1 && !(flags & PTE_NOREF))))
        return VMM_ERR_ZERO_FRAME;
    return vmm_install(s, va, level, pa | flags | PTE_P | (level > 1 ? PTE_PS : 0));
}

enum vmm_status vmm_map(struct vmm_space *s, uintptr_t va, paddr_t pa, uint64_t flags)
{
    return map_leaf(s, va, pa, flags, 1);
}

enum vmm_status vmm_map_2m(struct vmm_space *s, uintptr_t va, paddr_t pa, uint64_t flags)
{
    return map_leaf(s, va, pa, flags, 2);
}

paddr_t vmm_leaf_frame(uint64_t e, int level)
{
    return e & (level == 1 ? PTE_ADDR_MASK : level == 2 ? PTE_ADDR_2M_MASK : PTE_ADDR_1G_MASK);
}

/* A 2 MiB leaf's 512 references, out of line so that the common 4 KiB
 * case below saves no registers. */
__attribute__((noinline)) static void leaf_put_frames(paddr_t pa, int level)
{
    for (uint64_t off = 0; off < level_page_size(level); off += PAGE_SIZE)
        pmm_ref_dec(pa + off, NULL);
}

/* Drop the references an owning leaf holds: one per 4 KiB frame. */
void vmm_leaf_put(uint64_t e, int level)
{
    if (!vmm_leaf_owns(e, level))
        return;
    if (level == 1) /* nearly every leaf: one frame */
        pmm_ref_dec(e & PTE_ADDR_MASK, NULL);
    else
        leaf_put_frames(vmm_leaf_frame(e, level), level);
}

/* The mapping that covers @va: the address checks (canonical, reserved
 * window, and with @whole 4 KiB alignment), then the tables (not mapped,
 * then with @whole aligned to the mapping's own size, known only from
 * them). */
static enum vmm_status find_mapping(const struct vmm_space *s, uintptr_t va, bool whole,
                                    struct vmm_walk *w)
{
    enum vmm_status st = vmm_check_va(va, whole ? PAGE_SIZE : 1);
    if (st != VMM_OK)
        return st;
    vmm_walk(s, va, 1, w);
    if (!(*w->entry & PTE_P))
        return VMM_ERR_NOT_MAPPED;
    if (whole && (va & (level_page_size(w->level) - 1)))
        return VMM_ERR_UNALIGNED;
    return VMM_OK;
}

enum vmm_status vmm_unmap(struct vmm_space *s, uintptr_t va, paddr_t *pa_out)
{
    struct vmm_walk w;
    enum vmm_status st = find_mapping(s, va, true, &w);
    if (st != VMM_OK)
        return st;
    uint64_t old = *w.entry;
    *w.entry = 0;
    mmu_invalidate(s->pml4, va);
    if (pa_out) /* the references pass to the caller; none: 0 */
        *pa_out = vmm_leaf_owns(old, w.level) ? vmm_leaf_frame(old, w.level) : 0;
    walk_prune_empty(s, &w);
    return VMM_OK;
}

/* Exactly the rights asked for: the page level never infers copy-on-write
 * (shared writable memory is legal; only the caller knows which it is). */
enum vmm_status vmm_protect(struct vmm_space *s, uintptr_t va, uint64_t flags)
{
    struct vmm_walk w;
    enum vmm_status st = vmm_check_va(va, PAGE_SIZE);
    if (st != VMM_OK)
        return st;
    if (flags & ~(PTE_LEAF_FLAGS | PTE_COW) || ((flags & PTE_COW) && (flags & PTE_W)))
        return VMM_ERR_BAD_FLAGS;
    if ((flags & PTE_G) && va < KERNEL_HALF_START)
        return VMM_ERR_BAD_FLAGS; /* global user pages would outlive CR3 switches */
    st = find_mapping(s, va, true, &w);
    if (st != VMM_OK)
        return st;

    uint64_t old = *w.entry;
    uint64_t size = level_page_size(w.level);
    paddr_t frame = vmm_leaf_frame(old, w.level);
    /* The fault path resolves CoW on 4 KiB pages it may copy or reuse: owned
     * frames and the zero frame. */
    bool cow_ok = w.level == 1 && (vmm_leaf_owns(old, 1) || frame == vmm_zero_frame);
    if ((flags & PTE_COW) && !cow_ok)
        return VMM_ERR_BAD_FLAGS;
    if ((flags & PTE_W) && vmm_zero_frame && frame <= vmm_zero_frame &&
        vmm_zero_frame < frame + size)
        return VMM_ERR_ZERO_FRAME;
    uint64_t keep = old & (PTE_ADDR_MASK | PTE_PS | PTE_A | PTE_D | PTE_NOREF);
    *w.entry = keep | flags | PTE_P;
    mmu_invalidate(s->pml4, va);
    return VMM_OK;
}

enum vmm_status vmm_translate(const struct vmm_space *s, uintptr_t va, paddr_t *pa,
                              uint64_t *flags, int *level)
{
    struct vmm_walk w;
    enum vmm_status st = find_mapping(s, va, false, &w);
    if (st != VMM_OK)
        return st;
    uint64_t e = *w.entry;
    uint64_t size = level_page_size(w.level);
    if (pa)
        *pa = (e & PTE_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
    if (flags)
        *flags = e & ~PTE_ADDR_MASK;
    if (level)
        *level = w.level;
    return VMM_OK;
}
