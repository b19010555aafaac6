/* The VMM model checker: a libFuzzer target that runs the real kernel/mm
 * code (regions, objects, faults, clone, page-level maps) on simulated
 * memory under a simulated CPU and TLB (cpu.c), mirrors every operation in
 * a reference model (model.h) and checks both agree after each (check.c).
 *
 * Input: byte 0 picks the machine's memory (tiny ones run out for real);
 * then operations of 6 bytes each: an opcode and five argument bytes.
 * Every byte string decodes to a valid operation list; ops whose
 * preconditions do not hold (a space slot that is empty ...) are skipped.
 *
 *   fuzz_vmm [libFuzzer flags] [corpus dirs]   fuzz (make fuzz-vmm)
 *   fuzz_vmm --replay FILE|DIR... [-v|-vv]     run inputs, -v prints each
 *                                              decoded operation and result,
 *                                              -vv the kernel's fault reports
 * A divergence prints "DIVERGENCE" with the operation and the reason and
 * aborts (libFuzzer saves the input). */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpu.h"
#include "kmap.h"
#include "kmem.h"
#include "model.h"
#include "sim.h"
#include "uffd.h"

struct model M;

static int verbose;
static uint64_t total_ops, total_inputs, op_no;
static char op_text[200];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static void diverge(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void diverge(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "DIVERGENCE at operation %llu (%s): %s\n", (unsigned long long)op_no,
            op_text, msg);
    abort();
}

/* ---- the model -------------------------------------------------------------- */

static uint64_t pager_tag(unsigned obj, uint64_t index, unsigned k)
{
    return 0xfa6e000000000000ull | (uint64_t)obj << 24 | index << 8 | k;
}

void model_content(const struct mpage *p, uint64_t out[NPOS])
{
    if (p->kind == MK_SHARED || (p->kind == MK_PRIV && (p->pst == MS_VIEW || p->pst == MS_UNTOUCHED)))
        memcpy(out, M.obj[p->obj].w[p->idx], sizeof(uint64_t) * NPOS);
    else if (p->kind == MK_PRIV && p->pst == MS_OWN)
        memcpy(out, p->w, sizeof(uint64_t) * NPOS);
    else
        memset(out, 0, sizeof(uint64_t) * NPOS);
}

/* The pager of paged objects: page N holds pager_tag(model object, N, k)
 * at the tag positions; pages in the object's fail mask (pager_arg[1], low
 * half) are refused, those in its later mask (high half) answered "later":
 * they come only through vmobj_page_provide (op "provide"). */
static enum pager_result fz_provide(struct vmobj *o, uint64_t index, paddr_t frame,
                                    const char **why)
{
    if (o->pager_arg[1] >> index & 1) {
        *why = "fuzz pager: this page is unavailable";
        return PAGER_FAIL;
    }
    if (o->pager_arg[1] >> 32 >> index & 1)
        return PAGER_LATER;
    uint8_t *p = sim_phys(frame);
    memset(p, 0, PAGE_SIZE);
    for (unsigned k = 0; k < NPOS; k++) {
        uint64_t t = pager_tag((unsigned)o->pager_arg[0], index, k);
        memcpy(p + tag_pos[k], &t, 8);
    }
    return PAGER_OK;
}

static const struct vmobj_pager fz_pager = { .name = "fuzz", .provide = fz_provide };

/* A new model object for @o. */
static int mobj_new(struct vmobj *o, bool paged, uint32_t npages, uint32_t failmask,
                    uint32_t latermask)
{
    int i = (int)M.nobj++;
    struct mobj *m = &M.obj[i];
    memset(m, 0, sizeof(*m));
    m->o = o;
    m->id = o->id;
    m->paged = paged;
    m->npages = npages;
    m->failmask = failmask;
    m->latermask = latermask & ~failmask;
    for (uint32_t p = 0; paged && p < npages; p++)
        for (unsigned k = 0; k < NPOS; k++)
            m->w[p][k] = pager_tag((unsigned)i, p, k);
    if (paged) {
        o->pager_arg[0] = (uint64_t)i;
        o->pager_arg[1] = failmask | (uint64_t)m->latermask << 32;
    }
    return i;
}

/* Whether an allocation might fail now (then VMM_ERR_NOMEM / OOM are
 * legal answers, and must change nothing). */
static bool may_fail(void)
{
    return M.inject || sim_free_frames() < 40;
}

/* After a fault or populate that ran out of memory: by contract it may
 * leave the page it zero-filled or paged in in the object's page cache
 * (tables and regions are unchanged).  The model follows the kernel there:
 * a page the kernel now holds and the model did not is taken as cached,
 * with what the model already expects of it (the pager's words, or zeros
 * for an anonymous page that never held any).  Called only where out of
 * memory was the outcome, so a page cached for no reason still diverges. */
static void adopt_cached_after_oom(void)
{
    for (unsigned i = 0; i < M.nobj; i++) {
        struct mobj *o = &M.obj[i];
        bool alive = false;
        for (struct vmobj *k = vmobj_first(); k && !alive; k = k->next_obj)
            alive = k == o->o && k->id == o->id;
        if (!alive || o->phys)
            continue;
        for (unsigned p = 0; p < o->npages; p++) {
            if (!o->cached[p] && vmobj_page_lookup(o->o, p)) {
                o->cached[p] = true;
                say("  (by contract: object %u page %u stays in its page cache)\n", i, p);
            }
        }
    }
}


static struct vmm_space *space_of(int i)
{
    return i ? M.sp[i].s : &vmm_kernel_space;
}

/* The model pages of a window: the user half of space @i, or the arena. */
static struct mpage *window(int i, bool arena, unsigned *n, uintptr_t *base)
{
    *n = arena ? NA : NU;
    *base = arena ? ARENA_FUZZ : USER_BASE;
    return arena ? M.ap : M.sp[i].up;
}

/* ---- the simulated machine --------------------------------------------------- */

static bool machine_up(uint64_t frames)
{
    memset(&M, 0, sizeof(M));
    for (int i = 0; i < NHANDLE; i++)
        M.handle[i] = -1;
    M.frames = frames + NPHYS;
    sim_reuse_ram = true;
    sim_unmanaged = NPHYS;
    sim_init(frames + NPHYS);
    for (unsigned f = 0; f < NPHYS; f++) { /* a device's memory: words of its own */
        uint8_t *p = sim_phys((frames + f) * PAGE_SIZE);
        memset(p, 0, PAGE_SIZE);
        for (unsigned k = 0; k < NPOS; k++) {
            uint64_t t = 0xde00000000000000ull | (uint64_t)f << 8 | k;
            memcpy(p + tag_pos[k], &t, 8);
        }
    }
    memset(&sim_mm_cpu, 0, sizeof(sim_mm_cpu));
    if (vmm_space_create_root(&vmm_kernel_space) != VMM_OK)
        return false;
    cpu_reset(&vmm_kernel_space);
    return vmm_zero_frame_init() == VMM_OK &&
           vmm_kernel_slot_reserve(PML4_SLOT_KERNEL_ARENA) == VMM_OK;
}

static void machine_down(bool up)
{
    sim_fail_allocations_after(-1);
    if (up) {
        cpu_load_cr3(&vmm_kernel_space);
        for (int i = 1; i < NSPACE; i++)
            if (M.sp[i].s)
                vmm_space_destroy(M.sp[i].s);
        if (region_unmap(&vmm_kernel_space, KERNEL_ARENA_BASE, KERNEL_ARENA_SIZE) != VMM_OK)
            diverge("teardown: arena unmap failed");
        paddr_t none;
        if (M.khuge.mapped && vmm_unmap(&vmm_kernel_space, HUGE_KVA, &none) != VMM_OK)
            diverge("teardown: 2 MiB page unmap failed");
        for (unsigned q = 0; q < NK; q++) {
            paddr_t pa = 0;
            if (M.kp[q].mapped &&
                vmm_unmap(&vmm_kernel_space, KSLOT_BASE + q * PAGE_SIZE, &pa) == VMM_OK && pa)
                pmm_ref_dec(pa, NULL);
        }
        for (int i = 0; i < NHANDLE; i++)
            if (M.handle[i] >= 0)
                vmobj_put(M.obj[M.handle[i]].o);
    }
    if (vmm_kernel_space.pml4)
        vmm_space_destroy(&vmm_kernel_space);
    uint64_t slabs = 0;
    for (const struct kmem_cache *kc = kmem_caches(); kc; kc = kc->next_cache)
        slabs += kc->slabs;
    if (vmobj_live_count() || kmem_objects_in_use() || slabs || kmap_depth())
        diverge("teardown left %llu objects, %llu kmem objects, %llu slabs, kmap depth %u",
                (unsigned long long)vmobj_live_count(), (unsigned long long)kmem_objects_in_use(),
                (unsigned long long)slabs, kmap_depth());
    sim_tlb_invlpg = NULL;
    sim_live_tracking = false;
    sim_fini();
}

/* ---- operations ------------------------------------------------------------- */

enum op {
    OP_CREATE, OP_DESTROY, OP_SWITCH, OP_MAP, OP_UNMAP, OP_PROTECT, OP_CLONE, OP_READ,
    OP_WRITE, OP_FETCH, OP_INJECT, OP_DISCARD, OP_POPULATE, OP_OBJECT, OP_PAGE, OP_RESERVE,
    OP_PROVIDE, OP_UFFD, OP_FILL, OP_WAKE, OP_UACCESS, OP_HUGE, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "create", "destroy", "switch", "map", "unmap", "protect", "clone", "read",
    "write", "fetch", "inject", "discard", "populate", "object", "page", "reserve",
    "provide", "uffd", "fill", "wake", "uaccess", "huge",
};

static const char *st_str(enum vmm_status st)
{
    static const char *const n[] = {
        "OK", "UNALIGNED", "NONCANONICAL", "RESERVED_VA", "EXISTS", "NOT_MAPPED", "HUGE",
        "NOMEM", "BAD_FLAGS", "ZERO_FRAME", "RANGE", "REFCOUNT", "OVERLAP", "NO_REGION",
        "GUARD", "NO_SPACE", "NOT_LIVE", "KERNEL_SLOT",
    };
    return (unsigned)st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

/* Compare a status with the model's expectation; NOMEM is accepted when
 * allocations may fail.  True when the operation succeeded. */
static bool expect_status(enum vmm_status got, enum vmm_status want)
{
    say("  -> %s (model: %s)\n", st_str(got), st_str(want));
    if (got == want)
        return got == VMM_OK;
    if (got == VMM_ERR_NOMEM && may_fail())
        return false;
    diverge("status %s, the model expects %s", st_str(got), st_str(want));
}

static void prot_str(unsigned prot, char *b)
{
    b[0] = prot & REGION_R ? 'r' : '-';
    b[1] = prot & REGION_W ? 'w' : '-';
    b[2] = prot & REGION_X ? 'x' : '-';
    b[3] = prot & REGION_U ? 'u' : '-';
    b[4] = 0;
}

static unsigned norm_prot(unsigned prot)
{
    return prot & (REGION_W | REGION_X) ? prot | REGION_R : prot;
}

static void op_create(const uint8_t *a)
{
    int i = 1 + a[0] % 3;
    snprintf(op_text, sizeof(op_text), "create space %d", i);
    say("%s\n", op_text);
    if (M.sp[i].s)
        return say("  skipped: slot in use\n");
    struct vmm_space *s = vmm_space_new();
    if (!s) {
        say("  -> NULL (out of memory)\n");
        if (!may_fail())
            diverge("vmm_space_new failed with memory to spare");
        return;
    }
    memset(&M.sp[i], 0, sizeof(M.sp[i]));
    M.sp[i].s = s;
}

static void switch_to(int i)
{
    cpu_load_cr3(space_of(i));
    M.live = i;
}

static void op_destroy(const uint8_t *a)
{
    int i = 1 + a[0] % 3;
    snprintf(op_text, sizeof(op_text), "destroy space %d", i);
    say("%s\n", op_text);
    if (!M.sp[i].s)
        return say("  skipped: no space\n");
    if (M.live == i) /* as the kernel does: never free the tables in CR3 */
        switch_to(0);
    vmm_space_destroy(M.sp[i].s);
    memset(&M.sp[i], 0, sizeof(M.sp[i]));
}

static void op_switch(const uint8_t *a)
{
    int i = a[0] % NSPACE;
    snprintf(op_text, sizeof(op_text), "switch to space %d", i);
    say("%s\n", op_text);
    if (i && !M.sp[i].s)
        return say("  skipped: no space\n");
    switch_to(i);
}

/* The space and window of a range operation: a[0] picks the space (and,
 * for the kernel space, the arena), a[1] the first page, a[2] the count. */
struct range_arg {
    int sp;
    bool arena;
    struct mpage *pg;
    unsigned first, n;
    uintptr_t va;
};

static bool range_arg(const uint8_t *a, struct range_arg *r)
{
    unsigned wn;
    uintptr_t base;
    r->sp = a[0] % NSPACE;
    r->arena = r->sp == 0 && (a[0] & 4);
    r->pg = window(r->sp, r->arena, &wn, &base);
    r->first = a[1] % wn;
    r->n = 1 + a[2] % 8;
    if (r->first + r->n > wn)
        r->n = wn - r->first;
    r->va = base + r->first * PAGE_SIZE;
    return r->sp == 0 || M.sp[r->sp].s;
}

static void op_map(const uint8_t *a)
{
    struct range_arg r;
    bool ok = range_arg(a, &r);
    bool hint = a[0] & 8;
    unsigned prot = a[3] & REGION_PROT_MASK, mode = (a[3] >> 4) % 6;
    static const char *const modes[] = { "private anon", "shared anon", "guard",
                                         "private object", "shared object", "private anon" };
    char ps[8];
    prot_str(prot, ps);
    snprintf(op_text, sizeof(op_text), "map space %d %s page %u +%u %s %s%s", r.sp,
             r.arena ? "arena" : "user", r.first, r.n, ps, modes[mode], hint ? " (hint)" : "");
    say("%s\n", op_text);
    if (!ok)
        return say("  skipped: no space\n");
    int mo = -1;
    uint32_t offset = 0;
    bool guard = mode == 2, shared = mode == 1 || mode == 4;
    if (mode == 3 || mode == 4) {
        mo = M.handle[a[4] % NHANDLE];
        if (mo < 0)
            return say("  skipped: no object in handle %u\n", a[4] % NHANDLE);
        offset = (a[4] >> 3) % (M.obj[mo].npages + 1);
        say("  object %d (%u pages) from page %u\n", mo, M.obj[mo].npages, offset);
    }
    if (guard)
        prot = 0;

    /* The model's answer, in the kernel's order of checks. */
    enum vmm_status want = VMM_OK;
    uintptr_t at = r.va;
    unsigned first = r.first;
    if (r.arena && (prot & REGION_U))
        want = VMM_ERR_BAD_FLAGS;
    else if (mo >= 0 && offset + r.n > M.obj[mo].npages)
        want = VMM_ERR_RANGE;
    else {
        bool busy = false;
        for (unsigned p = r.first; p < r.first + r.n; p++)
            busy |= r.pg[p].kind != MK_NONE;
        if (busy && !hint) {
            want = VMM_ERR_OVERLAP;
        } else if (busy) {
            /* The kernel takes the first gap above the hint; one beyond
             * the window is past what the model follows. */
            unsigned wn, p = r.first;
            uintptr_t base;
            window(r.sp, r.arena, &wn, &base);
            for (;; p++) {
                if (p + r.n > wn)
                    return say("  skipped: the gap would be past the window\n");
                unsigned q = p;
                while (q < p + r.n && r.pg[q].kind == MK_NONE)
                    q++;
                if (q == p + r.n)
                    break;
            }
            first = p;
            at = base + p * PAGE_SIZE;
        }
    }

    uint64_t before = state_hash();
    struct vmobj *fresh = NULL;
    if (!guard && mo < 0) {
        fresh = vmobj_create_anon(r.n, "fuzz anon");
        if (!fresh) {
            say("  -> no object (out of memory)\n");
            if (!may_fail())
                diverge("vmobj_create_anon failed with memory to spare");
            return;
        }
        if (M.nobj == NOBJ) {
            vmobj_put(fresh);
            return say("  skipped: model objects exhausted\n");
        }
        mo = mobj_new(fresh, false, r.n, 0, 0);
    }
    struct region_req req = {
        .addr = r.va, .len = r.n * PAGE_SIZE, .prot = prot,
        .flags = (guard ? REGION_GUARD : 0) | (shared ? REGION_SHARED : 0) | (hint ? 0 : REGION_FIXED),
        .obj = guard ? NULL : M.obj[mo].o, .offset = offset,
    };
    struct vmm_space *s = space_of(r.sp);
    uintptr_t out = 0;
    enum vmm_status st = region_map(s, &req, &out);
    if (fresh)
        vmobj_put(fresh); /* the region holds it now */
    if (!expect_status(st, want)) {
        if (state_hash() != before)
            diverge("failed region_map changed tables, regions or counts");
        return;
    }
    if (out != at)
        diverge("region_map placed the region at %#lx, the model expects %#lx",
                (unsigned long)out, (unsigned long)at);
    for (unsigned p = 0; p < r.n; p++) {
        struct mpage *m = &r.pg[first + p];
        memset(m, 0, sizeof(*m));
        m->kind = guard ? MK_GUARD : shared ? MK_SHARED : MK_PRIV;
        m->prot = (uint8_t)(guard ? 0 : norm_prot(prot));
        m->obj = (uint8_t)(guard ? 0 : mo);
        m->idx = offset + p;
    }
}

static void op_unmap(const uint8_t *a)
{
    struct range_arg r;
    bool ok = range_arg(a, &r);
    snprintf(op_text, sizeof(op_text), "unmap space %d %s page %u +%u", r.sp,
             r.arena ? "arena" : "user", r.first, r.n);
    say("%s\n", op_text);
    if (!ok)
        return say("  skipped: no space\n");
    /* Memory is needed only to cut a hole in one region. */
    unsigned wn;
    uintptr_t base;
    window(r.sp, r.arena, &wn, &base);
    bool hole = r.first > 0 && r.first + r.n < wn && r.pg[r.first - 1].kind != MK_NONE &&
                r.pg[r.first + r.n].kind != MK_NONE;
    uint64_t before = state_hash();
    enum vmm_status st = region_unmap(space_of(r.sp), r.va, r.n * PAGE_SIZE);
    if (st == VMM_ERR_NOMEM && !hole)
        diverge("region_unmap ran out of memory though no region is split");
    if (!expect_status(st, VMM_OK)) {
        if (state_hash() != before)
            diverge("failed region_unmap changed tables, regions or counts");
        return;
    }
    for (unsigned p = 0; p < r.n; p++)
        memset(&r.pg[r.first + p], 0, sizeof(struct mpage));
}

static void op_protect(const uint8_t *a)
{
    struct range_arg r;
    bool ok = range_arg(a, &r);
    unsigned prot = a[3] & REGION_PROT_MASK;
    char ps[8];
    prot_str(prot, ps);
    snprintf(op_text, sizeof(op_text), "protect space %d %s page %u +%u %s", r.sp,
             r.arena ? "arena" : "user", r.first, r.n, ps);
    say("%s\n", op_text);
    if (!ok)
        return say("  skipped: no space\n");
    enum vmm_status want = VMM_OK;
    if (r.arena && (prot & REGION_U))
        want = VMM_ERR_BAD_FLAGS;
    else {
        bool hole = false, guard = false;
        for (unsigned p = r.first; p < r.first + r.n; p++) {
            hole |= r.pg[p].kind == MK_NONE;
            guard |= r.pg[p].kind == MK_GUARD;
        }
        want = hole ? VMM_ERR_NO_REGION : guard ? VMM_ERR_GUARD : VMM_OK;
    }
    uint64_t before = state_hash();
    if (!expect_status(region_protect(space_of(r.sp), r.va, r.n * PAGE_SIZE, prot), want)) {
        if (state_hash() != before)
            diverge("failed region_protect changed tables, regions or counts");
        return;
    }
    for (unsigned p = 0; p < r.n; p++)
        r.pg[r.first + p].prot = (uint8_t)norm_prot(prot);
}

static void op_discard(const uint8_t *a)
{
    struct range_arg r;
    bool ok = range_arg(a, &r);
    snprintf(op_text, sizeof(op_text), "discard space %d %s page %u +%u", r.sp,
             r.arena ? "arena" : "user", r.first, r.n);
    say("%s\n", op_text);
    if (!ok)
        return say("  skipped: no space\n");
    if (!expect_status(region_discard(space_of(r.sp), r.va, r.n * PAGE_SIZE), VMM_OK))
        return;
    for (unsigned p = r.first; p < r.first + r.n; p++)
        if (r.pg[p].kind == MK_PRIV) {
            r.pg[p].pst = MS_UNTOUCHED;
            r.pg[p].wp = false;
        }
}

/* A legal access's effect on the model: private pages get their state,
 * object pages their cache; a write stores @val at tag position @k. */
static void model_touch(struct mpage *p, bool write, unsigned k, uint64_t val)
{
    struct mobj *o = &M.obj[p->obj];
    if (write)
        p->wp = false; /* resolved through the CoW path, which drops PTE_UFFD_WP */
    if (p->kind == MK_SHARED) {
        o->cached[p->idx] = true;
        if (write)
            o->w[p->idx][k] = val;
        return;
    }
    if (p->pst == MS_UNTOUCHED || (write && p->pst != MS_OWN)) {
        if (o->paged)
            o->cached[p->idx] = true; /* the pager provided it */
        if (write) {
            model_content(p, p->w);
            p->pst = MS_OWN;
        } else {
            p->pst = o->cached[p->idx] ? MS_VIEW : MS_ZERO;
        }
    }
    if (write)
        p->w[k] = val;
}

/* Whether the pager refuses the page an access to @p needs. */
static bool pager_refuses(const struct mpage *p)
{
    const struct mobj *o = &M.obj[p->obj];
    bool needs = p->kind == MK_SHARED || (p->kind == MK_PRIV && p->pst == MS_UNTOUCHED);
    return needs && o->paged && !o->cached[p->idx] && (o->failmask >> p->idx & 1);
}

/* Whether a legal access to @p waits for a pager, in the fault path's
 * order: a write to a userfaultfd write-protected entry; a shared page the
 * object lacks in a MISSING range; a page the in-kernel pager answers
 * "later" for; an untouched private page over an anonymous hole in a
 * MISSING range.  The reason the fault gives, or FAULT_NONE. */
static enum vmm_fault_reason model_waits(const struct mpage *p, bool write)
{
    if (p->kind != MK_PRIV && p->kind != MK_SHARED)
        return FAULT_NONE;
    const struct mobj *o = &M.obj[p->obj];
    bool missing = p->uffd && (p->umode & REGION_UFFD_MISSING);
    if (write && p->wp && p->uffd && (p->umode & REGION_UFFD_WP))
        return FAULT_UFFD_WP;
    if (p->kind == MK_SHARED && missing && !o->paged && !o->cached[p->idx])
        return FAULT_UFFD_MISSING;
    bool needs = p->kind == MK_SHARED || p->pst == MS_UNTOUCHED;
    if (needs && o->paged && !o->cached[p->idx] && (o->latermask >> p->idx & 1))
        return FAULT_PAGER_WAIT;
    if (p->kind == MK_PRIV && p->pst == MS_UNTOUCHED && missing && !o->cached[p->idx])
        return FAULT_UFFD_MISSING;
    return FAULT_NONE;
}

/* The userfaultfd context @c (1..NUFFD) of space @sp: an address mm only
 * compares (struct uffd_ctx belongs to kernel/proc). */
struct uffd_ctx *uffd_ctx_of(int sp, unsigned c)
{
    static char ctxs[NSPACE][NUFFD];
    return c ? (struct uffd_ctx *)&ctxs[sp][c - 1] : NULL;
}

static void op_populate(const uint8_t *a)
{
    struct range_arg r;
    bool ok = range_arg(a, &r);
    snprintf(op_text, sizeof(op_text), "populate space %d %s page %u +%u", r.sp,
             r.arena ? "arena" : "user", r.first, r.n);
    say("%s\n", op_text);
    if (!ok)
        return say("  skipped: no space\n");
    /* Page by page as the kernel goes: no region / guard / no access
     * right / pager refusal stops it with NO_REGION, pages before it stay populated. */
    unsigned stop = r.first + r.n;
    enum vmm_status want = VMM_OK;
    for (unsigned p = r.first; p < r.first + r.n; p++) {
        if (r.pg[p].kind == MK_NONE || r.pg[p].kind == MK_GUARD ||
            !(r.pg[p].prot & REGION_R) || pager_refuses(&r.pg[p]) ||
            model_waits(&r.pg[p], r.pg[p].prot & REGION_W) != FAULT_NONE) {
            stop = p;
            want = VMM_ERR_NO_REGION;
            break;
        }
    }
    enum vmm_status st = region_populate(space_of(r.sp), r.va, r.n * PAGE_SIZE);
    say("  -> %s (model: %s)\n", st_str(st), st_str(want));
    if (st == VMM_ERR_NOMEM && may_fail()) {
        adopt_cached_after_oom();
        /* Partial by contract: follow what the tables show was done. */
        for (unsigned p = r.first; p < stop; p++) {
            struct mpage *m = &r.pg[p];
            uintptr_t va = r.va + (p - r.first) * PAGE_SIZE;
            struct vmm_walk w;
            vmm_walk(space_of(r.sp), va, 1, &w);
            bool present = w.end == WALK_LEAF && (*w.entry & PTE_P);
            bool done = present && (!(m->prot & REGION_W) || (*w.entry & PTE_W));
            if (m->kind == MK_SHARED)
                done = present;
            if (!done)
                break;
            uint64_t c[NPOS];
            model_content(m, c);
            model_touch(m, m->prot & REGION_W, 0, c[0]);
        }
        return;
    }
    if (st != want)
        diverge("status %s, the model expects %s", st_str(st), st_str(want));
    for (unsigned p = r.first; p < stop; p++) {
        struct mpage *m = &r.pg[p];
        bool write = m->prot & REGION_W;
        uint64_t c[NPOS];
        model_content(m, c); /* a write of what is there: the page's state only */
        model_touch(m, write, 0, c[0]);
    }
}

static void op_clone(const uint8_t *a)
{
    int src = 1 + a[0] % 3, dst = 1 + a[1] % 3;
    snprintf(op_text, sizeof(op_text), "clone space %d into space %d", src, dst);
    say("%s\n", op_text);
    if (!M.sp[src].s || src == dst)
        return say("  skipped: no source\n");
    if (!M.sp[dst].s) {
        op_create((const uint8_t[]){ (uint8_t)(dst - 1) });
        snprintf(op_text, sizeof(op_text), "clone space %d into space %d", src, dst);
        if (!M.sp[dst].s)
            return;
    }
    bool has = false;
    for (unsigned p = 0; p < NU; p++)
        has |= M.sp[dst].up[p].kind != MK_NONE;
    enum vmm_status want = has ? VMM_ERR_EXISTS
                           : M.live != src && M.live != dst ? VMM_ERR_NOT_LIVE : VMM_OK;
    uint64_t before = state_hash();
    enum vmm_status st = vmm_space_clone(M.sp[dst].s, M.sp[src].s);
    if (!expect_status(st, want)) {
        /* Documented: on failure dst is left empty; src's private writable
         * pages may have turned copy-on-write (same contents, the model
         * checks them).  Refusals before any work change nothing. */
        if (st != VMM_ERR_NOMEM && state_hash() != before)
            diverge("refused clone changed tables, regions or counts");
        if (st == VMM_ERR_NOMEM && region_count(M.sp[dst].s))
            diverge("failed clone left %llu regions in the destination",
                    (unsigned long long)region_count(M.sp[dst].s));
        return;
    }
    memcpy(M.sp[dst].up, M.sp[src].up, sizeof(M.sp[dst].up));
    for (unsigned p = 0; p < NU; p++) { /* no userfaultfd crosses a fork */
        M.sp[dst].up[p].uffd = M.sp[dst].up[p].umode = 0;
        M.sp[dst].up[p].wp = false;
    }
}

/* A fault that was to wait (@wait, the model's) or did (@res): the same
 * reason, on the object page or the userfaultfd context the model says,
 * nothing changed; a wait for the in-kernel pager may instead run out of
 * memory (the frame for the page comes first). */
static uint64_t before_hash;

static void check_wait(const struct cpu_result *res, const struct mpage *p,
                       enum vmm_fault_reason wait, uint64_t before_tables)
{
    if (res->result == VMM_FAULT_OOM && wait == FAULT_PAGER_WAIT && may_fail()) {
        if (state_hash_tables() != before_tables)
            diverge("a fault that ran out of memory changed tables or regions");
        adopt_cached_after_oom();
        return;
    }
    if (res->result != VMM_FAULT_WAIT || res->reason != wait)
        diverge("fault %s (%s), the model: %s", vmm_fault_reason_str(res->reason),
                res->result == VMM_FAULT_WAIT ? "waits" : "does not wait",
                wait == FAULT_NONE ? "no wait" : vmm_fault_reason_str(wait));
    const struct mobj *o = &M.obj[p->obj];
    if (wait == FAULT_PAGER_WAIT ? res->wait_obj != o->o || res->wait_index != p->idx ||
                                       res->wait_uffd
                                 : res->wait_uffd != uffd_ctx_of(M.live, p->uffd) || res->wait_obj)
        diverge("waits on object %p page %llu / context %p, the model on %s %u",
                (void *)res->wait_obj, (unsigned long long)res->wait_index, (void *)res->wait_uffd,
                wait == FAULT_PAGER_WAIT ? "object page" : "context", wait == FAULT_PAGER_WAIT ? p->idx : p->uffd);
    if (state_hash() != before_hash)
        diverge("a fault that waits changed tables, regions or counts");
}

/* What the last op_access came to (for uaccess and the waiters). */
enum access_end { ACC_DONE, ACC_FATAL, ACC_OOM, ACC_WAIT };
static enum access_end access_end;
static bool access_wait_uffd; /* ACC_WAIT: for a userfaultfd (else the in-kernel pager) */

static void add_waiter(enum op op, const uint8_t *a)
{
    for (unsigned i = 0; i < NWAITER; i++)
        if (!M.wq[i].used) {
            M.wq[i] = (struct waiter){ .used = true, .sp = M.live, .op = (uint8_t)op };
            memcpy(M.wq[i].a, a, 5);
            return say("  (waiter %u)\n", i);
        }
}

static void op_access(enum op op, const uint8_t *a)
{
    access_end = ACC_DONE;
    unsigned area = a[0] % 4;
    bool user = a[0] & 4;
    unsigned k = a[2] % (op == OP_WRITE ? NPOS : NPOS + 1);
    uint64_t val = (op_no << 24) | (uint64_t)a[3] << 8 | a[4];
    enum cpu_access kind = op == OP_READ ? CPU_READ : op == OP_WRITE ? CPU_WRITE : CPU_FETCH;
    static const char *const areas[] = { "user", "arena", "kslot", "null" };
    struct mpage *p = NULL;
    struct kpage *kp = NULL;
    uintptr_t va;
    unsigned page;
    switch (area) {
    case 0: page = a[1] % NU; p = &M.sp[M.live].up[page]; va = USER_BASE; break;
    case 1: page = a[1] % NA; p = &M.ap[page]; va = ARENA_FUZZ; break;
    case 2: page = a[1] % NK; kp = &M.kp[page]; va = KSLOT_BASE; break;
    default: page = 0; va = 0; break;
    }
    va += page * PAGE_SIZE + tag_pos[k];
    snprintf(op_text, sizeof(op_text), "%s %s page %u +%u %s-mode (live space %d)%s",
             op_names[op], areas[area], page, tag_pos[k], user ? "user" : "kernel", M.live,
             op == OP_WRITE ? "" : "");
    say("%s", op_text);
    if (op == OP_WRITE)
        say(" value %#llx", (unsigned long long)val);
    say("\n");

    /* The model's verdict. */
    enum vmm_fault_reason no = FAULT_NONE;
    if (area == 3) {
        no = FAULT_NULL_DEREF;
    } else if (kp) {
        if (!kp->mapped)
            no = FAULT_NOT_PRESENT;
        else if (user)
            no = FAULT_USER_SUPERVISOR;
        else if (kind == CPU_WRITE && !(kp->flags & PTE_W))
            no = FAULT_WRITE_READONLY;
        else if (kind == CPU_FETCH && (kp->flags & PTE_NX))
            no = FAULT_EXEC_NX;
    } else if (p->kind == MK_NONE) {
        no = FAULT_NO_REGION;
    } else if (p->kind == MK_GUARD) {
        no = FAULT_GUARD_REGION;
    } else if (user && !(p->prot & REGION_U)) {
        no = FAULT_REGION_NO_USER;
    } else if (kind == CPU_FETCH) {
        no = p->prot & REGION_X ? FAULT_NONE : FAULT_REGION_NO_EXEC;
    } else if (kind == CPU_WRITE) {
        no = p->prot & REGION_W ? FAULT_NONE : FAULT_REGION_NO_WRITE;
    } else {
        no = p->prot & REGION_R ? FAULT_NONE : FAULT_REGION_NO_READ;
    }
    if (no == FAULT_NONE && p && pager_refuses(p))
        no = FAULT_PAGER_FAILED;
    enum vmm_fault_reason wait = no == FAULT_NONE && p ? model_waits(p, kind == CPU_WRITE)
                                                       : FAULT_NONE;
    uint64_t before = state_hash_tables();
    if (wait != FAULT_NONE) /* (a whole hash per access would cost the fuzzer half its speed) */
        before_hash = state_hash();
    uint64_t got = val;
    struct cpu_result res;
    cpu_access(va, kind, user, &got, &res);
    if (res.why[0])
        diverge("%s", res.why);
    if (!res.done) {
        say("  -> fault: %s (%u faults, error %#llx; model: %s)\n", vmm_fault_reason_str(res.reason),
            res.faults, (unsigned long long)res.last_error,
            no == FAULT_NONE ? "legal" : vmm_fault_reason_str(no));
        if (verbose > 1) /* -vv: the kernel's report too */
            printf("%s", sim_console);
        access_end = res.result == VMM_FAULT_WAIT ? ACC_WAIT
                     : res.result == VMM_FAULT_OOM ? ACC_OOM : ACC_FATAL;
        if (wait != FAULT_NONE || res.result == VMM_FAULT_WAIT) {
            check_wait(&res, p, wait, before);
            access_wait_uffd = res.wait_uffd;
            if (res.result == VMM_FAULT_WAIT)
                add_waiter(op, a);
            return;
        }
        /* (the pager is asked only once a frame for the page was had) */
        if (res.result == VMM_FAULT_OOM && (no == FAULT_NONE || no == FAULT_PAGER_FAILED) &&
            may_fail()) {
            if (state_hash_tables() != before)
                diverge("a fault that ran out of memory changed tables or regions");
            adopt_cached_after_oom();
            return;
        }
        if (no == FAULT_NONE)
            diverge("legal access failed: %s (error code %#llx)", vmm_fault_reason_str(res.reason),
                    (unsigned long long)res.last_error);
        if (res.result != VMM_FAULT_FATAL || res.reason != no)
            diverge("fault %s, the model predicts %s", vmm_fault_reason_str(res.reason),
                    vmm_fault_reason_str(no));
        return;
    }
    say("  -> done after %u faults, %s %#llx\n", res.faults, kind == CPU_WRITE ? "wrote" : "read",
        (unsigned long long)got);
    if (wait != FAULT_NONE)
        diverge("the access completed, the model says it waits (%s)", vmm_fault_reason_str(wait));
    if (no != FAULT_NONE)
        diverge("illegal access (%s) completed", vmm_fault_reason_str(no));
    if (kp) {
        uint64_t want = k < NPOS ? kp->w[k] : 0;
        if (kind == CPU_WRITE)
            kp->w[k] = val;
        else if (got != want)
            diverge("read %#llx, the model says %#llx", (unsigned long long)got,
                    (unsigned long long)want);
        return;
    }
    if (kind != CPU_WRITE) {
        uint64_t c[NPOS];
        model_content(p, c);
        uint64_t want = k < NPOS ? c[k] : 0;
        if (got != want)
            diverge("read %#llx, the model says %#llx", (unsigned long long)got,
                    (unsigned long long)want);
    }
    model_touch(p, kind == CPU_WRITE, k, val);
}

static void op_inject(const uint8_t *a)
{
    if (a[0] % 2 == 0) {
        snprintf(op_text, sizeof(op_text), "fault injection off");
        say("%s\n", op_text);
        sim_fail_allocations_after(-1);
        M.inject = false;
        return;
    }
    long n = a[1] % 8;
    snprintf(op_text, sizeof(op_text), "fault injection: %ld more allocations succeed", n);
    say("%s\n", op_text);
    sim_fail_allocations_after(n);
    M.inject = true;
}

/* A physical object over unmanaged frames (PTE_NOREF mappings: nobody
 * counts them), each frame used once per machine. */
static void op_object_phys(const uint8_t *a)
{
    unsigned h = a[1] % NHANDLE, first = a[4] % NPHYS, n = 1 + a[3] % (NPHYS - first);
    snprintf(op_text, sizeof(op_text), "new phys object handle %u, unmanaged frames %u..%u", h,
             first, first + n - 1);
    say("%s\n", op_text);
    uint8_t mask = (uint8_t)(((1u << n) - 1) << first);
    if (M.handle[h] >= 0 || M.nobj == NOBJ || (M.phys_used & mask))
        return say("  skipped: handle in use or frames used before\n");
    paddr_t pa = (M.frames - NPHYS + first) * PAGE_SIZE;
    struct vmobj *o = vmobj_create_phys(pa, n, "fuzz phys");
    if (!o) {
        say("  -> NULL (out of memory)\n");
        if (!may_fail())
            diverge("physical object creation failed with memory to spare");
        return;
    }
    M.phys_used |= mask;
    int i = mobj_new(o, false, n, 0, 0);
    struct mobj *m = &M.obj[i];
    m->phys = true;
    m->phys_first = (uint32_t)(M.frames - NPHYS + first);
    for (unsigned p = 0; p < n; p++) { /* always "cached": the frames are the pages */
        m->cached[p] = true;
        const uint8_t *f = sim_phys(pa + p * PAGE_SIZE);
        for (unsigned k = 0; k < NPOS; k++)
            memcpy(&m->w[p][k], f + tag_pos[k], 8);
    }
    M.handle[h] = i;
    say("  -> model object %d\n", i);
}

static void op_object(const uint8_t *a)
{
    unsigned h = a[1] % NHANDLE;
    if (a[0] % 2 == 0 && (a[0] & 0x40)) {
        op_object_phys(a);
        return;
    }
    if (a[0] % 2) {
        snprintf(op_text, sizeof(op_text), "put object handle %u", h);
        say("%s\n", op_text);
        if (M.handle[h] < 0)
            return say("  skipped: empty handle\n");
        vmobj_put(M.obj[M.handle[h]].o);
        M.handle[h] = -1;
        return;
    }
    bool paged = a[2] & 1;
    uint32_t npages = 1 + a[3] % OBJ_MAXPAGES;
    uint32_t failmask = paged && (a[4] & 0x80) ? 1u << (a[4] % npages) : 0;
    /* A pager that answers "later" for every other page it is asked for. */
    uint32_t latermask = paged && (a[2] & 2) ? 0x55555555u << (a[2] >> 2 & 1) : 0;
    latermask &= (npages < 32 ? (1u << npages) - 1 : ~0u) & ~failmask;
    snprintf(op_text, sizeof(op_text), "new %s object handle %u, %u pages%s%s",
             paged ? "paged" : "anon", h, npages, failmask ? " (one refused page)" : "",
             latermask ? (a[2] >> 2 & 1 ? " (odd pages later)" : " (even pages later)") : "");
    say("%s\n", op_text);
    if (M.handle[h] >= 0 || M.nobj == NOBJ)
        return say("  skipped: handle in use\n");
    struct vmobj *o = paged ? vmobj_create_paged(npages, &fz_pager, "fuzz paged")
                            : vmobj_create_anon(npages, "fuzz object");
    if (!o) {
        say("  -> NULL (out of memory)\n");
        if (!may_fail())
            diverge("object creation failed with memory to spare");
        return;
    }
    M.handle[h] = mobj_new(o, paged, npages, failmask, latermask);
    say("  -> model object %d\n", M.handle[h]);
}

/* Page-level vmm_map / vmm_unmap / vmm_protect in PML4 slot KSLOT, through
 * any space. */
static void op_page(const uint8_t *a)
{
    unsigned sub = a[0] % 3, q = a[2] % NK;
    int sp = a[1] % NSPACE;
    uint64_t flags = (a[3] & 1 ? PTE_W : 0) | (a[3] & 2 ? PTE_NX : 0) | (a[3] & 4 ? PTE_G : 0) |
                     (a[3] & 8 ? PTE_U : 0);
    uintptr_t va = KSLOT_BASE + q * PAGE_SIZE;
    static const char *const subs[] = { "vmm_map", "vmm_unmap", "vmm_protect" };
    snprintf(op_text, sizeof(op_text), "%s space %d slot-%d page %u flags %#llx", subs[sub], sp,
             KSLOT, q, (unsigned long long)flags);
    say("%s\n", op_text);
    struct vmm_space *s = space_of(sp);
    if (!s)
        return say("  skipped: no space\n");
    struct kpage *k = &M.kp[q];
    uint64_t before = state_hash();
    if (sub == 0) {
        paddr_t pa;
        if (pmm_alloc(&pa) != PMM_OK)
            return say("  skipped: no frame\n");
        uint8_t *f = sim_phys(pa);
        memset(f, 0, PAGE_SIZE);
        uint64_t w[NPOS];
        for (unsigned i = 0; i < NPOS; i++) {
            w[i] = 0x6b00000000000000ull | op_no << 8 | i;
            memcpy(f + tag_pos[i], &w[i], 8);
        }
        before = state_hash();
        enum vmm_status want = !M.kslot ? VMM_ERR_KERNEL_SLOT : k->mapped ? VMM_ERR_EXISTS : VMM_OK;
        if (!expect_status(vmm_map(s, va, pa, flags), want)) {
            if (state_hash() != before)
                diverge("failed vmm_map changed tables or counts");
            pmm_free(pa);
            return;
        }
        k->mapped = true;
        k->pa = pa;
        k->flags = flags;
        memcpy(k->w, w, sizeof(w));
    } else if (sub == 1) {
        paddr_t pa = 0;
        if (!expect_status(vmm_unmap(s, va, &pa), k->mapped ? VMM_OK : VMM_ERR_NOT_MAPPED)) {
            if (state_hash() != before)
                diverge("failed vmm_unmap changed tables or counts");
            return;
        }
        if (pa != k->pa)
            diverge("vmm_unmap handed back %#llx, the model mapped %#llx", (unsigned long long)pa,
                    (unsigned long long)k->pa);
        pmm_ref_dec(pa, NULL);
        memset(k, 0, sizeof(*k));
    } else {
        if (!expect_status(vmm_protect(s, va, flags), k->mapped ? VMM_OK : VMM_ERR_NOT_MAPPED)) {
            if (state_hash() != before)
                diverge("failed vmm_protect changed tables or counts");
            return;
        }
        k->flags = flags;
    }
}

static void op_reserve(void)
{
    snprintf(op_text, sizeof(op_text), "reserve kernel PML4 slot %d", KSLOT);
    say("%s\n", op_text);
    for (int i = 1; i < NSPACE; i++)
        if (M.sp[i].s) /* vmm.h: only spaces created afterwards see the slot */
            return say("  skipped: user spaces exist\n");
    uint64_t before = state_hash();
    if (!expect_status(vmm_kernel_slot_reserve(KSLOT), VMM_OK)) {
        if (state_hash() != before)
            diverge("failed slot reservation changed tables or counts");
        return;
    }
    M.kslot = true;
}

/* ---- pagers: provided pages, userfaultfd ranges ------------------------------ */

/* A fresh frame holding the provided tags of operation op_no (0 for the
 * zero page), or false when there is none. */
static bool provided_frame(bool zero, paddr_t *pa, uint64_t w[NPOS])
{
    if (pmm_alloc(pa) != PMM_OK)
        return false;
    uint8_t *f = sim_phys(*pa);
    memset(f, 0, PAGE_SIZE);
    for (unsigned i = 0; i < NPOS; i++) {
        w[i] = zero ? 0 : 0x9d00000000000000ull | op_no << 8 | i;
        memcpy(f + tag_pos[i], &w[i], 8);
    }
    return true;
}

/* The in-kernel pager's late answer: vmobj_page_provide of a page (past
 * the end too) of a held object; waiters then retry (op "wake"). */
static void op_provide(const uint8_t *a)
{
    unsigned h = a[0] % NHANDLE, idx = a[1] % (OBJ_MAXPAGES + 1);
    snprintf(op_text, sizeof(op_text), "provide object handle %u page %u", h, idx);
    say("%s\n", op_text);
    if (M.handle[h] < 0)
        return say("  skipped: empty handle\n");
    struct mobj *o = &M.obj[M.handle[h]];
    paddr_t pa;
    uint64_t w[NPOS];
    if (!provided_frame(false, &pa, w))
        return say("  skipped: no frame\n");
    uint64_t before = state_hash();
    enum vmm_status want = idx >= o->npages || o->phys ? VMM_ERR_RANGE /* (no cache) */
                           : o->cached[idx] ? VMM_ERR_EXISTS : VMM_OK;
    if (!expect_status(vmobj_page_provide(o->o, idx, pa), want)) {
        if (state_hash() != before)
            diverge("failed vmobj_page_provide changed tables or counts");
        pmm_free(pa);
        return;
    }
    o->cached[idx] = true;
    memcpy(o->w[idx], w, sizeof(w));
}

/* The user window of a user space (uffd ranges are user memory only). */
static struct mspace *uffd_space(uint8_t b, int *sp)
{
    *sp = 1 + b % 3;
    return M.sp[*sp].s ? &M.sp[*sp] : NULL;
}

/* userfaultfd ranges: register (MISSING, WP or both), unregister, write
 * protect on/off, and release (the last descriptor closed) of context c. */
static void op_uffd(const uint8_t *a)
{
    static const char *const subs[] = { "register", "unregister", "writeprotect", "release" };
    static const char *const modes[] = { "", "missing", "wp", "missing+wp" };
    unsigned sub = a[0] % 4, c = 1 + (a[0] >> 2) % NUFFD;
    unsigned first = a[2] % NU, n = 1 + a[3] % 8, mode = 1 + a[4] % 3;
    bool wp = a[4] & 1;
    if (first + n > NU)
        n = NU - first;
    int sp;
    struct mspace *m = uffd_space(a[1], &sp);
    snprintf(op_text, sizeof(op_text), "uffd %s context %u space %d page %u +%u%s%s", subs[sub], c,
             sp, first, n, sub == 0 ? " " : sub == 2 ? (wp ? " on" : " off") : "",
             sub == 0 ? modes[mode] : "");
    if (sub == 3)
        snprintf(op_text, sizeof(op_text), "uffd release context %u space %d", c, sp);
    say("%s\n", op_text);
    if (!m)
        return say("  skipped: no space\n");
    struct vmm_space *s = m->s;
    struct uffd_ctx *ctx = uffd_ctx_of(sp, c);
    uintptr_t va = USER_BASE + first * PAGE_SIZE;
    struct mpage *pg = m->up;
    uint64_t before = state_hash();
    if (sub == 3) {
        unsigned lo_p = NU, hi_p = 0;
        for (unsigned p = 0; p < NU; p++)
            if (pg[p].uffd == c) {
                lo_p = p < lo_p ? p : lo_p;
                hi_p = p + 1;
            }
        uintptr_t lo = 0, hi = 0;
        unsigned count = uffd_range_release(s, ctx, &lo, &hi);
        say("  -> %u regions [%#lx, %#lx)\n", count, (unsigned long)lo, (unsigned long)hi);
        if (!count != (lo_p == NU) ||
            (count && (lo != USER_BASE + lo_p * PAGE_SIZE || hi != USER_BASE + hi_p * PAGE_SIZE)))
            diverge("released [%#lx, %#lx) in %u regions, the model has pages %u..%u", (unsigned long)lo,
                    (unsigned long)hi, count, lo_p, hi_p);
        first = 0;
        n = NU;
    } else {
        enum vmm_status want = VMM_OK, st;
        for (unsigned p = first; p < first + n && want == VMM_OK && sub != 1; p++) {
            const struct mpage *q = &pg[p];
            if (sub == 2) /* every page registered here in WP mode */
                want = q->uffd == c && (q->umode & REGION_UFFD_WP) ? VMM_OK : VMM_ERR_NO_REGION;
            else if (q->kind == MK_NONE)
                want = VMM_ERR_NO_REGION;
            else if (q->kind == MK_GUARD || M.obj[q->obj].paged || M.obj[q->obj].phys ||
                     !(q->prot & REGION_U) ||
                     ((mode & REGION_UFFD_WP) && q->kind == MK_SHARED))
                want = VMM_ERR_BAD_FLAGS;
            else if (q->uffd && q->uffd != c)
                want = VMM_ERR_EXISTS;
        }
        size_t len = n * PAGE_SIZE;
        st = sub == 0 ? uffd_range_register(s, va, len, ctx, mode)
             : sub == 1 ? uffd_range_unregister(s, va, len, ctx)
                        : uffd_range_writeprotect(s, va, len, ctx, wp);
        if (!expect_status(st, want)) {
            if (state_hash() != before)
                diverge("failed uffd %s changed tables, regions or counts", subs[sub]);
            return;
        }
    }
    for (unsigned p = first; p < first + n; p++) {
        struct mpage *q = &pg[p];
        if (sub == 0) {
            q->uffd = (uint8_t)c;
            q->umode = (uint8_t)mode;
            if (!(mode & REGION_UFFD_WP)) /* the new mode has no write protection */
                q->wp = false;
        } else if (sub == 2) {
            q->wp = wp && q->pst != MS_UNTOUCHED; /* present pages only */
        } else if (q->uffd == c) { /* unregister, release: ordinary memory again */
            q->wp = false;
            q->uffd = q->umode = 0;
        }
    }
}

/* The pager's answer through userfaultfd: UFFDIO_COPY (a page of given
 * contents, optionally write-protected) or UFFDIO_ZEROPAGE, one page, as
 * kernel/proc/uffd.c's fill() calls uffd_page_provide. */
static void op_fill(const uint8_t *a)
{
    bool zero = a[0] & 1, wp = !zero && (a[0] & 2);
    unsigned c = 1 + (a[0] >> 2) % NUFFD, page = a[2] % NU;
    int sp;
    struct mspace *m = uffd_space(a[1], &sp);
    snprintf(op_text, sizeof(op_text), "uffd %s context %u space %d page %u%s",
             zero ? "zeropage" : "copy", c, sp, page, wp ? " write-protected" : "");
    say("%s\n", op_text);
    if (!m)
        return say("  skipped: no space\n");
    struct mpage *q = &m->up[page];
    paddr_t pa = 0;
    uint64_t w[NPOS] = { 0 };
    if (!zero && !provided_frame(false, &pa, w))
        return say("  skipped: no frame\n");
    uint64_t before = state_hash();
    struct mobj *o = &M.obj[q->obj];
    enum vmm_status want = q->uffd != c ? VMM_ERR_NO_REGION
                           : wp && !(q->umode & REGION_UFFD_WP) ? VMM_ERR_BAD_FLAGS /* Linux: EINVAL */
                           : q->kind == MK_SHARED ? (o->cached[q->idx] ? VMM_ERR_EXISTS : VMM_OK)
                           : q->pst != MS_UNTOUCHED ? VMM_ERR_EXISTS : VMM_OK;
    enum vmm_status st = uffd_page_provide(m->s, USER_BASE + page * PAGE_SIZE,
                                           uffd_ctx_of(sp, c), pa, wp);
    if (!expect_status(st, want)) {
        if (state_hash() != before)
            diverge("failed uffd %s changed tables or counts", zero ? "zeropage" : "copy");
        if (pa)
            pmm_free(pa);
        return;
    }
    if (q->kind == MK_SHARED) {
        o->cached[q->idx] = true;
        memcpy(o->w[q->idx], w, sizeof(w));
        return;
    }
    q->pst = zero ? MS_ZERO : MS_OWN;
    memcpy(q->w, w, sizeof(w));
    q->wp = wp && (q->prot & REGION_W);
}

/* A waiting access's thread is woken (COPY, ZEROPAGE, WAKE, WRITEPROTECT
 * off, unregister, the last descriptor closed, the in-kernel pager's
 * provide): it retries in its own space.  Its process gone: dropped. */
static void op_wake(const uint8_t *a)
{
    unsigned i = a[0] % NWAITER;
    for (unsigned t = 0; t < NWAITER && !M.wq[i].used; t++)
        i = (i + 1) % NWAITER;
    snprintf(op_text, sizeof(op_text), "wake waiter %u", i);
    say("%s\n", op_text);
    struct waiter w = M.wq[i];
    if (!w.used)
        return say("  skipped: nobody waits\n");
    M.wq[i].used = false;
    if (w.sp && !M.sp[w.sp].s)
        return say("  dropped: its space is gone\n");
    if (M.live != w.sp)
        switch_to(w.sp);
    say("  retry: ");
    op_access((enum op)w.op, w.a);
}

/* A system call's copy_to_user / copy_from_user of a word in each of 1..4
 * user pages of the live space: kernel-mode accesses (no SMAP), page by
 * page, stopping at the first that does not complete.  -EFAULT exactly
 * when the model says the access is illegal (op_access checks each); an
 * in-kernel pager's "later" is -EFAULT too (nobody to wait for in a
 * system call, kernel/arch/x86_64/page_fault.c), a userfaultfd wait blocks
 * the call until the pager answers. */
static void op_uaccess(const uint8_t *a)
{
    bool to_user = a[0] & 1;
    unsigned page = a[1] % NU, n = 1 + a[0] / 2 % 4, k = a[2] % NPOS;
    if (page + n > NU)
        n = NU - page;
    snprintf(op_text, sizeof(op_text), "uaccess %s live space %d page %u +%u word +%u",
             to_user ? "copy_to_user" : "copy_from_user", M.live, page, n, tag_pos[k]);
    say("%s\n", op_text);
    if (!M.live)
        return say("  skipped: no user space live\n");
    char text[sizeof(op_text)];
    memcpy(text, op_text, sizeof(text));
    unsigned done = 0;
    for (; done < n; done++) {
        uint8_t b[5] = { 0, (uint8_t)(page + done), (uint8_t)k, a[3], a[4] };
        say("  ");
        op_access(to_user ? OP_WRITE : OP_READ, b);
        memcpy(op_text, text, sizeof(op_text));
        if (access_end != ACC_DONE)
            break;
    }
    say("  -> %s after %u of %u pages\n",
        done == n ? "0" : access_end == ACC_WAIT && access_wait_uffd ? "blocked in the pager's wait"
                          : access_end == ACC_OOM ? "-ENOMEM" : "-EFAULT", done, n);
}

/* ---- 2 MiB pages ------------------------------------------------------------ */

/* The model's words at byte @off of physical memory inside the unmanaged
 * frames: a physical object's (its shared mappings write them), else the
 * frame's own. */
static uint64_t phys_word(uint64_t off, unsigned k)
{
    uint64_t frame = off / PAGE_SIZE;
    for (unsigned i = 0; i < M.nobj; i++) {
        const struct mobj *o = &M.obj[i];
        if (o->phys && frame >= o->phys_first && frame < o->phys_first + o->npages)
            return k < NPOS ? o->w[frame - o->phys_first][k] : 0;
    }
    return k < NPOS ? 0xde00000000000000ull | (frame - (M.frames - NPHYS)) << 8 | k : 0;
}

/* vmm_map_2m / vmm_unmap / vmm_protect of a PTE_NOREF 2 MiB page over
 * physical address 0, in the kernel slot (through any space) or in a user
 * space's user half where no region is; and accesses through it to the
 * unmanaged frames (the TLB caches a huge page page by page). */
static void op_huge(const uint8_t *a)
{
    static const char *const subs[] = { "vmm_map_2m", "vmm_unmap", "vmm_protect", "access" };
    unsigned sub = a[0] % 4, t = a[1] % 4;
    int via = t ? (int)t : a[1] / 4 % NSPACE;
    uint64_t flags = (a[2] & 1 ? PTE_W : 0) | (a[2] & 2 ? PTE_NX : 0) | (a[2] & 4 ? PTE_G : 0) |
                     (a[2] & 8 ? PTE_U : 0) | (a[2] & 16 || sub != 0 ? PTE_NOREF : 0);
    uintptr_t va = t ? HUGE_UVA : HUGE_KVA;
    struct hpage *hp = t ? &M.sp[t].huge : &M.khuge;
    struct vmm_space *s = space_of(via);
    if (sub == 3) {
        enum cpu_access kind = a[2] % 3 == 0 ? CPU_READ : a[2] % 3 == 1 ? CPU_WRITE : CPU_FETCH;
        bool user = a[2] & 4;
        unsigned f = a[3] % NPHYS, k = a[4] % (NPOS + 1);
        uint64_t off = (M.frames - NPHYS + f) * PAGE_SIZE + tag_pos[k];
        static const char *const kinds[] = { "read", "write", "fetch" };
        snprintf(op_text, sizeof(op_text), "%s %s-mode through the 2 MiB page %s +%#llx (live space %d)",
                 kinds[kind], user ? "user" : "kernel", t ? "of the live space's user half" : "of the kernel slot",
                 (unsigned long long)off, M.live);
        say("%s\n", op_text);
        if (t) { /* the live space's own */
            if (!M.live)
                return say("  skipped: no user space live\n");
            hp = &M.sp[M.live].huge;
        }
        /* (the kernel slot's upper entries are supervisor-only) */
        uint64_t e = hp->mapped ? (hp->flags | PTE_P) & ~(t ? 0 : PTE_U) : 0;
        bool allows = (e & PTE_P) && (!user || (e & PTE_U)) && (kind != CPU_WRITE || (e & PTE_W)) &&
                      (kind != CPU_FETCH || !(e & PTE_NX));
        enum vmm_fault_reason no = FAULT_NONE;
        if (!allows && t)
            no = FAULT_NO_REGION; /* the user half: no region holds it */
        else if (!allows && !(e & PTE_P))
            no = FAULT_NOT_PRESENT;
        else if (!allows)
            no = user && !(e & PTE_U) ? FAULT_USER_SUPERVISOR
                 : kind == CPU_WRITE ? FAULT_WRITE_READONLY : FAULT_EXEC_NX;
        if (!t && !M.kslot)
            no = FAULT_NOT_PRESENT;
        uint64_t before = state_hash(), got = op_no;
        struct cpu_result res;
        cpu_access(va + off, kind, user, &got, &res);
        if (res.why[0])
            diverge("%s", res.why);
        if (!res.done) {
            say("  -> fault: %s (model: %s)\n", vmm_fault_reason_str(res.reason),
                no == FAULT_NONE ? "legal" : vmm_fault_reason_str(no));
            if (no == FAULT_NONE || res.result != VMM_FAULT_FATAL || res.reason != no)
                diverge("fault %s, the model predicts %s", vmm_fault_reason_str(res.reason),
                        no == FAULT_NONE ? "no fault" : vmm_fault_reason_str(no));
            if (state_hash() != before)
                diverge("a fatal fault changed tables or counts");
            return;
        }
        say("  -> done after %u faults, read %#llx\n", res.faults, (unsigned long long)got);
        if (no != FAULT_NONE)
            diverge("illegal access (%s) completed", vmm_fault_reason_str(no));
        if (kind == CPU_WRITE)
            diverge("a write through a 2 MiB page over the zero frame completed");
        if (got != phys_word(off, k))
            diverge("read %#llx, the model says %#llx", (unsigned long long)got,
                    (unsigned long long)phys_word(off, k));
        return;
    }
    snprintf(op_text, sizeof(op_text), "%s %s through space %d flags %#llx", subs[sub],
             t ? "user-half 2 MiB page" : "kernel-slot 2 MiB page", via, (unsigned long long)flags);
    if (t)
        snprintf(op_text, sizeof(op_text), "%s space %d user-half 2 MiB page flags %#llx", subs[sub],
                 via, (unsigned long long)flags);
    say("%s\n", op_text);
    if (!s)
        return say("  skipped: no space\n");
    bool user_half = t != 0;
    uint64_t before = state_hash();
    enum vmm_status want, st;
    if (sub == 0) {
        want = !(flags & PTE_NOREF) || (flags & PTE_W) ? VMM_ERR_ZERO_FRAME
               : user_half && (flags & PTE_G)        ? VMM_ERR_BAD_FLAGS
               : !user_half && !M.kslot              ? VMM_ERR_KERNEL_SLOT
               : hp->mapped                          ? VMM_ERR_EXISTS : VMM_OK;
        st = vmm_map_2m(s, va, 0, flags);
    } else if (sub == 1) {
        want = hp->mapped ? VMM_OK : VMM_ERR_NOT_MAPPED;
        paddr_t pa = 1;
        st = vmm_unmap(s, va, &pa);
        if (st == VMM_OK && pa != 0)
            diverge("vmm_unmap of a PTE_NOREF page handed back frame %#llx", (unsigned long long)pa);
    } else {
        flags &= ~PTE_NOREF;
        want = user_half && (flags & PTE_G) ? VMM_ERR_BAD_FLAGS
               : !hp->mapped                ? VMM_ERR_NOT_MAPPED
               : flags & PTE_W              ? VMM_ERR_ZERO_FRAME : VMM_OK;
        st = vmm_protect(s, va, flags);
        flags |= PTE_NOREF;
    }
    if (!expect_status(st, want)) {
        if (state_hash() != before)
            diverge("failed %s changed tables or counts", subs[sub]);
        return;
    }
    hp->mapped = sub != 1;
    hp->flags = sub != 1 ? flags : 0;
}

static void run_op(const uint8_t *op)
{
    const uint8_t *a = op + 1;
    switch ((enum op)(op[0] % OP_COUNT)) {
    case OP_CREATE: op_create(a); break;
    case OP_DESTROY: op_destroy(a); break;
    case OP_SWITCH: op_switch(a); break;
    case OP_MAP: op_map(a); break;
    case OP_UNMAP: op_unmap(a); break;
    case OP_PROTECT: op_protect(a); break;
    case OP_CLONE: op_clone(a); break;
    case OP_READ: op_access(OP_READ, a); break;
    case OP_WRITE: op_access(OP_WRITE, a); break;
    case OP_FETCH: op_access(OP_FETCH, a); break;
    case OP_INJECT: op_inject(a); break;
    case OP_DISCARD: op_discard(a); break;
    case OP_POPULATE: op_populate(a); break;
    case OP_OBJECT: op_object(a); break;
    case OP_PAGE: op_page(a); break;
    case OP_RESERVE: op_reserve(); break;
    case OP_PROVIDE: op_provide(a); break;
    case OP_UFFD: op_uffd(a); break;
    case OP_FILL: op_fill(a); break;
    case OP_WAKE: op_wake(a); break;
    case OP_UACCESS: op_uaccess(a); break;
    case OP_HUGE: op_huge(a); break;
    case OP_COUNT: break;
    }
}

/* Machine sizes in frames: the smallest run out within a few operations. */
static const uint64_t mem_sizes[8] = { 12, 16, 24, 32, 48, 64, 128, 256 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t frames = mem_sizes[data[0] % 8];
    total_inputs++;
    say("machine: %llu frames of simulated memory\n", (unsigned long long)frames);
    op_no = 0;
    snprintf(op_text, sizeof(op_text), "machine setup");
    bool up = machine_up(frames);
    if (!up) {
        say("  too small to set up the kernel space\n");
        machine_down(false);
        return 0;
    }
    char why[512];
    for (size_t off = 1; off + 6 <= size; off += 6) {
        op_no++;
        total_ops++;
        say("#%llu ", (unsigned long long)op_no);
        run_op(data + off);
        if (!check_all(why, sizeof(why)))
            diverge("%s", why);
    }
    snprintf(op_text, sizeof(op_text), "teardown");
    machine_down(true);
    return 0;
}

/* ---- replay ---------------------------------------------------------------- */

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_vmm: cannot open %s\n", path);
        return 1;
    }
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    uint64_t ops = total_ops;
    if (verbose)
        printf("== %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    printf("ok %s: %llu operations\n", path, (unsigned long long)(total_ops - ops));
    return 0;
}

static int replay(int argc, char **argv)
{
    int bad = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "-vv") || !strcmp(argv[i], "--replay"))
            continue;
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_vmm: %s: no such file or directory\n", argv[i]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= replay_file(argv[i]);
            files++;
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[i], &list, NULL, alphasort);
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
            if (list[j]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                bad |= replay_file(path);
                files++;
            }
            free(list[j]);
        }
        free(list);
    }
    printf("fuzz_vmm: replayed %d inputs, %llu operations, no divergence\n", files,
           (unsigned long long)total_ops);
    return bad || files == 0;
}

static void report(void)
{
    fprintf(stderr,
            "fuzz_vmm: %llu inputs, %llu operations checked, 0 divergences\n",
            (unsigned long long)total_inputs, (unsigned long long)total_ops);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bool do_replay = false;
    for (int i = 1; i < *argc; i++) {
        do_replay |= !strcmp((*argv)[i], "--replay");
        verbose += !strcmp((*argv)[i], "-v") + 2 * !strcmp((*argv)[i], "-vv");
    }
    if (do_replay)
        exit(replay(*argc, *argv));
    atexit(report);
    return 0;
}
