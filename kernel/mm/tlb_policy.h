/* When a changed page-table entry needs an invlpg on this CPU: one rule for
 * the kernel's hook (arch/x86_64/mmu_hooks.h) and the host's simulated TLB
 * (tests/fuzz/vmm), so the model checker tests the decision the kernel
 * really makes.  Without PCIDs a CPU caches translations of its live space
 * only (and global ones); the kernel half (PML4 slots 256..511) is shared
 * by every space, so a change there made through any space is live here. */
#ifndef ZF_MM_TLB_POLICY_H
#define ZF_MM_TLB_POLICY_H

#include <stdbool.h>

#include "paging.h"
#include "pmm.h"

static inline bool mm_tlb_may_cache(paddr_t space_pml4, paddr_t live_pml4, uintptr_t va)
{
    return space_pml4 == live_pml4 || va >= KERNEL_HALF_START;
}

#endif
