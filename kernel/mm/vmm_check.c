/* The consistency checker (region.h): recount every frame's references
 * from what should hold them (page-table leaves in every space, object page
 * caches) and compare with the allocator's counts, and check the rules the
 * fault path relies on.  The tally is a fixed open-addressing table, so the
 * checker allocates nothing and can run after every self-test; when more
 * frames are referenced than it holds, the check runs again in 2, 4, 8 ...
 * passes, each tallying the frames whose number falls in its share, so any
 * number of frames is checked exactly (only the time grows). */
#include "kprintf.h"
#include "region.h"
#include "walk.h"

#ifndef VMM_CHECK_TALLY_SLOTS
#define VMM_CHECK_TALLY_SLOTS 32768u /* a power of two; the host tests use a small one */
#endif
#define TALLY_SLOTS VMM_CHECK_TALLY_SLOTS

static paddr_t tally_frame[TALLY_SLOTS];
static uint32_t tally_count[TALLY_SLOTS];
static uint8_t tally_private_w[TALLY_SLOTS]; /* mapped writable by a private region */
static uint32_t tally_used[TALLY_SLOTS];     /* slots in use, to reset only those */
static uint32_t tally_nused;

struct check {
    char *why;
    size_t n;
    bool bad;
    bool overflow;           /* this pass's share did not fit the tally */
    uint64_t passes, pass;   /* frames with number % passes == pass are tallied */
    struct vmm_space *s;     /* the space being walked */
    struct vmm_space *owner; /* whose regions hold its addresses */
};

/* Record the first mismatch only. */
#define FAIL(c, ...)                                                                        \
    do {                                                                                    \
        if (!(c)->bad) {                                                                    \
            (c)->bad = true;                                                                \
            ksnprintf((c)->why, (c)->n, __VA_ARGS__);                                       \
        }                                                                                   \
    } while (0)

static unsigned last_passes;

/* Count one reference to @pa; returns its slot, or -1 when @pa is another
 * pass's or the tally is full (then c->overflow). */
static long tally(struct check *c, paddr_t pa)
{
    if ((pa >> PAGE_SHIFT) % c->passes != c->pass)
        return -1;
    uint32_t h = (uint32_t)((pa >> PAGE_SHIFT) * 2654435761u) & (TALLY_SLOTS - 1);
    for (uint32_t i = 0; i < TALLY_SLOTS; i++, h = (h + 1) & (TALLY_SLOTS - 1)) {
        if (tally_frame[h] == pa || !tally_frame[h]) {
            if (!tally_frame[h])
                tally_used[tally_nused++] = h;
            tally_frame[h] = pa;
            tally_count[h]++;
            return h;
        }
    }
    c->overflow = true;
    return -1;
}

static void check_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct check *c = ctx;
    uint64_t e = *entry;
    paddr_t pa = e & PTE_ADDR_MASK;
    if (level != 1)
        return; /* huge pages: the kernel's own static mappings */
    if (pa == vmm_zero_frame && (e & PTE_W))
        FAIL(c, "%#lx: writable entry %#llx maps the zero frame", (unsigned long)va, (unsigned long long)e);
    /* Present, or PTE_PROTNONE (held, not present): a region has no rights
     * exactly when its leaves are the latter. */
    bool protnone = vmm_entry_protnone(e);
    if (protnone && (e & (PTE_W | PTE_COW)))
        FAIL(c, "%#lx: PTE_PROTNONE entry %#llx is writable or CoW", (unsigned long)va, (unsigned long long)e);
    bool managed = region_managed(c->owner, va);
    if (protnone && !managed)
        FAIL(c, "%#lx: PTE_PROTNONE entry %#llx outside region-managed memory", (unsigned long)va, (unsigned long long)e);
    bool private_w = false;
    if (managed) {
        struct region *r = region_find_locked(c->owner, va);
        if (!r)
            FAIL(c, "%#lx: entry %#llx outside every region", (unsigned long)va, (unsigned long long)e);
        else if (r->flags & REGION_GUARD)
            FAIL(c, "%#lx: entry %#llx in a guard region", (unsigned long)va, (unsigned long long)e);
        else if (protnone != !(r->prot & (REGION_R | REGION_W | REGION_X)))
            FAIL(c, "%#lx: entry %#llx is %s, its region has %s rights (prot %#x)", (unsigned long)va,
                 (unsigned long long)e, protnone ? "not present" : "present", protnone ? "some" : "no", r->prot);
        else if (((e & PTE_W) && !(r->prot & REGION_W)) || ((e & PTE_U) && !(r->prot & REGION_U)) ||
                 (!(e & PTE_NX) && !(r->prot & REGION_X)) || ((e & PTE_COW) && (e & PTE_W)))
            FAIL(c, "%#lx: entry %#llx allows more than its region (prot %#x)", (unsigned long)va, (unsigned long long)e, r->prot);
        /* The fault path resolves a write to a CoW entry from the entry
         * alone (fault.c, cow_write_on_entry): only a writable region may
         * hold one. */
        else if ((e & PTE_COW) && !(r->prot & REGION_W))
            FAIL(c, "%#lx: CoW entry %#llx under a region without write permission (prot %#x)",
                 (unsigned long)va, (unsigned long long)e, r->prot);
        else
            private_w = (e & PTE_W) && !(r->flags & REGION_SHARED);
    }
    if (!vmm_leaf_owns(e, level))
        return; /* owns nothing: the zero frame, a physical object's frames */
    long slot = tally(c, pa);
    if (slot >= 0 && private_w)
        tally_private_w[slot] = 1;
}

static void check_space(struct check *c, struct vmm_space *s)
{
    /* Its own half; the shared kernel half once, through the kernel space. */
    c->s = s;
    spin_lock(&s->lock);
    c->owner = s;
    struct vmm_visitor v = { .leaf = check_leaf, .ctx = c };
    vmm_visit(s, 0, KERNEL_HALF_START - 1, &v);
    /* Its region tree: balanced, ordered, disjoint, inside its ranges. */
    long n = avl_check(&s->regions);
    if (n < 0 || (uint64_t)n != s->nregions)
        FAIL(c, "space %#llx: region tree broken (%ld nodes, %llu counted)",
             (unsigned long long)s->pml4, n, (unsigned long long)s->nregions);
    /* Its index: the tree's regions, in the tree's order. */
    long in_index = region_index_check(&s->index);
    if (in_index < 0 || (uint64_t)in_index != s->nregions)
        FAIL(c, "space %#llx: region index broken (%ld regions, %llu counted)",
             (unsigned long long)s->pml4, in_index, (unsigned long long)s->nregions);
    size_t slot = 0;
    uintptr_t prev_end = 0;
    for (struct avl_node *a = avl_first(&s->regions); a; a = avl_next(a)) {
        struct region *r = avl_entry(a, struct region, node);
        if (in_index >= 0 && ++slot <= s->index.count && s->index.slot[slot].region != r)
            FAIL(c, "space %#llx: region [%#lx, %#lx) is not in slot %zu of the index",
                 (unsigned long long)s->pml4, (unsigned long)r->start, (unsigned long)r->end, slot);
        if (r->start >= r->end || r->start < prev_end || !region_managed(s, r->start) ||
            !region_managed(s, r->end - 1) || (r->start | r->end) & (PAGE_SIZE - 1))
            FAIL(c, "region [%#lx, %#lx) misplaced (previous ends at %#lx)",
                 (unsigned long)r->start, (unsigned long)r->end, (unsigned long)prev_end);
        if (r->obj && r->offset + (r->end - r->start) / PAGE_SIZE > r->obj->npages)
            FAIL(c, "region at %#lx runs past its object's end (%llu > %llu pages)",
                 (unsigned long)r->start,
                 (unsigned long long)(r->offset + (r->end - r->start) / PAGE_SIZE),
                 (unsigned long long)r->obj->npages);
        prev_end = r->end;
    }
    spin_unlock(&s->lock);
}

static void count_cached(void *ctx, uint64_t index, paddr_t frame)
{
    struct check *c = ctx;
    if (pmm_refcount(frame) == 0)
        FAIL(c, "object page %#llx at index %llu is not an allocated frame",
             (unsigned long long)frame, (unsigned long long)index);
    else
        tally(c, frame);
}

/* One pass: every space, the shared kernel half and every object walked;
 * the frames of this pass's share recounted and compared. */
static void check_pass(struct check *c)
{
    while (tally_nused) {
        uint32_t i = tally_used[--tally_nused];
        tally_frame[i] = 0;
        tally_count[i] = 0;
        tally_private_w[i] = 0;
    }
    bool saw_kernel = false;
    for (struct vmm_space *s = vmm_space_first(); s; s = s->next_space) {
        check_space(c, s);
        saw_kernel |= s == &vmm_kernel_space;
    }
    if (!saw_kernel) /* adopted from boot, never created */
        check_space(c, &vmm_kernel_space);
    /* The kernel half once, through the kernel space: the arena (regions)
     * and the kmem window (slabs), where frames are reference counted.  The
     * rest (image, windows) maps frames the allocator does not hand out. */
    struct vmm_space *k = &vmm_kernel_space;
    c->s = c->owner = k;
    spin_lock(&k->lock);
    struct vmm_visitor v = { .leaf = check_leaf, .ctx = c };
    vmm_visit(k, KERNEL_ARENA_BASE, KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE - 1, &v);
    vmm_visit(k, KMEM_BASE, KMEM_BASE + KMEM_SIZE - 1, &v);
    spin_unlock(&k->lock);
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        vmobj_for_each_page(o, count_cached, c);
    if (c->overflow)
        return; /* an incomplete tally proves nothing: more passes */

    for (uint32_t u = 0; u < tally_nused && !c->bad; u++) {
        uint32_t i = tally_used[u];
        uint32_t have = pmm_refcount(tally_frame[i]);
        if (have != tally_count[i])
            FAIL(c, "frame %#llx: allocator count %u, but %u mappings and page-cache entries",
                 (unsigned long long)tally_frame[i], have, tally_count[i]);
        else if (tally_private_w[i] && tally_count[i] != 1)
            FAIL(c, "frame %#llx: writable in a private region while %u references share it",
                 (unsigned long long)tally_frame[i], tally_count[i]);
    }
}

bool vmm_check_consistency(char *why, size_t n)
{
    struct check c = { .why = why, .n = n };
    for (c.passes = 1;; c.passes *= 2) {
        c.overflow = false;
        for (c.pass = 0; c.pass < c.passes && !c.bad && !c.overflow; c.pass++)
            check_pass(&c);
        if (c.bad || !c.overflow) {
            last_passes = (unsigned)c.passes;
            return !c.bad;
        }
    }
}

unsigned vmm_check_last_passes(void)
{
    return last_passes;
}
