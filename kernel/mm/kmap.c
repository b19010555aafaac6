/* Temporary mappings: the stack discipline and its checks.  The window
 * itself (which page-table entries, which addresses) is the arch hook. */
#include <stddef.h>
#include <stdint.h>

#include "kmap.h"
#include "mm_cpu.h"
#include "mmu_hooks.h"
#include "vmm.h"

/* The slots in use are per-CPU state (mm_cpu.h): the address each held slot
 * was given, so that pops must name the top one.  The common cases of push
 * and pop are inline (kmap.h). */
/* Why @pa cannot be mapped now (KMAP_OK: it can). */
static enum kmap_status kmap_refuses(const struct mm_cpu *c, paddr_t pa, bool writable)
{
    if (c->kmap_top >= KMAP_SLOTS)
        return KMAP_ERR_FULL;
    if (pa & (PAGE_SIZE - 1))
        return KMAP_ERR_UNALIGNED;
    if (writable && vmm_zero_frame && pa == vmm_zero_frame)
        return KMAP_ERR_ZERO_FRAME;
    return KMAP_OK;
}

/* The inline kmap_push's rare case: refuse, or (when its conservative test
 * sent a mappable frame here, e.g. frame 0 before the zero frame exists)
 * map all the same. */
void *kmap_push_slow(paddr_t pa, bool writable, enum kmap_status *st)
{
    struct mm_cpu *c = mm_cpu();
    enum kmap_status why = kmap_refuses(c, pa, writable);
    if (st)
        *st = why;
    if (why != KMAP_OK)
        return NULL;
    unsigned top = c->kmap_top;
    void *va = kmap_arch_set(top, pa, writable);
    c->kmap_stack[top] = va;
    c->kmap_top = top + 1;
    return va;
}

/* The inline kmap_pop's refusals: nothing held, or @va not the top one. */
enum kmap_status kmap_pop_slow(void *va)
{
    const struct mm_cpu *c = mm_cpu();
    if (c->kmap_top == 0)
        return KMAP_ERR_EMPTY;
    return KMAP_ERR_ORDER;
}

unsigned kmap_depth(void)
{
    return mm_cpu()->kmap_top;
}

const char *kmap_status_str(enum kmap_status st)
{
    switch (st) {
    case KMAP_OK: return "ok";
    case KMAP_ERR_FULL: return "all temporary mapping slots in use";
    case KMAP_ERR_UNALIGNED: return "physical address not frame aligned";
    case KMAP_ERR_ZERO_FRAME: return "the zero frame may only be mapped read-only";
    case KMAP_ERR_EMPTY: return "no temporary mapping to remove";
    case KMAP_ERR_ORDER: return "temporary mappings must be removed in reverse order";
    }
    return "unknown kmap status";
}
