/* The modules' own frames, seen by the kernel: each module is a physical
 * memory object (its frames, reserved at boot, never freed) mapped
 * read-only as a region of the kernel arena.  Kernel only (boot module
 * list); not part of the host build. */
#include "boot.h"
#include "kprintf.h"
#include "region.h"

static const uint8_t *views[BOOT_MAX_MODULES];

void vmm_map_modules(void)
{
    for (unsigned i = 0; i < boot_module_count(); i++) {
        const struct boot_module *m = boot_module_get(i);
        uint64_t first = m->start & ~(uint64_t)(PAGE_SIZE - 1);
        uint64_t npages = (m->end - first + PAGE_SIZE - 1) / PAGE_SIZE;
        if (m->end == m->start)
            continue; /* nothing to see */
        struct vmobj *o = vmobj_create_phys(first, npages, m->name);
        struct region_req req = { .addr = KERNEL_ARENA_BASE, .len = npages * PAGE_SIZE,
                                  .prot = REGION_R, .obj = o, .name = m->name };
        uintptr_t va = 0;
        enum vmm_status st = o ? region_map(&vmm_kernel_space, &req, &va) : VMM_ERR_NOMEM;
        if (o)
            vmobj_put(o);
        if (st != VMM_OK) {
            kprintf("vmm: module %u (%s): no kernel view: %s\n", i, m->name,
                    o ? vmm_status_str(st) : "its frames are not reserved or out of memory");
            continue;
        }
        views[i] = (const uint8_t *)va + (m->start - first);
    }
}

const uint8_t *vmm_module_view(unsigned i)
{
    return i < BOOT_MAX_MODULES ? views[i] : NULL;
}

bool vmm_is_module_view(uintptr_t start)
{
    for (unsigned i = 0; i < boot_module_count(); i++)
        if (views[i] && ((uintptr_t)views[i] & ~(uintptr_t)(PAGE_SIZE - 1)) == start)
            return true;
    return false;
}
