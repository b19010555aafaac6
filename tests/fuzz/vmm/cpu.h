/* The model checker's simulated CPU (cpu.c): loads, stores and instruction
 * fetches translated through a TLB and paging-structure caches, walking the
 * real page tables in simulated physical memory on a miss, raising #PF into
 * the real fault handler and retrying, as hardware does. */
#ifndef ZF_FUZZ_VMM_CPU_H
#define ZF_FUZZ_VMM_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

enum cpu_access { CPU_READ, CPU_WRITE, CPU_FETCH };

struct cpu_result {
    bool done;                    /* the access completed */
    enum vmm_fault_result result; /* else: the handler's last answer */
    enum vmm_fault_reason reason;
    unsigned faults;              /* #PFs taken (resolved ones included) */
    uint64_t last_error;          /* error code of the last #PF */
    /* VMM_FAULT_WAIT: what the handler said to wait for */
    struct vmobj *wait_obj;
    uint64_t wait_index;
    struct uffd_ctx *wait_uffd;
    char why[320];                /* set when the CPU itself saw something impossible */
};

/* Reset the CPU: live space @s, empty TLB (a fresh machine). */
void cpu_reset(struct vmm_space *s);
/* Load CR3 with @s (flushes every non-global translation and the
 * paging-structure caches). */
void cpu_load_cr3(struct vmm_space *s);
struct vmm_space *cpu_live(void);
/* An 8-byte access at @va (8-aligned); a read or fetch stores the value in
 * *@val, a write stores *@val. */
void cpu_access(uintptr_t va, enum cpu_access kind, bool user, uint64_t *val,
                struct cpu_result *r);
/* The check: no cached translation (TLB entry or paging-structure cache
 * entry) allows more than the live page tables do now.  False with the
 * offender described in @why. */
bool cpu_tlb_check(char *why, size_t n);
/* TLB statistics for the report. */
uint64_t cpu_tlb_hits(void);

#endif
