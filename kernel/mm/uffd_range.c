/* userfaultfd ranges and provided pages (include/uffd.h, mm side): which
 * regions a user-space pager decides, its write protection, and the page it
 * provides.  Nothing here blocks or knows about files: the fault path only
 * answers "wait for this context" (fault.c), kernel/proc/uffd.c does the
 * rest. */
#include "mmu_hooks.h"
#include "region.h"
#include "uffd.h"
#include "vmobj.h"
#include "walk.h"

struct reg_ctx {
    struct uffd_ctx *ctx;
    unsigned mode;
    unsigned count;
    uintptr_t lo, hi;
    bool wp;
    struct vmm_space *s;
};

static enum vmm_status reg_check(const struct region *r, void *arg)
{
    struct reg_ctx *c = arg;
    if ((r->flags & REGION_GUARD) || !r->obj || r->obj->kind != VMOBJ_ANON || !(r->prot & REGION_U))
        return VMM_ERR_BAD_FLAGS; /* Linux: anonymous (and shmem) memory only */
    if ((c->mode & REGION_UFFD_WP) && (r->flags & REGION_SHARED))
        return VMM_ERR_BAD_FLAGS; /* shared write protection: not implemented */
    if (r->uffd && r->uffd != c->ctx)
        return VMM_ERR_EXISTS;
    return VMM_OK;
}

/* Set or release PTE_UFFD_WP on a leaf: the page keeps PTE_COW if it had
 * it, so the next write decides copy or reuse as ever.  A PTE_PROTNONE leaf
 * (never W or CoW) keeps the mark for when its region gets rights back. */
static void wp_leaf(void *arg, uintptr_t va, uint64_t *entry, int level)
{
    struct reg_ctx *c = arg;
    uint64_t e = *entry, n = e;
    if (level != 1)
        return;
    if (c->wp)
        n = (e & ~PTE_W) | (e & (PTE_W | PTE_COW) ? PTE_COW : 0) | PTE_UFFD_WP;
    else
        n = e & ~PTE_UFFD_WP;
    if (n != e) {
        *entry = n;
        mmu_invalidate(c->s->pml4, va);
    }
}

static void pages_wp(struct vmm_space *s, uintptr_t a, uintptr_t b, struct reg_ctx *c)
{
    c->s = s;
    struct vmm_visitor v = { .leaf = wp_leaf, .ctx = c };
    vmm_visit(s, a, b - 1, &v);
}

static void reg_apply(struct vmm_space *s, struct region *r, uintptr_t a, uintptr_t b, void *arg)
{
    struct reg_ctx *c = arg;
    /* Registered again without WP: the write protection goes with the mode,
     * so that PTE_UFFD_WP is only ever in WP ranges (unregister clears it
     * there). */
    if ((r->uffd_mode & REGION_UFFD_WP) && !(c->mode & REGION_UFFD_WP)) {
        c->wp = false;
        pages_wp(s, a, b, c);
    }
    r->uffd = c->ctx;
    r->uffd_mode = c->mode;
}

enum vmm_status uffd_range_register(struct vmm_space *s, uintptr_t start, size_t len,
                                    struct uffd_ctx *ctx, unsigned mode)
{
    if (start >= REGION_USER_END || !mode || (mode & ~(REGION_UFFD_MISSING | REGION_UFFD_WP)))
        return VMM_ERR_RANGE;
    struct reg_ctx c = { .ctx = ctx, .mode = mode };
    struct region_range_ops ops = { .split = true, .check = reg_check, .apply = reg_apply };
    return region_range_apply(s, start, len, &ops, &c);
}

static bool not_ours(const struct region *r, void *arg)
{
    return r->uffd != ((struct reg_ctx *)arg)->ctx;
}

static void unreg_apply(struct vmm_space *s, struct region *r, uintptr_t a, uintptr_t b, void *arg)
{
    struct reg_ctx *c = arg;
    if (r->uffd_mode & REGION_UFFD_WP) {
        c->wp = false;
        pages_wp(s, a, b, c);
    }
    r->uffd = NULL;
    r->uffd_mode = 0;
    if (!c->count++ || a < c->lo)
        c->lo = a;
    if (b > c->hi)
        c->hi = b;
}

enum vmm_status uffd_range_unregister(struct vmm_space *s, uintptr_t start, size_t len,
                                      struct uffd_ctx *ctx)
{
    if (start >= REGION_USER_END)
        return VMM_ERR_RANGE;
    struct reg_ctx c = { .ctx = ctx };
    struct region_range_ops ops = {
        .split = true, .holes_ok = true, .skip = not_ours, .apply = unreg_apply
    };
    return region_range_apply(s, start, len, &ops, &c);
}

unsigned uffd_range_release(struct vmm_space *s, struct uffd_ctx *ctx, uintptr_t *lo,
                            uintptr_t *hi)
{
    struct reg_ctx c = { .ctx = ctx };
    struct region_range_ops ops = { .holes_ok = true, .skip = not_ours, .apply = unreg_apply };
    region_range_apply(s, REGION_USER_MIN, REGION_USER_END - REGION_USER_MIN, &ops, &c);
    *lo = c.lo;
    *hi = c.hi;
    return c.count;
}

static enum vmm_status wp_check(const struct region *r, void *arg)
{
    struct reg_ctx *c = arg;
    return r->uffd == c->ctx && (r->uffd_mode & REGION_UFFD_WP) ? VMM_OK : VMM_ERR_NO_REGION;
}

static void wp_apply(struct vmm_space *s, struct region *r, uintptr_t a, uintptr_t b, void *arg)
{
    (void)r;
    pages_wp(s, a, b, arg);
}

enum vmm_status uffd_range_writeprotect(struct vmm_space *s, uintptr_t start, size_t len,
                                        struct uffd_ctx *ctx, bool wp)
{
    if (start >= REGION_USER_END)
        return VMM_ERR_RANGE;
    struct reg_ctx c = { .ctx = ctx, .wp = wp };
    struct region_range_ops ops = { .check = wp_check, .apply = wp_apply };
    return region_range_apply(s, start, len, &ops, &c);
}

enum vmm_status uffd_page_provide(struct vmm_space *s, uintptr_t va, struct uffd_ctx *ctx,
                                  paddr_t frame, bool wp)
{
    if (va >= REGION_USER_END || (va & (PAGE_SIZE - 1)))
        return VMM_ERR_RANGE;
    spin_lock(&s->lock);
    enum vmm_status st = VMM_OK;
    struct region *r = region_find_locked(s, va);
    struct vmm_walk w;
    if (!r || r->uffd != ctx) {
        st = VMM_ERR_NO_REGION;
        goto out;
    }
    if (wp && !(r->uffd_mode & REGION_UFFD_WP)) {
        st = VMM_ERR_BAD_FLAGS; /* PTE_UFFD_WP only in WP ranges (Linux: EINVAL) */
        goto out;
    }
    vmm_walk(s, va, 1, &w);
    if (w.end == WALK_HUGE || (w.end == WALK_LEAF && vmm_entry_held(*w.entry))) {
        st = VMM_ERR_EXISTS;
        goto out;
    }
    uint64_t index = r->offset + (va - r->start) / PAGE_SIZE;
    if (r->flags & REGION_SHARED) {
        /* Into the object's page cache, as the module pager's pages go; the
         * waiting fault maps it when it retries. */
        if (!frame) {
            st = frame_alloc_zeroed(&frame);
            if (st != VMM_OK)
                goto out;
            st = vmobj_page_provide(r->obj, index, frame);
            if (st != VMM_OK)
                pmm_free(frame);
        } else {
            st = vmobj_page_provide(r->obj, index, frame);
        }
        goto out;
    }
    /* Private: the page is this mapping's own, in its page table, with the
     * region's rights now (protect may have taken U, or every right, since
     * registration). */
    uint64_t e = region_leaf_rights(r);
    bool writable = r->prot & REGION_W;
    if (!frame)
        e |= vmm_zero_frame | (writable ? PTE_COW : 0);
    else if (wp)
        e |= frame | (writable ? PTE_COW : 0) | PTE_A;
    else
        e |= frame | (writable ? PTE_W | PTE_D : 0) | PTE_A;
    if (wp && writable)
        e |= PTE_UFFD_WP;
    st = vmm_install(s, va, 1, e);
out:
    spin_unlock(&s->lock);
    return st;
}
