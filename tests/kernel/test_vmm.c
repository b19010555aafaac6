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
#include "vmm.h"

/* Each test works in its own 2 MiB of the kernel arena. */
#define ARENA(n) (KERNEL_ARENA_BASE + (uintptr_t)(n) * PAGE_2M)
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

TEST(vmm, lazy_read_gives_zeros_and_allocates_nothing)
{
    uintptr_t va = ARENA(1);
    ASSERT_EQ(vmm_map_zeroed(kspace, va, 8, PTE_NX), VMM_OK);
    uint64_t mapped = free_frames();
    uint64_t faults = vmm_counters_get().faults;
    uint64_t acc = 0;
    for (uintptr_t p = va; p < va + 8 * PAGE_SIZE; p += 8)
        acc |= *q(p);
    EXPECT_EQ(acc, 0);
    EXPECT_EQ(free_frames(), mapped);
    EXPECT_EQ(vmm_counters_get().faults, faults); /* reads of a present page never fault */
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(frame_of(kspace, va + i * PAGE_SIZE), vmm_zero_frame);
    EXPECT_EQ(vmm_release(kspace, va, 8), VMM_OK);
}

TEST(vmm, first_write_allocates_one_frame_for_that_page_only)
{
    uintptr_t va = ARENA(2);
    ASSERT_EQ(vmm_map_zeroed(kspace, va, 3, PTE_NX), VMM_OK);
    uint64_t before = free_frames(), fills = vmm_counters_get().zero_fills;
    *q(va + PAGE_SIZE + 16) = 0x1234;
    EXPECT_EQ(before - free_frames(), 1);
    EXPECT_EQ(vmm_counters_get().zero_fills - fills, 1);
    paddr_t pa = frame_of(kspace, va + PAGE_SIZE);
    EXPECT_NE(pa, vmm_zero_frame);
    EXPECT_NE(pa, 0);
    EXPECT_TRUE(flags_of(va + PAGE_SIZE) & PTE_W);
    EXPECT_FALSE(flags_of(va + PAGE_SIZE) & PTE_COW);
    uint64_t acc = 0;
    for (uintptr_t p = va + PAGE_SIZE; p < va + 2 * PAGE_SIZE; p += 8)
        acc |= p == va + PAGE_SIZE + 16 ? 0 : *q(p);
    EXPECT_EQ(acc, 0);
    EXPECT_EQ(*q(va + PAGE_SIZE + 16), 0x1234);
    /* A second write to the same page does not fault again. */
    uint64_t faults = vmm_counters_get().faults;
    *q(va + PAGE_SIZE + 24) = 1;
    EXPECT_EQ(vmm_counters_get().faults, faults);
    EXPECT_EQ(frame_of(kspace, va), vmm_zero_frame);
    EXPECT_EQ(frame_of(kspace, va + 2 * PAGE_SIZE), vmm_zero_frame);
    EXPECT_TRUE(vmm_zero_frame_intact());
    EXPECT_EQ(vmm_release(kspace, va, 3), VMM_OK);
}

TEST(vmm, cow_share_isolates_then_last_sharer_reuses)
{
    uintptr_t a = ARENA(3), b = ARENA(3) + 16 * PAGE_SIZE;
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, a, pa, PTE_W | PTE_NX), VMM_OK);
    for (int i = 0; i < 4; i++)
        q(a)[i] = 0xa0 + i;
    ASSERT_EQ(vmm_share_cow(kspace, a, kspace, b, 1), VMM_OK);
    EXPECT_EQ(pmm_refcount(pa), 2);
    EXPECT_EQ(frame_of(kspace, b), pa);
    EXPECT_TRUE(flags_of(a) & PTE_COW);
    EXPECT_FALSE(flags_of(a) & PTE_W);

    uint64_t copies = vmm_counters_get().copies, reuses = vmm_counters_get().reuses;
    q(b)[0] = 0xbb;
    EXPECT_EQ(vmm_counters_get().copies - copies, 1);
    EXPECT_EQ(q(a)[0], 0xa0); /* invisible to the other side */
    EXPECT_EQ(q(b)[1], 0xa1); /* the rest was copied */
    EXPECT_NE(frame_of(kspace, b), pa);
    EXPECT_EQ(pmm_refcount(pa), 1);

    uint64_t before = free_frames();
    q(a)[0] = 0xaa;
    EXPECT_EQ(vmm_counters_get().reuses - reuses, 1);
    EXPECT_EQ(vmm_counters_get().copies - copies, 1);
    EXPECT_EQ(free_frames(), before); /* reuse allocates nothing */
    EXPECT_EQ(frame_of(kspace, a), pa);
    EXPECT_EQ(q(b)[0], 0xbb);
    EXPECT_EQ(vmm_release(kspace, a, 1), VMM_OK);
    EXPECT_EQ(vmm_release(kspace, b, 1), VMM_OK);
}

TEST(vmm, cow_share_across_address_spaces)
{
    struct vmm_space other;
    uintptr_t a = ARENA(4);
    paddr_t pa;
    ASSERT_EQ(vmm_space_create(&other), VMM_OK);
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, a, pa, PTE_W | PTE_NX), VMM_OK);
    q(a)[0] = 0x5151;
    ASSERT_EQ(vmm_share_cow(kspace, a, &other, USER_VA, 1), VMM_OK);
    EXPECT_EQ(frame_of(&other, USER_VA), pa);
    EXPECT_EQ(vmm_space_active(), kspace);

    /* Write through the other space while it is live (the kernel half,
     * where this code and its stack live, is shared). */
    vmm_space_activate(&other);
    uint64_t seen = *q(USER_VA);
    *q(USER_VA) = 0x7777;
    vmm_space_activate(kspace);

    EXPECT_EQ(seen, 0x5151);
    EXPECT_EQ(q(a)[0], 0x5151);
    paddr_t copy = frame_of(&other, USER_VA);
    EXPECT_NE(copy, pa);
    const uint64_t *p = kmap_push(copy, false, NULL);
    ASSERT_NE((uintptr_t)p, 0);
    EXPECT_EQ(p[0], 0x7777);
    kmap_pop((void *)p);
    vmm_space_destroy(&other);
    EXPECT_EQ(pmm_refcount(pa), 1);
    EXPECT_EQ(vmm_release(kspace, a, 1), VMM_OK);
}

TEST(vmm, spurious_fault_is_invalidated_and_retried)
{
    uintptr_t va = ARENA(5);
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, va, pa, PTE_W | PTE_NX), VMM_OK);
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
    EXPECT_EQ(vmm_release(kspace, va, 1), VMM_OK);
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

/* Probe @va with @how ('r', 'w', 'x'); expect a #PF whose unresolved
 * reason reads @reason. */
static void expect_fault(uintptr_t va, char how, const char *reason, uint64_t err_bits)
{
    struct probe_fault pf = { 0 };
    bool ok = how == 'r' ? probe_read64(va, NULL, &pf)
            : how == 'w' ? probe_write64(va, 0x99, &pf)
                         : probe_exec(va, &pf);
    EXPECT_FALSE(ok);
    EXPECT_EQ(pf.vector, 14);
    EXPECT_EQ(pf.cr2, va);
    EXPECT_EQ(pf.error_code & err_bits, err_bits);
    EXPECT_STREQ(vmm_fault_reason_str(vmm_fault_last_unresolved()->reason), reason);
    EXPECT_EQ(vmm_fault_last_unresolved()->va, va);
}

TEST(vmm, fatal_reasons_through_probes)
{
    uintptr_t ro = ARENA(7), zero_ro = ARENA(7) + PAGE_SIZE, rsvd = ARENA(7) + 2 * PAGE_SIZE;
    paddr_t pa, pb;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(pmm_alloc(&pb), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, ro, pa, PTE_NX), VMM_OK);
    ASSERT_EQ(vmm_map(kspace, zero_ro, vmm_zero_frame, 0), VMM_OK); /* no CoW bit */
    ASSERT_EQ(vmm_map(kspace, rsvd, pb, PTE_W | PTE_NX), VMM_OK);
    uint64_t fatal = vmm_counters_get().fatal;

    expect_fault(0x18, 'r', "null pointer dereference", 0);
    expect_fault(ARENA(7) + 64 * PAGE_SIZE, 'r', "page not present", 0);
    expect_fault(ro + 8, 'w', "write to read-only page", PF_ERR_P | PF_ERR_W);
    expect_fault((uintptr_t)kernel_text_start, 'w', "write to read-only page", PF_ERR_P | PF_ERR_W);
    expect_fault(ro, 'x', "execute of NX page", PF_ERR_P | PF_ERR_I);
    expect_fault((uintptr_t)kernel_rodata_start, 'x', "execute of NX page", PF_ERR_P | PF_ERR_I);
    expect_fault((uintptr_t)boot_stack_guard + 0xff8, 'w',
                 "kernel stack guard page hit (stack overflow)", PF_ERR_W);
    expect_fault(zero_ro, 'w', "write to the reserved zero frame without CoW", PF_ERR_P | PF_ERR_W);

    /* A reserved physical-address bit (bit 51 is above any MAXPHYADDR QEMU
     * gives us) in a present entry.  The SDM sets P with RSVD; QEMU's TCG
     * reports 0x8 alone, so only RSVD, which the decision rests on, is
     * required. */
    struct vmm_walk w;
    vmm_walk(kspace, rsvd, 1, &w);
    uint64_t saved = *w.entry;
    *w.entry = saved | (1ull << 51);
    invlpg(rsvd);
    expect_fault(rsvd, 'r', "reserved bit set in a page-table entry", PF_ERR_RSVD);
    *w.entry = saved;
    invlpg(rsvd);
    EXPECT_TRUE(probe_read64(rsvd, NULL, NULL));

    /* A non-canonical address is a #GP, not a #PF; the classifier names it. */
    struct probe_fault pf;
    EXPECT_FALSE(probe_read64(0x0000800000000000ull, NULL, &pf));
    EXPECT_EQ(pf.vector, 13);
    struct vmm_fault f;
    EXPECT_EQ(vmm_fault_handle(kspace, 0x0000800000000000ull, 0, &f), VMM_FAULT_FATAL);
    EXPECT_STREQ(vmm_fault_reason_str(f.reason), "non-canonical address");
    EXPECT_EQ(vmm_counters_get().fatal - fatal, 10);

    EXPECT_EQ(vmm_release(kspace, ro, 1), VMM_OK);
    EXPECT_EQ(vmm_release(kspace, rsvd, 1), VMM_OK);
    paddr_t z;
    EXPECT_EQ(vmm_unmap(kspace, zero_ro, &z), VMM_OK);
    EXPECT_EQ(z, vmm_zero_frame);
}

TEST(vmm, out_of_memory_in_cow_fault_changes_nothing)
{
    uintptr_t va = ARENA(8);
    ASSERT_EQ(vmm_map_zeroed(kspace, va, 1, PTE_NX), VMM_OK);
    struct vmm_walk w;
    vmm_walk(kspace, va, 1, &w);
    uint64_t before_pte = *w.entry, before_free = free_frames(), oom = vmm_counters_get().oom;

    pmm_fail_all(true);
    struct probe_fault pf;
    bool ok = probe_write64(va, 1, &pf);
    pmm_fail_all(false);

    EXPECT_FALSE(ok);
    EXPECT_EQ(pf.vector, 14);
    EXPECT_EQ(vmm_fault_last_unresolved()->result, VMM_FAULT_OOM);
    EXPECT_STREQ(vmm_fault_reason_str(vmm_fault_last_unresolved()->reason),
                 "out of memory while resolving copy-on-write");
    EXPECT_EQ(vmm_counters_get().oom - oom, 1);
    vmm_walk(kspace, va, 1, &w);
    EXPECT_EQ(*w.entry, before_pte);
    EXPECT_EQ(free_frames(), before_free);
    /* With memory back, the same write succeeds. */
    EXPECT_TRUE(probe_write64(va, 2, NULL));
    EXPECT_EQ(*q(va), 2);
    EXPECT_EQ(vmm_release(kspace, va, 1), VMM_OK);
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
TEST_MANUAL(vmm_panic, write_to_read_only_page)
{
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    ASSERT_EQ(vmm_map(kspace, ARENA(11), pa, PTE_NX), VMM_OK);
    *q(ARENA(11) + 0x40) = 1;
}

TEST_MANUAL(vmm_panic, out_of_memory_in_cow_fault)
{
    ASSERT_EQ(vmm_map_zeroed(kspace, ARENA(12), 1, PTE_NX), VMM_OK);
    pmm_fail_all(true);
    *q(ARENA(12)) = 1;
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
    if (n_leftovers < sizeof(leftovers) / sizeof(leftovers[0]))
        leftovers[n_leftovers++] = (struct arena_leftover){ va, level };
}

static unsigned arena_cleanup(void)
{
    unsigned undone = 0;
    for (int pass = 0; pass < 64; pass++) {
        n_leftovers = 0;
        struct vmm_visitor v = { .leaf = collect_leftover };
        vmm_visit(kspace, KERNEL_ARENA_BASE, KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE - 1, &v);
        if (!n_leftovers)
            break;
        for (unsigned i = 0; i < n_leftovers; i++) {
            if (leftovers[i].level == 1) {
                vmm_release(kspace, leftovers[i].va, 1);
                continue;
            }
            /* Huge pages come from pmm_alloc_contig: give each frame back. */
            paddr_t pa;
            if (vmm_unmap(kspace, leftovers[i].va, &pa) == VMM_OK && leftovers[i].level == 2) {
                for (int f = 0; f < 512; f++)
                    pmm_free(pa + (paddr_t)f * PAGE_SIZE);
            }
        }
        undone += n_leftovers;
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
