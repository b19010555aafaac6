/* VMM self-tests with real page faults.  Every test gives back what it
 * took: the harness's frame-leak guard checks that. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "kmap.h"
#include "kprintf.h"
#include "multiboot2.h"
#include "ktest.h"
#include "kstring.h"
#include "pmm.h"
#include "probe.h"
#include "region.h"
#include "vmm.h"

/* Each test works in its own 2 MiB of the kernel arena. */
/* Page-level tests work in the arena's upper half, away from the regions
 * (allocated from the bottom up: module views, kernel stacks, ...). */
#define ARENA(n) (KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE / 2 + (uintptr_t)(n) * PAGE_2M)
#define USER_VA 0x0000000000400000ull

static struct vmm_space *const kspace = &vmm_kernel_space;

static uint64_t free_frames(void)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    return s.free;
}

static paddr_t frame_of(const struct vmm_space *s, uintptr_t va)
{
    paddr_t pa = 0;
    vmm_translate(s, va, &pa, NULL, NULL);
    return pa & ~(PAGE_SIZE - 1);
}

static uint64_t flags_of(uintptr_t va)
{
    uint64_t f = 0;
    vmm_translate(kspace, va, NULL, &f, NULL);
    return f;
}

static volatile uint64_t *q(uintptr_t va)
{
    return (volatile uint64_t *)va;
}

TEST(vmm, spurious_fault_is_invalidated_and_retried)
{
    uintptr_t va = (uintptr_t)vmm_arena_alloc(1, "spurious");
    ASSERT_NE(va, 0);
    *q(va) = 0; /* mapped writable now */
    paddr_t pa = frame_of(kspace, va);
    /* A write fault on an entry that already allows writing, as a CPU with
     * a stale read-only TLB entry would raise it. */
    struct vmm_fault f;
    uint64_t spurious = vmm_counters_get().spurious, before = free_frames();
    EXPECT_EQ(vmm_fault_handle(kspace, va + 8, PF_ERR_P | PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    EXPECT_EQ(f.reason, FAULT_SPURIOUS);
    EXPECT_EQ(vmm_counters_get().spurious - spurious, 1);
    EXPECT_EQ(free_frames(), before);
    EXPECT_EQ(frame_of(kspace, va), pa);
    *q(va) = 1; /* and the access goes through */
    EXPECT_EQ(vmm_arena_free((void *)va), VMM_OK);
}

TEST(vmm, unmap_returns_frames_and_frees_empty_tables)
{
    uintptr_t va = ARENA(6);
    uint64_t before = free_frames();
    paddr_t pa, got = 0;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, va, pa, PTE_W | PTE_NX), VMM_OK);
    EXPECT_EQ(before - free_frames(), 3); /* the frame, a PD and a PT */
    EXPECT_EQ(vmm_map(kspace, va, pa, PTE_NX), VMM_ERR_EXISTS);
    EXPECT_EQ(vmm_map(kspace, va + 1, pa, 0), VMM_ERR_UNALIGNED);
    EXPECT_EQ(vmm_map(kspace, va + PAGE_SIZE, vmm_zero_frame, PTE_W), VMM_ERR_ZERO_FRAME);
    ASSERT_EQ(vmm_unmap(kspace, va, &got), VMM_OK);
    EXPECT_EQ(got, pa);
    EXPECT_EQ(before - free_frames(), 1); /* tables gone, the frame is ours */
    EXPECT_EQ(vmm_unmap(kspace, va, &got), VMM_ERR_NOT_MAPPED);
    struct probe_fault pf;
    EXPECT_FALSE(probe_read64(va, NULL, &pf)); /* the stale translation went too */
    EXPECT_EQ(pmm_free(pa), PMM_OK);
}

TEST(kmap, nested_mappings_in_stack_order)
{
    enum { N = 5 };
    paddr_t f[N];
    uint64_t *p[N];
    for (int i = 0; i < N; i++)
        ASSERT_EQ(pmm_alloc(&f[i]), PMM_OK);
    unsigned depth = kmap_depth();
    for (int i = 0; i < N; i++) {
        p[i] = kmap_push(f[i], true, NULL);
        ASSERT_NE((uintptr_t)p[i], 0);
        p[i][0] = 0x1000 + i;
    }
    EXPECT_EQ(kmap_depth(), depth + N);
    for (int i = 0; i < N; i++) {
        EXPECT_EQ(p[i][0], 0x1000 + i); /* all held at once, all distinct */
        for (int j = 0; j < i; j++)
            EXPECT_NE((uintptr_t)p[i], (uintptr_t)p[j]);
    }
    EXPECT_EQ(kmap_pop(p[0]), KMAP_ERR_ORDER);
    enum kmap_status st;
    void *extra[KMAP_SLOTS];
    unsigned got = 0;
    while (got < KMAP_SLOTS && (extra[got] = kmap_push(f[0], false, &st)) != NULL)
        got++;
    EXPECT_EQ(st, KMAP_ERR_FULL);
    EXPECT_EQ(kmap_depth(), KMAP_SLOTS);
    while (got > 0)
        EXPECT_EQ(kmap_pop(extra[--got]), KMAP_OK);
    EXPECT_EQ((uintptr_t)kmap_push(vmm_zero_frame, true, &st), 0);
    EXPECT_EQ(st, KMAP_ERR_ZERO_FRAME);
    for (int i = N - 1; i >= 0; i--)
        EXPECT_EQ(kmap_pop(p[i]), KMAP_OK);
    EXPECT_EQ(kmap_depth(), depth);
    for (int i = 0; i < N; i++)
        pmm_free(f[i]);
}

struct wx_audit {
    unsigned leaves, writable_exec, user;
    uintptr_t first_bad;
};

static void audit_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct wx_audit *a = ctx;
    (void)level;
    a->leaves++;
    if ((*entry & PTE_W) && !(*entry & PTE_NX) && a->writable_exec++ == 0)
        a->first_bad = va;
    if (*entry & PTE_U)
        a->user++;
}

TEST(vmm, wx_audit_of_every_kernel_mapping)
{
    struct wx_audit a = { 0 };
    struct vmm_visitor v = { .leaf = audit_leaf, .ctx = &a };
    vmm_visit(kspace, 0, UINTPTR_MAX, &v);
    EXPECT_GT(a.leaves, 100);
    EXPECT_EQ(a.writable_exec, 0);
    EXPECT_EQ(a.first_bad, 0);
    EXPECT_EQ(a.user, 0);
    uint64_t text = flags_of((uintptr_t)kernel_text_start);
    EXPECT_FALSE(text & PTE_W);
    EXPECT_FALSE(text & PTE_NX);
    uint64_t ro = flags_of((uintptr_t)kernel_rodata_start);
    EXPECT_FALSE(ro & PTE_W);
    EXPECT_TRUE(ro & PTE_NX);
    uint64_t data = flags_of((uintptr_t)kernel_data_start);
    EXPECT_TRUE(data & PTE_W);
    EXPECT_TRUE(data & PTE_NX);
}

TEST(vmm, boot_mappings_gone_and_guards_unmapped)
{
    paddr_t pa;
    EXPECT_EQ(vmm_translate(kspace, 0, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
    EXPECT_EQ(vmm_translate(kspace, 0x100000, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
    int guards = 0;
    for (const uintptr_t *g = guard_pages_start; g < guard_pages_end; g++, guards++)
        EXPECT_EQ(vmm_translate(kspace, *g, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
    EXPECT_GE(guards, 1);
    EXPECT_EQ(vmm_translate(kspace, (uintptr_t)boot_stack_bottom, &pa, NULL, NULL), VMM_OK);
    /* No boot window: low memory outside the image and physical 8 MiB.. are
     * not mapped in the kernel half. */
    EXPECT_EQ(vmm_translate(kspace, KERNEL_VMA + 0x1000, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
    EXPECT_EQ(vmm_translate(kspace, KERNEL_VMA + 0x1001234, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
    EXPECT_EQ(vmm_translate(kspace, (uintptr_t)kernel_end, &pa, NULL, NULL), VMM_ERR_NOT_MAPPED);
}

/* No frame the allocator may hand out has a permanent mapping in the kernel
 * half outside the arena: every leaf from KERNEL_VMA up to the kmap window
 * maps the kernel image, the VGA text page or memory that is not usable RAM
 * (a framebuffer). */
struct alias_audit {
    struct mb2_boot *mb;
    unsigned leaves, bad;
};

static void alias_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct alias_audit *a = ctx;
    uint64_t size = level == 1 ? PAGE_SIZE : level == 2 ? PAGE_2M : 1ull << 30;
    uint64_t mask = level == 1 ? PTE_ADDR_MASK : level == 2 ? PTE_ADDR_2M_MASK : PTE_ADDR_1G_MASK;
    paddr_t pa = *entry & mask;
    a->leaves++;
    if (pa >= (uintptr_t)kernel_phys_start && pa + size <= (uintptr_t)kernel_phys_end)
        return;
    if (pa == BOOT_VGA_TEXT_PA && size == PAGE_SIZE)
        return;
    if (!range_overlaps(&a->mb->usable, pa, pa + size))
        return;
    if (a->bad++ < 4)
        kprintf("# %p maps usable RAM %#llx (level %d)\n", (void *)va, (unsigned long long)pa,
                level);
}

TEST(vmm, no_kernel_alias_of_allocatable_frames)
{
    static struct mb2_boot mb;
    struct mb2_view view;
    ASSERT_EQ(mb2_view_init(&view, boot_info.mbi, boot_info.mbi_size), MB2_OK);
    mb2_parse(&mb, &view, 1ull << 52);
    struct alias_audit a = { &mb, 0, 0 };
    struct vmm_visitor v = { .leaf = alias_leaf, .ctx = &a };
    vmm_visit(kspace, KERNEL_VMA, KMAP_BASE - 1, &v);
    EXPECT_GT(a.leaves, 0);
    EXPECT_EQ(a.bad, 0);
}

TEST(vmm, huge_page_translate_and_map)
{
    paddr_t pa;
    uint64_t flags;
    int level;
    paddr_t big;
    ASSERT_EQ(pmm_alloc_contig(512, 512, &big), PMM_OK);
    uintptr_t va = ARENA(9);
    ASSERT_EQ(vmm_map_2m(kspace, va, big, PTE_W | PTE_NX), VMM_OK);
    ASSERT_EQ(vmm_translate(kspace, va + 0x1ff008, &pa, &flags, &level), VMM_OK);
    EXPECT_EQ(pa, big + 0x1ff008);
    EXPECT_EQ(level, 2);
    EXPECT_TRUE(flags & PTE_PS);
    EXPECT_TRUE(flags & PTE_NX);
    *q(va + 0x1ff008) = 0xabc;
    const uint64_t *p = kmap_push(big + 0x1ff000, false, NULL);
    ASSERT_NE((uintptr_t)p, 0);
    EXPECT_EQ(p[1], 0xabc);
    kmap_pop((void *)p);
    EXPECT_EQ(vmm_map(kspace, va + PAGE_SIZE, big, 0), VMM_ERR_HUGE);
    paddr_t got;
    EXPECT_EQ(vmm_unmap(kspace, va, &got), VMM_OK);
    EXPECT_EQ(got, big);
    for (int i = 0; i < 512; i++)
        pmm_free(big + (paddr_t)i * PAGE_SIZE);
}

/* Kernel-half entries are shared by every space, so a change made through
 * a space that is not the live one must still leave no stale translation
 * on this CPU: here, while a user space is live, an arena region is
 * written, made read-only, made writable again (copy-on-write) and
 * unmapped, each through vmm_kernel_space.  Under QEMU's TCG this passes
 * even with the old rule (invlpg only for the live space): the emulated TLB
 * lost the stale entry anyway.  The host test
 * test_kernel_half_changes_through_a_space_not_live_are_flushed, which
 * counts the flushes by the same rule (mm_tlb_may_cache), is the one that fails
 * on the old rule. */
TEST(vmm, kernel_half_changes_through_another_space_are_invalidated)
{
    struct vmm_space *user;
    struct probe_fault pf;
    user = vmm_space_new();
    ASSERT_NE((uintptr_t)user, 0);
    uintptr_t va = (uintptr_t)vmm_arena_alloc(1, "stale");
    ASSERT_NE(va, 0);
    vmm_space_activate(user);

    *q(va) = 0x1111; /* the translation is now cached, writable */
    EXPECT_EQ(region_protect(kspace, va, PAGE_SIZE, REGION_R), VMM_OK);
    EXPECT_FALSE(probe_write64(va, 0x2222, &pf)); /* rights reduced: refused */
    EXPECT_EQ(pf.vector, 14);
    EXPECT_EQ(*q(va), 0x1111);
    EXPECT_EQ(region_protect(kspace, va, PAGE_SIZE, REGION_R | REGION_W), VMM_OK);
    uint64_t reuses = vmm_counters_get().reuses;
    *q(va) = 0x3333; /* CoW now: must fault (and reuse), not write through */
    EXPECT_EQ(vmm_counters_get().reuses - reuses, 1);

    EXPECT_EQ(vmm_arena_free((void *)va), VMM_OK);
    EXPECT_FALSE(probe_read64(va, NULL, &pf)); /* not the freed frame */
    EXPECT_EQ(pf.vector, 14);
    EXPECT_FALSE(probe_write64(va, 0x6666, &pf));

    vmm_space_activate(kspace);
    vmm_space_destroy(user);
}

/* The kernel half is fixed at vmm_init: a mapping that would need a PML4
 * entry of its own there is refused, and spaces leak no table. */
TEST(vmm, kernel_half_has_no_private_slots)
{
    struct vmm_space *user;
    uint64_t before = free_frames();
    paddr_t pa;
    user = vmm_space_new();
    ASSERT_NE((uintptr_t)user, 0);
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    EXPECT_EQ(vmm_map(user, VA_SLOT_BASE(300), pa, PTE_W | PTE_NX), VMM_ERR_KERNEL_SLOT);
    EXPECT_EQ(vmm_map(kspace, VA_SLOT_BASE(300), pa, PTE_W | PTE_NX), VMM_ERR_KERNEL_SLOT);
    EXPECT_EQ(vmm_map(user, VA_SLOT_BASE(508) - PAGE_SIZE, vmm_zero_frame, PTE_NX),
              VMM_ERR_KERNEL_SLOT);
    vmm_space_destroy(user);
    EXPECT_EQ(pmm_free(pa), PMM_OK);
    EXPECT_EQ(free_frames(), before);
}

/* A 2 MiB mapping owns its 512 frame references like a 4 KiB one owns its
 * one: destroying the space gives them back. */
TEST(vmm, destroy_drops_the_references_of_huge_pages)
{
    struct vmm_space *user;
    uint64_t before = free_frames();
    paddr_t big;
    user = vmm_space_new();
    ASSERT_NE((uintptr_t)user, 0);
    ASSERT_EQ(pmm_alloc_contig(512, 512, &big), PMM_OK);
    ASSERT_EQ(vmm_map_2m(user, USER_VA, big, PTE_W | PTE_NX), VMM_OK);
    vmm_space_destroy(user);
    EXPECT_EQ(pmm_refcount(big), 0);
    EXPECT_EQ(free_frames(), before);
}

TEST(vmm, zero_frame_check_needs_no_free_kmap_slot)
{
    void *held[KMAP_SLOTS];
    unsigned n = 0;
    while (n < KMAP_SLOTS && (held[n] = kmap_push(vmm_zero_frame, false, NULL)) != NULL)
        n++;
    EXPECT_EQ(kmap_depth(), KMAP_SLOTS);
    EXPECT_TRUE(vmm_zero_frame_intact());
    while (n > 0)
        EXPECT_EQ(kmap_pop(held[--n]), KMAP_OK);
    paddr_t z = 1;
    ASSERT_EQ(vmm_map(kspace, ARENA(14), vmm_zero_frame, PTE_NX), VMM_OK);
    EXPECT_EQ(vmm_unmap(kspace, ARENA(14), &z), VMM_OK);
    EXPECT_EQ(z, 0); /* no reference handed back */
}

/* End of every run: nobody scribbled on the zero frame, and it still
 * cannot be made writable. */
TEST_FINAL(vmm, zero_frame_still_zero_and_never_writable)
{
    ASSERT_NE(vmm_zero_frame, 0);
    EXPECT_TRUE(vmm_zero_frame_intact());
    EXPECT_EQ(vmm_map(kspace, ARENA(10), vmm_zero_frame, PTE_W), VMM_ERR_ZERO_FRAME);
    EXPECT_EQ(vmm_map_2m(kspace, ARENA(10), vmm_zero_frame & ~(PAGE_2M - 1), PTE_W),
              VMM_ERR_ZERO_FRAME);
    enum kmap_status st;
    EXPECT_EQ((uintptr_t)kmap_push(vmm_zero_frame, true, &st), 0);
    EXPECT_EQ(st, KMAP_ERR_ZERO_FRAME);
    EXPECT_EQ(kmap_depth(), 0);
    /* It has no alias at KERNEL_VMA + pa (there is no boot window). */
    paddr_t pa;
    EXPECT_EQ(vmm_translate(kspace, KERNEL_VMA + vmm_zero_frame, &pa, NULL, NULL),
              VMM_ERR_NOT_MAPPED);
    EXPECT_TRUE(vmm_zero_frame_intact());
}

/* Expected-panic boots (tests/run-all.sh): an unresolved fault must end in
 * the precise report, never a hang or a triple fault. */
static uintptr_t read_only_region(void)
{
    struct vmobj *o = vmobj_create_anon(1, "read-only");
    struct region_req req = { .addr = KERNEL_ARENA_BASE, .len = PAGE_SIZE, .prot = REGION_R,
                              .obj = o, .name = "read-only" };
    uintptr_t va = 0;
    if (!o || region_map(kspace, &req, &va) != VMM_OK)
        return 0;
    vmobj_put(o);
    return va;
}

TEST_MANUAL(vmm_panic, write_to_read_only_region)
{
    uintptr_t va = read_only_region();
    ASSERT_NE(va, 0);
    (void)*q(va); /* mapped: the zero frame, read-only */
    *q(va + 0x40) = 1;
}

TEST_MANUAL(vmm_panic, out_of_memory_in_cow_fault)
{
    uintptr_t va = (uintptr_t)vmm_arena_alloc(1, "oom");
    ASSERT_NE(va, 0);
    (void)*q(va); /* the zero frame, CoW */
    pmm_fail_all(true);
    *q(va) = 1;
}

/* ---- after a failed test ---------------------------------------------------
 * A passing test gives back its arena slot and temporary mappings; one that
 * ended in an ASSERT may not.  Undo both so the tests after it are
 * unaffected (the harness runs these only after a failure). */
struct arena_leftover {
    uintptr_t va;
    int level;
};
static struct arena_leftover leftovers[256];
static unsigned n_leftovers;

static void collect_leftover(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    (void)ctx;
    (void)entry;
    /* Page-level mappings only: region pages go with their regions. */
    if (region_lookup(kspace, va, NULL))
        return;
    if (n_leftovers < sizeof(leftovers) / sizeof(leftovers[0]))
        leftovers[n_leftovers++] = (struct arena_leftover){ va, level };
}

struct region_leftovers {
    uintptr_t start[64];
    size_t len[64];
    unsigned n;
};

static void collect_region(void *ctx, const struct region *r)
{
    struct region_leftovers *l = ctx;
    /* Kernel stacks belong to live threads and module views to the boot,
     * never to a test. */
    if (r->name && (strcmp(r->name, "kernel stack") == 0 || strcmp(r->name, "kernel stack guard") == 0))
        return;
    if (vmm_is_module_view(r->start))
        return;
    if (l->n < 64) {
        l->start[l->n] = r->start;
        l->len[l->n++] = r->end - r->start;
    }
}

static unsigned arena_cleanup(void)
{
    unsigned undone = 0;
    for (int pass = 0; pass < 64; pass++) {
        struct region_leftovers rl = { .n = 0 };
        region_for_each(kspace, collect_region, &rl);
        for (unsigned i = 0; i < rl.n; i++)
            region_unmap(kspace, rl.start[i], rl.len[i]);
        n_leftovers = 0;
        struct vmm_visitor v = { .leaf = collect_leftover };
        vmm_visit(kspace, KERNEL_ARENA_BASE, KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE - 1, &v);
        if (!n_leftovers && !rl.n)
            break;
        for (unsigned i = 0; i < n_leftovers; i++) {
            /* The mapping owned what vmm_unmap hands back: one reference
             * per frame (512 for a huge page from pmm_alloc_contig). */
            paddr_t pa;
            if (vmm_unmap(kspace, leftovers[i].va, &pa) == VMM_OK && pa) {
                unsigned frames = leftovers[i].level == 2 ? 512 : 1;
                for (unsigned f = 0; f < frames; f++)
                    pmm_ref_dec(pa + (paddr_t)f * PAGE_SIZE, NULL);
            }
        }
        undone += n_leftovers + rl.n;
    }
    return undone;
}
KTEST_CLEANUP(kernel_arena_mappings, arena_cleanup);

static unsigned kmap_cleanup(void)
{
    unsigned undone = 0;
    while (kmap_depth()) {
        void *top = (void *)(KMAP_BASE + (uintptr_t)(kmap_depth() - 1) * PAGE_SIZE);
        if (kmap_pop(top) != KMAP_OK)
            break;
        undone++;
    }
    return undone;
}
KTEST_CLEANUP(temporary_mappings, kmap_cleanup);
