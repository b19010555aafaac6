/* Memory objects (RefOS: dataspaces): a size in pages and a rule for where
 * each page's contents come from.
 *
 *   anonymous  zeros until written.  Private mappings keep their pages in the
 *              page tables; shared mappings put them in the object's page
 *              cache so that every mapping sees the same frame.
 *   paged      a pager produces a page the first time it is needed; the
 *              object keeps it in its page cache afterwards.
 *   physical   a fixed run of frames the allocator does not manage (a
 *              module's own frames, a device), mapped as they are and never
 *              freed by the VMM.
 *
 * Objects are reference counted: by the regions that map them and by whoever
 * created them, until vmobj_put.  At zero the page cache is dropped and the
 * object freed.  Lock point: each object's lock covers its page cache; taken
 * after the space lock when both are needed. */
#ifndef ZF_VMOBJ_H
#define ZF_VMOBJ_H

#include <stdbool.h>
#include <stdint.h>

#include "pmm.h"
#include "spinlock.h"
#include "vmm.h"

enum vmobj_kind {
    VMOBJ_ANON,
    VMOBJ_PAGED,
    VMOBJ_PHYS,
};

struct vmobj;

/* A pager's answer to "provide page N". */
enum pager_result {
    PAGER_OK,    /* the frame now holds the page */
    PAGER_FAIL,  /* it cannot: *why says why */
    PAGER_LATER, /* it will, through vmobj_page_provide; the faulting thread waits */
};

struct vmobj_pager {
    const char *name;
    /* Fill @frame (a fresh frame, contents undefined) with page @index. */
    enum pager_result (*provide)(struct vmobj *o, uint64_t index, paddr_t frame,
                                 const char **why);
};

struct vmobj_radix; /* page-cache node (vmobj.c) */

struct vmobj {
    enum vmobj_kind kind;
    uint32_t id;        /* for reports: "object #7" */
    uint32_t refs;
    uint64_t npages;
    const char *name;   /* e.g. a module's path; may be NULL */
    struct spinlock lock;
    /* Page cache: page index -> frame (anonymous shared and paged objects). */
    struct vmobj_radix *cache;
    unsigned cache_levels;
    uint64_t cached;    /* pages in the cache */
    /* Physical objects: the first frame. */
    paddr_t phys;
    /* Paged objects: the pager and its private data. */
    const struct vmobj_pager *pager;
    uint64_t pager_arg[2];
    struct vmobj *next_obj, *prev_obj; /* every live object (the consistency checker) */
};

/* Constructors: the object starts with one reference, the caller's.  NULL
 * when out of memory (or, for phys, when a frame of the run is one the
 * allocator manages: those belong in anonymous objects). */
struct vmobj *vmobj_create_anon(uint64_t npages, const char *name);
struct vmobj *vmobj_create_paged(uint64_t npages, const struct vmobj_pager *pager,
                                 const char *name);
struct vmobj *vmobj_create_phys(paddr_t first, uint64_t npages, const char *name);
/* A paged object holding @size bytes read from physical memory at @pa (a
 * multiboot2 module): page N is bytes [N * 4096, N * 4096 + 4096) of it,
 * zero-padded past the end.  The in-kernel pager (module_pager.c). */
struct vmobj *vmobj_create_module(paddr_t pa, uint64_t size, const char *name);

void vmobj_get(struct vmobj *o);
void vmobj_put(struct vmobj *o);

/* The frame the object holds for page @index, or 0 (frame 0 is never handed
 * out: the allocator reserves the first MiB).  Physical objects answer with
 * their frame. */
paddr_t vmobj_page_lookup(struct vmobj *o, uint64_t index);

/* What vmobj_page_get found. */
enum vmobj_get {
    VMOBJ_GOT,     /* *pa is the page (held by the object or physical) */
    VMOBJ_HOLE,    /* anonymous page never written: zeros */
    VMOBJ_NOMEM,   /* no frame or no cache node; nothing changed */
    VMOBJ_FAILED,  /* the pager failed; *why says why */
    VMOBJ_LATER,   /* the pager will provide it later */
};
/* The page @index, asking the pager when a paged object lacks it; with
 * @fill_holes an anonymous hole gets a fresh zeroed frame in the cache
 * (shared mappings). */
enum vmobj_get vmobj_page_get(struct vmobj *o, uint64_t index, bool fill_holes, paddr_t *pa,
                              const char **why);

/* The one "page provided" path into the cache: @frame (a fresh allocator
 * frame whose reference the object takes over) becomes page @index.
 * VMM_ERR_EXISTS when the object already has that page (the frame stays the
 * caller's), VMM_ERR_NOMEM, VMM_ERR_RANGE when @index is past the end or
 * the object is physical (it has no page cache). */
enum vmm_status vmobj_page_provide(struct vmobj *o, uint64_t index, paddr_t frame);

/* Copy @len bytes at byte @offset of the object into @buf, paging in what
 * is missing (anonymous holes read as zeros).  VMOBJ_GOT when all were
 * copied; otherwise what stopped it (past the end: VMOBJ_FAILED with *why). */
enum vmobj_get vmobj_read(struct vmobj *o, uint64_t offset, void *buf, uint64_t len,
                          const char **why);

const char *vmobj_kind_str(enum vmobj_kind k);
/* Every live object, for the consistency checker and reports. */
struct vmobj *vmobj_first(void);
uint64_t vmobj_live_count(void);
/* Visit every cached page: @fn(ctx, index, frame). */
void vmobj_for_each_page(struct vmobj *o, void (*fn)(void *ctx, uint64_t index, paddr_t frame),
                         void *ctx);

#endif
