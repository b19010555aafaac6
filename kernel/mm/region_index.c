/* The region index (include/region_index.h): its blocks, and keeping the
 * sorted starts in step with the tree. */
#include "kmem.h"
#include "kstring.h"
#include "region.h"

/* The region the sentinel and the padding point at: [0, 0) holds nothing. */
static struct region nothing;

/* The block of every empty index: the sentinel alone (never written). */
struct region_index_slot region_index_empty_slot[1] = { { 0, &nothing } };

static struct kmem_cache small_blocks;

#define SLOT_BYTES sizeof(struct region_index_slot)

unsigned region_index_order_for(size_t n)
{
    size_t slots = n + 1;
    if (slots <= (size_t)1 << REGION_INDEX_SMALL_ORDER)
        return REGION_INDEX_SMALL_ORDER;
    /* 128 slots would be 2 KiB: more than a kmem object, half a frame. */
    unsigned order = REGION_INDEX_PAGE_ORDER;
    while (((size_t)1 << order) < slots && order < REGION_INDEX_MAX_ORDER)
        order++;
    return ((size_t)1 << order) < slots ? 0 : order;
}

static size_t block_frames(unsigned order)
{
    return ((size_t)SLOT_BYTES << order) / PAGE_SIZE;
}

bool region_index_alloc(struct region_index *ix, unsigned order)
{
    if (order <= REGION_INDEX_SMALL_ORDER) {
        order = REGION_INDEX_SMALL_ORDER;
        kmem_cache_init(&small_blocks, "region index", SLOT_BYTES << order);
        ix->slot = kmem_alloc(&small_blocks);
    } else {
        ix->slot = kmem_alloc_pages(block_frames(order));
    }
    if (!ix->slot) {
        *ix = REGION_INDEX_EMPTY;
        return false;
    }
    ix->count = 0;
    ix->order = order;
    ix->slot[0] = (struct region_index_slot){ 0, &nothing };
    for (size_t i = 1; i < region_index_slots(ix); i++)
        ix->slot[i] = (struct region_index_slot){ UINTPTR_MAX, &nothing };
    return true;
}

void region_index_release(struct region_index *ix)
{
    if (ix->slot != region_index_empty_slot) {
        if (ix->order <= REGION_INDEX_SMALL_ORDER)
            kmem_free(&small_blocks, ix->slot);
        else
            kmem_free_pages(ix->slot, block_frames(ix->order));
    }
    *ix = REGION_INDEX_EMPTY;
}

void region_index_adopt(struct region_index *ix, struct region_index *fresh)
{
    memcpy(fresh->slot + 1, ix->slot + 1, ix->count * SLOT_BYTES);
    fresh->count = ix->count;
    struct region_index old = *ix;
    *ix = *fresh;
    *fresh = old;
}

unsigned region_index_shrink_order(const struct region_index *ix)
{
    /* The smallest block that holds the regions, as growing picks: the
     * block is then a function of the count alone, so adding regions and
     * removing them again leaves the index as it was (the self-tests' leak
     * guards count its frames and objects).  The price: a count moving back
     * and forth across a block size moves the index each time. */
    unsigned order = ix->count ? region_index_order_for(ix->count) : 0;
    return order < ix->order ? order : ix->order;
}

void region_index_insert(struct region_index *ix, struct region *r)
{
    struct region_index_slot *at = region_index_find(ix, r->start) + 1;
    size_t after = ix->slot + ix->count + 1 - at; /* slots that move up one */
    memmove(at + 1, at, after * SLOT_BYTES);
    *at = (struct region_index_slot){ r->start, r };
    ix->count++;
}

void region_index_remove(struct region_index *ix, const struct region *r)
{
    struct region_index_slot *at = region_index_find(ix, r->start);
    size_t after = ix->slot + ix->count - at; /* slots that move down one */
    memmove(at, at + 1, after * SLOT_BYTES);
    ix->slot[ix->count] = (struct region_index_slot){ UINTPTR_MAX, &nothing };
    ix->count--;
}

void region_index_move_start(struct region_index *ix, uintptr_t old, uintptr_t start)
{
    region_index_find(ix, old)->start = start;
}

long region_index_check(const struct region_index *ix)
{
    const struct region_index_slot *sl = ix->slot;
    size_t slots = region_index_slots(ix);
    if (ix->order > REGION_INDEX_MAX_ORDER || ix->count >= slots || sl[0].start != 0 ||
        sl[0].region != &nothing)
        return -1;
    for (size_t i = 1; i <= ix->count; i++)
        if (sl[i].start <= sl[i - 1].start || sl[i].region->start != sl[i].start)
            return -1;
    for (size_t i = ix->count + 1; i < slots; i++)
        if (sl[i].start != UINTPTR_MAX || sl[i].region != &nothing)
            return -1;
    return ix->count;
}
