#ifndef ZF_HOST_SIM_H
#define ZF_HOST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "mmu_hooks.h"
#include "vmm.h"

#define SIM_GUARD_PAGE 0xffff800000100000ull

void sim_init(uint64_t frames);
void sim_fini(void);
uint64_t sim_free_frames(void);
/* Let @n more allocations succeed, then fail every one (-1: never fail). */
void sim_fail_allocations_after(long n);
extern char sim_console[];
extern size_t sim_console_len;

#endif
