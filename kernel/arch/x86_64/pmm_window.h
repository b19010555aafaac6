/* The allocator's metadata window and the few CPU facts it needs
 * (kernel/arch/x86_64/pmm_window.c). */
#ifndef ZF_ARCH_X86_64_PMM_WINDOW_H
#define ZF_ARCH_X86_64_PMM_WINDOW_H

#include <stdint.h>

#include "pmm.h"

#define PMM_WINDOW_BASE 0xfffffe8000000000ull /* PML4[509] */

/* Point PML4[509] of boot_pml4 at the window's static tables. */
void pmm_window_install(void);
/* struct pmm_platform hooks. */
void pmm_window_geometry(uint32_t chunk, uint64_t need, uint64_t *size, uint64_t *align);
void *pmm_window_map(uint32_t chunk, paddr_t pa, uint64_t size);
/* CPUID MAXPHYADDR (bits) and the time-stamp counter. */
unsigned pmm_arch_maxphyaddr(void);
uint64_t pmm_arch_cycles(void);

#endif
