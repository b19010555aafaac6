/* The reserved zero frame: one frame of zeros behind every lazily allocated
 * page until its first write.  It is allocated once, zeroed through a
 * temporary mapping and never freed; kmap, vmm_map, vmm_map_2m and
 * vmm_protect all refuse to make it writable. */
#include "kmap.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

paddr_t vmm_zero_frame;

enum vmm_status vmm_zero_frame_init(void)
{
    paddr_t pa;
    if (vmm_zero_frame)
        return VMM_OK;
    enum vmm_status st = frame_alloc_zeroed(&pa);
    if (st == VMM_OK)
        vmm_zero_frame = pa;
    return st;
}

bool vmm_zero_frame_intact(void)
{
    if (!vmm_zero_frame)
        return false;
    const uint64_t *p = kmap_push(vmm_zero_frame, false, NULL);
    if (!p)
        return false;
    uint64_t acc = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        acc |= p[i];
    kmap_pop((void *)p);
    return acc == 0;
}
