#ifndef ZF_HOST_SIM_H
#define ZF_HOST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu_hooks.h"
#include "vmm.h"

#define SIM_GUARD_PAGE 0xffff800000100000ull

void sim_init(uint64_t frames);
void sim_fini(void);
extern bool sim_reuse_ram;
/* The top sim_unmanaged frames of the next sim_init are RAM the allocator
 * does not manage (a device's, a module's): for physical objects. */
extern uint64_t sim_unmanaged;
uint64_t sim_free_frames(void);
/* Let @n more allocations succeed, then fail every one (-1: never fail). */
void sim_fail_allocations_after(long n);
/* The usual test machine: simulated memory of @frames frames, the kernel
 * space (with the arena slot), the zero frame, and the space @s.  Then the
 * teardown: false when anything was left behind (objects, slabs, kmaps). */
bool sim_vmm_up(uint64_t frames, struct vmm_space *s);
bool sim_vmm_down(struct vmm_space *s);
extern char sim_console[];
extern size_t sim_console_len;

#endif
