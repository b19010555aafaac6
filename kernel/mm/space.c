/* Address spaces: creation (sharing the kernel half), the list of live
 * spaces, and teardown. */
#include "kmap.h"
#include "kmem.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "walk.h"

struct vmm_space vmm_kernel_space = { .index = REGION_INDEX_EMPTY_INIT };

/* Every created space; lock point for the list. */
static struct vmm_space *spaces;
static struct spinlock spaces_lock = SPINLOCK_INIT("space list");

struct vmm_space *vmm_space_first(void)
{
    return spaces;
}

static void space_list_add(struct vmm_space *s)
{
    s->regions.root = NULL;
    s->index = REGION_INDEX_EMPTY;
    s->hint = NULL;
    s->nregions = 0;
    s->lock = (struct spinlock)SPINLOCK_INIT("space");
    spin_lock(&spaces_lock);
    s->prev_space = NULL;
    s->next_space = spaces;
    if (spaces)
        spaces->prev_space = s;
    spaces = s;
    spin_unlock(&spaces_lock);
}

static void space_list_remove(struct vmm_space *s)
{
    spin_lock(&spaces_lock);
    if (s->prev_space)
        s->prev_space->next_space = s->next_space;
    else if (spaces == s)
        spaces = s->next_space;
    if (s->next_space)
        s->next_space->prev_space = s->prev_space;
    s->next_space = s->prev_space = NULL;
    spin_unlock(&spaces_lock);
}

/* A zeroed PML4 that maps itself in the self slot, with the kernel half
 * copied from @kernel (NULL: left empty). */
static enum vmm_status pml4_create(struct vmm_space *s, const uint64_t *kernel)
{
    paddr_t pa;
    enum vmm_status st = frame_alloc_zeroed(&pa);
    if (st != VMM_OK)
        return st;
    uint64_t *t = kmap_push(pa, true, NULL);
    if (!t) {
        pmm_free(pa);
        return VMM_ERR_NOMEM;
    }
    for (unsigned i = 256; kernel && i < 512; i++)
        t[i] = kernel[i];
    t[PML4_SLOT_SELF] = pa | PTE_P | PTE_W | PTE_NX;
    t[PML4_SLOT_FOREIGN] = 0; /* per space, never inherited */
    kmap_pop(t);
    s->pml4 = pa;
    walk_cache_drop(); /* it may name an earlier space at this address */
    space_list_add(s);
    return VMM_OK;
}

enum vmm_status vmm_space_create_root(struct vmm_space *s)
{
    return pml4_create(s, NULL);
}

enum vmm_status vmm_space_create(struct vmm_space *s)
{
    s->allocated = false;
    return pml4_create(s, mmu_table(vmm_kernel_space.pml4, 4, 0, vmm_kernel_space.pml4));
}

static struct kmem_cache space_cache;

struct vmm_space *vmm_space_new(void)
{
    kmem_cache_init(&space_cache, "vmm_space", sizeof(struct vmm_space));
    struct vmm_space *s = kmem_alloc(&space_cache);
    if (s && vmm_space_create(s) != VMM_OK) {
        kmem_free(&space_cache, s);
        return NULL;
    }
    if (s)
        s->allocated = true;
    return s;
}

enum vmm_status vmm_kernel_slot_reserve(unsigned slot)
{
    if (slot < 256 || slot > 511)
        return VMM_ERR_RANGE;
    if (slot == PML4_SLOT_FOREIGN || slot == PML4_SLOT_PMM || slot == PML4_SLOT_SELF)
        return VMM_ERR_RESERVED_VA;
    const struct vmm_space *k = &vmm_kernel_space;
    if (mmu_table(k->pml4, 4, 0, k->pml4)[slot] & PTE_P)
        return VMM_OK; /* the kernel has it already (slot 511 from boot) */
    paddr_t pa;
    enum vmm_status st = frame_alloc_zeroed(&pa);
    if (st != VMM_OK)
        return st;
    mmu_table(k->pml4, 4, 0, k->pml4)[slot] = pa | walk_table_flags(VA_SLOT_BASE(slot));
    return VMM_OK;
}

void vmm_space_destroy(struct vmm_space *s)
{
    /* Every region, every leaf of the user half (owning leaves give back
     * one reference per frame: the ownership rule in vmm.h) and every
     * user-half table. */
    region_unmap_all(s);
    space_list_remove(s);
    walk_cache_drop();
    mmu_space_gone(s->pml4);
    pmm_free(s->pml4);
    s->pml4 = 0;
    if (s->allocated)
        kmem_free(&space_cache, s);
}
