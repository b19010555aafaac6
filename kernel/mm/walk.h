/* Internal to kernel/mm: the walker with table creation, and its undo. */
#ifndef ZF_MM_WALK_H
#define ZF_MM_WALK_H

#include "vmm.h"

#define KERNEL_HALF_START 0xffff800000000000ull

/* Walk to @target_level; with @create, allocate missing tables on the way
 * (recorded in w->created).  VMM_ERR_NOMEM leaves nothing allocated. */
enum vmm_status walk_tables(const struct vmm_space *s, uintptr_t va, int target_level,
                            bool create, struct vmm_walk *w);
void walk_undo_created(const struct vmm_space *s, struct vmm_walk *w);
void walk_prune_empty(const struct vmm_space *s, struct vmm_walk *w);

/* Shared by the mapping operations (vmm_map.c). */
enum vmm_status vmm_check_va(uintptr_t va, uint64_t size);
enum vmm_status vmm_check_range(uintptr_t va, size_t npages);
enum vmm_status vmm_install(struct vmm_space *s, uintptr_t va, int level, uint64_t leaf);

#endif
