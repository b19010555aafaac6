/* Around the walker (walk_core in walk.h, the only code that descends the
 * four levels; every operation uses it): table allocation and its undo,
 * pruning empty tables, and enumerating mappings. */
#include "kmap.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

/* Intermediate entries carry the most permissive rights: the leaf decides.
 * User-half tables are user-accessible so user leaves can be; kernel-half
 * ones are not, so a stray U bit on a kernel leaf grants nothing. */
uint64_t walk_table_flags(uintptr_t va)
{
    return va < KERNEL_HALF_START ? (PTE_P | PTE_W | PTE_U) : (PTE_P | PTE_W);
}

/* A fresh frame, zeroed through a temporary mapping.  For page tables this
 * happens *before* they are linked, so the CPU never walks stale contents. */
enum vmm_status frame_alloc_zeroed(paddr_t *out)
{
    paddr_t pa;
    if (pmm_alloc(&pa) != PMM_OK)
        return VMM_ERR_NOMEM;
    void *p = kmap_push(pa, true, NULL);
    if (!p) {
        pmm_free(pa);
        return VMM_ERR_NOMEM;
    }
    mm_zero_page(p);
    kmap_pop(p);
    *out = pa;
    return VMM_OK;
}

enum vmm_status walk_tables(const struct vmm_space *s, uintptr_t va, int target_level,
                            bool create, struct vmm_walk *w)
{
    /* The kernel half is exactly the PML4 entries the kernel space has, and
     * every space holds copies of them: a new one would be private to @s
     * (invisible to the others, and leaked when @s is destroyed). */
    if (create && va >= KERNEL_HALF_START &&
        !(*mmu_entry(mmu_window(s->pml4), 4, va, s->pml4) & PTE_P))
        return VMM_ERR_KERNEL_SLOT;
    return create ? walk_core(s, va, target_level, true, false, w)
                  : walk_core(s, va, target_level, false, false, w);
}

void vmm_walk(const struct vmm_space *s, uintptr_t va, int target_level, struct vmm_walk *w)
{
    walk_core(s, va, target_level, false, false, w);
}

void walk_fault_descend(const struct vmm_space *s, uintptr_t va, struct vmm_walk *w)
{
    walk_core(s, va, 1, false, true, w);
}

void walk_fault(const struct vmm_space *s, uintptr_t va, struct vmm_walk *w)
{
    walk_fault_leaf(s, va, w);
}

/* Tables this walk linked (w->created) are still empty: unlink and free
 * them, deepest first, so that a failed operation leaves nothing behind. */
void walk_undo_created(const struct vmm_space *s, struct vmm_walk *w)
{
    for (int level = 2; level <= 4; level++) {
        if (!(w->created & (1u << level)))
            continue;
        uint64_t *e = w->slot[level];
        paddr_t pa = *e & PTE_ADDR_MASK;
        *e = 0;
        walk_table_unlinked(s, level - 1, w->va);
        pmm_free(pa);
    }
    w->created = 0;
}

bool walk_table_empty(const struct vmm_space *s, int level, uintptr_t va, paddr_t pa)
{
    const uint64_t *t = mmu_table(s->pml4, level, va, pa);
    for (int i = 0; i < 512; i++) {
        if (t[i])
            return false;
    }
    return true;
}

/* After a leaf at w->level was cleared: free the tables on the path that are
 * now empty, bottom up.  Kept: the PML4, kernel-half PDPTs (their PML4
 * entries are copied into every space), and tables the allocator does not
 * own (the static boot tables). */
void walk_prune_empty(const struct vmm_space *s, struct vmm_walk *w)
{
    int top = w->va >= KERNEL_HALF_START ? 3 : 4; /* level of the highest entry we may clear */
    for (int level = w->level + 1; level <= top; level++) {
        uint64_t *e = w->slot[level];
        paddr_t pa = *e & PTE_ADDR_MASK;
        if (pmm_refcount(pa) == 0 || !walk_table_empty(s, level - 1, w->va, pa))
            return;
        *e = 0;
        walk_table_unlinked(s, level - 1, w->va);
        pmm_free(pa);
    }
}

/* The entries of the level-@level table at @base (its first address) that
 * meet [start, last]: indexes [*lo, *hi], none when *lo > *hi.  A PML4
 * covers the canonical space in address order, lower half (0..255) then
 * upper half; an end in the non-canonical hole falls between the halves.
 * Lower tables cover [base, base + 512 pages of their level), which may end
 * at 2^64: only differences from @base are taken. */
static void entry_bounds(int level, uintptr_t base, uintptr_t start, uintptr_t last,
                         unsigned *lo, unsigned *hi)
{
    unsigned shift = 12 + 9 * (unsigned)(level - 1);
    if (level == 4) {
        *lo = va_is_canonical(start) ? pt_index(start, 4) : 256;
        *hi = va_is_canonical(last) ? pt_index(last, 4) : 255;
        return;
    }
    uint64_t from = start > base ? (start - base) >> shift : 0;
    *lo = from < 512 ? (unsigned)from : 512;
    if (last < base) {
        *hi = 0;
        *lo = 1;
        return;
    }
    uint64_t to = (last - base) >> shift;
    *hi = to < 511 ? (unsigned)to : 511;
}

/* The first index in [i, hi] whose entry is held (vmm_entry_held), or
 * hi + 1.  Teardown looks at every entry of every table, most of them
 * empty: the rest of an aligned line of eight is passed over with one test
 * of their OR. */
static inline unsigned next_held(const uint64_t *t, unsigned i, unsigned hi)
{
    for (; i <= hi; i++) {
        if (vmm_entry_held(t[i]))
            return i;
        if ((i & 7) == 0 && i + 7 <= hi &&
            !vmm_entry_held(t[i + 1] | t[i + 2] | t[i + 3] | t[i + 4] | t[i + 5] | t[i + 6] |
                            t[i + 7]))
            i += 7;
    }
    return hi + 1;
}

/* Visit the held entries (vmm_entry_held) of the table at @level covering
 * @base (frame @table_pa), restricted to [start, last]; leaves go to v->leaf,
 * and each lower table to v->table_done after its contents.  Only the
 * entries that meet the range are looked at: a small range is not a scan
 * of 512 entries per level. */
static void visit(const struct vmm_space *s, int level, uintptr_t base, paddr_t table_pa,
                  uintptr_t start, uintptr_t last, const struct vmm_visitor *v)
{
    uint64_t span = level_page_size(level);
    uint64_t *t = mmu_table(s->pml4, level, base, table_pa);
    unsigned lo, hi;
    entry_bounds(level, base, start, last, &lo, &hi);
    for (unsigned i = next_held(t, lo, hi); i <= hi; i = next_held(t, i + 1, hi)) {
        uint64_t e = t[i];
        uintptr_t va = base + i * span;
        if (level == 4) /* sign-extend into the upper half */
            va = (uintptr_t)((int64_t)(va << 16) >> 16);
        if (level == 4 && va >= KERNEL_HALF_START &&
            (i == PML4_SLOT_FOREIGN || i == PML4_SLOT_SELF))
            continue; /* windows onto page tables, not mappings */
        if (level == 1 || (e & PTE_PS)) {
            if (v->leaf)
                v->leaf(v->ctx, va, &t[i], level);
            continue;
        }
        visit(s, level - 1, va, e & PTE_ADDR_MASK, start, last, v);
        if (v->table_done)
            v->table_done(v->ctx, va, &t[i], level);
    }
}

void vmm_visit(const struct vmm_space *s, uintptr_t start, uintptr_t last,
               const struct vmm_visitor *v)
{
    visit(s, 4, 0, s->pml4, start, last, v);
}
