/* Physical frame allocator: the contract shared by the allocator
 * (kernel/mm/pmm*.c) and its users (the VMM, copy-on-write).
 *
 * Frames are 4 KiB, named by physical address.  Every allocated frame has a
 * reference count, starting at 1; copy-on-write sharing raises it.  Results
 * are small status codes; the caller decides policy (panic, retry, fail). */
#ifndef ZF_PMM_H
#define ZF_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t paddr_t;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)

enum pmm_status {
    PMM_OK = 0,
    PMM_ERR_NOMEM,        /* no frame (or no run of frames) available */
    PMM_ERR_UNALIGNED,    /* address not frame aligned, or bad alignment request */
    PMM_ERR_OUT_OF_RANGE, /* not a frame of usable RAM known to the allocator */
    PMM_ERR_RESERVED,     /* frame is reserved (kernel, firmware, metadata, ...) */
    PMM_ERR_NOT_ALLOCATED,/* frame is free: double free or never allocated */
    PMM_ERR_REFCOUNT,     /* reference count would overflow */
    PMM_ERR_INVALID,      /* bad argument (e.g. zero frames) */
};

struct pmm_stats {
    uint64_t total;     /* frames of usable RAM */
    uint64_t free;
    uint64_t reserved;  /* usable-RAM frames held back (kernel, metadata, ...) */
    uint64_t allocated; /* total == free + reserved + allocated */
    uint64_t peak;      /* highest 'allocated' seen */
};

/* One frame, refcount 1. */
enum pmm_status pmm_alloc(paddr_t *out);
/* @n physically contiguous frames, first one aligned to @align_frames (a
 * power of two), each with refcount 1. */
enum pmm_status pmm_alloc_contig(size_t n, size_t align_frames, paddr_t *out);
/* Drop the only reference (refcount must be 1) and free. */
enum pmm_status pmm_free(paddr_t pa);
/* Reference counts of allocated frames. */
enum pmm_status pmm_ref_inc(paddr_t pa);
/* Decrement; at zero the frame is freed.  *@remaining gets the new count. */
enum pmm_status pmm_ref_dec(paddr_t pa, uint32_t *remaining);
/* 0 for free, reserved or unknown frames. */
uint32_t pmm_refcount(paddr_t pa);

void pmm_get_stats(struct pmm_stats *out);
const char *pmm_status_str(enum pmm_status st);

#endif
