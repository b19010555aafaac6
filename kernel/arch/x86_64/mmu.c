/* The MMU side of the VMM: which space is live in CR3, the foreign window,
 * and the temporary-mapping window's page table. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "kmap.h"
#include "mmu_hooks.h"
#include "vmm.h"


/* The kmap window is the top 2 MiB of the address space: PDPT entry 511 of
 * the kernel's PDPT (boot_pdpt_high) -> kmap_pd, entry 511 -> kmap_pt.
 * Static, so temporary mappings work before (and while) the frame
 * allocator hands out page tables. */
static uint64_t kmap_pd[512] __attribute__((aligned(4096)));
uint64_t kmap_pt[512] __attribute__((aligned(4096)));

static paddr_t kernel_image_pa(const void *p)
{
    return (paddr_t)((uintptr_t)p - KERNEL_VMA);
}

void kmap_window_install(void)
{
    kmap_pd[511] = kernel_image_pa(kmap_pt) | PTE_P | PTE_W | PTE_NX;
    boot_pdpt_high[511] = kernel_image_pa(kmap_pd) | PTE_P | PTE_W | PTE_NX;
    invlpg(KMAP_BASE);
}

void mmu_init(struct vmm_space *kernel)
{
    struct mm_cpu *c = mm_cpu();
    c->active_space = kernel;
    c->active_pml4 = kernel->pml4;
    c->foreign_pml4 = 0;
    kmap_window_install();
}

static uint64_t *active_pml4_va(void)
{
    return mmu_table_va(mm_cpu()->active_pml4, 4, 0);
}

/* mmu_entry's per-level address bits: level 1 tables sit at the slot's
 * base, each level above takes one more step through the self slot. */
#define WINDOW_TABLE(slot)                                                               \
    {                                                                                    \
        0, VA_SLOT_BASE(slot), VA_SLOT_BASE(slot) | ((uint64_t)PML4_SLOT_SELF << 30),  \
            VA_SLOT_BASE(slot) | ((uint64_t)PML4_SLOT_SELF << 30) |                     \
                ((uint64_t)PML4_SLOT_SELF << 21),                                        \
            VA_SLOT_BASE(slot) | ((uint64_t)PML4_SLOT_SELF << 30) |                     \
                ((uint64_t)PML4_SLOT_SELF << 21) | ((uint64_t)PML4_SLOT_SELF << 12),    \
    }
const uint64_t mmu_window_self[5] = WINDOW_TABLE(PML4_SLOT_SELF);
const uint64_t mmu_window_foreign[5] = WINDOW_TABLE(PML4_SLOT_FOREIGN);

/* Everything cached about the old target of the foreign slot must go; the
 * slot spans 512 GiB of table windows, so a full flush is the precise
 * choice here (kernel mappings are not global). */
void mmu_foreign_attach(paddr_t pml4)
{
    active_pml4_va()[PML4_SLOT_FOREIGN] = pml4 | PTE_P | PTE_W | PTE_NX;
    mm_cpu()->foreign_pml4 = pml4;
    write_cr3(read_cr3());
}

void mmu_space_gone(paddr_t pml4)
{
    if (pml4 != mm_cpu()->foreign_pml4)
        return;
    active_pml4_va()[PML4_SLOT_FOREIGN] = 0;
    mm_cpu()->foreign_pml4 = 0;
    write_cr3(read_cr3());
}

void vmm_space_activate(struct vmm_space *s)
{
    /* The new space's foreign slot may point anywhere: forget it. */
    struct mm_cpu *c = mm_cpu();
    c->foreign_pml4 = 0;
    c->active_pml4 = s->pml4;
    c->active_space = s;
    c->walk.space = NULL; /* the walk cache holds the live space's table */
    write_cr3(s->pml4);
    active_pml4_va()[PML4_SLOT_FOREIGN] = 0;
}

struct vmm_space *vmm_space_active(void)
{
    return mm_cpu()->active_space;
}

void *mmu_kmem_map(paddr_t pa)
{
    uintptr_t va = KMEM_BASE + pa;
    if (pa >= KMEM_SIZE || vmm_map(&vmm_kernel_space, va, pa, PTE_W | PTE_NX) != VMM_OK)
        return NULL;
    return (void *)va;
}

paddr_t mmu_kmem_unmap(void *va)
{
    paddr_t pa = 0;
    vmm_unmap(&vmm_kernel_space, (uintptr_t)va, &pa);
    return pa;
}
