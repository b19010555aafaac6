/* Host unit tests for the VMM: the walker, map/unmap/protect/translate,
 * lazy memory, copy-on-write sharing and the fault classifier, compiled
 * unchanged against simulated physical memory (sim.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kmap.h"
#include "kmem.h"
#include "region.h"
#include "sim.h"
#include "vmm.h"

#define SIM_FRAMES 4096
#define USER_VA 0x0000000000400000ull
#define ARENA_VA 0xffff800000200000ull

static struct vmm_space space;

static int setup(void **state)
{
    (void)state;
    assert_true(sim_vmm_up(SIM_FRAMES, &space));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(sim_vmm_down(&space));
    return 0;
}

static paddr_t alloc_frame_with(uint8_t fill)
{
    paddr_t pa;
    assert_int_equal(pmm_alloc(&pa), PMM_OK);
    memset(sim_phys(pa), fill, PAGE_SIZE);
    return pa;
}

static uint64_t leaf(struct vmm_space *s, uintptr_t va)
{
    struct vmm_walk w;
    vmm_walk(s, va, 1, &w);
    return w.end == WALK_LEAF ? *w.entry : 0;
}

static void test_walk_empty_space_stops_at_pml4(void **state)
{
    (void)state;
    struct vmm_walk w;
    vmm_walk(&space, USER_VA, 1, &w);
    assert_int_equal(w.end, WALK_NOT_PRESENT);
    assert_int_equal(w.level, 4);
    assert_int_equal(*w.entry, 0);
}

static void test_map_translate_roundtrip(void **state)
{
    (void)state;
    uint64_t before = sim_free_frames();
    paddr_t pa = alloc_frame_with(0);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W | PTE_U | PTE_NX), VMM_OK);
    /* PDPT, PD and PT were allocated, plus the frame itself. */
    assert_int_equal(before - sim_free_frames(), 4);
    paddr_t got;
    uint64_t flags;
    int level;
    assert_int_equal(vmm_translate(&space, USER_VA + 0x123, &got, &flags, &level), VMM_OK);
    assert_int_equal(got, pa + 0x123);
    assert_int_equal(level, 1);
    assert_true(flags & PTE_P);
    assert_true(flags & PTE_W);
    assert_true(flags & PTE_U);
    assert_true(flags & PTE_NX);
    assert_false(flags & PTE_COW);
    /* The walk sees every level. */
    struct vmm_walk w;
    vmm_walk(&space, USER_VA, 1, &w);
    assert_int_equal(w.end, WALK_LEAF);
    assert_true(w.eff & PTE_W);
    assert_true(w.eff & PTE_NX);
    for (int l = 4; l >= 2; l--)
        assert_true(w.seen[l] & PTE_P);
}

static void test_map_rejects_bad_requests(void **state)
{
    (void)state;
    paddr_t pa = alloc_frame_with(0);
    assert_int_equal(vmm_map(&space, USER_VA + 1, pa, 0), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_map(&space, USER_VA, pa + 8, 0), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_map(&space, 0x0000800000000000ull, pa, 0), VMM_ERR_NONCANONICAL);
    assert_int_equal(vmm_map(&space, 0xffffff0000000000ull, pa, 0), VMM_ERR_RESERVED_VA);
    assert_int_equal(vmm_map(&space, 0xfffffe0000000000ull, pa, 0), VMM_ERR_RESERVED_VA);
    assert_int_equal(vmm_map(&space, KMAP_BASE, pa, 0), VMM_ERR_RESERVED_VA);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_COW), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_PS), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_map(&space, USER_VA, vmm_zero_frame, PTE_W), VMM_ERR_ZERO_FRAME);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W), VMM_OK);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W), VMM_ERR_EXISTS);
    /* Nothing half-done: the failed calls left the original mapping alone. */
    paddr_t got;
    assert_int_equal(vmm_translate(&space, USER_VA, &got, NULL, NULL), VMM_OK);
    assert_int_equal(got, pa);
}

static void test_map_out_of_memory_leaves_nothing(void **state)
{
    (void)state;
    paddr_t pa = alloc_frame_with(0);
    for (long n = 0; n < 3; n++) {
        uint64_t before = sim_free_frames();
        sim_fail_allocations_after(n);
        assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W), VMM_ERR_NOMEM);
        sim_fail_allocations_after(-1);
        assert_int_equal(sim_free_frames(), before);
        struct vmm_walk w;
        vmm_walk(&space, USER_VA, 1, &w);
        assert_int_equal(w.level, 4); /* no table stayed behind */
    }
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W), VMM_OK);
}

static void test_unmap_returns_frame_and_frees_empty_tables(void **state)
{
    (void)state;
    uint64_t before = sim_free_frames();
    paddr_t a = alloc_frame_with(1), b = alloc_frame_with(2);
    assert_int_equal(vmm_map(&space, USER_VA, a, PTE_W), VMM_OK);
    assert_int_equal(vmm_map(&space, USER_VA + PAGE_SIZE, b, PTE_W), VMM_OK);
    paddr_t got = 0;
    assert_int_equal(vmm_unmap(&space, USER_VA, &got), VMM_OK);
    assert_int_equal(got, a);
    /* The PT still holds b: nothing freed yet. */
    assert_int_equal(before - sim_free_frames(), 5);
    uint64_t inv = sim_invlpg_count;
    assert_int_equal(vmm_unmap(&space, USER_VA + PAGE_SIZE, &got), VMM_OK);
    assert_int_equal(got, b);
    assert_true(sim_invlpg_count > inv);
    assert_int_equal(before - sim_free_frames(), 2); /* PT, PD, PDPT freed */
    assert_int_equal(sim_table_unlinks, 3);
    struct vmm_walk w;
    vmm_walk(&space, USER_VA, 1, &w);
    assert_int_equal(w.level, 4);
    assert_int_equal(vmm_unmap(&space, USER_VA, &got), VMM_ERR_NOT_MAPPED);
    pmm_free(a);
    pmm_free(b);
    assert_int_equal(sim_free_frames(), before);
}

static void test_huge_pages(void **state)
{
    (void)state;
    paddr_t big;
    assert_int_equal(pmm_alloc_contig(512, 512, &big), PMM_OK);
    assert_int_equal(vmm_map_2m(&space, USER_VA, big + PAGE_SIZE, 0), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_map_2m(&space, USER_VA + PAGE_SIZE, big, 0), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_map_2m(&space, USER_VA, big, PTE_W), VMM_OK);
    paddr_t pa;
    int level;
    assert_int_equal(vmm_translate(&space, USER_VA + 0x12345, &pa, NULL, &level), VMM_OK);
    assert_int_equal(pa, big + 0x12345);
    assert_int_equal(level, 2);
    struct vmm_walk w;
    vmm_walk(&space, USER_VA + 0x5000, 1, &w);
    assert_int_equal(w.end, WALK_HUGE);
    assert_int_equal(w.level, 2);
    assert_int_equal(vmm_map(&space, USER_VA + 0x5000, alloc_frame_with(0), 0), VMM_ERR_HUGE);
    assert_int_equal(vmm_unmap(&space, USER_VA + 0x5000, &pa), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_unmap(&space, USER_VA, &pa), VMM_OK);
    assert_int_equal(pa, big);
    /* A 2 MiB page may not replace a page table that maps 4 KiB pages. */
    assert_int_equal(vmm_map(&space, USER_VA, alloc_frame_with(0), 0), VMM_OK);
    assert_int_equal(vmm_map_2m(&space, USER_VA, big, 0), VMM_ERR_EXISTS);
}

static void test_zero_frame_never_writable_through_a_huge_page(void **state)
{
    (void)state;
    /* Physical mappings (PTE_NOREF): these frames are not ours to count. */
    const paddr_t big = vmm_zero_frame & ~(PAGE_2M - 1); /* covers the zero frame */
    assert_int_equal(vmm_map_2m(&space, USER_VA, big, PTE_W | PTE_NOREF), VMM_ERR_ZERO_FRAME);
    assert_int_equal(vmm_map_2m(&space, USER_VA, big, 0), VMM_ERR_ZERO_FRAME); /* would own it */
    assert_int_equal(vmm_map_2m(&space, USER_VA, big, PTE_NOREF), VMM_OK); /* read-only is fine */
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_W), VMM_ERR_ZERO_FRAME);
    uint64_t flags = 0;
    assert_int_equal(vmm_translate(&space, USER_VA, NULL, &flags, NULL), VMM_OK);
    assert_false(flags & PTE_W);
    assert_true(flags & PTE_NOREF); /* ownership is not a right: protect keeps it */
    /* A huge page elsewhere may be made writable. */
    assert_int_equal(vmm_map_2m(&space, USER_VA + PAGE_2M, big + PAGE_2M, PTE_NOREF), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA + PAGE_2M, PTE_W), VMM_OK);
}

static void test_protect(void **state)
{
    (void)state;
    paddr_t pa = alloc_frame_with(7);
    assert_int_equal(vmm_protect(&space, USER_VA, 0), VMM_ERR_NOT_MAPPED);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_W), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_NX), VMM_OK);
    uint64_t e = leaf(&space, USER_VA);
    assert_false(e & PTE_W);
    assert_true(e & PTE_NX);
    assert_int_equal(e & PTE_ADDR_MASK, pa);
    /* Exactly the rights asked for: CoW only when asked, never with W. */
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_COW | PTE_W), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_PS), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_COW | PTE_NX), VMM_OK);
    assert_int_equal(leaf(&space, USER_VA) & (PTE_W | PTE_COW | PTE_NX), PTE_COW | PTE_NX);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_W), VMM_OK);
    assert_int_equal(leaf(&space, USER_VA) & (PTE_W | PTE_COW | PTE_NX), PTE_W);
    /* Writable on the zero frame is never granted. */
    assert_int_equal(vmm_map(&space, USER_VA + PAGE_SIZE, vmm_zero_frame, 0), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA + PAGE_SIZE, PTE_COW), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA + PAGE_SIZE, PTE_W), VMM_ERR_ZERO_FRAME);
    e = leaf(&space, USER_VA + PAGE_SIZE);
    assert_false(e & PTE_W);
    assert_true(e & PTE_COW);
    /* Protect without CoW makes it plain read-only: a write is then fatal. */
    assert_int_equal(vmm_protect(&space, USER_VA + PAGE_SIZE, 0), VMM_OK);
    assert_false(leaf(&space, USER_VA + PAGE_SIZE) & PTE_COW);
    /* CoW on a page the fault path may not copy or reuse is refused. */
    assert_int_equal(vmm_map(&space, USER_VA + 2 * PAGE_SIZE, alloc_frame_with(0), PTE_NOREF),
                     VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA + 2 * PAGE_SIZE, PTE_COW), VMM_ERR_BAD_FLAGS);
}

/* An anonymous region of @npages at @va in @s (private unless @flags). */
static void map_anon(struct vmm_space *s, uintptr_t va, size_t npages, unsigned prot, unsigned flags)
{
    struct vmobj *o = vmobj_create_anon(npages, "test");
    assert_non_null(o);
    struct region_req req = { .addr = va, .len = npages * PAGE_SIZE, .prot = prot,
                              .flags = flags | REGION_FIXED, .obj = o };
    assert_int_equal(region_map(s, &req, NULL), VMM_OK);
    vmobj_put(o);
}

static const unsigned RWU = REGION_R | REGION_W | REGION_U;

static void test_lazy_read_maps_zero_frame_write_allocates_one(void **state)
{
    (void)state;
    map_anon(&space, USER_VA, 3, RWU, 0);
    struct vmm_fault f;
    /* Reads: the zero frame, read-only with the CoW bit. */
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(vmm_fault_handle(&space, USER_VA + i * PAGE_SIZE, PF_ERR_U, &f),
                         VMM_FAULT_RESOLVED);
        assert_int_equal(f.reason, FAULT_MAP_ZERO);
        uint64_t e = leaf(&space, USER_VA + i * PAGE_SIZE);
        assert_int_equal(e & PTE_ADDR_MASK, vmm_zero_frame);
        assert_true((e & PTE_COW) && !(e & PTE_W) && (e & PTE_U) && (e & PTE_NX));
    }
    uint64_t before = sim_free_frames();
    /* A write to the untouched middle page: one fault, one zeroed frame. */
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE + 8, PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_ZERO_FILL);
    assert_int_equal(before - sim_free_frames(), 1);
    uint64_t e = leaf(&space, USER_VA + PAGE_SIZE);
    assert_int_not_equal(e & PTE_ADDR_MASK, vmm_zero_frame);
    assert_true((e & PTE_W) && !(e & PTE_COW) && (e & PTE_U) && (e & PTE_NX));
    const uint8_t *page = sim_phys(e & PTE_ADDR_MASK);
    for (int i = 0; i < (int)PAGE_SIZE; i++)
        assert_int_equal(page[i], 0); /* sim_alloc filled it with 0x5a */
    /* A write after a read: the CoW fault on the zero frame. */
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_ZERO_FILL);
    assert_int_equal(leaf(&space, USER_VA + 2 * PAGE_SIZE) & PTE_ADDR_MASK, vmm_zero_frame);
    assert_int_equal(vmm_counters.zero_fills, 2);
    assert_int_equal(vmm_counters.zero_maps, 2);
    assert_true(vmm_zero_frame_intact());
}

static void test_clone_copy_then_reuse(void **state)
{
    (void)state;
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    map_anon(&space, USER_VA, 1, RWU, 0);
    struct vmm_fault f;
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    paddr_t pa = leaf(&space, USER_VA) & PTE_ADDR_MASK;
    memset(sim_phys(pa), 0x42, PAGE_SIZE);
    assert_int_equal(vmm_space_clone(&other, &space), VMM_OK);
    assert_int_equal(pmm_refcount(pa), 2);
    uint64_t a = leaf(&space, USER_VA), b = leaf(&other, USER_VA);
    assert_true((a & PTE_COW) && !(a & PTE_W));
    assert_true((b & PTE_COW) && !(b & PTE_W));
    assert_int_equal(b & PTE_ADDR_MASK, pa);

    uint64_t before = sim_free_frames();
    assert_int_equal(vmm_fault_handle(&other, USER_VA, PF_ERR_P | PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_COPY);
    assert_int_equal(before - sim_free_frames(), 1);
    paddr_t copy = leaf(&other, USER_VA) & PTE_ADDR_MASK;
    assert_int_not_equal(copy, pa);
    assert_memory_equal(sim_phys(copy), sim_phys(pa), PAGE_SIZE);
    assert_int_equal(pmm_refcount(pa), 1);

    /* Last sharer: reuse, no allocation, no copy. */
    before = sim_free_frames();
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_P | PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_REUSE);
    assert_int_equal(sim_free_frames(), before);
    assert_int_equal(leaf(&space, USER_VA) & (PTE_ADDR_MASK | PTE_W | PTE_COW), pa | PTE_W);
    assert_int_equal(vmm_counters.copies, 1);
    assert_int_equal(vmm_counters.reuses, 1);
    vmm_space_destroy(&other);
}

static void test_clone_out_of_memory_leaves_destination_empty(void **state)
{
    (void)state;
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    map_anon(&space, USER_VA, 2, RWU, 0);
    map_anon(&space, 0x40000000, 1, RWU, REGION_SHARED);
    struct vmm_fault f;
    vmm_fault_handle(&space, USER_VA, PF_ERR_W, &f);
    vmm_fault_handle(&space, 0x40000000, PF_ERR_W, &f);
    paddr_t p0 = leaf(&space, USER_VA) & PTE_ADDR_MASK;
    uint64_t before = sim_free_frames();
    for (long n = 0; n < 16; n++) {
        sim_fail_allocations_after(n);
        enum vmm_status st = vmm_space_clone(&other, &space);
        sim_fail_allocations_after(-1);
        if (st == VMM_OK)
            break;
        assert_int_equal(st, VMM_ERR_NOMEM);
        assert_int_equal(region_count(&other), 0);
        assert_int_equal(leaf(&other, USER_VA), 0);
        assert_int_equal(pmm_refcount(p0), 1);
        assert_int_equal(sim_free_frames(), before);
    }
    assert_int_equal(region_count(&other), 2);
    assert_int_equal(vmm_space_clone(&other, &space), VMM_ERR_EXISTS); /* not empty */
    vmm_space_destroy(&other);
    assert_int_equal(pmm_refcount(p0), 1);
}

static void expect_fatal_in(struct vmm_space *s, uintptr_t va, uint64_t err,
                            enum vmm_fault_reason why)
{
    struct vmm_fault f;
    assert_int_equal(vmm_fault_handle(s, va, err, &f), VMM_FAULT_FATAL);
    assert_int_equal(f.reason, why);
}

static void expect_fatal(uintptr_t va, uint64_t err, enum vmm_fault_reason why)
{
    expect_fatal_in(&space, va, err, why);
}

static void test_fault_fatal_reasons(void **state)
{
    (void)state;
    map_anon(&space, USER_VA, 1, REGION_R | REGION_U, 0);
    map_anon(&space, USER_VA + PAGE_SIZE, 1, REGION_R | REGION_W, 0); /* no user permission */
    map_anon(&space, USER_VA + 2 * PAGE_SIZE, 1, 0, 0);
    struct region_req g = { .addr = USER_VA + 3 * PAGE_SIZE, .len = PAGE_SIZE,
                            .flags = REGION_GUARD | REGION_FIXED };
    assert_int_equal(region_map(&space, &g, NULL), VMM_OK);
    expect_fatal(8, 0, FAULT_NULL_DEREF);
    expect_fatal(0x0000800000000000ull, 0, FAULT_NONCANONICAL);
    expect_fatal(USER_VA + 64 * PAGE_SIZE, PF_ERR_W, FAULT_NO_REGION);
    expect_fatal(SIM_GUARD_PAGE + 0xff8, PF_ERR_W, FAULT_STACK_GUARD);
    expect_fatal(USER_VA, PF_ERR_W | PF_ERR_U, FAULT_REGION_NO_WRITE);
    expect_fatal(USER_VA, PF_ERR_I | PF_ERR_U, FAULT_REGION_NO_EXEC);
    expect_fatal(USER_VA, PF_ERR_P | PF_ERR_RSVD, FAULT_RESERVED_BIT);
    expect_fatal(USER_VA + PAGE_SIZE, PF_ERR_U, FAULT_REGION_NO_USER);
    expect_fatal(USER_VA + 2 * PAGE_SIZE, 0, FAULT_REGION_NO_READ);
    expect_fatal(USER_VA + 3 * PAGE_SIZE, 0, FAULT_GUARD_REGION);
    assert_int_equal(vmm_counters.fatal, 10);
    /* Unmanaged kernel memory: the tables decide. */
    assert_int_equal(vmm_kernel_slot_reserve(PML4_SLOT_KMEM), VMM_OK);
    assert_int_equal(vmm_map(&vmm_kernel_space, KMEM_BASE, alloc_frame_with(0), PTE_NX), VMM_OK);
    struct vmm_space *k = &vmm_kernel_space;
    expect_fatal_in(k, KMEM_BASE, PF_ERR_P | PF_ERR_W, FAULT_WRITE_READONLY);
    expect_fatal_in(k, KMEM_BASE, PF_ERR_P | PF_ERR_I, FAULT_EXEC_NX);
    expect_fatal_in(k, KMEM_BASE, PF_ERR_P | PF_ERR_U, FAULT_USER_SUPERVISOR);
    expect_fatal_in(k, KMEM_BASE + PAGE_SIZE, 0, FAULT_NOT_PRESENT);
    /* Spurious: the entry already allows the write. */
    struct vmm_fault f;
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE, PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE, PF_ERR_P | PF_ERR_W, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_SPURIOUS);
    assert_int_equal(vmm_counters.spurious, 1);
}

static void test_fault_oom_changes_nothing(void **state)
{
    (void)state;
    map_anon(&space, USER_VA, 2, RWU, 0);
    struct vmm_fault f;
    assert_int_equal(vmm_fault_handle(&space, USER_VA, 0, &f), VMM_FAULT_RESOLVED); /* zero frame */
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE, PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    assert_int_equal(vmm_space_clone(&other, &space), VMM_OK);
    paddr_t pa = leaf(&space, USER_VA + PAGE_SIZE) & PTE_ADDR_MASK;
    uint64_t lazy = leaf(&space, USER_VA), shared = leaf(&other, USER_VA + PAGE_SIZE);
    uint64_t before = sim_free_frames();

    sim_fail_allocations_after(0);
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_P | PF_ERR_W, &f), VMM_FAULT_OOM);
    assert_int_equal(f.reason, FAULT_OOM);
    assert_int_equal(vmm_fault_handle(&other, USER_VA + PAGE_SIZE, PF_ERR_P | PF_ERR_W, &f),
                     VMM_FAULT_OOM);
    sim_fail_allocations_after(-1);
    assert_int_equal(leaf(&space, USER_VA), lazy);
    assert_int_equal(leaf(&other, USER_VA + PAGE_SIZE), shared);
    assert_int_equal(sim_free_frames(), before);
    assert_int_equal(pmm_refcount(pa), 2);
    assert_int_equal(vmm_counters.oom, 2);
    vmm_space_destroy(&other);
}

static void test_fault_report_text(void **state)
{
    (void)state;
    map_anon(&space, USER_VA, 1, REGION_R | REGION_U, 0);
    struct vmm_fault f;
    vmm_fault_handle(&space, USER_VA + 0x10, PF_ERR_U, &f);
    vmm_fault_handle(&space, USER_VA + 0x10, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f);
    sim_console_len = 0;
    vmm_fault_report(&f);
    assert_non_null(strstr(sim_console, "user write at 0x400010"));
    assert_non_null(strstr(sim_console, "reason: write to a region without write permission"));
    assert_non_null(strstr(sim_console, "region: [0x400000, 0x401000) r--u private, anonymous object #"));
    assert_non_null(strstr(sim_console, "PML4[  0]"));
    assert_non_null(strstr(sim_console, "PT  [  0] = "));
    assert_non_null(strstr(sim_console, "P U NX   <- walk ended here"));
    assert_non_null(strstr(sim_console, "(the zero frame), effective rights: read-only user no-exec"));
}

static void test_kmap_nesting_and_misuse(void **state)
{
    (void)state;
    void *va[KMAP_SLOTS];
    enum kmap_status st;
    for (int i = 0; i < KMAP_SLOTS; i++) {
        va[i] = kmap_push(alloc_frame_with((uint8_t)i), true, &st);
        assert_non_null(va[i]);
        assert_int_equal(st, KMAP_OK);
    }
    assert_null(kmap_push(alloc_frame_with(0), false, &st));
    assert_int_equal(st, KMAP_ERR_FULL);
    assert_int_equal(kmap_pop(va[0]), KMAP_ERR_ORDER);
    for (int i = KMAP_SLOTS - 1; i >= 0; i--)
        assert_int_equal(kmap_pop(va[i]), KMAP_OK);
    assert_int_equal(kmap_pop(va[0]), KMAP_ERR_EMPTY);
    assert_null(kmap_push(vmm_zero_frame, true, &st));
    assert_int_equal(st, KMAP_ERR_ZERO_FRAME);
    assert_null(kmap_push(0x1001, false, &st));
    assert_int_equal(st, KMAP_ERR_UNALIGNED);
    void *z = kmap_push(vmm_zero_frame, false, &st);
    assert_non_null(z);
    assert_int_equal(kmap_pop(z), KMAP_OK);
}

static void test_space_destroy_frees_everything(void **state)
{
    (void)state;
    uint64_t before = sim_free_frames();
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    map_anon(&other, USER_VA, 16, RWU, 0);
    map_anon(&other, 0x7f0000000000ull, 2, RWU, REGION_SHARED);
    struct vmm_fault f;
    for (int i = 0; i < 16; i += 3)
        vmm_fault_handle(&other, USER_VA + i * PAGE_SIZE, i % 2 ? 0 : PF_ERR_W, &f);
    vmm_fault_handle(&other, 0x7f0000000000ull, PF_ERR_W, &f);
    assert_int_equal(vmm_space_clone(&space, &other), VMM_OK);
    vmm_space_destroy(&other);
    paddr_t pa = leaf(&space, USER_VA) & PTE_ADDR_MASK;
    assert_int_equal(pmm_refcount(pa), 1); /* still mapped in space */
    assert_int_equal(region_unmap(&space, USER_VA, 16 * PAGE_SIZE), VMM_OK);
    assert_int_equal(region_unmap(&space, 0x7f0000000000ull, 2 * PAGE_SIZE), VMM_OK);
    assert_int_equal(pmm_refcount(pa), 0);
    assert_int_equal(sim_free_frames(), before);
    assert_int_equal(vmobj_live_count(), 0);
    assert_int_equal(kmem_objects_in_use(), 0);
}

/* vmm_visit looks only at the entries of each table that meet its range
 * (kernel/mm/walk.c, entry_bounds): pages at the edges of tables, of the
 * lower half and of the address space, against ranges that start or end
 * inside a page, at a table's edge, in the non-canonical hole or at 2^64. */
struct visit_log {
    const uintptr_t *pages;
    size_t n;
    unsigned seen; /* bit i: pages[i] visited */
    unsigned times;
};

static void log_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    (void)entry;
    struct visit_log *l = ctx;
    assert_int_equal(level, 1);
    for (size_t i = 0; i < l->n; i++) {
        if (l->pages[i] == va) {
            assert_false(l->seen & (1u << i)); /* once */
            l->seen |= 1u << i;
            l->times++;
        }
    }
}

static void test_visit_meets_exactly_the_range(void **state)
{
    (void)state;
    static const uintptr_t pages[] = {
        0x1000, 0x1ff000, 0x200000, 0x3fffe000, 0x40000000, 0x7fbfffff000ull,
        0x7ffffffff000ull, ARENA_VA, ARENA_VA + 0x1ff000, ARENA_VA + 0x40000000,
    };
    const size_t n = sizeof(pages) / sizeof(pages[0]);
    paddr_t pa = alloc_frame_with(0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vmm_map(&space, pages[i], pa, PTE_W | PTE_NOREF), VMM_OK);
    const struct { uintptr_t start, last; } ranges[] = {
        { 0, UINTPTR_MAX },
        { 0, KERNEL_HALF_START - 1 },
        { 0x0000800000000000ull, 0xffff7fffffffffffull }, /* the hole alone */
        { 0x0000800000000000ull, ARENA_VA },              /* from the hole */
        { 0x1000, 0x0000800000000000ull },                /* into it */
        { 0x0000700000000000ull, 0xffff800000300000ull }, /* across it */
        { 0x1fff, 0x200000 },  /* from inside the first page to the next table's first */
        { 0x2000, 0x1fffff },  /* between two pages of one table */
        { 0x1ff001, 0x1ff001 },
        { 0x3fffefff, 0x40000000 },
        { 0x40000001, 0x7ffffffff000ull },
        { ARENA_VA + 0x1000, UINTPTR_MAX },
        { 0x7fffffffffffull, ARENA_VA },
        { UINTPTR_MAX - 0xfff, UINTPTR_MAX },
    };
    for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        struct visit_log l = { .pages = pages, .n = n };
        struct vmm_visitor v = { .leaf = log_leaf, .ctx = &l };
        vmm_visit(&space, ranges[r].start, ranges[r].last, &v);
        unsigned want = 0;
        for (size_t i = 0; i < n; i++)
            if (pages[i] + PAGE_SIZE - 1 >= ranges[r].start && pages[i] <= ranges[r].last)
                want |= 1u << i;
        if (l.seen != want)
            fail_msg("range %zu [%#lx, %#lx]: visited %#x, expected %#x", r,
                     (unsigned long)ranges[r].start, (unsigned long)ranges[r].last, l.seen, want);
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vmm_unmap(&space, pages[i], NULL), VMM_OK);
    assert_int_equal(pmm_free(pa), PMM_OK);
}

/* ---- regions without rights (PROT_NONE) ------------------------------------
 * x86 has no present entry the kernel cannot read: such pages keep their
 * frames in entries that are not present (PTE_PROTNONE). */

static void expect_consistent(void)
{
    char why[200];
    if (!vmm_check_consistency(why, sizeof(why)))
        fail_msg("consistency: %s", why);
}

/* A held, not-present entry onto @pa. */
static void expect_protnone(struct vmm_space *s, uintptr_t va, paddr_t pa)
{
    uint64_t e = leaf(s, va);
    assert_int_equal(e & (PTE_P | PTE_PROTNONE | PTE_W | PTE_COW), PTE_PROTNONE);
    assert_int_equal(e & PTE_ADDR_MASK, pa);
}

static void test_protnone_faults_every_access_and_rights_back_keep_contents(void **state)
{
    (void)state;
    struct vmm_fault f;
    map_anon(&space, USER_VA, 2, RWU, 0);
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_W | PF_ERR_U, &f), VMM_FAULT_RESOLVED);
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE, PF_ERR_U, &f), VMM_FAULT_RESOLVED);
    paddr_t pa = leaf(&space, USER_VA) & PTE_ADDR_MASK;
    memset(sim_phys(pa), 0x42, PAGE_SIZE);
    uint64_t frames = sim_free_frames();

    assert_int_equal(region_protect(&space, USER_VA, 2 * PAGE_SIZE, REGION_U), VMM_OK);
    expect_protnone(&space, USER_VA, pa);
    expect_protnone(&space, USER_VA + PAGE_SIZE, vmm_zero_frame);
    assert_int_equal(pmm_refcount(pa), 1);
    expect_consistent();
    /* Not present, so the CPU faults even in kernel mode (a system call's
     * copy from the page), and the region refuses it with its reason. */
    expect_fatal(USER_VA, 0, FAULT_REGION_NO_READ);
    expect_fatal(USER_VA + 8, PF_ERR_U, FAULT_REGION_NO_READ);
    expect_fatal(USER_VA, PF_ERR_W, FAULT_REGION_NO_WRITE);
    expect_fatal(USER_VA, PF_ERR_I | PF_ERR_U, FAULT_REGION_NO_EXEC);
    expect_fatal(USER_VA + PAGE_SIZE, 0, FAULT_REGION_NO_READ);
    expect_protnone(&space, USER_VA, pa); /* refused, nothing filled over it */
    assert_int_equal(sim_free_frames(), frames);
    /* The page-level calls see no mapping, and none may replace the entry. */
    assert_int_equal(vmm_translate(&space, USER_VA, NULL, NULL, NULL), VMM_ERR_NOT_MAPPED);
    paddr_t other = alloc_frame_with(0);
    assert_int_equal(vmm_map(&space, USER_VA, other, PTE_U), VMM_ERR_EXISTS);
    assert_int_equal(pmm_free(other), PMM_OK);
    assert_int_equal(region_populate(&space, USER_VA, PAGE_SIZE), VMM_ERR_NO_REGION);

    /* Rights back: present again on the same frames, contents kept; a
     * private page comes back CoW (its write reuses it: we alone hold it),
     * the zero frame never writable. */
    assert_int_equal(region_protect(&space, USER_VA, 2 * PAGE_SIZE, RWU), VMM_OK);
    uint64_t e = leaf(&space, USER_VA);
    assert_int_equal(e & (PTE_ADDR_MASK | PTE_P | PTE_W | PTE_COW | PTE_PROTNONE),
                     pa | PTE_P | PTE_COW);
    e = leaf(&space, USER_VA + PAGE_SIZE);
    assert_int_equal(e & (PTE_ADDR_MASK | PTE_P | PTE_W | PTE_COW | PTE_PROTNONE),
                     vmm_zero_frame | PTE_P | PTE_COW);
    expect_consistent();
    uint8_t want[PAGE_SIZE];
    memset(want, 0x42, PAGE_SIZE);
    assert_memory_equal(sim_phys(pa), want, PAGE_SIZE);
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_REUSE);
    assert_int_equal(vmm_fault_handle(&space, USER_VA + PAGE_SIZE, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_ZERO_FILL);
    assert_true(vmm_zero_frame_intact());
    /* Read-only back and forth through none: present, never writable. */
    assert_int_equal(region_protect(&space, USER_VA, PAGE_SIZE, REGION_U), VMM_OK);
    assert_int_equal(region_protect(&space, USER_VA, PAGE_SIZE, REGION_R | REGION_U), VMM_OK);
    e = leaf(&space, USER_VA);
    assert_int_equal(e & (PTE_ADDR_MASK | PTE_P | PTE_W | PTE_COW | PTE_PROTNONE), pa | PTE_P);
    expect_consistent();
}

static void test_protnone_fork_then_rights_back_copies_on_write(void **state)
{
    (void)state;
    struct vmm_space other;
    struct vmm_fault f;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    map_anon(&space, USER_VA, 1, RWU, 0);
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_W | PF_ERR_U, &f), VMM_FAULT_RESOLVED);
    paddr_t pa = leaf(&space, USER_VA) & PTE_ADDR_MASK;
    memset(sim_phys(pa), 0x42, PAGE_SIZE);
    assert_int_equal(region_protect(&space, USER_VA, PAGE_SIZE, REGION_U), VMM_OK);

    /* The child gets the same held entry, with its own reference. */
    assert_int_equal(vmm_space_clone(&other, &space), VMM_OK);
    expect_protnone(&space, USER_VA, pa);
    expect_protnone(&other, USER_VA, pa);
    assert_int_equal(pmm_refcount(pa), 2);
    expect_consistent();
    expect_fatal_in(&other, USER_VA, 0, FAULT_REGION_NO_READ);

    /* Rights back in both: both CoW on the shared frame, never writable. */
    assert_int_equal(region_protect(&space, USER_VA, PAGE_SIZE, RWU), VMM_OK);
    assert_int_equal(region_protect(&other, USER_VA, PAGE_SIZE, RWU), VMM_OK);
    for (int i = 0; i < 2; i++) {
        uint64_t e = leaf(i ? &other : &space, USER_VA);
        assert_int_equal(e & (PTE_ADDR_MASK | PTE_P | PTE_W | PTE_COW), pa | PTE_P | PTE_COW);
    }
    expect_consistent();
    /* The child's write copies; the parent's, then alone, reuses. */
    assert_int_equal(vmm_fault_handle(&other, USER_VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_COPY);
    paddr_t copy = leaf(&other, USER_VA) & PTE_ADDR_MASK;
    assert_int_not_equal(copy, pa);
    assert_memory_equal(sim_phys(copy), sim_phys(pa), PAGE_SIZE);
    memset(sim_phys(copy), 0x99, PAGE_SIZE);
    assert_int_equal(((uint8_t *)sim_phys(pa))[100], 0x42);
    assert_int_equal(pmm_refcount(pa), 1);
    assert_int_equal(vmm_fault_handle(&space, USER_VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_REUSE);
    assert_int_equal(leaf(&space, USER_VA) & PTE_ADDR_MASK, pa);
    expect_consistent();
    vmm_space_destroy(&other);
}

static void test_protnone_unmap_discard_and_destroy_free_frames_exactly(void **state)
{
    (void)state;
    struct vmm_fault f;
    uint64_t before = sim_free_frames();
    struct vmm_space *s = vmm_space_new(), *child = vmm_space_new();
    assert_non_null(s);
    assert_non_null(child);
    map_anon(s, USER_VA, 4, RWU, 0);
    map_anon(s, 0x7f0000000000ull, 1, RWU, REGION_SHARED);
    for (int i = 0; i < 4; i++)
        assert_int_equal(vmm_fault_handle(s, USER_VA + i * PAGE_SIZE, PF_ERR_W | PF_ERR_U, &f),
                         VMM_FAULT_RESOLVED);
    assert_int_equal(vmm_fault_handle(s, 0x7f0000000000ull, PF_ERR_W | PF_ERR_U, &f),
                     VMM_FAULT_RESOLVED);
    paddr_t p0 = leaf(s, USER_VA) & PTE_ADDR_MASK, p1 = leaf(s, USER_VA + PAGE_SIZE) & PTE_ADDR_MASK;
    assert_int_equal(region_protect(s, USER_VA, 4 * PAGE_SIZE, REGION_U), VMM_OK);
    assert_int_equal(region_protect(s, 0x7f0000000000ull, PAGE_SIZE, REGION_U), VMM_OK);
    assert_int_equal(vmm_space_clone(child, s), VMM_OK);
    expect_consistent();
    /* Discard (madvise DONTNEED) and unmap drop the held references. */
    assert_int_equal(region_discard(s, USER_VA, PAGE_SIZE), VMM_OK);
    assert_int_equal(leaf(s, USER_VA), 0);
    assert_int_equal(pmm_refcount(p0), 1); /* the child's */
    assert_int_equal(region_unmap(s, USER_VA + PAGE_SIZE, PAGE_SIZE), VMM_OK);
    assert_int_equal(pmm_refcount(p1), 1);
    expect_consistent();
    vmm_space_destroy(child);
    assert_int_equal(pmm_refcount(p0), 0);
    assert_int_equal(pmm_refcount(p1), 0);
    expect_consistent();
    vmm_space_destroy(s);
    assert_int_equal(sim_free_frames(), before);
    assert_int_equal(vmobj_live_count(), 0);
    assert_int_equal(kmem_objects_in_use(), 0);
}

/* ---- regressions from the outside check of issue 9 ---------------------- */

/* Two mappings of one frame are shared memory, not copy-on-write: protect(W)
 * gives exactly W and both stay on the frame. */
static void test_protect_w_keeps_shared_memory_shared(void **state)
{
    (void)state;
    paddr_t pa = alloc_frame_with(0x11);
    assert_int_equal(vmm_map(&space, USER_VA, pa, 0), VMM_OK);
    assert_int_equal(pmm_ref_inc(pa), PMM_OK); /* the second mapping's reference */
    assert_int_equal(vmm_map(&space, USER_VA + PAGE_SIZE, pa, 0), VMM_OK);
    for (int i = 0; i < 2; i++) {
        uintptr_t va = USER_VA + i * PAGE_SIZE;
        assert_int_equal(vmm_protect(&space, va, PTE_W), VMM_OK);
        assert_int_equal(leaf(&space, va) & (PTE_ADDR_MASK | PTE_W | PTE_COW), pa | PTE_W);
    }
    assert_int_equal(pmm_refcount(pa), 2); /* nothing was copied or dropped */
}

/* A global translation survives CR3 switches: never in the user half. */
static void test_user_global_refused(void **state)
{
    (void)state;
    paddr_t pa = alloc_frame_with(0);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_G | PTE_U), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_G), VMM_ERR_BAD_FLAGS);
    assert_int_equal(vmm_map_2m(&space, USER_VA, 0x200000, PTE_G), VMM_ERR_BAD_FLAGS);
    assert_int_equal(leaf(&space, USER_VA), 0);
    assert_int_equal(vmm_map(&space, USER_VA, pa, PTE_U), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_U | PTE_G), VMM_ERR_BAD_FLAGS);
    assert_false(leaf(&space, USER_VA) & PTE_G);
    /* The kernel half may use it. */
    assert_int_equal(vmm_map(&vmm_kernel_space, ARENA_VA, alloc_frame_with(0), PTE_G), VMM_OK);
}

/* The kernel half is the PML4 entries of the kernel space: mapping where it
 * has none is refused from every space, and nothing leaks at destroy. */
static void test_kernel_half_is_fixed(void **state)
{
    (void)state;
    const uintptr_t slot300 = VA_SLOT_BASE(300);
    uint64_t before = sim_free_frames();
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    paddr_t pa = alloc_frame_with(3);
    assert_int_equal(vmm_map(&other, slot300, pa, PTE_W), VMM_ERR_KERNEL_SLOT);
    assert_int_equal(vmm_map(&vmm_kernel_space, slot300, pa, PTE_W), VMM_ERR_KERNEL_SLOT);
    assert_int_equal(vmm_map(&other, slot300, vmm_zero_frame, 0), VMM_ERR_KERNEL_SLOT);
    assert_int_equal(vmm_map(&other, VA_SLOT_BASE(507), pa, PTE_W), VMM_ERR_KERNEL_SLOT);
    /* The arena is shared: a mapping through one space is seen by all. */
    assert_int_equal(vmm_map(&other, ARENA_VA, pa, PTE_W), VMM_OK);
    paddr_t got = 0;
    assert_int_equal(vmm_translate(&vmm_kernel_space, ARENA_VA, &got, NULL, NULL), VMM_OK);
    assert_int_equal(got, pa);
    assert_int_equal(vmm_translate(&space, ARENA_VA, &got, NULL, NULL), VMM_OK);
    assert_int_equal(vmm_unmap(&vmm_kernel_space, ARENA_VA, &got), VMM_OK);
    assert_int_equal(got, pa);
    assert_int_equal(pmm_free(pa), PMM_OK);
    vmm_space_destroy(&other);
    assert_int_equal(sim_free_frames(), before);
}

/* While a user space is live, kernel-half leaves changed through the kernel
 * space (not live) must still be flushed from this CPU's TLB: the simulated
 * CPU counts the invlpg the kernel's hook issues.  A user-half change
 * through a space that is not live needs none. */
static void invalidated_at(uintptr_t va, uint64_t *count)
{
    bool seen = false;
    assert_true(sim_invlpg_count - *count <= SIM_INVLPG_LOG);
    for (uint64_t i = *count; i < sim_invlpg_count; i++)
        seen |= sim_invlpg_log[i % SIM_INVLPG_LOG] == va;
    assert_true(seen);
    *count = sim_invlpg_count;
}

static void test_kernel_half_changes_through_a_space_not_live_are_flushed(void **state)
{
    (void)state;
    assert_int_equal(sim_mm_cpu.active_pml4, space.pml4); /* the user space is live */
    map_anon(&vmm_kernel_space, ARENA_VA, 2, REGION_R | REGION_W, 0);
    struct vmm_fault f;
    uint64_t n = sim_invlpg_count;
    /* Written (cached writable), made read-only, made writable again (CoW),
     * written (reuse), then unmapped: each change is flushed. */
    assert_int_equal(vmm_fault_handle(&vmm_kernel_space, ARENA_VA, PF_ERR_W, &f), VMM_FAULT_RESOLVED);
    n = sim_invlpg_count;
    assert_int_equal(region_protect(&vmm_kernel_space, ARENA_VA, PAGE_SIZE, REGION_R), VMM_OK);
    invalidated_at(ARENA_VA, &n);
    assert_int_equal(region_protect(&vmm_kernel_space, ARENA_VA, PAGE_SIZE, REGION_R | REGION_W),
                     VMM_OK);
    invalidated_at(ARENA_VA, &n);
    assert_int_equal(vmm_fault_handle(&vmm_kernel_space, ARENA_VA, PF_ERR_W | PF_ERR_P, &f),
                     VMM_FAULT_RESOLVED);
    assert_int_equal(f.reason, FAULT_COW_REUSE);
    invalidated_at(ARENA_VA, &n);
    assert_int_equal(region_unmap(&vmm_kernel_space, ARENA_VA, 2 * PAGE_SIZE), VMM_OK);
    invalidated_at(ARENA_VA, &n);
    /* The page level's own operations follow the same rule. */
    paddr_t pa = alloc_frame_with(1);
    assert_int_equal(vmm_map(&vmm_kernel_space, ARENA_VA, pa, PTE_W), VMM_OK);
    assert_int_equal(vmm_protect(&vmm_kernel_space, ARENA_VA, 0), VMM_OK);
    invalidated_at(ARENA_VA, &n);
    paddr_t got = 0;
    assert_int_equal(vmm_unmap(&vmm_kernel_space, ARENA_VA, &got), VMM_OK);
    invalidated_at(ARENA_VA, &n);
    assert_int_equal(pmm_free(got), PMM_OK);
    /* User half of a space that is not live: its translations are not in
     * this CPU's TLB, so no flush. */
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    map_anon(&other, USER_VA, 1, RWU, 0);
    assert_int_equal(vmm_fault_handle(&other, USER_VA, PF_ERR_W | PF_ERR_U, &f), VMM_FAULT_RESOLVED);
    n = sim_invlpg_count;
    assert_int_equal(region_protect(&other, USER_VA, PAGE_SIZE, REGION_R | REGION_U), VMM_OK);
    assert_int_equal(sim_invlpg_count, n);
    vmm_space_destroy(&other);
}

/* Ownership: a mapping owns one reference per frame it covers (4 KiB and
 * 2 MiB alike), except the zero frame and PTE_NOREF (physical) mappings. */
static void test_ownership_by_page_size(void **state)
{
    (void)state;
    uint64_t before = sim_free_frames();
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    paddr_t big;
    assert_int_equal(pmm_alloc_contig(512, 512, &big), PMM_OK);
    assert_int_equal(vmm_map_2m(&other, USER_VA, big, PTE_W), VMM_OK);
    assert_int_equal(vmm_map(&other, USER_VA + PAGE_2M, alloc_frame_with(1), PTE_W), VMM_OK);
    vmm_space_destroy(&other);
    assert_int_equal(pmm_refcount(big), 0);
    assert_int_equal(pmm_refcount(big + PAGE_2M - PAGE_SIZE), 0);
    assert_int_equal(sim_free_frames(), before);
}

static void test_unmap_of_the_zero_frame_hands_back_no_reference(void **state)
{
    (void)state;
    assert_int_equal(vmm_map(&space, USER_VA, vmm_zero_frame, 0), VMM_OK);
    assert_int_equal(vmm_protect(&space, USER_VA, PTE_COW), VMM_OK);
    paddr_t got = 1;
    assert_int_equal(vmm_unmap(&space, USER_VA, &got), VMM_OK);
    assert_int_equal(got, 0);
    assert_int_equal(vmm_map(&space, USER_VA, vmm_zero_frame, 0), VMM_OK);
    assert_int_equal(vmm_unmap(&space, USER_VA, &got), VMM_OK);
    assert_int_equal(got, 0);
}

static void test_zero_frame_check_with_every_kmap_slot_busy(void **state)
{
    (void)state;
    void *va[KMAP_SLOTS];
    for (int i = 0; i < KMAP_SLOTS; i++)
        assert_non_null(va[i] = kmap_push(alloc_frame_with(0), false, NULL));
    assert_true(vmm_zero_frame_intact());
    for (int i = KMAP_SLOTS - 1; i >= 0; i--)
        assert_int_equal(kmap_pop(va[i]), KMAP_OK);
    ((uint8_t *)sim_phys(vmm_zero_frame))[100] = 1;
    assert_false(vmm_zero_frame_intact());
    ((uint8_t *)sim_phys(vmm_zero_frame))[100] = 0;
}

/* Every operation answers VMM_ERR_RESERVED_VA on every reserved window,
 * whatever the tables hold there (the self slot always holds the PML4). */
static void test_reserved_windows_refused_by_every_operation(void **state)
{
    (void)state;
    const uintptr_t windows[] = { VA_SLOT_BASE(PML4_SLOT_FOREIGN), VA_SLOT_BASE(PML4_SLOT_PMM),
                                  VA_SLOT_BASE(PML4_SLOT_SELF), KMAP_BASE };
    struct vmm_space other;
    assert_int_equal(vmm_space_create(&other), VMM_OK);
    paddr_t pa = alloc_frame_with(0);
    assert_int_equal(vmm_map(&space, 0, pa, 0), VMM_OK); /* PML4[0] present: self window "maps" */
    for (unsigned i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        static const uintptr_t offsets[] = { 0, 0x8000, PAGE_2M - PAGE_SIZE };
        for (unsigned j = 0; j < 3; j++) {
            uintptr_t va = windows[i] + offsets[j];
            paddr_t got;
            assert_int_equal(vmm_map(&space, va, pa, 0), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_map_2m(&space, va, 0x200000, 0), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_unmap(&space, va, &got), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_protect(&space, va, 0), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_translate(&space, va, &got, NULL, NULL), VMM_ERR_RESERVED_VA);
            assert_int_equal(region_map(&space, &(struct region_req){ .addr = va, .len = PAGE_SIZE,
                                 .flags = REGION_GUARD | REGION_FIXED }, NULL), VMM_ERR_RANGE);
            /* Precedence: the window before the alignment. */
            assert_int_equal(vmm_unmap(&space, va + 8, &got), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_protect(&space, va + 8, 0), VMM_ERR_RESERVED_VA);
            assert_int_equal(vmm_map(&space, va + 8, pa, 0), VMM_ERR_RESERVED_VA);
        }
    }
    /* Canonical first, alignment before table state. */
    paddr_t got;
    assert_int_equal(vmm_unmap(&space, 0x0000800000000008ull, &got), VMM_ERR_NONCANONICAL);
    assert_int_equal(vmm_translate(&space, 0x0000800000000008ull, &got, NULL, NULL),
                     VMM_ERR_NONCANONICAL);
    assert_int_equal(vmm_unmap(&space, USER_VA + 8, &got), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_protect(&space, USER_VA + 8, 0), VMM_ERR_UNALIGNED);
    assert_int_equal(vmm_translate(&space, 8, &got, NULL, NULL), VMM_OK); /* byte-exact */
    vmm_space_destroy(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_walk_empty_space_stops_at_pml4),
        T(test_map_translate_roundtrip),
        T(test_map_rejects_bad_requests),
        T(test_map_out_of_memory_leaves_nothing),
        T(test_unmap_returns_frame_and_frees_empty_tables),
        T(test_huge_pages),
        T(test_protect),
        T(test_zero_frame_never_writable_through_a_huge_page),
        T(test_lazy_read_maps_zero_frame_write_allocates_one),
        T(test_clone_copy_then_reuse),
        T(test_clone_out_of_memory_leaves_destination_empty),
        T(test_fault_fatal_reasons),
        T(test_fault_oom_changes_nothing),
        T(test_fault_report_text),
        T(test_kmap_nesting_and_misuse),
        T(test_space_destroy_frees_everything),
        T(test_visit_meets_exactly_the_range),
        T(test_protnone_faults_every_access_and_rights_back_keep_contents),
        T(test_protnone_fork_then_rights_back_copies_on_write),
        T(test_protnone_unmap_discard_and_destroy_free_frames_exactly),
        T(test_protect_w_keeps_shared_memory_shared),
        T(test_user_global_refused),
        T(test_kernel_half_is_fixed),
        T(test_kernel_half_changes_through_a_space_not_live_are_flushed),
        T(test_ownership_by_page_size),
        T(test_unmap_of_the_zero_frame_hands_back_no_reference),
        T(test_zero_frame_check_with_every_kmap_slot_busy),
        T(test_reserved_windows_refused_by_every_operation),
    };
    return cmocka_run_group_tests_name("vmm", tests, NULL, NULL);
}
