/* The reserved zero frame: one frame of zeros behind every lazily allocated
 * page until its first write.  It is allocated once, zeroed through a
 * temporary mapping and never freed; kmap, vmm_map, vmm_map_2m and
 * vmm_protect all refuse to make it writable.  It stays visible read-only
 * in its own window page (KMAP_ZERO_SLOT) for vmm_zero_frame_intact. */
#include "kmap.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

paddr_t vmm_zero_frame;
/* Its permanent read-only view (KMAP_ZERO_SLOT). */
static const uint64_t *zero_view;

enum vmm_status vmm_zero_frame_init(void)
{
    paddr_t pa;
    if (vmm_zero_frame)
        return VMM_OK;
    enum vmm_status st = frame_alloc_zeroed(&pa);
    if (st != VMM_OK)
        return st;
    vmm_zero_frame = pa;
    zero_view = kmap_arch_set(KMAP_ZERO_SLOT, pa, false);
    return VMM_OK;
}

bool vmm_zero_frame_intact(void)
{
    if (!vmm_zero_frame)
        return false;
    uint64_t acc = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        acc |= zero_view[i];
    return acc == 0;
}
