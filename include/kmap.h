/* Temporary mappings: a kernel virtual address for any physical frame, for
 * a short while.  Slots nest in stack order (push, push, pop, pop), so the
 * copy-on-write copy can hold source and destination while a page table is
 * also mapped.  Misuse is refused, never silently done. */
#ifndef ZF_KMAP_H
#define ZF_KMAP_H

#include <stdbool.h>

#include "mm_cpu.h" /* KMAP_SLOTS, the slots in use */
#include "pmm.h"

/* One more window page, outside the stack: a permanent read-only view of
 * the zero frame, so checking it never competes for a slot. */
#define KMAP_ZERO_SLOT KMAP_SLOTS

enum kmap_status {
    KMAP_OK = 0,
    KMAP_ERR_FULL,       /* more than KMAP_SLOTS held at once */
    KMAP_ERR_UNALIGNED,  /* physical address not frame aligned */
    KMAP_ERR_ZERO_FRAME, /* the reserved zero frame may only be mapped read-only */
    KMAP_ERR_EMPTY,      /* pop with nothing mapped */
    KMAP_ERR_ORDER,      /* pop of a mapping that is not the most recent one */
};

/* Link the window into the boot page tables.  It needs no allocator, so
 * boot code reads loader data (multiboot2 info, modules) through kmap long
 * before the VMM exists (kernel/arch/x86_64/mmu.c; vmm_init calls it too). */
void kmap_window_install(void);

unsigned kmap_depth(void);
const char *kmap_status_str(enum kmap_status st);

/* Out of line (kmap.c): everything but the common case, which is inline
 * below because a fault maps and unmaps up to three frames.  They decide
 * (refuse, or map after all) exactly as the whole operation would. */
void *kmap_push_slow(paddr_t pa, bool writable, enum kmap_status *st);
enum kmap_status kmap_pop_slow(void *va);

/* The arch hooks: mm_cpu() and the window's kmap_arch_set/clear. */
#include "mmu_hooks.h"
extern paddr_t vmm_zero_frame; /* vmm.h */

/* Map @pa; returns its virtual address, or NULL with *@st (if given) saying
 * why.  The test is conservative (a slot free, @pa aligned, not a writable
 * view of the zero frame): anything else goes to kmap_push_slow. */
static inline void *kmap_push(paddr_t pa, bool writable, enum kmap_status *st)
{
    struct mm_cpu *c = mm_cpu();
    unsigned top = c->kmap_top;
    if (__builtin_expect(top >= KMAP_SLOTS || (pa & (PAGE_SIZE - 1)) ||
                             (writable && pa == vmm_zero_frame),
                         0))
        return kmap_push_slow(pa, writable, st);
    if (st)
        *st = KMAP_OK;
    void *va = kmap_arch_set(top, pa, writable);
    c->kmap_stack[top] = va;
    c->kmap_top = top + 1;
    return va;
}

/* Unmap the most recent mapping, which must be @va. */
static inline enum kmap_status kmap_pop(void *va)
{
    struct mm_cpu *c = mm_cpu();
    unsigned top = c->kmap_top;
    if (__builtin_expect(top == 0 || c->kmap_stack[top - 1] != va, 0))
        return kmap_pop_slow(va);
    c->kmap_top = top - 1;
    kmap_arch_clear(top - 1, va);
    return KMAP_OK;
}

#endif
