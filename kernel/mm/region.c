/* Regions: map, unmap, protect, lookup and fork-style cloning of a space's
 * region set (include/region.h), and the page-table work each implies.
 * Every operation checks everything and allocates what it needs before it
 * changes anything, so a failure leaves the space as it was. */
#include "kmem.h"
#include "kprintf.h"
#include "mmu_hooks.h"
#include "region.h"
#include "install.h"
#include "walk.h"

static struct kmem_cache region_cache;

static struct region *region_of(struct avl_node *n)
{
    return n ? avl_entry(n, struct region, node) : NULL;
}

static struct region *region_next(struct region *r)
{
    return region_of(avl_next(&r->node));
}

static struct region *region_alloc(void)
{
    kmem_cache_init(&region_cache, "region", sizeof(struct region));
    return kmem_alloc(&region_cache);
}

static void region_release(struct vmm_space *s, struct region *r)
{
    if (s->hint == r)
        s->hint = NULL;
    if (r->obj)
        vmobj_put(r->obj);
    kmem_free(&region_cache, r);
}

/* The range a region of @s may occupy around @va: [lo, hi). */
static bool managed_window(const struct vmm_space *s, uintptr_t va, uintptr_t *lo, uintptr_t *hi)
{
    if (va < KERNEL_HALF_START) {
        *lo = REGION_USER_MIN;
        *hi = REGION_USER_END;
    } else {
        *lo = KERNEL_ARENA_BASE;
        *hi = KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE;
    }
    return region_managed(s, va);
}

struct region *region_find_locked(struct vmm_space *s, uintptr_t va)
{
    struct region *h = s->hint;
    if (h && va >= h->start && va < h->end)
        return h;
    /* The last region starting at or below @va holds it, or nothing does
     * (the index's sentinel and padding end at 0). */
    struct region *r = region_index_find(&s->index, va)->region;
    if (va >= r->end)
        return NULL;
    s->hint = r;
    return r;
}

/* The first region that ends above @va (it may start above it too). */
static struct region *first_ending_after(struct vmm_space *s, uintptr_t va)
{
    struct avl_node *n = s->regions.root;
    struct region *best = NULL;
    while (n) {
        struct region *r = region_of(n);
        if (r->end > va) {
            best = r;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

static void tree_insert(struct vmm_space *s, struct region *r)
{
    struct avl_node **link = &s->regions.root, *parent = NULL;
    while (*link) {
        parent = *link;
        link = r->start < region_of(parent)->start ? &parent->left : &parent->right;
    }
    avl_link(&s->regions, &r->node, parent, link);
    region_index_insert(&s->index, r); /* the caller made room (index_room) */
    s->nregions++;
}

static void tree_remove(struct vmm_space *s, struct region *r)
{
    avl_erase(&s->regions, &r->node);
    region_index_remove(&s->index, r);
    s->nregions--;
    if (s->hint == r)
        s->hint = NULL;
}

/* Under @s's lock: whether its index has room for @n more regions, moving
 * it into @grown (a larger block allocated for it, or empty) if that is
 * needed and enough.  @grown then holds the old block: the caller releases
 * it once the lock is dropped, as it does an unused one. */
static bool index_room(struct vmm_space *s, size_t n, struct region_index *grown)
{
    if (region_index_fits(&s->index, n))
        return true;
    if (!region_index_fits(grown, s->index.count + n))
        return false;
    region_index_adopt(&s->index, grown);
    return true;
}

/* With the lock dropped: @grown becomes a block for @n regions.  False
 * when out of memory (or past the largest index). */
static bool index_grow(struct region_index *grown, size_t n)
{
    region_index_release(grown);
    unsigned order = region_index_order_for(n);
    return order && region_index_alloc(grown, order);
}

/* After regions went away (with @s's lock not held): the smallest block
 * that holds the rest, none once it is empty.  Short of memory, the index
 * keeps the block it has. */
static void index_shrink(struct vmm_space *s)
{
    struct region_index fresh = REGION_INDEX_EMPTY;
    for (;;) {
        spin_lock(&s->lock);
        unsigned order = region_index_shrink_order(&s->index);
        if (order == s->index.order)
            break;
        if (order == fresh.order) {
            region_index_adopt(&s->index, &fresh);
            break;
        }
        spin_unlock(&s->lock);
        region_index_release(&fresh);
        if (!region_index_alloc(&fresh, order))
            return;
    }
    spin_unlock(&s->lock);
    region_index_release(&fresh);
}

/* ---- page-table work for a range of one region ---------------------------- */

uint64_t region_leaf_rights(const struct region *r)
{
    uint64_t f = PTE_P | region_pte_ux(r);
    /* No rights at all: not present, since a present entry always lets the
     * kernel read; the frame and its reference stay (vmm_entry_held). */
    if (!(r->prot & (REGION_R | REGION_W | REGION_X)))
        return (f & ~PTE_P) | PTE_PROTNONE;
    return f;
}

struct range_ctx {
    struct vmm_space *s;
    const struct region *r; /* protect: the region with its new rights */
    unsigned flushed;
};

static void drop_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct range_ctx *c = ctx;
    uint64_t e = *entry;
    *entry = 0;
    mmu_invalidate(c->s->pml4, va);
    vmm_leaf_put(e, level);
    c->flushed++;
}

/* After a range's leaves: free each lower table that became empty (kernel
 * half: never the PDPTs, whose PML4 entries every space shares). */
static void prune_table(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct range_ctx *c = ctx;
    if (level == 4 && va >= KERNEL_HALF_START)
        return;
    paddr_t pa = *entry & PTE_ADDR_MASK;
    if (!walk_table_empty(c->s, level - 1, va, pa))
        return;
    *entry = 0;
    walk_table_unlinked(c->s, level - 1, va);
    pmm_free(pa);
}

/* A lower table whose every entry was just dropped (teardown). */
static void free_table(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct range_ctx *c = ctx;
    paddr_t pa = *entry & PTE_ADDR_MASK;
    *entry = 0;
    walk_table_unlinked(c->s, level - 1, va);
    pmm_free(pa);
}

/* Drop every mapping in [start, end) and the tables left empty. */
static void pages_drop(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct range_ctx c = { .s = s };
    struct vmm_visitor v = { .leaf = drop_leaf, .table_done = prune_table, .ctx = &c };
    vmm_visit(s, start, end - 1, &v);
}

/* A held leaf after its region's rights changed to c->r's.  No rights at
 * all: the leaf goes not present (PTE_PROTNONE, region_leaf_rights); it
 * keeps its frame and reference, and loses W and CoW like any read-only
 * leaf, so rights given back make it present again with CoW decided as
 * below. */
static void reprotect_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct range_ctx *c = ctx;
    const struct region *r = c->r;
    uint64_t e = *entry;
    if (level != 1)
        return;
    uint64_t n = (e & (PTE_ADDR_MASK | PTE_A | PTE_D | PTE_NOREF | PTE_UFFD_WP)) |
                 region_leaf_rights(r);
    if (r->prot & REGION_W) {
        if ((r->flags & REGION_SHARED || (e & PTE_W)) && !(e & PTE_UFFD_WP))
            n |= PTE_W;
        else
            n |= PTE_COW; /* writable after the fault decides copy or reuse */
    }
    if ((n & PTE_W) && (e & PTE_ADDR_MASK) == vmm_zero_frame) {
        n = (n & ~PTE_W) | PTE_COW; /* never writable, even shared (cannot happen) */
    }
    if (n != e) {
        *entry = n;
        mmu_invalidate(c->s->pml4, va);
    }
}

static void pages_reprotect(struct vmm_space *s, const struct region *r, uintptr_t start,
                            uintptr_t end)
{
    struct range_ctx c = { .s = s, .r = r };
    struct vmm_visitor v = { .leaf = reprotect_leaf, .ctx = &c };
    vmm_visit(s, start, end - 1, &v);
}

/* ---- map ---------------------------------------------------------------- */

static unsigned normalize_prot(unsigned prot)
{
    return prot & (REGION_W | REGION_X) ? prot | REGION_R : prot;
}

static enum vmm_status check_prot(const struct vmm_space *s, uintptr_t va, unsigned prot)
{
    if (prot & ~REGION_PROT_MASK)
        return VMM_ERR_BAD_FLAGS;
    if (va >= KERNEL_HALF_START && (prot & REGION_U))
        return VMM_ERR_BAD_FLAGS; /* kernel memory is never user-accessible */
    (void)s;
    return VMM_OK;
}

/* A gap of @len in [lo, hi), at or above @from; 0 if none. */
static uintptr_t find_gap(struct vmm_space *s, uintptr_t lo, uintptr_t hi, uintptr_t from,
                          size_t len)
{
    uintptr_t at = from > lo ? from : lo;
    for (struct region *r = first_ending_after(s, at); r && r->start < hi; r = region_next(r)) {
        if (r->start >= at && r->start - at >= len)
            return at;
        if (r->end > at)
            at = r->end;
    }
    return at < hi && hi - at >= len ? at : 0;
}

static bool range_is_free(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct region *r = first_ending_after(s, start);
    return !r || r->start >= end;
}

/* Where @req goes in [lo, hi) (*@at), with @s's lock held. */
static enum vmm_status place(struct vmm_space *s, const struct region_req *req, uintptr_t lo,
                             uintptr_t hi, uintptr_t *at)
{
    uintptr_t a = req->addr;
    if (req->flags & REGION_FIXED) {
        if (a < lo || a >= hi || req->len > hi - a)
            return VMM_ERR_RANGE;
        if (!range_is_free(s, a, a + req->len))
            return VMM_ERR_OVERLAP;
    } else {
        bool hint_ok = a >= lo && a < hi && req->len <= hi - a && range_is_free(s, a, a + req->len);
        if (!hint_ok)
            a = find_gap(s, lo, hi, a, req->len);
        if (!hint_ok && !a)
            a = find_gap(s, lo, hi, lo, req->len);
        if (!a)
            return VMM_ERR_NO_SPACE;
    }
    *at = a;
    return VMM_OK;
}

enum vmm_status region_map(struct vmm_space *s, const struct region_req *req, uintptr_t *out)
{
    uintptr_t lo, hi, at = req->addr;
    unsigned prot = normalize_prot(req->prot);
    bool guard = req->flags & REGION_GUARD;
    if ((req->addr | req->len) & (PAGE_SIZE - 1))
        return VMM_ERR_UNALIGNED;
    if (req->len == 0 || (req->flags & ~REGION_FLAG_MASK) ||
        (guard && (req->obj || (req->flags & REGION_SHARED))) || (!guard && !req->obj))
        return req->len ? VMM_ERR_BAD_FLAGS : VMM_ERR_RANGE;
    if (!va_is_canonical(at))
        return VMM_ERR_NONCANONICAL;
    if (!managed_window(s, at ? at : REGION_USER_MIN, &lo, &hi))
        return VMM_ERR_RANGE;
    enum vmm_status st = check_prot(s, lo, prot);
    if (st != VMM_OK)
        return st;
    uint64_t npages = req->len / PAGE_SIZE;
    if (req->obj && (req->offset > req->obj->npages || npages > req->obj->npages - req->offset))
        return VMM_ERR_RANGE;

    struct region *r = region_alloc();
    if (!r)
        return VMM_ERR_NOMEM;
    /* Placed first, then room in the index: a refused request takes no
     * memory, and a larger index is allocated with the lock dropped. */
    struct region_index grown = REGION_INDEX_EMPTY;
    for (;;) {
        spin_lock(&s->lock);
        st = place(s, req, lo, hi, &at);
        if (st != VMM_OK || index_room(s, 1, &grown))
            break;
        size_t need = s->index.count + 1;
        spin_unlock(&s->lock);
        if (!index_grow(&grown, need)) {
            region_index_release(&grown);
            kmem_free(&region_cache, r);
            return VMM_ERR_NOMEM;
        }
    }
    if (st != VMM_OK) {
        spin_unlock(&s->lock);
        region_index_release(&grown);
        kmem_free(&region_cache, r);
        return st;
    }
    r->start = at;
    r->end = at + req->len;
    r->prot = guard ? 0 : prot;
    r->flags = req->flags & (REGION_SHARED | REGION_GUARD);
    r->obj = req->obj;
    r->offset = req->offset;
    r->name = req->name;
    if (r->obj)
        vmobj_get(r->obj);
    tree_insert(s, r);
    spin_unlock(&s->lock);
    region_index_release(&grown);
    if (out)
        *out = at;
    return VMM_OK;
}

/* ---- unmap and protect ------------------------------------------------------ */

static enum vmm_status check_range(const struct vmm_space *s, uintptr_t start, size_t len)
{
    uintptr_t lo, hi;
    if ((start | len) & (PAGE_SIZE - 1))
        return VMM_ERR_UNALIGNED;
    if (len == 0)
        return VMM_ERR_RANGE;
    if (!va_is_canonical(start))
        return VMM_ERR_NONCANONICAL;
    if (!managed_window(s, start, &lo, &hi) || start < lo || start >= hi || len > hi - start)
        return VMM_ERR_RANGE;
    return VMM_OK;
}

/* Split @r at @at (strictly inside it) using the spare region @tail, which
 * becomes [at, r->end). */
static void region_split(struct vmm_space *s, struct region *r, uintptr_t at, struct region *tail)
{
    *tail = *r;
    tail->offset += (at - r->start) / PAGE_SIZE;
    tail->start = at;
    r->end = at;
    if (tail->obj)
        vmobj_get(tail->obj);
    tree_insert(s, tail);
}

/* How many new regions splitting [start, end) out of @s's regions takes: one
 * per end that falls strictly inside a region (both inside one region: a
 * hole, two pieces left around it, still one new region for unmap). */
static unsigned splits_needed(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct region *first = first_ending_after(s, start);
    struct region *last = first_ending_after(s, end - 1);
    unsigned n = 0;
    if (first && first->start < start)
        n++;
    if (last && last->start < end && last->end > end)
        n++;
    return n;
}

/* Take @s's lock with @want spare regions in hand and room for them in the
 * index: allocated with the lock dropped, then @want asked again (another
 * CPU may have changed the tree meanwhile).  False (lock not held) when out
 * of memory. */
static bool lock_with_spares(struct vmm_space *s, uintptr_t start, uintptr_t end,
                             unsigned (*want)(struct vmm_space *, uintptr_t, uintptr_t),
                             struct region *spare[2], unsigned *have, struct region_index *grown)
{
    for (;;) {
        spin_lock(&s->lock);
        unsigned n = want(s, start, end);
        if (n <= *have && index_room(s, n, grown))
            return true;
        size_t need = s->index.count + n;
        bool room = region_index_fits(&s->index, n) || region_index_fits(grown, need);
        spin_unlock(&s->lock);
        while (*have < n) {
            if (!(spare[*have] = region_alloc()))
                return false;
            ++*have;
        }
        if (!room && !index_grow(grown, need))
            return false;
    }
}

/* Give back what lock_with_spares took and the operation did not use. */
static void free_spares(struct region *spare[2], unsigned from, unsigned have,
                        struct region_index *grown)
{
    for (unsigned i = from; i < have; i++)
        if (spare[i])
            kmem_free(&region_cache, spare[i]);
    region_index_release(grown);
}

/* Unmap needs a new region only for a hole strictly inside one region. */
static unsigned unmap_needs(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    struct region *r = first_ending_after(s, start);
    return r && r->start < start && r->end > end ? 1 : 0;
}

enum vmm_status region_unmap(struct vmm_space *s, uintptr_t start, size_t len)
{
    enum vmm_status st = check_range(s, start, len);
    if (st != VMM_OK)
        return st;
    uintptr_t end = start + len;
    /* Whatever memory the change takes is in hand before anything changes;
     * removing or trimming whole regions takes none. */
    struct region *spare[2];
    unsigned have = 0, used = 0;
    struct region_index grown = REGION_INDEX_EMPTY;
    if (!lock_with_spares(s, start, end, unmap_needs, spare, &have, &grown)) {
        free_spares(spare, 0, have, &grown);
        return VMM_ERR_NOMEM;
    }
    struct region *r = first_ending_after(s, start);
    while (r && r->start < end) {
        struct region *next = region_next(r);
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        pages_drop(s, a, b);
        if (a == r->start && b == r->end) {
            tree_remove(s, r);
            region_release(s, r);
        } else if (a == r->start) {
            r->offset += (b - r->start) / PAGE_SIZE;
            region_index_move_start(&s->index, r->start, b);
            r->start = b;
        } else if (b == r->end) {
            r->end = a;
        } else {
            region_split(s, r, b, spare[used++]);
            r->end = a;
        }
        r = next;
    }
    s->hint = NULL;
    spin_unlock(&s->lock);
    free_spares(spare, used, have, &grown);
    index_shrink(s);
    return VMM_OK;
}

/* Whether @b can be folded into @a, which ends where @b starts. */
static bool regions_mergeable(const struct region *a, const struct region *b)
{
    return a->end == b->start && a->prot == b->prot && a->flags == b->flags && a->obj == b->obj &&
           a->name == b->name && a->uffd == b->uffd && a->uffd_mode == b->uffd_mode && (!a->obj || a->offset + (a->end - a->start) / PAGE_SIZE == b->offset);
}

/* [start, end) covered by regions without holes (else VMM_ERR_NO_REGION)
 * and without guard regions (VMM_ERR_GUARD). */
static enum vmm_status protect_check(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    uintptr_t at = start;
    bool guard = false;
    for (struct region *r = first_ending_after(s, start); at < end; r = region_next(r)) {
        if (!r || r->start > at)
            return VMM_ERR_NO_REGION;
        guard |= r->flags & REGION_GUARD;
        at = r->end;
    }
    return guard ? VMM_ERR_GUARD : VMM_OK;
}

/* A refused request needs nothing: its refusal comes before any shortage. */
static unsigned protect_needs(struct vmm_space *s, uintptr_t start, uintptr_t end)
{
    return protect_check(s, start, end) == VMM_OK ? splits_needed(s, start, end) : 0;
}

enum vmm_status region_protect(struct vmm_space *s, uintptr_t start, size_t len, unsigned prot)
{
    enum vmm_status st = check_range(s, start, len);
    if (st == VMM_OK)
        st = check_prot(s, start, prot);
    if (st != VMM_OK)
        return st;
    prot = normalize_prot(prot);
    uintptr_t end = start + len;
    struct region *spare[2];
    unsigned have = 0;
    struct region_index grown = REGION_INDEX_EMPTY;
    if (!lock_with_spares(s, start, end, protect_needs, spare, &have, &grown)) {
        free_spares(spare, 0, have, &grown);
        return VMM_ERR_NOMEM;
    }
    st = protect_check(s, start, end);
    struct region *first = first_ending_after(s, start);
    unsigned used = 0;
    if (st == VMM_OK) {
        if (first->start < start) {
            region_split(s, first, start, spare[used++]);
            first = region_next(first);
        }
        for (struct region *r = first; r && r->start < end; r = region_next(r)) {
            if (r->end > end)
                region_split(s, r, end, spare[used++]);
            r->prot = prot;
            pages_reprotect(s, r, r->start, r->end);
        }
        /* Fold the changed run, and its neighbours on both sides, back
         * together where they now agree. */
        struct region *m = region_of(avl_prev(&first->node));
        if (!m)
            m = first;
        while (m && m->start < end) {
            struct region *n = region_next(m);
            if (n && regions_mergeable(m, n)) {
                m->end = n->end;
                tree_remove(s, n);
                region_release(s, n);
            } else {
                m = n;
            }
        }
        s->hint = NULL;
    }
    spin_unlock(&s->lock);
    free_spares(spare, used, have, &grown);
    if (st == VMM_OK)
        index_shrink(s); /* the merges may have removed regions */
    return st;
}

/* region_range_apply's refusals, with @s's lock held. */
static enum vmm_status range_check(struct vmm_space *s, uintptr_t start, uintptr_t end,
                                   const struct region_range_ops *ops, void *ctx)
{
    uintptr_t at = start;
    for (struct region *r = first_ending_after(s, start); at < end; r = region_next(r)) {
        if (ops->holes_ok && (!r || r->start >= end))
            break;
        if (!r || (r->start > at && !ops->holes_ok))
            return VMM_ERR_NO_REGION;
        enum vmm_status st = ops->check ? ops->check(r, ctx) : VMM_OK;
        if (st != VMM_OK)
            return st;
        at = r->end;
    }
    return VMM_OK;
}

enum vmm_status region_range_apply(struct vmm_space *s, uintptr_t start, size_t len,
                                   const struct region_range_ops *ops, void *ctx)
{
    enum vmm_status st = check_range(s, start, len);
    if (st != VMM_OK)
        return st;
    uintptr_t end = start + len;
    struct region *spare[2] = { region_alloc(), region_alloc() };
    struct region_index grown = REGION_INDEX_EMPTY;
    if (!spare[0] || !spare[1]) {
        free_spares(spare, 0, 2, &grown);
        return VMM_ERR_NOMEM;
    }
    /* Refusals first; then, for a split at each end, room in the index,
     * allocated with the lock dropped. */
    for (;;) {
        spin_lock(&s->lock);
        st = range_check(s, start, end, ops, ctx);
        if (st != VMM_OK || !ops->split || index_room(s, 2, &grown))
            break;
        size_t need = s->index.count + 2;
        spin_unlock(&s->lock);
        if (!index_grow(&grown, need)) {
            free_spares(spare, 0, 2, &grown);
            return VMM_ERR_NOMEM;
        }
    }
    struct region *first = first_ending_after(s, start);
    unsigned used = 0;
    if (st == VMM_OK) {
        if (first && first->start < start && ops->split && !(ops->skip && ops->skip(first, ctx))) {
            region_split(s, first, start, spare[used++]);
            first = region_next(first);
        }
        for (struct region *r = first; r && r->start < end; r = region_next(r)) {
            if (ops->skip && ops->skip(r, ctx))
                continue;
            if (r->end > end && ops->split)
                region_split(s, r, end, spare[used++]);
            uintptr_t a = r->start > start ? r->start : start;
            uintptr_t b = r->end < end ? r->end : end;
            ops->apply(s, r, a, b, ctx);
        }
        s->hint = NULL;
    }
    spin_unlock(&s->lock);
    free_spares(spare, used, 2, &grown);
    if (st == VMM_OK)
        index_shrink(s); /* room was made for two splits, maybe not both used */
    return st;
}

enum vmm_status region_discard(struct vmm_space *s, uintptr_t start, size_t len)
{
    enum vmm_status st = check_range(s, start, len);
    if (st != VMM_OK)
        return st;
    spin_lock(&s->lock);
    uintptr_t end = start + len;
    for (struct region *r = first_ending_after(s, start); r && r->start < end; r = region_next(r)) {
        if (r->flags & REGION_SHARED)
            continue; /* the object keeps its pages; nothing private to drop */
        pages_drop(s, r->start > start ? r->start : start, r->end < end ? r->end : end);
    }
    spin_unlock(&s->lock);
    return VMM_OK;
}

enum vmm_status region_populate(struct vmm_space *s, uintptr_t start, size_t len)
{
    enum vmm_status st = check_range(s, start, len);
    if (st != VMM_OK)
        return st;
    for (uintptr_t va = start; va < start + len; va += PAGE_SIZE) {
        struct region r;
        if (!region_lookup(s, va, &r) || (r.flags & REGION_GUARD))
            return VMM_ERR_NO_REGION;
        struct vmm_walk w;
        vmm_walk(s, va, 1, &w);
        if (w.end == WALK_LEAF && (*w.entry & PTE_P) && (!(r.prot & REGION_W) || (*w.entry & PTE_W)))
            continue;
        struct vmm_fault f;
        uint64_t err = (r.prot & REGION_W ? PF_ERR_W : 0) | (w.end == WALK_LEAF && (*w.entry & PTE_P) ? PF_ERR_P : 0);
        enum vmm_fault_result res = vmm_fault_resolve(s, va, err, &f);
        if (res == VMM_FAULT_OOM)
            return VMM_ERR_NOMEM;
        if (res != VMM_FAULT_RESOLVED)
            return VMM_ERR_NO_REGION;
    }
    return VMM_OK;
}

/* ---- queries ---------------------------------------------------------------- */

bool region_lookup(struct vmm_space *s, uintptr_t va, struct region *out)
{
    struct vmm_space *owner = va >= KERNEL_HALF_START ? &vmm_kernel_space : s;
    spin_lock(&owner->lock);
    struct region *r = region_find_locked(owner, va);
    if (r && out)
        *out = *r;
    spin_unlock(&owner->lock);
    return r != NULL;
}

uint64_t region_count(const struct vmm_space *s)
{
    return s->nregions;
}

void region_for_each(struct vmm_space *s, void (*fn)(void *ctx, const struct region *r), void *ctx)
{
    spin_lock(&s->lock);
    for (struct region *r = region_of(avl_first(&s->regions)); r; r = region_next(r))
        fn(ctx, r);
    spin_unlock(&s->lock);
}

const char *region_prot_str(unsigned prot, unsigned flags, char *buf, size_t n)
{
    if (flags & REGION_GUARD) {
        ksnprintf(buf, n, "guard");
        return buf;
    }
    ksnprintf(buf, n, "%c%c%c%c %s", prot & REGION_R ? 'r' : '-', prot & REGION_W ? 'w' : '-',
              prot & REGION_X ? 'x' : '-', prot & REGION_U ? 'u' : '-',
              flags & REGION_SHARED ? "shared" : "private");
    return buf;
}

void region_describe(const struct region *r, char *buf, size_t n)
{
    char p[24];
    region_prot_str(r->prot, r->flags, p, sizeof(p));
    if (!r->obj)
        ksnprintf(buf, n, "[%#lx, %#lx) %s%s%s%s", (unsigned long)r->start, (unsigned long)r->end, p,
                  r->name ? " '" : "", r->name ? r->name : "", r->name ? "'" : "");
    else
        ksnprintf(buf, n, "[%#lx, %#lx) %s, %s object #%u%s%s%s, offset page %llu",
                  (unsigned long)r->start, (unsigned long)r->end, p, vmobj_kind_str(r->obj->kind),
                  r->obj->id, r->name ? " '" : "", r->name ? r->name : "", r->name ? "'" : "",
                  (unsigned long long)r->offset);
}

/* ---- teardown and fork ---------------------------------------------------------- */

/* Remove every region of @s and everything its user half maps (space
 * teardown, and a clone that failed half-way).  One visit of the whole user
 * half drops every leaf and frees every table after its contents, which
 * are then gone: no visit per region, and no table searched for what is
 * left in it.  The regions go after their pages, as in region_unmap. */
void region_unmap_all(struct vmm_space *s)
{
    spin_lock(&s->lock);
    struct range_ctx c = { .s = s };
    struct vmm_visitor v = { .leaf = drop_leaf, .table_done = free_table, .ctx = &c };
    vmm_visit(s, 0, KERNEL_HALF_START - 1, &v);
    struct region *r;
    while ((r = region_of(avl_first(&s->regions)))) {
        tree_remove(s, r);
        region_release(s, r);
    }
    spin_unlock(&s->lock);
    index_shrink(s); /* empty: no block */
}

struct clone_ctx {
    struct vmm_space *dst, *src;
    const struct region *r;
    enum vmm_status st;
    struct vmm_install_cursor cur; /* in @dst: leaves come in address order */
};

static void clone_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct clone_ctx *c = ctx;
    uint64_t e = *entry;
    if (c->st != VMM_OK || level != 1)
        return;
    paddr_t pa = e & PTE_ADDR_MASK;
    bool owns = vmm_leaf_owns(e, 1);
    if (!(c->r->flags & REGION_SHARED) && (e & PTE_W)) {
        /* Private and writable: both sides now copy (or reuse) on write. */
        e = (e & ~PTE_W) | PTE_COW;
        *entry = e;
        mmu_invalidate(c->src->pml4, va);
    }
    if (owns && pmm_ref_inc(pa) != PMM_OK) {
        c->st = VMM_ERR_REFCOUNT;
        return;
    }
    /* The child's region is not registered with the parent's userfaultfd
     * (Linux without UFFD_FEATURE_EVENT_FORK): its pages are ordinary. */
    enum vmm_status st = vmm_install_next(c->dst, &c->cur, va, e & ~(PTE_A | PTE_D | PTE_UFFD_WP));
    if (st != VMM_OK) {
        if (owns)
            pmm_ref_dec(pa, NULL);
        c->st = st;
    }
}

enum vmm_status vmm_space_clone(struct vmm_space *dst, struct vmm_space *src)
{
    if (dst->nregions || dst == src)
        return VMM_ERR_EXISTS;
    if (!mmu_space_is_live(src->pml4) && !mmu_space_is_live(dst->pml4))
        return VMM_ERR_NOT_LIVE;
    struct clone_ctx c = { .dst = dst, .src = src, .st = VMM_OK, .cur = { 0 } };
    struct region_index grown = REGION_INDEX_EMPTY;
    spin_lock(&src->lock);
    /* @dst's index sized for all of @src's regions at once (@dst is new and
     * empty: nobody else changes it meanwhile). */
    if (src->nregions && !index_grow(&grown, src->nregions))
        c.st = VMM_ERR_NOMEM;
    spin_lock(&dst->lock);
    if (!index_room(dst, src->nregions, &grown))
        c.st = VMM_ERR_NOMEM;
    spin_unlock(&dst->lock);
    for (struct region *r = region_of(avl_first(&src->regions)); r && c.st == VMM_OK;
         r = region_next(r)) {
        struct region *copy = region_alloc();
        if (!copy) {
            c.st = VMM_ERR_NOMEM;
            break;
        }
        *copy = *r;
        copy->uffd = NULL;
        copy->uffd_mode = 0;
        if (copy->obj)
            vmobj_get(copy->obj);
        spin_lock(&dst->lock);
        tree_insert(dst, copy);
        spin_unlock(&dst->lock);
        c.r = r;
        struct vmm_visitor v = { .leaf = clone_leaf, .ctx = &c };
        vmm_visit(src, r->start, r->end - 1, &v);
    }
    spin_unlock(&src->lock);
    region_index_release(&grown);
    if (c.st != VMM_OK)
        region_unmap_all(dst);
    return c.st;
}
