/* Early guard pages: before the VMM exists, clear the boot page-table
 * entries of every page listed in .guard_pages, so that running off the end
 * of a stack faults at once. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "panic.h"

void boot_unmap_guard_pages(void)
{
    for (const uintptr_t *g = guard_pages_start; g < guard_pages_end; g++) {
        uintptr_t va = *g;
        uint64_t idx = (va - KERNEL_VMA) >> 12;
        if (va % 4096 || va < KERNEL_VMA || idx >= sizeof(boot_pt) / sizeof(boot_pt[0]))
            panic("guard page %p is not a page inside the 4 KiB boot window", (void *)va);
        boot_pt[idx] = 0;
        invlpg(va);
    }
}

bool boot_is_guard_page(uintptr_t va)
{
    uintptr_t page = va & ~(uintptr_t)4095;
    for (const uintptr_t *g = guard_pages_start; g < guard_pages_end; g++) {
        if (*g == page)
            return true;
    }
    return false;
}
