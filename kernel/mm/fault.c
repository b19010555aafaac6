/* The page-fault decision: one walk, then exactly one of
 *   cow_zero_fill  write to a CoW page on the zero frame: fresh zeroed frame
 *   cow_copy       write to a CoW page whose frame is shared: copy it
 *   cow_reuse      write to a CoW page whose frame is ours alone: make it RW
 *   fault_spurious the entry already allows the access (stale TLB entry)
 * or a fatal reason.  Nothing here panics: the caller decides. */
#include "boot.h"
#include "kmap.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

struct vmm_fault_counters vmm_counters;

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

/* Why nothing is mapped at @va. */
static enum vmm_fault_reason fault_not_present_reason(uintptr_t va)
{
    if (va < PAGE_SIZE)
        return FAULT_NULL_DEREF;
    if (boot_is_guard_page(va))
        return FAULT_STACK_GUARD;
    return FAULT_NOT_PRESENT;
}

static bool fault_is_cow(const struct vmm_walk *w)
{
    return w->level == 1 && (*w->entry & PTE_COW);
}

/* The entry after a CoW write is resolved: same rights, writable, no CoW;
 * accessed and dirty because the retried write will set them anyway. */
static uint64_t cow_resolved_entry(uint64_t old, paddr_t frame)
{
    return frame | (old & ~(PTE_ADDR_MASK | PTE_COW)) | PTE_W | PTE_A | PTE_D;
}

static enum vmm_fault_result cow_zero_fill(struct vmm_space *s, struct vmm_fault *f)
{
    paddr_t fresh;
    if (pmm_alloc(&fresh) != PMM_OK)
        return fault_fatal(f, FAULT_OOM);
    void *p = kmap_push(fresh, true, NULL);
    if (!p) {
        pmm_free(fresh);
        return fault_fatal(f, FAULT_KMAP_MISUSE);
    }
    mm_zero_page(p); /* no copy from the zero frame: it is all zeros */
    kmap_pop(p);
    *f->walk.entry = cow_resolved_entry(*f->walk.entry, fresh);
    mmu_invalidate(s->pml4, f->va);
    vmm_counters.zero_fills++;
    return fault_resolved(f, FAULT_ZERO_FILL);
}

static enum vmm_fault_result cow_copy(struct vmm_space *s, struct vmm_fault *f, paddr_t shared)
{
    paddr_t fresh;
    if (pmm_alloc(&fresh) != PMM_OK)
        return fault_fatal(f, FAULT_OOM);
    void *dst = kmap_push(fresh, true, NULL);
    const void *src = dst ? kmap_push(shared, false, NULL) : NULL;
    if (!src) {
        if (dst)
            kmap_pop(dst);
        pmm_free(fresh);
        return fault_fatal(f, FAULT_KMAP_MISUSE);
    }
    mm_copy_page(dst, src);
    kmap_pop((void *)src);
    kmap_pop(dst);
    *f->walk.entry = cow_resolved_entry(*f->walk.entry, fresh);
    mmu_invalidate(s->pml4, f->va);
    /* Our reference to the shared frame goes; it was > 1, so it stays alive
     * for the other sharers. */
    pmm_ref_dec(shared, NULL);
    vmm_counters.copies++;
    return fault_resolved(f, FAULT_COW_COPY);
}

static enum vmm_fault_result cow_reuse(struct vmm_space *s, struct vmm_fault *f, paddr_t frame)
{
    *f->walk.entry = cow_resolved_entry(*f->walk.entry, frame);
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

static enum vmm_fault_result fault_write(struct vmm_space *s, struct vmm_fault *f)
{
    const struct vmm_walk *w = &f->walk;
    if (w->eff & PTE_W)
        return fault_spurious(s, f);
    paddr_t frame = *w->entry & PTE_ADDR_MASK;
    if (fault_is_cow(w)) {
        if (frame == vmm_zero_frame)
            return cow_zero_fill(s, f);
        if (pmm_refcount(frame) > 1)
            return cow_copy(s, f, frame);
        return cow_reuse(s, f, frame);
    }
    if (w->level == 1 && frame == vmm_zero_frame)
        return fault_fatal(f, FAULT_ZERO_FRAME_WRITE);
    return fault_fatal(f, FAULT_WRITE_READONLY);
}

enum vmm_fault_result vmm_fault_handle(struct vmm_space *s, uintptr_t va, uint64_t error,
                                       struct vmm_fault *f)
{
    vmm_counters.faults++;
    f->va = va;
    f->error = error;
    if (!va_is_canonical(va)) {
        f->walk.level = 5; /* no walk */
        return fault_fatal(f, FAULT_NONCANONICAL);
    }
    walk_core(s, va, 1, false, &f->walk); /* the one walk of this fault */
    if (error & PF_ERR_RSVD)
        return fault_fatal(f, FAULT_RESERVED_BIT);
    if (!(*f->walk.entry & PTE_P))
        return fault_fatal(f, fault_not_present_reason(va));
    if ((error & PF_ERR_U) && !(f->walk.eff & PTE_U))
        return fault_fatal(f, FAULT_USER_SUPERVISOR);
    if (error & PF_ERR_W)
        return fault_write(s, f);
    if ((error & PF_ERR_I) && (f->walk.eff & PTE_NX))
        return fault_fatal(f, FAULT_EXEC_NX);
    /* A read or fetch the entry allows: it was stale in the TLB. */
    return fault_spurious(s, f);
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
    case FAULT_OOM: return "out of memory while resolving copy-on-write";
    case FAULT_KMAP_MISUSE: return "no temporary mapping slot while resolving a fault";
    }
    return "unknown fault reason";
}
