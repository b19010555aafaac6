/* Slab caches (include/kmem.h).  A slab is one frame: this header, a bitmap
 * of allocated objects (so a double free is caught in O(1)), then the
 * objects.  Free objects of a slab are chained through their first word. */
#include "kmem.h"
#include "kstring.h"
#include "mmu_hooks.h"
#include "spinlock.h"

#define SLAB_MAGIC 0x51ab51abu
#define SLAB_MAX_OBJECTS 256

struct kmem_slab {
    uint32_t magic;
    uint32_t used;
    struct kmem_cache *cache;
    struct kmem_slab *prev, *next; /* in the cache's partial list */
    void *free;                    /* first free object */
    uint64_t allocated[SLAB_MAX_OBJECTS / 64];
};

#define SLAB_FIRST_OBJECT ((sizeof(struct kmem_slab) + 15) & ~(size_t)15)

static struct kmem_cache *all_caches;
static struct spinlock kmem_lock = SPINLOCK_INIT("kmem");
static uint64_t page_frames; /* held by kmem_alloc_pages blocks */

enum kmem_status kmem_cache_init(struct kmem_cache *c, const char *name, size_t size)
{
    if (c->per_slab)
        return KMEM_OK;
    if (size == 0 || size > KMEM_MAX_OBJECT)
        return KMEM_ERR_TOO_LARGE;
    size = (size + 15) & ~(size_t)15;
    c->name = name;
    c->size = (uint32_t)size;
    c->per_slab = (uint32_t)((PAGE_SIZE - SLAB_FIRST_OBJECT) / size);
    if (c->per_slab > SLAB_MAX_OBJECTS)
        c->per_slab = SLAB_MAX_OBJECTS;
    c->partial = NULL;
    c->in_use = c->slabs = 0;
    spin_lock(&kmem_lock);
    c->next_cache = all_caches;
    all_caches = c;
    spin_unlock(&kmem_lock);
    return KMEM_OK;
}

static void partial_push(struct kmem_cache *c, struct kmem_slab *s)
{
    s->prev = NULL;
    s->next = c->partial;
    if (c->partial)
        c->partial->prev = s;
    c->partial = s;
}

static void partial_remove(struct kmem_cache *c, struct kmem_slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static char *slab_object(const struct kmem_slab *s, uint32_t i)
{
    return (char *)s + SLAB_FIRST_OBJECT + (size_t)i * s->cache->size;
}

/* A fresh slab with every object on its free list, or NULL. */
static struct kmem_slab *slab_create(struct kmem_cache *c)
{
    paddr_t pa;
    if (pmm_alloc(&pa) != PMM_OK)
        return NULL;
    struct kmem_slab *s = mmu_kmem_map(pa);
    if (!s) {
        pmm_free(pa);
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->magic = SLAB_MAGIC;
    s->cache = c;
    for (uint32_t i = c->per_slab; i-- > 0;) {
        void **obj = (void **)slab_object(s, i);
        *obj = s->free;
        s->free = obj;
    }
    c->slabs++;
    return s;
}

static void slab_destroy(struct kmem_cache *c, struct kmem_slab *s)
{
    s->magic = 0;
    c->slabs--;
    pmm_free(mmu_kmem_unmap(s));
}

void *kmem_alloc(struct kmem_cache *c)
{
    spin_lock(&kmem_lock);
    struct kmem_slab *s = c->partial;
    if (!s) {
        s = slab_create(c);
        if (!s) {
            spin_unlock(&kmem_lock);
            return NULL;
        }
        partial_push(c, s);
    }
    void **obj = s->free;
    s->free = *obj;
    uint32_t i = (uint32_t)(((char *)obj - slab_object(s, 0)) / c->size);
    s->allocated[i / 64] |= 1ull << (i % 64);
    if (++s->used == c->per_slab)
        partial_remove(c, s);
    c->in_use++;
    spin_unlock(&kmem_lock);
    memset(obj, 0, c->size);
    return obj;
}

enum kmem_status kmem_free(struct kmem_cache *c, void *p)
{
    if (!p || !mmu_kmem_contains(p))
        return KMEM_ERR_NOT_OBJECT;
    struct kmem_slab *s = (struct kmem_slab *)((uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1));
    spin_lock(&kmem_lock);
    enum kmem_status st = KMEM_OK;
    uintptr_t off = (uintptr_t)p - (uintptr_t)slab_object(s, 0);
    uint32_t i = (uint32_t)(off / c->size);
    if (s->magic != SLAB_MAGIC || s->cache != c || (uintptr_t)p < (uintptr_t)slab_object(s, 0) ||
        off % c->size || i >= c->per_slab)
        st = KMEM_ERR_NOT_OBJECT;
    else if (!(s->allocated[i / 64] & (1ull << (i % 64))))
        st = KMEM_ERR_DOUBLE_FREE;
    if (st != KMEM_OK) {
        spin_unlock(&kmem_lock);
        return st;
    }
    s->allocated[i / 64] &= ~(1ull << (i % 64));
    if (s->used-- == c->per_slab)
        partial_push(c, s);
    c->in_use--;
    if (s->used == 0) {
        partial_remove(c, s);
        slab_destroy(c, s);
    } else {
        *(void **)p = s->free;
        s->free = p;
    }
    spin_unlock(&kmem_lock);
    return KMEM_OK;
}

void *kmem_alloc_pages(size_t n)
{
    paddr_t pa;
    if (n == 0 || pmm_alloc_contig(n, 1, &pa) != PMM_OK)
        return NULL;
    /* Frame pa + i lands at KMEM_BASE + pa + i: contiguous frames give a
     * contiguous block. */
    spin_lock(&kmem_lock);
    char *first = mmu_kmem_map(pa);
    size_t mapped = first ? 1 : 0;
    while (mapped > 0 && mapped < n && mmu_kmem_map(pa + mapped * PAGE_SIZE))
        mapped++;
    if (mapped == n) {
        page_frames += n;
        spin_unlock(&kmem_lock);
        return first;
    }
    for (size_t i = 0; i < mapped; i++)
        mmu_kmem_unmap(first + i * PAGE_SIZE);
    for (size_t i = 0; i < n; i++)
        pmm_free(pa + i * PAGE_SIZE);
    spin_unlock(&kmem_lock);
    return NULL;
}

void kmem_free_pages(void *p, size_t n)
{
    spin_lock(&kmem_lock);
    for (size_t i = 0; i < n; i++)
        pmm_free(mmu_kmem_unmap((char *)p + i * PAGE_SIZE));
    page_frames -= n;
    spin_unlock(&kmem_lock);
}

uint64_t kmem_page_frames(void)
{
    return page_frames;
}

uint64_t kmem_objects_in_use(void)
{
    uint64_t n = 0;
    spin_lock(&kmem_lock);
    for (const struct kmem_cache *c = all_caches; c; c = c->next_cache)
        n += c->in_use;
    spin_unlock(&kmem_lock);
    return n;
}

struct kmem_cache *kmem_caches(void)
{
    return all_caches;
}

const char *kmem_status_str(enum kmem_status st)
{
    switch (st) {
    case KMEM_OK: return "ok";
    case KMEM_ERR_NOMEM: return "no frame for a new slab";
    case KMEM_ERR_NOT_OBJECT: return "not an object of this cache";
    case KMEM_ERR_DOUBLE_FREE: return "object already free (double free)";
    case KMEM_ERR_TOO_LARGE: return "object too large for a slab";
    }
    return "unknown kmem status";
}
