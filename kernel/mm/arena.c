/* Kernel memory in regions: lazily backed arena memory and kernel stacks,
 * both regions of the kernel space in the arena (PML4 slot 256), so the
 * kernel's own faults go through the same dispatcher as everyone's. */
#include "region.h"

void *vmm_arena_alloc(size_t npages, const char *name)
{
    struct vmobj *o = vmobj_create_anon(npages, name);
    if (!o)
        return NULL;
    struct region_req req = {
        .len = npages * PAGE_SIZE, .prot = REGION_R | REGION_W, .obj = o, .name = name,
        .addr = KERNEL_ARENA_BASE,
    };
    uintptr_t va = 0;
    enum vmm_status st = npages ? region_map(&vmm_kernel_space, &req, &va) : VMM_ERR_RANGE;
    vmobj_put(o); /* the region holds it now (or nobody does) */
    return st == VMM_OK ? (void *)va : NULL;
}

/* The whole region starting at @start (and, with @guard_below, the guard
 * region right below it). */
static enum vmm_status unmap_region_at(uintptr_t start, bool guard_below)
{
    struct region r, g;
    if (!region_lookup(&vmm_kernel_space, start, &r) || r.start != start || (r.flags & REGION_GUARD))
        return VMM_ERR_NO_REGION;
    uintptr_t from = r.start;
    if (guard_below) {
        if (!region_lookup(&vmm_kernel_space, start - PAGE_SIZE, &g) || !(g.flags & REGION_GUARD))
            return VMM_ERR_NO_REGION;
        from = g.start;
    }
    return region_unmap(&vmm_kernel_space, from, r.end - from);
}

enum vmm_status vmm_arena_free(void *p)
{
    return unmap_region_at((uintptr_t)p, false);
}

void *kstack_alloc(size_t npages, uintptr_t *top)
{
    /* Reserve the whole span as a guard region, then turn all but its
     * lowest page into the stack: the guard sits right below the stack. */
    struct region_req guard = {
        .len = (npages + 1) * PAGE_SIZE, .flags = REGION_GUARD, .addr = KERNEL_ARENA_BASE,
        .name = "kernel stack guard",
    };
    uintptr_t g;
    if (!npages || region_map(&vmm_kernel_space, &guard, &g) != VMM_OK)
        return NULL;
    uintptr_t bottom = g + PAGE_SIZE;
    struct vmobj *o = vmobj_create_anon(npages, "kernel stack");
    struct region_req stack = {
        .addr = bottom, .len = npages * PAGE_SIZE, .prot = REGION_R | REGION_W,
        .flags = REGION_FIXED, .obj = o, .name = "kernel stack",
    };
    enum vmm_status st = o ? region_unmap(&vmm_kernel_space, bottom, stack.len) : VMM_ERR_NOMEM;
    if (st == VMM_OK)
        st = region_map(&vmm_kernel_space, &stack, NULL);
    if (o)
        vmobj_put(o);
    /* Stacks must never fault: the fault would be taken on them. */
    if (st == VMM_OK)
        st = region_populate(&vmm_kernel_space, bottom, stack.len);
    if (st != VMM_OK) {
        region_unmap(&vmm_kernel_space, g, guard.len);
        return NULL;
    }
    *top = bottom + stack.len;
    return (void *)bottom;
}

enum vmm_status kstack_free(void *bottom)
{
    return unmap_region_at((uintptr_t)bottom, true);
}
