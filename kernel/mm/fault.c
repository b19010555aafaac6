/* The page-fault dispatcher (RefOS's VM fault dispatcher, in a monolithic
 * kernel): one walk, then
 *   1. region lookup         no region: fatal (null page, stack guard, gap)
 *   2. permission check      the access against the region's rights
 *   3. dispatch              present entry: fault_present (CoW write,
 *                            spurious); missing: fault_shared / fault_private
 *                            by the region's kind and object
 * Outside region-managed ranges (the kernel image and windows) the page
 * tables alone decide (fault_unmanaged).  A write to a present CoW entry is
 * decided from the entry alone, before the region lookup (cow_write_on_entry:
 * the commonest fault after fork and after a read of lazy memory).  Nothing
 * here panics or blocks: the
 * result says resolved, fatal (with a reason), out of memory, or wait for a
 * pager, and the caller decides. */
#include "boot.h"
#include "kmap.h"
#include "kstring.h"
#include "mmu_hooks.h"
#include "region.h"
#include "vmm.h"
#include "vmobj.h"
#include "walk.h"

struct vmm_fault_counters vmm_counters;

/* The steps of one decision: inlined into vmm_fault_resolve, so that a
 * fault pays for one function's prologue and saved registers, not one per
 * step (each step's is about 15 instructions, as much as its work). */
#define FAULT_STEP static inline __attribute__((always_inline))

struct vmm_fault_counters vmm_counters_get(void)
{
    return vmm_counters;
}

static enum vmm_fault_result fault_fatal(struct vmm_fault *f, enum vmm_fault_reason why)
{
    f->reason = why;
    if (why == FAULT_OOM) {
        vmm_counters.oom++;
        f->result = VMM_FAULT_OOM;
    } else {
        vmm_counters.fatal++;
        f->result = VMM_FAULT_FATAL;
    }
    return f->result;
}

static enum vmm_fault_result fault_resolved(struct vmm_fault *f, enum vmm_fault_reason how)
{
    f->reason = how;
    f->result = VMM_FAULT_RESOLVED;
    return f->result;
}

/* Why nothing is mapped at @va, when no region holds it either. */
static enum vmm_fault_reason fault_unmapped_reason(uintptr_t va, enum vmm_fault_reason otherwise)
{
    if (va < PAGE_SIZE)
        return FAULT_NULL_DEREF;
    if (boot_is_guard_page(va))
        return FAULT_STACK_GUARD;
    return otherwise;
}

/* Whether the present entry the walk found already allows the access. */
FAULT_STEP bool entry_allows(const struct vmm_fault *f)
{
    uint64_t eff = f->walk.eff;
    if ((f->error & PF_ERR_U) && !(eff & PTE_U))
        return false;
    if ((f->error & PF_ERR_W) && !(eff & PTE_W))
        return false;
    if ((f->error & PF_ERR_I) && (eff & PTE_NX))
        return false;
    return true;
}

/* The entry after a CoW write is resolved: same rights, writable, no CoW;
 * accessed and dirty because the retried write will set them anyway. */
static uint64_t cow_resolved_entry(uint64_t old, paddr_t frame)
{
    return frame | (old & ~(PTE_ADDR_MASK | PTE_COW | PTE_NOREF | PTE_UFFD_WP)) | PTE_W | PTE_A |
           PTE_D;
}

/* A fresh frame holding a copy of @src (zeros when @src is the zero frame:
 * no copy needed).  False when out of memory (FAULT_OOM) or out of
 * temporary mappings (FAULT_KMAP_MISUSE, in *why). */
FAULT_STEP bool frame_fill(paddr_t src, paddr_t *out, enum vmm_fault_reason *why)
{
    paddr_t fresh;
    if (pmm_alloc(&fresh) != PMM_OK) {
        *why = FAULT_OOM;
        return false;
    }
    void *dst = kmap_push(fresh, true, NULL);
    const void *from = dst && src != vmm_zero_frame ? kmap_push(src, false, NULL) : NULL;
    if (!dst || (src != vmm_zero_frame && !from)) {
        if (dst)
            kmap_pop(dst);
        pmm_free(fresh);
        *why = FAULT_KMAP_MISUSE;
        return false;
    }
    if (from) {
        mm_copy_page(dst, from);
        kmap_pop((void *)from);
    } else {
        mm_zero_page(dst);
    }
    kmap_pop(dst);
    *out = fresh;
    return true;
}

/* A user-space pager decides this fault (the region is registered with a
 * userfaultfd): the caller blocks the thread on it and retries. */
static enum vmm_fault_result fault_uffd_wait(struct vmm_fault *f, const struct region *r,
                                             enum vmm_fault_reason why)
{
    f->wait_uffd = r->uffd;
    f->wait_obj = NULL;
    f->reason = why;
    f->result = VMM_FAULT_WAIT;
    vmm_counters.waits++;
    vmm_counters.uffd_waits++;
    return f->result;
}

/* ---- present entries: copy-on-write and spurious faults ------------------- */

static enum vmm_fault_result fault_unresolved(struct vmm_space *s, struct vmm_fault *f);

/* A CoW write that could not be resolved (out of memory, no temporary
 * mapping). */
static __attribute__((noinline)) enum vmm_fault_result cow_failed(struct vmm_space *s,
                                                                  struct vmm_fault *f,
                                                                  enum vmm_fault_reason why)
{
    fault_fatal(f, why);
    return fault_unresolved(s, f);
}

/* Not inlined: GCC's debug information places an inlined copy's entry where
 * a breakpoint never stops (the GDB test watches this step); the zeroing
 * dwarfs the call. */
static __attribute__((noinline)) enum vmm_fault_result cow_zero_fill(struct vmm_space *s,
                                                                     struct vmm_fault *f)
{
    paddr_t fresh;
    enum vmm_fault_reason why;
    if (!frame_fill(vmm_zero_frame, &fresh, &why))
        return cow_failed(s, f, why);
    *f->walk.entry = cow_resolved_entry(*f->walk.entry, fresh);
    mmu_invalidate(s->pml4, f->va);
    vmm_counters.zero_fills++;
    return fault_resolved(f, FAULT_ZERO_FILL);
}

/* Not inlined either: the copy dwarfs the call, and the reuse's path keeps
 * fewer registers without it. */
static __attribute__((noinline)) enum vmm_fault_result cow_copy(struct vmm_space *s,
                                                                struct vmm_fault *f, paddr_t shared)
{
    paddr_t fresh;
    enum vmm_fault_reason why;
    if (!frame_fill(shared, &fresh, &why))
        return cow_failed(s, f, why);
    uint64_t old = *f->walk.entry;
    *f->walk.entry = cow_resolved_entry(old, fresh);
    mmu_invalidate(s->pml4, f->va);
    /* Our reference to the shared frame goes (if the entry held one: a
     * physical object's frame is held by nobody); others still hold it.
     * One 4 KiB frame: vmm_leaf_put's loop over a huge page's frames is
     * not needed. */
    if (vmm_leaf_owns(old, 1))
        pmm_ref_dec(shared, NULL);
    vmm_counters.copies++;
    return fault_resolved(f, FAULT_COW_COPY);
}

/* @live: @s is known to be the live space (its walk hit the walk cache,
 * which holds the live space's table alone): invlpg without asking. */
FAULT_STEP enum vmm_fault_result cow_reuse(struct vmm_space *s, struct vmm_fault *f, paddr_t frame,
                                           bool live)
{
    *f->walk.entry = cow_resolved_entry(*f->walk.entry, frame);
    if (live)
        mmu_invalidate_live(f->va);
    else
        mmu_invalidate(s->pml4, f->va);
    vmm_counters.reuses++;
    return fault_resolved(f, FAULT_COW_REUSE);
}

static enum vmm_fault_result fault_spurious(struct vmm_space *s, struct vmm_fault *f)
{
    mmu_invalidate(s->pml4, f->va);
    vmm_counters.spurious++;
    return fault_resolved(f, FAULT_SPURIOUS);
}

/* A write to a CoW entry: the zero frame gets a fresh zeroed frame; a frame
 * we alone hold (count 1) is reused; anything else (shared after fork, an
 * object's page, a physical frame) is copied.  cow_zero_fill and cow_copy
 * are functions of their own, whichever path decided the write: a
 * debugger's breakpoint on them has one place to stop. */
FAULT_STEP enum vmm_fault_result fault_cow_write(struct vmm_space *s, struct vmm_fault *f,
                                                 bool live)
{
    uint64_t e = *f->walk.entry;
    paddr_t frame = e & PTE_ADDR_MASK;
    if (frame == vmm_zero_frame)
        return cow_zero_fill(s, f);
    if (vmm_leaf_owns(e, 1) && pmm_sole_reference(frame))
        return cow_reuse(s, f, frame, live);
    return cow_copy(s, f, frame);
}

/* The rules of a write the CPU refused only for the entry's CoW bit (level
 * 1, present, the U rule met), each one mask and one compare, with error
 * bits @not_error and entry bits @not_entry required clear as well.  The U
 * rule: a user access needs U in the effective rights, and the error
 * code's U bit is the entries' U bit. */
FAULT_STEP bool cow_write_rules(const struct vmm_fault *f, uint64_t not_error, uint64_t not_entry)
{
    _Static_assert(PF_ERR_U == PTE_U, "the U rule compares the two bits");
    return f->walk.end == WALK_LEAF && (f->error & (PF_ERR_W | not_error)) == PF_ERR_W &&
           (*f->walk.entry & (PTE_P | PTE_COW | not_entry)) == (PTE_P | PTE_COW) &&
           !(f->error & ~f->walk.eff & PF_ERR_U);
}

/* A write the CPU refused only for the entry's CoW bit: copy-on-write
 * decides. */
FAULT_STEP bool entry_is_cow_write(const struct vmm_fault *f)
{
    return cow_write_rules(f, 0, 0);
}

/* A present entry the region allows: spurious, a CoW write (*cow_write:
 * the caller resolves it), or a disagreement. */
FAULT_STEP enum vmm_fault_result fault_present(struct vmm_space *s, struct vmm_fault *f,
                                           bool *cow_write)
{
    if (entry_allows(f))
        return fault_spurious(s, f);
    if (entry_is_cow_write(f)) {
        *cow_write = true;
        return VMM_FAULT_RESOLVED; /* not yet: the caller resolves it */
    }
    /* The region allows the access but the entry does not: the tables and
     * the region disagree. */
    return fault_fatal(f, FAULT_ENTRY_MISMATCH);
}

/* ---- missing entries: fill from the region's object ---------------------- */

static uint64_t region_rights(const struct region *r)
{
    /* A physical object's frames are nobody's to count. */
    return PTE_P | region_pte_ux(r) | (r->obj->kind == VMOBJ_PHYS ? PTE_NOREF : 0);
}

/* Install @entry at the faulting page.  With @take_ref the entry gets its
 * own reference to a frame others hold too (an object's page), unless it
 * owns nothing (the zero frame, PTE_NOREF); without, the entry takes over
 * the caller's (a fresh frame). */
FAULT_STEP enum vmm_fault_result install(struct vmm_space *s, struct vmm_fault *f, uint64_t entry,
                                     bool take_ref, enum vmm_fault_reason how)
{
    paddr_t pa = entry & PTE_ADDR_MASK;
    bool ref = take_ref && vmm_leaf_owns(entry, 1);
    if (ref && pmm_ref_inc(pa) != PMM_OK)
        return fault_fatal(f, FAULT_REFCOUNT);
    /* The fault's walk reached the page table: the entry is right there
     * (not present, so no translation of it can be cached).  Otherwise
     * the tables on the way are made first. */
    if (f->walk.end == WALK_LEAF) {
        *f->walk.entry = entry;
        return fault_resolved(f, how);
    }
    enum vmm_status st = vmm_install(s, f->va & ~(uintptr_t)(PAGE_SIZE - 1), 1, entry);
    if (st != VMM_OK) {
        if (ref)
            pmm_ref_dec(pa, NULL);
        return fault_fatal(f, st == VMM_ERR_NOMEM ? FAULT_OOM : FAULT_ENTRY_MISMATCH);
    }
    return fault_resolved(f, how);
}

/* The object's page for the fault, asking the pager if needed.  On a
 * result other than VMOBJ_GOT / VMOBJ_HOLE, *res is the fault's result. */
FAULT_STEP enum vmobj_get object_page(struct vmobj *o, struct vmm_fault *f, bool fill_holes,
                                  paddr_t *pa, enum vmm_fault_result *res, bool *new_page)
{
    /* An anonymous object that never held a page (private anonymous
     * memory, the common case): a hole, nothing to look up. */
    if (o->kind == VMOBJ_ANON && !fill_holes && !o->cached) {
        *new_page = false;
        return VMOBJ_HOLE;
    }
    uint64_t before = o->cached;
    f->pager_why = NULL;
    enum vmobj_get g = vmobj_page_get(o, f->page_index, fill_holes, pa, &f->pager_why);
    *new_page = o->cached != before;
    switch (g) {
    case VMOBJ_GOT:
        if (*new_page && o->kind == VMOBJ_PAGED)
            vmm_counters.page_ins++;
        break;
    case VMOBJ_HOLE:
        break;
    case VMOBJ_NOMEM:
        *res = fault_fatal(f, FAULT_OOM);
        break;
    case VMOBJ_FAILED:
        *res = fault_fatal(f, FAULT_PAGER_FAILED);
        break;
    case VMOBJ_LATER:
        f->wait_obj = o;
        f->wait_index = f->page_index;
        f->wait_uffd = NULL;
        f->reason = FAULT_PAGER_WAIT;
        f->result = VMM_FAULT_WAIT;
        vmm_counters.waits++;
        *res = VMM_FAULT_WAIT;
        break;
    }
    return g;
}

/* Shared: the object's own page, with the region's rights; anonymous holes
 * get a zeroed page in the object first. */
FAULT_STEP enum vmm_fault_result fault_shared(struct vmm_space *s, const struct region *r,
                                          struct vmm_fault *f)
{
    paddr_t pa;
    enum vmm_fault_result res = VMM_FAULT_FATAL; /* set by object_page when it matters */
    bool fresh;
    /* A page the object never had: a registered range's pager provides it. */
    if (r->uffd && (r->uffd_mode & REGION_UFFD_MISSING) && r->obj->kind == VMOBJ_ANON &&
        !vmobj_page_lookup(r->obj, f->page_index))
        return fault_uffd_wait(f, r, FAULT_UFFD_MISSING);
    if (object_page(r->obj, f, true, &pa, &res, &fresh) != VMOBJ_GOT)
        return res;
    bool filled = fresh && r->obj->kind == VMOBJ_ANON;
    uint64_t e = pa | region_rights(r) | (r->prot & REGION_W ? PTE_W : 0);
    res = install(s, f, e, true,
                  filled ? FAULT_ZERO_FILL : fresh ? FAULT_PAGE_IN : FAULT_MAP_PAGE);
    if (res == VMM_FAULT_RESOLVED) {
        if (filled)
            vmm_counters.zero_fills++;
        else
            vmm_counters.page_maps++;
    }
    return res;
}

/* Private: reads map the object's page (or the zero frame) read-only, CoW
 * when the region is writable; a write gets this region's own copy at
 * once, zeroed for an anonymous hole: one fault, not a read then a CoW. */
FAULT_STEP enum vmm_fault_result fault_private(struct vmm_space *s, const struct region *r,
                                           struct vmm_fault *f)
{
    paddr_t src;
    enum vmm_fault_result res = VMM_FAULT_FATAL; /* set by object_page when it matters */
    bool paged_in;
    enum vmobj_get g = object_page(r->obj, f, false, &src, &res, &paged_in);
    if (g != VMOBJ_GOT && g != VMOBJ_HOLE)
        return res;
    if (g == VMOBJ_HOLE && r->uffd && (r->uffd_mode & REGION_UFFD_MISSING))
        return fault_uffd_wait(f, r, FAULT_UFFD_MISSING);
    if (g == VMOBJ_HOLE)
        src = vmm_zero_frame;
    if (f->error & PF_ERR_W) {
        paddr_t fresh;
        enum vmm_fault_reason why;
        if (!frame_fill(src, &fresh, &why))
            return fault_fatal(f, why);
        uint64_t e = fresh | region_pte_ux(r) | PTE_P | PTE_W | PTE_A | PTE_D;
        res = install(s, f, e, false, g == VMOBJ_HOLE ? FAULT_ZERO_FILL : FAULT_PRIVATE_COPY);
        if (res != VMM_FAULT_RESOLVED) {
            pmm_free(fresh);
            return res;
        }
        if (g == VMOBJ_HOLE)
            vmm_counters.zero_fills++;
        else
            vmm_counters.copies++;
        return res;
    }
    uint64_t e = src | region_rights(r) | (r->prot & REGION_W ? PTE_COW : 0);
    res = install(s, f, e, true,
                  g == VMOBJ_HOLE ? FAULT_MAP_ZERO : paged_in ? FAULT_PAGE_IN : FAULT_MAP_PAGE);
    if (res == VMM_FAULT_RESOLVED) {
        if (g == VMOBJ_HOLE)
            vmm_counters.zero_maps++;
        else
            vmm_counters.page_maps++;
    }
    return res;
}

/* ---- the decision --------------------------------------------------------- */

FAULT_STEP void note_region(struct vmm_fault *f, const struct region *r)
{
    f->has_region = true;
    f->region_start = r->start;
    f->region_end = r->end;
    f->region_prot = r->prot;
    f->region_flags = r->flags;
    f->region_name = r->name;
    f->object_id = r->obj ? r->obj->id : 0;
    f->object_kind = r->obj ? (int)r->obj->kind : -1;
    f->region_offset = r->offset;
    f->region_skipped = false;
}

/* The access against the region's permissions. */
FAULT_STEP enum vmm_fault_reason region_refuses(const struct region *r, uint64_t error)
{
    if (r->flags & REGION_GUARD)
        return FAULT_GUARD_REGION;
    if ((error & PF_ERR_U) && !(r->prot & REGION_U))
        return FAULT_REGION_NO_USER;
    if (error & PF_ERR_I)
        return r->prot & REGION_X ? FAULT_NONE : FAULT_REGION_NO_EXEC;
    if (error & PF_ERR_W)
        return r->prot & REGION_W ? FAULT_NONE : FAULT_REGION_NO_WRITE;
    return r->prot & REGION_R ? FAULT_NONE : FAULT_REGION_NO_READ;
}

FAULT_STEP enum vmm_fault_result region_decides(struct vmm_space *s, const struct region *r,
                                            struct vmm_fault *f, bool *cow_write)
{
    enum vmm_fault_reason no = region_refuses(r, f->error);
    if (no != FAULT_NONE)
        return fault_fatal(f, no);
    if (f->walk.end == WALK_HUGE)
        return fault_fatal(f, FAULT_ENTRY_MISMATCH); /* regions map 4 KiB pages only */
    if (f->walk.end == WALK_LEAF && (*f->walk.entry & PTE_P)) {
        /* Write-protected for a pager: it sees the write before anyone copies. */
        if ((f->error & PF_ERR_W) && (*f->walk.entry & PTE_UFFD_WP) && r->uffd &&
            (r->uffd_mode & REGION_UFFD_WP))
            return fault_uffd_wait(f, r, FAULT_UFFD_WP);
        return fault_present(s, f, cow_write);
    }
    /* Missing.  (A PTE_PROTNONE entry, not present but holding its frame,
     * never gets here to be filled over: its region has no rights, so
     * region_refuses refused every access above.) */
    if (r->flags & REGION_SHARED)
        return fault_shared(s, r, f);
    return fault_private(s, r, f);
}

/* The region's decision.  Its particulars go into the record only when the
 * fault is reported or waits (the report, the pager and the tests read
 * them); a resolved fault's region is the one holding va, which zf-fault
 * looks up when asked: copying it on every fault cost as much as a step. */
FAULT_STEP enum vmm_fault_result fault_in_region(struct vmm_space *s, const struct region *r,
                                             struct vmm_fault *f, bool *cow_write)
{
    if (!r)
        return fault_fatal(f, fault_unmapped_reason(f->va, FAULT_NO_REGION));
    f->page_index = r->offset + (f->va - r->start) / PAGE_SIZE;
    enum vmm_fault_result res = region_decides(s, r, f, cow_write);
    if (res == VMM_FAULT_RESOLVED)
        f->region_skipped = true;
    else
        note_region(f, r);
    return res;
}

/* ---- the fast path: a CoW write decided from the entry alone --------------
 * Invariant (checked by vmm_check_consistency and the model checker): a
 * level-1 entry carries PTE_COW only inside a region-managed range, under a
 * region that allows writes and is not a guard.  Every path that lowers a
 * region's rights keeps it: region_protect rebuilds the entries from the
 * new rights (read-only: no CoW bit), userfaultfd write protection adds
 * PTE_UFFD_WP (which sends the write to the pager, below: the slow path),
 * clone only turns W into CoW under a writable region.  So when the CPU's
 * U rule allowed the entry, the region would allow the write: the lookup,
 * its lock and the permission check have nothing to add.
 * Locking: none taken.  The decision reads the entry once and writes it
 * once, and the frame's reference count; today one CPU runs the kernel with
 * interrupts off, so nothing changes either in between.  With SMP that no
 * longer holds: region_protect and clone change entries under the space
 * lock, and clone raises a CoW frame's count without changing the entry
 * (so a compare-and-exchange of the entry alone would not see a fork
 * between the reuse test and the update).  The fast path must then take
 * the space lock around the decision too (still no region lookup), or a
 * page-table lock that clone takes as well. */
FAULT_STEP bool cow_write_on_entry(const struct vmm_fault *f)
{
    /* Not a reserved-bit fault either, and not write-protected for a pager
     * (that write takes the region's path, so that the pager sees it). */
    return cow_write_rules(f, PF_ERR_RSVD, PTE_UFFD_WP);
}

/* The kernel image and windows: no regions, the tables decide. */
static enum vmm_fault_result fault_unmanaged(struct vmm_space *s, struct vmm_fault *f)
{
    if (f->walk.end != WALK_HUGE && !(*f->walk.entry & PTE_P))
        return fault_fatal(f, fault_unmapped_reason(f->va, FAULT_NOT_PRESENT));
    if (entry_allows(f))
        return fault_spurious(s, f);
    if ((f->error & PF_ERR_U) && !(f->walk.eff & PTE_U))
        return fault_fatal(f, FAULT_USER_SUPERVISOR);
    if (f->error & PF_ERR_W) {
        paddr_t frame = *f->walk.entry & PTE_ADDR_MASK;
        return fault_fatal(f, f->walk.level == 1 && frame == vmm_zero_frame
                                  ? FAULT_ZERO_FRAME_WRITE
                                  : FAULT_WRITE_READONLY);
    }
    return fault_fatal(f, FAULT_EXEC_NX);
}

static struct vmm_space *fault_owner(struct vmm_space *s, uintptr_t va)
{
    /* The kernel half's regions belong to the kernel space, shared by all. */
    return va >= KERNEL_HALF_START ? &vmm_kernel_space : s;
}

/* What is reported or waits gets the whole record: its region, where the
 * decision skipped the lookup (region_skipped: a CoW write decided from its
 * entry, or decided in the region and then out of memory), and the whole
 * walk, where the fault path's went straight to the leaf (walk.h).
 * Nothing changed the tables or the regions on the way to such a result. */
static __attribute__((noinline)) enum vmm_fault_result fault_unresolved(struct vmm_space *s,
                                                                        struct vmm_fault *f)
{
    if (f->region_skipped) {
        struct vmm_space *owner = fault_owner(s, f->va);
        spin_lock(&owner->lock);
        const struct region *r = region_find_locked(owner, f->va);
        if (r) {
            f->page_index = r->offset + (f->va - r->start) / PAGE_SIZE;
            note_region(f, r);
        }
        spin_unlock(&owner->lock);
    }
    if (f->walk.leaf_only)
        vmm_walk(s, f->va, 1, &f->walk);
    return f->result;
}

static __attribute__((noinline)) enum vmm_fault_result fault_noncanonical(struct vmm_fault *f)
{
    f->walk.level = 5; /* no walk */
    f->walk.leaf_only = false;
    f->region_skipped = false;
    return fault_fatal(f, FAULT_NONCANONICAL);
}

/* Every fault but a write to a present CoW entry: the tables, or the
 * region, decide.  Out of line: the commonest faults never come here, and
 * do not pay for the registers it keeps. */
static __attribute__((noinline)) enum vmm_fault_result fault_in_space(struct vmm_space *s,
                                                                      struct vmm_fault *f)
{
    enum vmm_fault_result res;
    f->region_skipped = false;
    struct vmm_space *owner = fault_owner(s, f->va);
    if (f->error & PF_ERR_RSVD) {
        res = fault_fatal(f, FAULT_RESERVED_BIT);
    } else if (!region_managed(owner, f->va)) {
        res = fault_unmanaged(s, f);
    } else {
        bool cow_write = false;
        spin_lock(&owner->lock);
        res = fault_in_region(s, region_find_locked(owner, f->va), f, &cow_write);
        spin_unlock(&owner->lock);
        if (cow_write)
            return fault_cow_write(s, f, false); /* its failures complete the record */
    }
    return res == VMM_FAULT_RESOLVED ? res : fault_unresolved(s, f);
}

/* After the walk: a write to a present CoW entry is decided from the entry
 * (the invariant above), everything else in fault_in_space.  @live: the
 * walk hit the walk cache, so @s is the live space. */
FAULT_STEP enum vmm_fault_result fault_after_walk(struct vmm_space *s, struct vmm_fault *f,
                                                  bool live)
{
    if (cow_write_on_entry(f) && region_managed(fault_owner(s, f->va), f->va)) {
        f->region_skipped = true; /* the invariant stands for the region */
        return fault_cow_write(s, f, live);
    }
    return fault_in_space(s, f);
}

/* The walk cache did not hold the table: the four levels, then the same.
 * Out of line, so that the cached path calls nothing it must come back
 * from (no registers to save). */
static __attribute__((noinline)) enum vmm_fault_result fault_descend(struct vmm_space *s,
                                                                     struct vmm_fault *f)
{
    if (!va_is_canonical(f->va))
        return fault_noncanonical(f);
    walk_fault_descend(s, f->va, &f->walk);
    return fault_after_walk(s, f, false);
}

/* The decision, into @f.  Only the fields every path reads are set here;
 * the rest where they are known: the region's (with object_id and
 * object_kind) with has_region, pager_why with FAULT_PAGER_FAILED, wait_*
 * with VMM_FAULT_WAIT.  Clearing the whole record would cost more than the
 * decision.  The one walk of the fault is walk_fault_leaf's, split here
 * into its two cases. */
enum vmm_fault_result vmm_fault_resolve(struct vmm_space *s, uintptr_t va, uint64_t error,
                                        struct vmm_fault *f)
{
    f->va = va;
    f->error = error;
    f->has_region = false; /* region_skipped: set by each path */
    /* A hit in the walk cache means a canonical @va: the cached key is a
     * canonical address's bits 63-21.  Anything else is checked first. */
    if (!walk_fault_cached(s, va, &f->walk))
        return fault_descend(s, f);
    return fault_after_walk(s, f, true);
}

const char *vmm_fault_reason_str(enum vmm_fault_reason r)
{
    switch (r) {
    case FAULT_NONE: return "none";
    case FAULT_ZERO_FILL: return "first write to lazily allocated memory (zero-filled)";
    case FAULT_COW_COPY: return "write to a shared copy-on-write page (copied)";
    case FAULT_COW_REUSE: return "write to an unshared copy-on-write page (reused)";
    case FAULT_SPURIOUS: return "spurious fault (entry already allowed the access)";
    case FAULT_NULL_DEREF: return "null pointer dereference";
    case FAULT_NONCANONICAL: return "non-canonical address";
    case FAULT_NOT_PRESENT: return "page not present";
    case FAULT_WRITE_READONLY: return "write to read-only page";
    case FAULT_EXEC_NX: return "execute of NX page";
    case FAULT_RESERVED_BIT: return "reserved bit set in a page-table entry";
    case FAULT_USER_SUPERVISOR: return "user-mode access to a supervisor page";
    case FAULT_STACK_GUARD: return "kernel stack guard page hit (stack overflow)";
    case FAULT_ZERO_FRAME_WRITE: return "write to the reserved zero frame without CoW";
    case FAULT_OOM: return "out of memory while resolving the fault";
    case FAULT_KMAP_MISUSE: return "no temporary mapping slot while resolving a fault";
    case FAULT_MAP_ZERO: return "read of untouched anonymous memory (zero frame mapped)";
    case FAULT_MAP_PAGE: return "first access to an object's page (mapped)";
    case FAULT_PAGE_IN: return "page provided by the pager (mapped)";
    case FAULT_PRIVATE_COPY: return "write to a private region (own copy of the object's page)";
    case FAULT_NO_REGION: return "no region holds this address";
    case FAULT_GUARD_REGION: return "access to a guard region";
    case FAULT_REGION_NO_READ: return "read of a region without read permission";
    case FAULT_REGION_NO_WRITE: return "write to a region without write permission";
    case FAULT_REGION_NO_EXEC: return "execute in a region without execute permission";
    case FAULT_REGION_NO_USER: return "user-mode access to a region without user permission";
    case FAULT_PAGER_FAILED: return "pager failed to provide the page";
    case FAULT_PAGER_WAIT: return "waiting for the pager to provide the page";
    case FAULT_ENTRY_MISMATCH: return "page-table entry disagrees with its region (VMM bug)";
    case FAULT_REFCOUNT: return "frame reference count would overflow";
    case FAULT_UFFD_MISSING: return "missing page of a userfaultfd range (waiting for its pager)";
    case FAULT_UFFD_WP: return "write to a userfaultfd write-protected page (waiting for its pager)";
    }
    return "unknown fault reason";
}
