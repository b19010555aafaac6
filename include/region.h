/* Regions (RefOS: windows): what memory is *supposed* to be at each address
 * of a space.  A region is [start, end) in one space, page aligned, with
 * permissions, and either a range of a memory object (shared: writes go to
 * the object's pages, seen by every mapping; private: the first write gives
 * this region its own copy) or no object at all: a guard region, where every
 * access is fatal.  The page tables are only a cache of the regions: the
 * fault handler (fault.c) fills them from here.
 *
 * A space's regions are kept in an AVL tree ordered by address (avl.h),
 * whose in-order traversal gives neighbours for splitting and merging, and
 * in a region index beside it (region_index.h), a sorted array of starts
 * that lookups search: a binary search with no loop overhead, about half
 * the tree's instructions per level.  Operations that add regions allocate
 * a larger index block, like the regions themselves, before they change
 * anything.  The last region found is remembered, so repeated faults in one
 * region skip the search.
 *
 * Region-managed ranges: the user half of every space, and the kernel arena
 * (PML4 slot 256) of the kernel space, shared by all spaces.  Elsewhere in
 * the kernel half (image, windows) the page tables alone decide.
 *
 * Lock point: the space's lock covers its region tree, its region index
 * and its page tables (the kernel space's lock: the arena's tables, shared
 * by every space). */
#ifndef ZF_REGION_H
#define ZF_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avl.h"
#include "vmm.h"
#include "vmobj.h"

/* Permissions.  x86 cannot map a page writable or executable but not
 * readable, so W and X imply R. */
#define REGION_R 0x1u
#define REGION_W 0x2u
#define REGION_X 0x4u
#define REGION_U 0x8u /* user-mode access allowed */
#define REGION_PROT_MASK 0xfu

/* Kinds and requests. */
#define REGION_SHARED 0x100u /* writes go to the object (else private, CoW) */
#define REGION_GUARD 0x200u  /* no object: every access is fatal */
#define REGION_FIXED 0x400u  /* map at exactly this address (else a hint) */
#define REGION_FLAG_MASK 0x700u

/* The lowest user address a region may cover: the null page never maps. */
#define REGION_USER_MIN PAGE_SIZE
#define REGION_USER_END 0x0000800000000000ull

struct uffd_ctx; /* a userfaultfd (kernel/proc/uffd.c); mm never looks inside */

/* A region registered with a userfaultfd: which faults its pager decides. */
#define REGION_UFFD_MISSING 0x1u /* a page never provided: the pager supplies it */
#define REGION_UFFD_WP 0x2u      /* a write to a PTE_UFFD_WP page: the pager releases it */

struct region {
    struct avl_node node;
    uintptr_t start, end;
    unsigned prot;     /* REGION_R/W/X/U */
    unsigned flags;    /* REGION_SHARED / REGION_GUARD */
    struct vmobj *obj; /* NULL for guard regions */
    uint64_t offset;   /* first page of the object this region maps */
    const char *name;  /* for reports ("kernel stack", a module path); may be NULL */
    struct uffd_ctx *uffd; /* registered with this userfaultfd (NULL: none) */
    unsigned uffd_mode;    /* REGION_UFFD_MISSING / REGION_UFFD_WP */
};

/* A region's U and NX for its present leaves: U with REGION_U, NX without
 * REGION_X, as shifts of the bits (no branches: every missing page asks). */
static inline uint64_t region_pte_ux(const struct region *r)
{
    _Static_assert(REGION_U >> 1 == PTE_U && (uint64_t)REGION_X << 61 == PTE_NX,
                   "region_pte_ux's shifts");
    return ((uint64_t)(r->prot & REGION_U) >> 1) | ((uint64_t)(~r->prot & REGION_X) << 61);
}

struct region_req {
    uintptr_t addr;    /* REGION_FIXED: exactly here; else a hint (0: anywhere) */
    size_t len;        /* bytes, page aligned, > 0 */
    unsigned prot;
    unsigned flags;
    struct vmobj *obj; /* the region takes its own reference */
    uint64_t offset;   /* in pages */
    const char *name;
};

/* Map a range of an object (or a guard range).  Costs O(log n) searches in
 * the number of regions at a fixed address or a free hint (first fit also
 * steps over the regions in its way), plus moving the index's slots above
 * the new region (16 bytes each, and the whole index when it must grow),
 * and nothing per page: no frame, no table.  Errors:
 * VMM_ERR_UNALIGNED, VMM_ERR_RANGE (empty, outside the space's managed
 * ranges, or past the object's end), VMM_ERR_BAD_FLAGS, VMM_ERR_OVERLAP
 * (REGION_FIXED over an existing region), VMM_ERR_NO_SPACE (no gap large
 * enough), VMM_ERR_NOMEM.  *@out gets the start. */
enum vmm_status region_map(struct vmm_space *s, const struct region_req *req, uintptr_t *out);
/* Remove every region part inside [start, start + len), splitting regions
 * that extend past it, and drop their pages.  Holes are fine.  All or
 * nothing: only a hole strictly inside one region needs memory (one new
 * region), and VMM_ERR_NOMEM comes before anything changed. */
enum vmm_status region_unmap(struct vmm_space *s, uintptr_t start, size_t len);
/* Change the permissions of [start, start + len), which regions must cover
 * without holes (VMM_ERR_NO_REGION) and without guard regions
 * (VMM_ERR_GUARD).  Splits at the ends, merges with compatible neighbours,
 * and updates the page-table entries that hold frames; with no rights at
 * all (not R, W or X) they become not present but keep their frames
 * (PTE_PROTNONE), present again once rights come back.  All or nothing: each end inside
 * a region needs one new region, and VMM_ERR_NOMEM (after the refusals
 * above) comes before anything changed. */
enum vmm_status region_protect(struct vmm_space *s, uintptr_t start, size_t len, unsigned prot);
/* Visit the regions covering [start, start + len) without holes
 * (VMM_ERR_NO_REGION, unless holes_ok): @check may refuse any of them first (its status is
 * returned, nothing changed); then, with the space's lock held, @apply gets
 * each one with the part [a, b) of it inside the range, split at the ends
 * first when @split.  All or nothing (VMM_ERR_NOMEM before any change).
 * The userfaultfd ranges (uffd_range.c) are built on it. */
struct region_range_ops {
    bool split;
    bool holes_ok; /* gaps in the range are fine (not VMM_ERR_NO_REGION) */
    bool (*skip)(const struct region *r, void *ctx); /* left alone: not split, not applied */
    enum vmm_status (*check)(const struct region *r, void *ctx);
    void (*apply)(struct vmm_space *s, struct region *r, uintptr_t a, uintptr_t b, void *ctx);
};
enum vmm_status region_range_apply(struct vmm_space *s, uintptr_t start, size_t len,
                                   const struct region_range_ops *ops, void *ctx);
/* Drop the pages of [start, start + len) without changing any region: the
 * next access faults them in again (anonymous: zeros; a private mapping of
 * a file: the file's contents).  madvise(MADV_DONTNEED). */
enum vmm_status region_discard(struct vmm_space *s, uintptr_t start, size_t len);
/* Map every page of [start, start + len) now, as a first access would
 * (writes for writable regions): for memory that must never fault, such as
 * kernel stacks.  VMM_ERR_NOMEM leaves what was mapped so far mapped; a
 * guard region, a region that refuses the access (no rights) or a pager's
 * refusal stops it with VMM_ERR_NO_REGION. */
enum vmm_status region_populate(struct vmm_space *s, uintptr_t start, size_t len);

/* A copy of the region holding @va (true), for tests and reports. */
bool region_lookup(struct vmm_space *s, uintptr_t va, struct region *out);
uint64_t region_count(const struct vmm_space *s);
/* Calls @fn with each region in address order (under the space's lock). */
void region_for_each(struct vmm_space *s, void (*fn)(void *ctx, const struct region *r),
                     void *ctx);

/* fork: give the fresh, empty space @dst the regions of @src (user half);
 * private pages become copy-on-write in both, shared pages stay shared.
 * One of the two must be the live space (tables are reached through the
 * recursive and foreign windows).  On failure @dst is left empty. */
enum vmm_status vmm_space_clone(struct vmm_space *dst, struct vmm_space *src);

/* Whether faults at @va in @s are decided by regions: the user half, and
 * the kernel space's arena.  Inline: every fault asks. */
static inline bool region_managed(const struct vmm_space *s, uintptr_t va)
{
    if (va < KERNEL_HALF_START)
        return true;
    return s == &vmm_kernel_space && va - KERNEL_ARENA_BASE < KERNEL_ARENA_SIZE;
}
/* The region holding @va, with the owner's lock held (fault.c). */
struct region *region_find_locked(struct vmm_space *s, uintptr_t va);
const char *region_prot_str(unsigned prot, unsigned flags, char *buf, size_t n);
/* One line: "[start, end) rw-u private anonymous object #3 'name' +offset". */
void region_describe(const struct region *r, char *buf, size_t n);

/* ---- kernel memory in regions (arena.c) ---------------------------------
 * Lazily backed kernel memory: an anonymous private read-write region in the
 * arena at an address the VMM picks.  NULL when out of memory. */
void *vmm_arena_alloc(size_t npages, const char *name);
/* Unmap the region that starts at @p. */
enum vmm_status vmm_arena_free(void *p);
/* A kernel stack of @npages populated pages with a guard region of one page
 * below it; *@top is its initial stack pointer.  NULL when out of memory. */
void *kstack_alloc(size_t npages, uintptr_t *top);
enum vmm_status kstack_free(void *bottom);

/* Kernel views of the multiboot2 modules (vmm_modules.c): each module's
 * frames as a physical object, mapped read-only in the arena at boot.
 * The view of module @i (its first byte), or NULL. */
void vmm_map_modules(void);
const uint8_t *vmm_module_view(unsigned i);
/* Whether the region starting at @start is one of those views. */
bool vmm_is_module_view(uintptr_t start);

/* ---- the consistency checker (vmm_check.c) --------------------------------
 * Walks every live space and object: frame reference counts recounted from
 * page-table mappings and page caches must equal the allocator's; no
 * writable entry maps the zero frame; no writable entry of a private region
 * maps a frame another mapping shares; every present entry in a
 * region-managed range lies in a region that allows it; region trees are
 * ordered, balanced and disjoint, and each region index holds its tree's
 * regions in order.  True when all hold; else false with the
 * first mismatch described in @why. */
bool vmm_check_consistency(char *why, size_t n);
/* How many passes the last check took: 1 unless more frames were
 * referenced than its tally holds (then 2, 4, ...: no limit but time). */
unsigned vmm_check_last_passes(void);

#endif
