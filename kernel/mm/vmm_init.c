/* VMM bring-up: adopt the boot PML4 as the kernel space, give every kernel
 * mapping its final rights (W^X), reserve the zero frame and take over #PF.
 * There is no window onto physical memory to protect: the boot tables map
 * only the kernel image and the VGA text page (boot/boot.asm).
 * Kernel only (uses linker symbols); not part of the host build. */
#include "boot.h"
#include "kmap.h"
#include "kprintf.h"
#include "kstring.h"
#include "mmu_hooks.h"
#include "panic.h"
#include "vmm.h"
#include "walk.h"

static bool in(uintptr_t va, const char *start, const char *end)
{
    return va >= (uintptr_t)start && va < (uintptr_t)end;
}

/* Rights of the kernel page at @va: text read+execute, rodata read-only,
 * everything else (data, bss, stacks, boot data, low memory) read-write and
 * no-execute.  No page is both writable and executable. */
static uint64_t kernel_page_rights(uintptr_t va)
{
    if (in(va, kernel_text_start, kernel_text_end))
        return 0;
    if (in(va, kernel_rodata_start, kernel_rodata_end))
        return PTE_NX;
    return PTE_W | PTE_NX;
}

/* The boot tables map only the kernel image and the VGA text page at
 * KERNEL_VMA + pa (boot/boot.asm); give each of those pages its rights. */
static void kernel_apply_wx(void)
{
    unsigned pages = 0;
    uintptr_t start = KERNEL_VMA + (uintptr_t)kernel_phys_start;
    for (uintptr_t va = start; va < (uintptr_t)kernel_end; va += PAGE_4K) {
        enum vmm_status st = vmm_protect(&vmm_kernel_space, va, kernel_page_rights(va));
        if (st == VMM_OK)
            pages++;
        else if (!(st == VMM_ERR_NOT_MAPPED && boot_is_guard_page(va)))
            panic("vmm: cannot protect kernel page %p: %s", (void *)va, vmm_status_str(st));
    }
    enum vmm_status st = vmm_protect(&vmm_kernel_space, BOOT_VGA_TEXT_VA, PTE_W | PTE_NX);
    if (st != VMM_OK)
        panic("vmm: cannot protect the VGA text page: %s", vmm_status_str(st));
    kprintf("vmm: W^X applied: text %p-%p RX, rodata %p-%p R, %u kernel pages + VGA text\n",
            kernel_text_start, kernel_text_end, kernel_rodata_start, kernel_rodata_end, pages);
}

void vmm_init(void)
{
    vmm_kernel_space.pml4 = (paddr_t)((uintptr_t)boot_pml4 - KERNEL_VMA);
    mmu_init(&vmm_kernel_space);

    enum vmm_status st = vmm_zero_frame_init();
    if (st != VMM_OK)
        panic("vmm: no frame for the zero frame: %s", vmm_status_str(st));
    kernel_apply_wx();

    /* The arena's PDPT exists from the start so that spaces created later
     * share it through their copy of the PML4's kernel half. */
    st = vmm_kernel_slot_reserve(PML4_SLOT_KERNEL_ARENA);
    if (st != VMM_OK)
        panic("vmm: no frame for the kernel arena's PDPT: %s", vmm_status_str(st));
    /* Likewise the kmem window's PDPTs, one per 512 GiB of physical
     * address space that holds RAM. */
    const struct range_set *ram = pmm_boot_usable();
    uint64_t top = ram->n ? ram->r[ram->n - 1].end : 0;
    for (uint64_t off = 0; off < top && off < KMEM_SIZE; off += 1ull << 39) {
        st = vmm_kernel_slot_reserve(PML4_SLOT_KMEM + (unsigned)(off >> 39));
        if (st != VMM_OK)
            panic("vmm: no frame for a kmem window PDPT: %s", vmm_status_str(st));
    }

    vmm_fault_entry_install();
    kprintf("vmm: kernel space PML4 %#llx, zero frame %#llx, kmap window %#llx (%u slots)\n",
            (unsigned long long)vmm_kernel_space.pml4, (unsigned long long)vmm_zero_frame,
            (unsigned long long)KMAP_BASE, KMAP_SLOTS);
}
