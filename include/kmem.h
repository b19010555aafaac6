/* The kernel object allocator: slab caches of fixed-size objects carved
 * from whole frames, for the VMM's own structures (regions, memory objects,
 * page-cache nodes) and later tasks.  alloc and free are O(1): a cache keeps
 * a list of slabs with free objects; a slab is one frame whose header sits at
 * its start, so an object finds its slab by rounding its address down.  An
 * empty slab goes back to the frame allocator at once, so a cache holds no
 * frame it does not use (the frame-leak guard stays exact).
 *
 * Blocks larger than an object (kmem_alloc_pages) are whole runs of
 * contiguous frames, mapped side by side in the same window.
 *
 * Slab frames are reached through the kmem window (a kernel-half range where
 * frame pa appears at KMEM_BASE + pa while it is a slab; see paging.h):
 * mapped when a slab is made, unmapped when it is freed, so no other frame
 * has an alias there.
 *
 * Lock point: one allocator lock (kmem.c) covers every cache and the kmem
 * window's page tables. */
#ifndef ZF_KMEM_H
#define ZF_KMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kmem_slab;

struct kmem_cache {
    const char *name;
    uint32_t size;      /* object size, rounded up to 16 bytes */
    uint32_t per_slab;  /* objects per frame */
    struct kmem_slab *partial; /* slabs with at least one free object */
    uint64_t in_use;    /* objects handed out */
    uint64_t slabs;     /* frames held */
    struct kmem_cache *next_cache; /* every registered cache (kmem_caches) */
};

enum kmem_status {
    KMEM_OK = 0,
    KMEM_ERR_NOMEM,       /* no frame for a new slab */
    KMEM_ERR_NOT_OBJECT,  /* not the address of an object of this cache */
    KMEM_ERR_DOUBLE_FREE, /* the object is already free */
    KMEM_ERR_TOO_LARGE,   /* object size does not fit a slab twice */
};

#define KMEM_MAX_OBJECT 2000

/* Set up @c for objects of @size bytes (at most KMEM_MAX_OBJECT) and
 * register it.  Idempotent for an already registered cache. */
enum kmem_status kmem_cache_init(struct kmem_cache *c, const char *name, size_t size);
/* A zeroed object, or NULL when no frame is left. */
void *kmem_alloc(struct kmem_cache *c);
/* Give @p back; misuse is refused and changes nothing. */
enum kmem_status kmem_free(struct kmem_cache *c, void *p);

/* Blocks larger than an object (up to a chunk of frames): @n physically
 * contiguous frames, each mapped in the kmem window, so the block is
 * contiguous there too.  Not zeroed.  NULL when out of memory. */
void *kmem_alloc_pages(size_t n);
/* Give back a block of @n frames from kmem_alloc_pages. */
void kmem_free_pages(void *p, size_t n);
/* Frames held by such blocks (the model checker's frame count). */
uint64_t kmem_page_frames(void);

/* Objects in use over every cache (the self-tests' object-leak guard). */
uint64_t kmem_objects_in_use(void);
/* Registered caches, for reports. */
struct kmem_cache *kmem_caches(void);
const char *kmem_status_str(enum kmem_status st);

#endif
