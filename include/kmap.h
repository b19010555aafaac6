/* Temporary mappings: a kernel virtual address for any physical frame, for
 * a short while.  Slots nest in stack order (push, push, pop, pop), so the
 * copy-on-write copy can hold source and destination while a page table is
 * also mapped.  Misuse is refused, never silently done. */
#ifndef ZF_KMAP_H
#define ZF_KMAP_H

#include <stdbool.h>

#include "pmm.h"

#define KMAP_SLOTS 8
/* One more window page, outside the stack: a permanent read-only view of
 * the zero frame, so checking it never competes for a slot. */
#define KMAP_ZERO_SLOT KMAP_SLOTS

enum kmap_status {
    KMAP_OK = 0,
    KMAP_ERR_FULL,       /* more than KMAP_SLOTS held at once */
    KMAP_ERR_UNALIGNED,  /* physical address not frame aligned */
    KMAP_ERR_ZERO_FRAME, /* the reserved zero frame may only be mapped read-only */
    KMAP_ERR_EMPTY,      /* pop with nothing mapped */
    KMAP_ERR_ORDER,      /* pop of a mapping that is not the most recent one */
};

/* Link the window into the boot page tables.  It needs no allocator, so
 * boot code reads loader data (multiboot2 info, modules) through kmap long
 * before the VMM exists (kernel/arch/x86_64/mmu.c; vmm_init calls it too). */
void kmap_window_install(void);

/* Map @pa; returns its virtual address, or NULL with *@st (if given) saying
 * why. */
void *kmap_push(paddr_t pa, bool writable, enum kmap_status *st);
/* Unmap the most recent mapping, which must be @va. */
enum kmap_status kmap_pop(void *va);
unsigned kmap_depth(void);
const char *kmap_status_str(enum kmap_status st);

#endif
