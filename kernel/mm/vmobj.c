/* Memory objects and their page caches (include/vmobj.h).  The page cache is
 * a radix tree of 64-way nodes from a kmem cache, as deep as the object's
 * size needs (a 4 GiB object: 4 levels), so a lookup is a few loads and an
 * object of any size costs nothing until its pages exist. */
#include "kmap.h"
#include "kmem.h"
#include "kstring.h"
#include "mmu_hooks.h"
#include "vmm.h"
#include "vmobj.h"

#define RADIX_BITS 6
#define RADIX_SLOTS (1u << RADIX_BITS)

struct vmobj_radix {
    uint64_t slot[RADIX_SLOTS]; /* a child node, or (last level) a frame; 0: empty */
};

static struct kmem_cache obj_cache, radix_cache;
static struct vmobj *objects; /* every live object */
static uint64_t live_objects;
static uint32_t next_id = 1;
static struct spinlock objects_lock = SPINLOCK_INIT("vmobj list");

static unsigned levels_for(uint64_t npages)
{
    unsigned l = 1;
    while (l < 11 && (npages - 1) >> (RADIX_BITS * l))
        l++;
    return l;
}

static struct vmobj *obj_new(enum vmobj_kind kind, uint64_t npages, const char *name)
{
    if (npages == 0 || npages > (1ull << 52) / PAGE_SIZE)
        return NULL;
    kmem_cache_init(&obj_cache, "vmobj", sizeof(struct vmobj));
    kmem_cache_init(&radix_cache, "vmobj page cache", sizeof(struct vmobj_radix));
    struct vmobj *o = kmem_alloc(&obj_cache);
    if (!o)
        return NULL;
    o->kind = kind;
    o->refs = 1;
    o->npages = npages;
    o->name = name;
    o->lock = (struct spinlock)SPINLOCK_INIT("vmobj");
    o->cache_levels = levels_for(npages);
    spin_lock(&objects_lock);
    o->id = next_id++;
    o->next_obj = objects;
    if (objects)
        objects->prev_obj = o;
    objects = o;
    live_objects++;
    spin_unlock(&objects_lock);
    return o;
}

struct vmobj *vmobj_create_anon(uint64_t npages, const char *name)
{
    return obj_new(VMOBJ_ANON, npages, name);
}

struct vmobj *vmobj_create_paged(uint64_t npages, const struct vmobj_pager *pager,
                                 const char *name)
{
    if (!pager || !pager->provide)
        return NULL;
    struct vmobj *o = obj_new(VMOBJ_PAGED, npages, name);
    if (o)
        o->pager = pager;
    return o;
}

struct vmobj *vmobj_create_phys(paddr_t first, uint64_t npages, const char *name)
{
    if (first & (PAGE_SIZE - 1) || npages == 0 || first + npages * PAGE_SIZE < first ||
        (first + npages * PAGE_SIZE - 1) > PTE_ADDR_MASK)
        return NULL;
    /* Frames the allocator hands out are reference counted by their
     * mappings; a physical object's frames are not. */
    for (uint64_t i = 0; i < npages; i++) {
        if (pmm_refcount(first + i * PAGE_SIZE))
            return NULL;
    }
    struct vmobj *o = obj_new(VMOBJ_PHYS, npages, name);
    if (o)
        o->phys = first;
    return o;
}

/* The page-cache slot of @index; with @create, missing nodes are added
 * (NULL when none is left). */
static uint64_t *cache_slot(struct vmobj *o, uint64_t index, bool create)
{
    if (!o->cache) {
        if (!create || !(o->cache = kmem_alloc(&radix_cache)))
            return NULL;
    }
    struct vmobj_radix *n = o->cache;
    for (unsigned l = o->cache_levels; l > 1; l--) {
        uint64_t *s = &n->slot[(index >> (RADIX_BITS * (l - 1))) & (RADIX_SLOTS - 1)];
        if (!*s) {
            struct vmobj_radix *child = create ? kmem_alloc(&radix_cache) : NULL;
            if (!child)
                return NULL;
            *s = (uint64_t)(uintptr_t)child;
        }
        n = (struct vmobj_radix *)(uintptr_t)*s;
    }
    return &n->slot[index & (RADIX_SLOTS - 1)];
}

static void cache_walk(struct vmobj_radix *n, unsigned level, uint64_t base,
                       void (*fn)(void *ctx, uint64_t index, paddr_t frame), void *ctx,
                       bool free_nodes)
{
    for (unsigned i = 0; i < RADIX_SLOTS; i++) {
        uint64_t v = n->slot[i];
        if (!v)
            continue;
        uint64_t index = base | ((uint64_t)i << (RADIX_BITS * (level - 1)));
        if (level == 1) {
            if (fn)
                fn(ctx, index, v);
        } else {
            cache_walk((struct vmobj_radix *)(uintptr_t)v, level - 1, index, fn, ctx, free_nodes);
        }
    }
    if (free_nodes)
        kmem_free(&radix_cache, n);
}

void vmobj_for_each_page(struct vmobj *o, void (*fn)(void *ctx, uint64_t index, paddr_t frame),
                         void *ctx)
{
    if (o->cache)
        cache_walk(o->cache, o->cache_levels, 0, fn, ctx, false);
}

static void drop_cached(void *ctx, uint64_t index, paddr_t frame)
{
    (void)ctx;
    (void)index;
    pmm_ref_dec(frame, NULL);
}

void vmobj_get(struct vmobj *o)
{
    spin_lock(&o->lock);
    o->refs++;
    spin_unlock(&o->lock);
}

void vmobj_put(struct vmobj *o)
{
    spin_lock(&o->lock);
    uint32_t left = --o->refs;
    spin_unlock(&o->lock);
    if (left)
        return;
    if (o->cache)
        cache_walk(o->cache, o->cache_levels, 0, drop_cached, NULL, true);
    spin_lock(&objects_lock);
    if (o->prev_obj)
        o->prev_obj->next_obj = o->next_obj;
    else
        objects = o->next_obj;
    if (o->next_obj)
        o->next_obj->prev_obj = o->prev_obj;
    live_objects--;
    spin_unlock(&objects_lock);
    kmem_free(&obj_cache, o);
}

paddr_t vmobj_page_lookup(struct vmobj *o, uint64_t index)
{
    if (index >= o->npages)
        return 0;
    if (o->kind == VMOBJ_PHYS)
        return o->phys + index * PAGE_SIZE;
    /* Pages stay cached until the object dies: an object that never had
     * one (private anonymous memory, the common case) has none to find. */
    if (!o->cached)
        return 0;
    uint64_t *s = cache_slot(o, index, false);
    return s ? *s : 0;
}

/* Insert with the object's lock held. */
static enum vmm_status cache_insert(struct vmobj *o, uint64_t index, paddr_t frame)
{
    if (index >= o->npages || o->kind == VMOBJ_PHYS)
        return VMM_ERR_RANGE;
    uint64_t *s = cache_slot(o, index, true);
    if (!s)
        return VMM_ERR_NOMEM;
    if (*s)
        return VMM_ERR_EXISTS;
    *s = frame;
    o->cached++;
    return VMM_OK;
}

enum vmm_status vmobj_page_provide(struct vmobj *o, uint64_t index, paddr_t frame)
{
    spin_lock(&o->lock);
    enum vmm_status st = cache_insert(o, index, frame);
    spin_unlock(&o->lock);
    return st;
}

enum vmobj_get vmobj_page_get(struct vmobj *o, uint64_t index, bool fill_holes, paddr_t *pa,
                              const char **why)
{
    paddr_t have = vmobj_page_lookup(o, index);
    if (have) {
        *pa = have;
        return VMOBJ_GOT;
    }
    if (o->kind == VMOBJ_ANON && !fill_holes)
        return VMOBJ_HOLE;

    paddr_t fresh;
    if (pmm_alloc(&fresh) != PMM_OK)
        return VMOBJ_NOMEM;
    if (o->kind == VMOBJ_ANON) {
        void *p = kmap_push(fresh, true, NULL);
        if (!p) {
            pmm_free(fresh);
            *why = "no temporary mapping slot";
            return VMOBJ_FAILED;
        }
        mm_zero_page(p);
        kmap_pop(p);
    } else {
        enum pager_result r = o->pager->provide(o, index, fresh, why);
        if (r != PAGER_OK) {
            pmm_free(fresh);
            return r == PAGER_LATER ? VMOBJ_LATER : VMOBJ_FAILED;
        }
    }
    if (vmobj_page_provide(o, index, fresh) != VMM_OK) {
        pmm_free(fresh);
        return VMOBJ_NOMEM;
    }
    *pa = fresh;
    return VMOBJ_GOT;
}

enum vmobj_get vmobj_read(struct vmobj *o, uint64_t offset, void *buf, uint64_t len,
                          const char **why)
{
    uint8_t *out = buf;
    if (offset > o->npages * PAGE_SIZE || len > o->npages * PAGE_SIZE - offset) {
        *why = "read past the end of the object";
        return VMOBJ_FAILED;
    }
    while (len) {
        uint64_t in = offset & (PAGE_SIZE - 1);
        uint64_t chunk = PAGE_SIZE - in < len ? PAGE_SIZE - in : len;
        paddr_t pa;
        enum vmobj_get g = vmobj_page_get(o, offset / PAGE_SIZE, false, &pa, why);
        if (g == VMOBJ_HOLE) {
            memset(out, 0, chunk);
        } else if (g != VMOBJ_GOT) {
            return g;
        } else {
            const uint8_t *p = kmap_push(pa, false, NULL);
            if (!p) {
                *why = "no temporary mapping slot";
                return VMOBJ_FAILED;
            }
            memcpy(out, p + in, chunk);
            kmap_pop((void *)p);
        }
        out += chunk;
        offset += chunk;
        len -= chunk;
    }
    return VMOBJ_GOT;
}

const char *vmobj_kind_str(enum vmobj_kind k)
{
    switch (k) {
    case VMOBJ_ANON: return "anonymous";
    case VMOBJ_PAGED: return "paged";
    case VMOBJ_PHYS: return "physical";
    }
    return "?";
}

struct vmobj *vmobj_first(void)
{
    return objects;
}

uint64_t vmobj_live_count(void)
{
    return live_objects;
}
