/* The checks after every operation of the VMM model checker, made from the
 * outside: its own walk of the tables (not the kernel's walker), the
 * allocator's counts, the model.  What they establish:
 *   - every frame's reference count equals its owning mappings, page-cache
 *     holders and table/PML4 uses, and each frame of a space's region
 *     index (when larger than a kmem object); the rest of the allocated
 *     frames are exactly the slabs the kmem caches say they hold; the free
 *     count is exact;
 *   - the zero frame is all zeros and never mapped writable;
 *   - every space's kernel half is the kernel space's;
 *   - every present entry agrees with the model: only where a region
 *     allows it, with no more rights, onto the right frame (zero frame,
 *     object page, own copy), holding the contents the model expects; a
 *     region without rights has its pages' entries not present but
 *     holding their frames (PTE_PROTNONE), checked the same way;
 *   - no cached translation allows more than the tables (cpu.c);
 *   - temporary-mapping depth is back to zero;
 *   - the kernel's own consistency checker agrees. */
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "kmap.h"
#include "kmem.h"
#include "model.h"
#include "sim.h"

#define MAX_FRAMES 1024
#define SLAB_MAGIC 0x51ab51abu /* kmem.c's slab header */

static uint32_t expect[MAX_FRAMES];

struct scan {
    char *why;
    size_t n;
    bool bad;
};

#define FAIL(c, ...)                                     \
    do {                                                 \
        if (!(c)->bad) {                                 \
            (c)->bad = true;                             \
            snprintf((c)->why, (c)->n, __VA_ARGS__);     \
        }                                                \
    } while (0)

static void count(struct scan *c, paddr_t pa, const char *what)
{
    if (pa == 0 || pa % PAGE_SIZE || pa / PAGE_SIZE >= M.frames) {
        FAIL(c, "%s %#llx is no frame of the machine", what, (unsigned long long)pa);
        return;
    }
    expect[pa / PAGE_SIZE]++;
}

static uintptr_t sign_extend(uint64_t va)
{
    return (uintptr_t)((int64_t)(va << 16) >> 16);
}

/* Count the tables and owning leaves below the level-@level table @t. */
static void scan_table(struct scan *c, paddr_t t, int level, uintptr_t base, unsigned from,
                       unsigned to)
{
    const uint64_t *e = sim_phys(t);
    for (unsigned i = from; i < to; i++) {
        uint64_t v = e[i];
        uintptr_t va = sign_extend(base + (uint64_t)i * level_page_size(level));
        /* (a 4 KiB PTE_PROTNONE leaf holds its frame: counted below) */
        bool held = level == 1 && (v & PTE_PROTNONE) && !(v & (PTE_W | PTE_COW));
        if (!(v & PTE_P) && !held) {
            if (v)
                FAIL(c, "%#lx: non-present entry %#llx is not zero", (unsigned long)va,
                     (unsigned long long)v);
            continue;
        }
        paddr_t pa = v & PTE_ADDR_MASK;
        if (level > 1 && (v & PTE_PS)) {
            /* (only PTE_NOREF 2 MiB pages over the zero frame: op "huge") */
            if (level != 2 || !(v & PTE_NOREF) || (v & PTE_W))
                FAIL(c, "%#lx: huge page %#llx not a read-only PTE_NOREF 2 MiB page",
                     (unsigned long)va, (unsigned long long)v);
            continue;
        }
        if (level > 1) {
            count(c, pa, "page table");
            if (!c->bad)
                scan_table(c, pa, level - 1, va, 0, 512);
            continue;
        }
        if (pa == vmm_zero_frame) {
            if (v & PTE_W)
                FAIL(c, "%#lx: the zero frame is mapped writable (%#llx)", (unsigned long)va,
                     (unsigned long long)v);
            if (v & PTE_NOREF)
                FAIL(c, "%#lx: NOREF mapping of the zero frame", (unsigned long)va);
            continue;
        }
        if (!(v & PTE_NOREF))
            count(c, pa, "mapped frame");
    }
}

static void count_cached(void *ctx, uint64_t index, paddr_t frame)
{
    (void)index;
    count(ctx, frame, "page-cache frame");
}

/* Reference counts, frame accounting, shared kernel half. */
static void check_frames(struct scan *c)
{
    memset(expect, 0, sizeof(expect));
    const uint64_t *k = sim_phys(vmm_kernel_space.pml4);
    for (int i = 0; i < NSPACE; i++) {
        struct vmm_space *s = i ? M.sp[i].s : &vmm_kernel_space;
        if (!s)
            continue;
        count(c, s->pml4, "PML4");
        scan_table(c, s->pml4, 4, 0, 0, 256);
        const uint64_t *t = sim_phys(s->pml4);
        /* (the CPU sets accessed bits in whichever copy it walks) */
        if ((t[PML4_SLOT_SELF] & ~PTE_A) != (s->pml4 | PTE_P | PTE_W | PTE_NX))
            FAIL(c, "space %d: self slot %#llx", i, (unsigned long long)t[PML4_SLOT_SELF]);
        for (unsigned j = 256; i && j < 512; j++)
            if (j != PML4_SLOT_SELF && j != PML4_SLOT_FOREIGN && ((t[j] ^ k[j]) & ~PTE_A))
                FAIL(c, "space %d: kernel-half PML4 entry %u is %#llx, the kernel space's %#llx",
                     i, j, (unsigned long long)t[j], (unsigned long long)k[j]);
    }
    for (unsigned j = 256; j < 512; j++) {
        if (j == PML4_SLOT_SELF || j == PML4_SLOT_FOREIGN || !(k[j] & PTE_P))
            continue;
        count(c, k[j] & PTE_ADDR_MASK, "kernel-half PDPT");
        scan_table(c, k[j] & PTE_ADDR_MASK, 3, VA_SLOT_BASE(j), 0, 512);
    }
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        vmobj_for_each_page(o, count_cached, c);
    count(c, vmm_zero_frame, "zero frame");
    /* Region indexes past a kmem object's size: frames of kmem_alloc_pages. */
    uint64_t index_frames = 0;
    for (int i = 0; i < NSPACE; i++) {
        const struct vmm_space *s = i ? M.sp[i].s : &vmm_kernel_space;
        if (!s || s->index.order <= REGION_INDEX_SMALL_ORDER)
            continue;
        paddr_t pa = (paddr_t)((uint8_t *)s->index.slot - sim_ram);
        uint64_t n = (sizeof(*s->index.slot) << s->index.order) / PAGE_SIZE;
        for (uint64_t f = 0; f < n; f++)
            count(c, pa + f * PAGE_SIZE, "region index frame");
        index_frames += n;
    }
    if (index_frames != kmem_page_frames())
        FAIL(c, "region indexes hold %llu frames, kmem's blocks %llu",
             (unsigned long long)index_frames, (unsigned long long)kmem_page_frames());
    if (c->bad)
        return;
    uint64_t slabs = 0, allocated = 0, cache_slabs = 0;
    for (const struct kmem_cache *kc = kmem_caches(); kc; kc = kc->next_cache)
        cache_slabs += kc->slabs;
    for (uint64_t f = 1; f < M.frames; f++) {
        uint32_t rc = pmm_refcount(f * PAGE_SIZE);
        allocated += rc > 0;
        if (rc == expect[f])
            continue;
        if (expect[f] == 0 && rc == 1 && *(uint32_t *)sim_phys(f * PAGE_SIZE) == SLAB_MAGIC) {
            slabs++;
            continue;
        }
        FAIL(c, "frame %#llx: reference count %u, but %u mappings, page-cache holders and "
             "table uses", (unsigned long long)(f * PAGE_SIZE), rc, expect[f]);
        return;
    }
    if (slabs != cache_slabs)
        FAIL(c, "%llu frames held by nothing but %llu slabs", (unsigned long long)slabs,
             (unsigned long long)cache_slabs);
    if (allocated + sim_free_frames() != M.frames - 1 - NPHYS)
        FAIL(c, "%llu frames allocated + %llu free != %llu", (unsigned long long)allocated,
             (unsigned long long)sim_free_frames(), (unsigned long long)(M.frames - 1 - NPHYS));
}

/* The leaf for @va in @s (pure walk; present or PTE_PROTNONE), or 0. */
static uint64_t leaf_of(const struct vmm_space *s, uintptr_t va)
{
    paddr_t t = s->pml4;
    for (int level = 4; level >= 1; level--) {
        uint64_t v = ((const uint64_t *)sim_phys(t))[pt_index(va, level)];
        if (level == 1)
            return v & (PTE_P | PTE_PROTNONE) ? v : 0;
        if (!(v & PTE_P))
            return 0;
        t = v & PTE_ADDR_MASK;
    }
    return 0;
}

static void frame_words(paddr_t pa, uint64_t out[NPOS + 1])
{
    const uint8_t *p = sim_phys(pa);
    for (unsigned k = 0; k <= NPOS; k++)
        memcpy(&out[k], p + tag_pos[k], 8);
}

static void check_words(struct scan *c, uintptr_t va, paddr_t pa, const uint64_t want[NPOS],
                        const char *what)
{
    uint64_t have[NPOS + 1];
    frame_words(pa, have);
    for (unsigned k = 0; k <= NPOS; k++) {
        uint64_t w = k < NPOS ? want[k] : 0;
        if (have[k] != w) {
            FAIL(c, "%#lx (%s, frame %#llx): word at +%u is %#llx, the model says %#llx",
                 (unsigned long)va, what, (unsigned long long)pa, tag_pos[k],
                 (unsigned long long)have[k], (unsigned long long)w);
            return;
        }
    }
}

/* One region-managed page against the model. */
static void check_page(struct scan *c, const struct vmm_space *s, uintptr_t va,
                       const struct mpage *p)
{
    uint64_t e = leaf_of(s, va);
    if (!e) {
        if (p->kind == MK_PRIV && p->pst != MS_UNTOUCHED)
            FAIL(c, "%#lx: no entry, but the model has the page mapped (state %u)",
                 (unsigned long)va, p->pst);
        return;
    }
    paddr_t pa = e & PTE_ADDR_MASK;
    if (p->kind == MK_NONE || p->kind == MK_GUARD) {
        FAIL(c, "%#lx: entry %#llx where the model has %s", (unsigned long)va,
             (unsigned long long)e, p->kind == MK_NONE ? "no region" : "a guard region");
        return;
    }
    /* x86 has no present entry the kernel cannot read: none for a region
     * without rights, whose pages keep their frames not present. */
    bool none = !(p->prot & (REGION_R | REGION_W | REGION_X));
    if (none != !(e & PTE_P)) {
        FAIL(c, "%#lx: entry %#llx, but the region's rights are %#x", (unsigned long)va,
             (unsigned long long)e, p->prot);
        return;
    }
    if (((e & PTE_U) && !(p->prot & REGION_U)) || (!(e & PTE_NX) && !(p->prot & REGION_X)) ||
        (((e & PTE_W) || (e & PTE_COW)) && !(p->prot & REGION_W))) {
        FAIL(c, "%#lx: entry %#llx allows more than the region's %#x", (unsigned long)va,
             (unsigned long long)e, p->prot);
        return;
    }
    if (!!(e & PTE_UFFD_WP) != p->wp) {
        FAIL(c, "%#lx: entry %#llx %s PTE_UFFD_WP, the model %s", (unsigned long)va,
             (unsigned long long)e, e & PTE_UFFD_WP ? "has" : "lacks",
             p->wp ? "write-protects the page" : "does not");
        return;
    }
    const struct mobj *o = &M.obj[p->obj];
    paddr_t cached = vmobj_page_lookup(o->o, p->idx);
    if (p->kind == MK_SHARED) {
        if (pa != cached || !cached)
            FAIL(c, "%#lx: shared page maps frame %#llx, the object holds %#llx",
                 (unsigned long)va, (unsigned long long)pa, (unsigned long long)cached);
        if ((e & PTE_COW) || ((p->prot & REGION_W) && !(e & PTE_W)))
            FAIL(c, "%#lx: shared writable page entry %#llx", (unsigned long)va,
                 (unsigned long long)e);
        check_words(c, va, pa, o->w[p->idx], "shared");
        return;
    }
    switch (p->pst) {
    case MS_UNTOUCHED:
        FAIL(c, "%#lx: entry %#llx for a page the model has never touched", (unsigned long)va,
             (unsigned long long)e);
        return;
    case MS_ZERO:
        if (pa != vmm_zero_frame)
            FAIL(c, "%#lx: a read hole maps %#llx, not the zero frame", (unsigned long)va,
                 (unsigned long long)pa);
        return;
    case MS_VIEW:
        if (pa != cached || (e & PTE_W))
            FAIL(c, "%#lx: private view entry %#llx, the object holds %#llx", (unsigned long)va,
                 (unsigned long long)e, (unsigned long long)cached);
        check_words(c, va, pa, o->w[p->idx], "private view");
        return;
    case MS_OWN:
        if (pa == vmm_zero_frame || pa == cached)
            FAIL(c, "%#lx: a private copy maps %s", (unsigned long)va,
                 pa == cached ? "the object's page" : "the zero frame");
        else if ((p->prot & REGION_W) && !(e & (PTE_W | PTE_COW)))
            FAIL(c, "%#lx: own page of a writable region neither W nor CoW (%#llx)",
                 (unsigned long)va, (unsigned long long)e);
        else if ((e & PTE_W) && pmm_refcount(pa) != 1)
            FAIL(c, "%#lx: writable private frame %#llx has %u references", (unsigned long)va,
                 (unsigned long long)pa, pmm_refcount(pa));
        check_words(c, va, pa, p->w, "private own");
        return;
    }
}

static void check_model(struct scan *c)
{
    for (int i = 0; i < NSPACE && !c->bad; i++) {
        struct vmm_space *s = i ? M.sp[i].s : &vmm_kernel_space;
        if (!s)
            continue;
        for (unsigned p = 0; p < NU && !c->bad; p++) {
            const struct mpage *m = &M.sp[i].up[p];
            uintptr_t va = USER_BASE + p * PAGE_SIZE;
            check_page(c, s, va, m);
            struct region r;
            if (m->kind != MK_NONE && region_lookup(s, va, &r) &&
                (r.uffd != uffd_ctx_of(i, m->uffd) || r.uffd_mode != m->umode))
                FAIL(c, "%#lx: region registered with context %p mode %u, the model %u mode %u",
                     (unsigned long)va, (void *)r.uffd, r.uffd_mode, m->uffd, m->umode);
        }
        uint64_t nreg = 0;
        for (unsigned p = 0; p < NU; p++)
            nreg += M.sp[i].up[p].kind != MK_NONE;
        if (i && !nreg && region_count(s))
            FAIL(c, "space %d has %llu regions, the model none", i,
                 (unsigned long long)region_count(s));
    }
    for (unsigned p = 0; p < NA && !c->bad; p++)
        check_page(c, &vmm_kernel_space, ARENA_FUZZ + p * PAGE_SIZE, &M.ap[p]);
    for (unsigned q = 0; q < NK && !c->bad; q++) {
        const struct kpage *k = &M.kp[q];
        uintptr_t va = KSLOT_BASE + q * PAGE_SIZE;
        uint64_t e = M.kslot ? leaf_of(&vmm_kernel_space, va) : 0;
        if (!k->mapped) {
            if (e)
                FAIL(c, "%#lx: entry %#llx, the model has nothing mapped", (unsigned long)va,
                     (unsigned long long)e);
            continue;
        }
        uint64_t rights = PTE_W | PTE_NX | PTE_G | PTE_U;
        if ((e & PTE_ADDR_MASK) != k->pa || (e & rights) != (k->flags & rights))
            FAIL(c, "%#lx: entry %#llx, the model maps %#llx with %#llx", (unsigned long)va,
                 (unsigned long long)e, (unsigned long long)k->pa, (unsigned long long)k->flags);
        else
            check_words(c, va, k->pa, k->w, "kernel page");
    }
    /* The 2 MiB pages: where the model has them, with its rights. */
    for (int i = 0; i < NSPACE && !c->bad; i++) {
        const struct hpage *hp = i ? &M.sp[i].huge : &M.khuge;
        struct vmm_space *s = i ? M.sp[i].s : &vmm_kernel_space;
        if (!s || (!i && !M.kslot))
            continue;
        uintptr_t va = i ? HUGE_UVA : HUGE_KVA;
        struct vmm_walk w;
        vmm_walk(s, va, 1, &w);
        bool have = w.end == WALK_HUGE && w.level == 2;
        uint64_t rights = PTE_W | PTE_NX | PTE_G | PTE_U | PTE_NOREF;
        if (have != hp->mapped || (have && ((*w.entry & rights) != hp->flags ||
                                            (*w.entry & PTE_ADDR_2M_MASK) != 0)))
            FAIL(c, "space %d: %#lx: %s, the model %s (flags %#llx)", i, (unsigned long)va,
                 have ? "a 2 MiB page" : "no 2 MiB page", hp->mapped ? "maps one" : "none",
                 (unsigned long long)hp->flags);
    }
    /* Every cached page of every live object the model knows holds its
     * contents. */
    for (unsigned i = 0; i < M.nobj && !c->bad; i++) {
        const struct mobj *o = &M.obj[i];
        bool alive = false;
        for (struct vmobj *k = vmobj_first(); k && !alive; k = k->next_obj)
            alive = k == o->o && k->id == o->id;
        if (!alive)
            continue;
        for (unsigned p = 0; p < o->npages && o->o && !c->bad; p++) {
            if (!o->cached[p])
                continue;
            paddr_t pa = vmobj_page_lookup(o->o, p);
            if (!pa)
                FAIL(c, "object %u page %u: not in the page cache", i, p);
            else
                check_words(c, 0, pa, o->w[p], "object page");
        }
    }
}

bool check_all(char *why, size_t n)
{
    struct scan c = { .why = why, .n = n };
    if (kmap_depth() != 0)
        FAIL(&c, "temporary-mapping depth %u after the operation", kmap_depth());
    static const uint8_t zeros[PAGE_SIZE];
    if (!c.bad && (memcmp(sim_phys(vmm_zero_frame), zeros, PAGE_SIZE) || !vmm_zero_frame_intact()))
        FAIL(&c, "the zero frame is not all zeros");
    if (!c.bad)
        check_frames(&c);
    if (!c.bad)
        check_model(&c);
    if (!c.bad && !cpu_tlb_check(why, n))
        return false;
    if (!c.bad && !vmm_check_consistency(why, n))
        return false;
    return !c.bad;
}

/* ---- the hash of state a failed operation must not change ---------------- */

static uint64_t h;
static uint64_t hash_state(bool counts);

static void mix(uint64_t v)
{
    h ^= v;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
}

static void hash_table(paddr_t t, int level, unsigned from, unsigned to)
{
    const uint64_t *e = sim_phys(t);
    for (unsigned i = from; i < to; i++) {
        if (!e[i])
            continue;
        mix(i);
        mix(e[i] & ~(PTE_A | PTE_D)); /* the CPU's, set by the faulting access itself */
        if (level > 1 && (e[i] & PTE_P) && !(e[i] & PTE_PS))
            hash_table(e[i] & PTE_ADDR_MASK, level - 1, 0, 512);
    }
}

static void hash_region(void *ctx, const struct region *r)
{
    (void)ctx;
    mix(r->start);
    mix(r->end);
    mix(r->prot | (uint64_t)r->flags << 8);
    mix((uintptr_t)r->obj);
    mix(r->offset);
    mix((uintptr_t)r->uffd ^ r->uffd_mode);
}

static void hash_cached(void *ctx, uint64_t index, paddr_t frame)
{
    (void)ctx;
    mix(index);
    mix(frame);
}

uint64_t state_hash_tables(void)
{
    return hash_state(false);
}

uint64_t state_hash(void)
{
    return hash_state(true);
}

static uint64_t hash_state(bool counts)
{
    h = 0xcbf29ce484222325ull;
    for (int i = 0; i < NSPACE; i++) {
        struct vmm_space *s = i ? M.sp[i].s : &vmm_kernel_space;
        if (!s)
            continue;
        mix(s->pml4);
        hash_table(s->pml4, 4, 0, 512 - 2); /* not the self and kernel-image slots */
        region_for_each(s, hash_region, NULL);
    }
    if (!counts)
        return h;
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj) {
        mix(o->id);
        mix(o->refs);
        vmobj_for_each_page(o, hash_cached, NULL);
    }
    for (uint64_t f = 1; f < M.frames; f++)
        mix(pmm_refcount(f * PAGE_SIZE));
    mix(sim_free_frames());
    mix(kmap_depth());
    return h;
}
