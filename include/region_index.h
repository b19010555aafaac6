/* A space's region index: every region's start, with the region, in one
 * array sorted by start, so that "which region holds this address" is a
 * binary search of 2-3 instructions per halving (compare with a start, skip
 * or take an add), unrolled, instead of the tree's descent (5-7 a level:
 * two keys and a child to test).  The space's AVL tree stays the order
 * everything else walks (neighbours, splitting, merging); the index is kept
 * in step with it under the same lock, the space's.
 *
 * Layout: 1 << order slots.  Slot 0 is a sentinel (start 0), slots
 * 1..count hold the regions in address order, the rest are padding (start
 * UINTPTR_MAX).  The sentinel and the padding point at one region that
 * covers nothing ([0, 0)), so a search needs no bounds test and its
 * answer's end alone says whether the address is inside.
 *
 * Memory: 16 bytes a slot, the start beside its region (a step's offset is
 * then a constant, and the answer's region one load).  An empty index uses
 * a shared one-slot block; up to 63 regions, a 1 KiB kmem object (64
 * slots); beyond, contiguous frames in the kmem window (256 slots a frame),
 * doubling; always the smallest that holds the regions.  A block is never resized in place: the caller allocates the
 * new one with the space's lock dropped (region_index_alloc), then under
 * the lock moves the index into it (region_index_adopt), so inserting
 * never allocates and never fails. */
#ifndef ZF_REGION_INDEX_H
#define ZF_REGION_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct region;

struct region_index_slot {
    uintptr_t start;
    struct region *region; /* the region starting there */
};

struct region_index {
    struct region_index_slot *slot; /* 1 << order of them, ascending */
    uint32_t count;                 /* regions, in slots 1..count */
    uint32_t order;
};

#define REGION_INDEX_SMALL_ORDER 6 /* 64 slots: a kmem object */
#define REGION_INDEX_PAGE_ORDER 8  /* 256 slots: one frame; page blocks from here up */
#define REGION_INDEX_MAX_ORDER 20  /* at most 2^20 - 1 regions in a space */

extern struct region_index_slot region_index_empty_slot[1];
#define REGION_INDEX_EMPTY_INIT { region_index_empty_slot, 0, 0 }
#define REGION_INDEX_EMPTY ((struct region_index)REGION_INDEX_EMPTY_INIT)

static inline size_t region_index_slots(const struct region_index *ix)
{
    return (size_t)1 << ix->order;
}

/* Whether @n more regions fit without a new block. */
static inline bool region_index_fits(const struct region_index *ix, size_t n)
{
    return ix->count + 1 + n <= region_index_slots(ix);
}

/* The order of the smallest block for @n regions; 0 past the largest. */
unsigned region_index_order_for(size_t n);
/* @ix (empty, holding no block) gets an empty block of @order (from
 * region_index_order_for or region_index_shrink_order).  False when out of
 * memory. */
bool region_index_alloc(struct region_index *ix, unsigned order);
/* Give back @ix's block, whatever it holds; @ix is empty afterwards. */
void region_index_release(struct region_index *ix);
/* Move @ix's regions into @fresh's block (empty, large enough) and swap the
 * two: @ix goes on in the new block, @fresh holds the old one, to be
 * released once the lock is dropped. */
void region_index_adopt(struct region_index *ix, struct region_index *fresh);
/* The order @ix should move down to now that regions went away (the
 * smallest that holds them): its own order when it should keep its block,
 * 0 (no block) once it is empty. */
unsigned region_index_shrink_order(const struct region_index *ix);

/* Add @r (by r->start, disjoint from the rest); there must be room
 * (region_index_fits). */
void region_index_insert(struct region_index *ix, struct region *r);
void region_index_remove(struct region_index *ix, const struct region *r);
/* The region starting at @old now starts at @start (trimmed from below: it
 * keeps its place in the order). */
void region_index_move_start(struct region_index *ix, uintptr_t old, uintptr_t start);
/* For the consistency checker: -1 when the sentinel, the order of the
 * starts, a region's start or the padding is wrong, else the count. */
long region_index_check(const struct region_index *ix);

/* The last slot whose start is at or below @va (the sentinel at worst).
 * Step k (from order - 1 down to 0) halves the range: if the start 2^k
 * slots on is still at or below @va, move there.  The steps are unrolled
 * from the block's order down by a switch whose cases fall through: in a loop the step's own
 * counter and test would cost as much as the step.  Compiled (gcc -O2),
 * a step is a compare with the slot's start and an add it may skip:
 * 2-3 instructions.  Always inline: it is most of the fault path's lookup. */
static inline __attribute__((always_inline)) struct region_index_slot *
region_index_find(const struct region_index *ix, uintptr_t va)
{
    struct region_index_slot *p = ix->slot;
#define RI_STEP(k)                                              \
    case (k) + 1:                                               \
        if (p[(size_t)1 << (k)].start <= va)                    \
            p += (size_t)1 << (k);                              \
        __attribute__((fallthrough))
    switch (ix->order) {
        RI_STEP(19); RI_STEP(18); RI_STEP(17); RI_STEP(16); RI_STEP(15); RI_STEP(14); RI_STEP(13);
        RI_STEP(12); RI_STEP(11); RI_STEP(10); RI_STEP(9); RI_STEP(8); RI_STEP(7); RI_STEP(6);
        RI_STEP(5); RI_STEP(4); RI_STEP(3); RI_STEP(2); RI_STEP(1); RI_STEP(0);
    case 0:
        break;
    default:
        __builtin_unreachable(); /* no order above REGION_INDEX_MAX_ORDER: no bounds test */
    }
#undef RI_STEP
    return p;
}

#endif
