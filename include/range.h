/* Sets of physical address ranges [start, end) kept as small sorted arrays.
 * Pure code (no allocation, no printing): used by the multiboot2 memory-map
 * sanitiser and the frame allocator, and built unchanged for host tests. */
#ifndef ZF_RANGE_H
#define ZF_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct range {
    uint64_t start; /* inclusive */
    uint64_t end;   /* exclusive; a range with end <= start is empty */
};

struct range_set {
    struct range *r;
    size_t n, cap;
    bool overflow; /* an add did not fit (the caller decides if that is safe) */
};

static inline void range_set_init(struct range_set *s, struct range *storage, size_t cap)
{
    s->r = storage;
    s->n = 0;
    s->cap = cap;
    s->overflow = false;
}

/* Append [start, end) (ignored when empty).  Returns false (and sets
 * overflow) when full. */
bool range_add(struct range_set *s, uint64_t start, uint64_t end);

/* Sort by start and merge overlapping or touching ranges, dropping empty
 * ones.  Returns true when some ranges overlapped (not merely touched). */
bool range_normalize(struct range_set *s);

/* Remove every range of @sub (normalized) from @s (normalized), in place.
 * A range split in two needs one more slot; when there is none the upper
 * piece is dropped and overflow is set (losing usable memory is safe). */
void range_subtract(struct range_set *s, const struct range_set *sub);

/* Shrink every range to whole @align units (a power of two): start rounded
 * up, end rounded down; empty results are dropped. */
void range_align_inward(struct range_set *s, uint64_t align);

/* True when [start, end) lies completely inside one range of @s / overlaps
 * any range of @s (both normalized). */
bool range_contains(const struct range_set *s, uint64_t start, uint64_t end);
bool range_overlaps(const struct range_set *s, uint64_t start, uint64_t end);

/* Total bytes in @s. */
uint64_t range_total(const struct range_set *s);

#endif
