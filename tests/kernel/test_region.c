/* Regions and memory objects with real page faults: first touch and refault
 * in every mode, every fatal reason made by the access it names, splits and
 * merges, spaces created and destroyed, out of memory in each resolution.
 * Every test runs under the frame-leak guard, the kmem object guard and the
 * consistency checker (guards below). */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "kmap.h"
#include "kmem.h"
#include "kprintf.h"
#include "kstring.h"
#include "region.h"
#include "vm_util.h"

#define USER_VA 0x0000000000400000ull

static struct vmm_space *const kspace = &vmm_kernel_space;

/* ---- guards ---------------------------------------------------------------- */

static uint64_t objects_in_use(void)
{
    return kmem_objects_in_use();
}
KTEST_GUARD(kmem_objects, objects_in_use);

/* 0 while consistent; otherwise a value that names the first mismatch, so
 * only the test that caused it fails (the mismatch is printed once). */
static uint64_t consistency(void)
{
    static char last[160];
    char why[160];
    if (vmm_check_consistency(why, sizeof(why)))
        return 0;
    if (strcmp(why, last) != 0) {
        kprintf("# vmm consistency: %s\n", why);
        memcpy(last, why, sizeof(last));
    }
    uint64_t h = 1469598103934665603ull;
    for (const char *p = why; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h | 1;
}
KTEST_GUARD(vmm_consistency, consistency);

/* ---- helpers -------------------------------------------------------------- */

/* A fresh anonymous object of @npages mapped in @s (at @addr, or anywhere in
 * the arena when 0); the region holds the only reference. */
static uintptr_t map_anon(struct vmm_space *s, uintptr_t addr, size_t npages, unsigned prot,
                          unsigned flags)
{
    struct vmobj *o = vmobj_create_anon(npages, "test");
    if (!o)
        return 0;
    struct region_req req = {
        .addr = addr ? addr : KERNEL_ARENA_BASE, .len = npages * PAGE_SIZE, .prot = prot,
        .flags = flags | (addr ? REGION_FIXED : 0), .obj = o, .name = "test",
    };
    uintptr_t va = 0;
    enum vmm_status st = region_map(s, &req, &va);
    vmobj_put(o);
    return st == VMM_OK ? va : 0;
}

static uintptr_t map_obj(struct vmm_space *s, struct vmobj *o, uint64_t off, size_t npages,
                         unsigned prot, unsigned flags)
{
    struct region_req req = {
        .addr = KERNEL_ARENA_BASE, .len = npages * PAGE_SIZE, .prot = prot, .flags = flags,
        .obj = o, .offset = off,
    };
    uintptr_t va = 0;
    return region_map(s, &req, &va) == VMM_OK ? va : 0;
}

static uint64_t faults(void)
{
    return vmm_counters_get().faults;
}

/* ---- anonymous memory ------------------------------------------------------ */

TEST(region, anonymous_private_read_maps_zero_frame_write_allocates_once)
{
    uint64_t start = vt_free_frames();
    uintptr_t va = map_anon(kspace, 0, 8, REGION_R | REGION_W, 0);
    ASSERT_NE(va, 0);
    /* Nothing exists before the first touch: no frame, no entry. */
    EXPECT_EQ(vt_frame(kspace, va), 0);
    struct vmm_fault_counters c0 = vmm_counters_get();
    EXPECT_EQ(*vt_q(va + 16), 0);
    struct vmm_fault_counters c1 = vmm_counters_get();
    EXPECT_EQ(c1.faults - c0.faults, 1);
    EXPECT_EQ(c1.zero_maps - c0.zero_maps, 1);
    EXPECT_EQ(vt_frame(kspace, va), vmm_zero_frame);
    EXPECT_TRUE(vt_flags(kspace, va) & PTE_COW);
    EXPECT_FALSE(vt_flags(kspace, va) & PTE_W);
    /* Refault: a second read costs nothing; another page's read costs no
     * frame (its table exists now). */
    uint64_t frames = vt_free_frames();
    EXPECT_EQ(*vt_q(va + 24), 0);
    EXPECT_EQ(faults(), c1.faults);
    EXPECT_EQ(*vt_q(va + PAGE_SIZE), 0);
    EXPECT_EQ(vt_free_frames(), frames);

    /* A write to a never-touched page: one fault, a zeroed frame, writable. */
    c0 = vmm_counters_get();
    *vt_q(va + 2 * PAGE_SIZE + 8) = 0x1234;
    c1 = vmm_counters_get();
    EXPECT_EQ(c1.faults - c0.faults, 1);
    EXPECT_EQ(c1.zero_fills - c0.zero_fills, 1);
    EXPECT_EQ(frames - vt_free_frames(), 1);
    EXPECT_TRUE(vt_flags(kspace, va + 2 * PAGE_SIZE) & PTE_W);
    EXPECT_EQ(*vt_q(va + 2 * PAGE_SIZE), 0);
    EXPECT_EQ(*vt_q(va + 2 * PAGE_SIZE + 8), 0x1234);
    /* A write after a read: the CoW fault on the zero frame fills it. */
    *vt_q(va) = 5;
    EXPECT_EQ(vmm_counters_get().zero_fills - c0.zero_fills, 2);
    EXPECT_NE(vt_frame(kspace, va), vmm_zero_frame);
    EXPECT_EQ(*vt_q(va + 8), 0);
    EXPECT_TRUE(vmm_zero_frame_intact());
    EXPECT_EQ(region_unmap(kspace, va, 8 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(vt_free_frames(), start); /* both frames back, tables and slabs too */
}

TEST(region, anonymous_shared_twice_in_one_space_sees_writes)
{
    struct vmobj *o = vmobj_create_anon(4, "shm");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t a = map_obj(kspace, o, 0, 4, REGION_R | REGION_W, REGION_SHARED);
    uintptr_t b = map_obj(kspace, o, 0, 4, REGION_R | REGION_W, REGION_SHARED);
    ASSERT_NE(a, 0);
    ASSERT_NE(b, 0);
    EXPECT_NE(a, b);
    /* A read of a hole in a shared object puts a zeroed page in the object
     * (every mapping must see the same frame). */
    EXPECT_EQ(*vt_q(b + PAGE_SIZE), 0);
    EXPECT_EQ(o->cached, 1);
    *vt_q(a + PAGE_SIZE + 8) = 0xabcd;
    EXPECT_EQ(*vt_q(b + PAGE_SIZE + 8), 0xabcd);
    *vt_q(b + 3 * PAGE_SIZE) = 7;
    EXPECT_EQ(*vt_q(a + 3 * PAGE_SIZE), 7);
    EXPECT_EQ(vt_frame(kspace, a + PAGE_SIZE), vt_frame(kspace, b + PAGE_SIZE));
    EXPECT_EQ(pmm_refcount(vt_frame(kspace, a + PAGE_SIZE)), 3); /* cache + two mappings */
    EXPECT_TRUE(vt_flags(kspace, a + PAGE_SIZE) & PTE_W);
    EXPECT_EQ(region_unmap(kspace, a, 4 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(*vt_q(b + PAGE_SIZE + 8), 0xabcd); /* the object keeps its pages */
    EXPECT_EQ(region_unmap(kspace, b, 4 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

TEST(region, shared_across_two_spaces_sees_writes)
{
    struct vmm_space *other = vmm_space_new();
    ASSERT_NE((uintptr_t)other, 0);
    struct vmobj *o = vmobj_create_anon(2, "shm");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t k = map_obj(kspace, o, 0, 2, REGION_R | REGION_W, REGION_SHARED);
    struct region_req req = {
        .addr = USER_VA, .len = 2 * PAGE_SIZE, .prot = REGION_R | REGION_W | REGION_U,
        .flags = REGION_SHARED | REGION_FIXED, .obj = o,
    };
    EXPECT_EQ(region_map(other, &req, NULL), VMM_OK);
    *vt_q(k) = 0x1111;
    vmm_space_activate(other);
    uint64_t seen = *vt_q(USER_VA);
    *vt_q(USER_VA + PAGE_SIZE) = 0x2222;
    vmm_space_activate(kspace);
    EXPECT_EQ(seen, 0x1111);
    EXPECT_EQ(*vt_q(k + PAGE_SIZE), 0x2222);
    EXPECT_EQ(vt_frame(other, USER_VA), vt_frame(kspace, k));
    vmm_space_destroy(other);
    EXPECT_EQ(*vt_q(k + PAGE_SIZE), 0x2222);
    EXPECT_EQ(region_unmap(kspace, k, 2 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

TEST(region, private_mapping_of_an_object_stays_isolated)
{
    struct vmobj *o = vmobj_create_anon(2, "shm");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t sh = map_obj(kspace, o, 0, 2, REGION_R | REGION_W, REGION_SHARED);
    uintptr_t pr = map_obj(kspace, o, 0, 2, REGION_R | REGION_W, 0);
    ASSERT_NE(sh, 0);
    ASSERT_NE(pr, 0);
    *vt_q(sh) = 0xaaaa;
    *vt_q(sh + PAGE_SIZE) = 0xbbbb;
    /* Read first: the object's page, read-only CoW. */
    struct vmm_fault_counters c0 = vmm_counters_get();
    EXPECT_EQ(*vt_q(pr), 0xaaaa);
    EXPECT_EQ(vmm_counters_get().page_maps - c0.page_maps, 1);
    EXPECT_EQ(vt_frame(kspace, pr), vt_frame(kspace, sh));
    EXPECT_TRUE(vt_flags(kspace, pr) & PTE_COW);
    /* Write: copied (the object still holds the page). */
    *vt_q(pr) = 0xcccc;
    EXPECT_EQ(vmm_counters_get().copies - c0.copies, 1);
    EXPECT_NE(vt_frame(kspace, pr), vt_frame(kspace, sh));
    EXPECT_EQ(*vt_q(sh), 0xaaaa);
    /* A write to an untouched private page copies the object's page at once. */
    *vt_q(pr + PAGE_SIZE + 8) = 1;
    EXPECT_EQ(vmm_counters_get().copies - c0.copies, 2);
    EXPECT_EQ(*vt_q(pr + PAGE_SIZE), 0xbbbb);
    EXPECT_EQ(*vt_q(sh + PAGE_SIZE + 8), 0);
    /* Later writes through the shared mapping do not reach the copies. */
    *vt_q(sh) = 0xdddd;
    EXPECT_EQ(*vt_q(pr), 0xcccc);
    EXPECT_EQ(region_unmap(kspace, pr, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, sh, 2 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

/* ---- paged and physical objects ------------------------------------------- */

static paddr_t rodata_pa(void)
{
    return (paddr_t)((uintptr_t)kernel_rodata_start - KERNEL_VMA);
}

static uint64_t rodata_size(void)
{
    return (uint64_t)(kernel_rodata_end - kernel_rodata_start);
}

TEST(region, paged_object_over_physical_bytes_is_byte_for_byte_equal)
{
    /* The in-kernel pager over a run of physical memory, here the kernel's
     * own rodata (a module works the same way: boot.module_* tests), at an
     * unaligned start so pages straddle source frames. */
    uint64_t size = rodata_size() - 100;
    struct vmobj *o = vmobj_create_module(rodata_pa() + 100, size, "rodata+100");
    ASSERT_NE((uintptr_t)o, 0);
    uint64_t npages = o->npages;
    EXPECT_EQ(npages, (size + PAGE_SIZE - 1) / PAGE_SIZE);
    uintptr_t va = map_obj(kspace, o, 0, npages, REGION_R, 0);
    ASSERT_NE(va, 0);
    uint64_t frames = vt_free_frames();
    /* Touch two pages only: two frames (and one page table). */
    struct vmm_fault_counters c0 = vmm_counters_get();
    EXPECT_EQ(memcmp((const void *)va, kernel_rodata_start + 100, 64), 0);
    EXPECT_EQ(*(volatile uint8_t *)(va + PAGE_SIZE), (uint8_t)kernel_rodata_start[100 + PAGE_SIZE]);
    EXPECT_EQ(o->cached, 2);
    EXPECT_EQ(vmm_counters_get().page_ins - c0.page_ins, 2);
    /* With the page table and the cache node in place, one more page is
     * exactly one frame. */
    frames = vt_free_frames();
    EXPECT_EQ(*(volatile uint8_t *)(va + 2 * PAGE_SIZE),
              (uint8_t)kernel_rodata_start[100 + 2 * PAGE_SIZE]);
    EXPECT_EQ(frames - vt_free_frames(), 1);
    /* The whole object, byte for byte, and zeros past the end. */
    EXPECT_EQ(memcmp((const void *)va, kernel_rodata_start + 100, size), 0);
    const uint8_t *tail = (const uint8_t *)va + size;
    uint8_t acc = 0;
    for (uint64_t i = 0; i < npages * PAGE_SIZE - size; i++)
        acc |= tail[i];
    EXPECT_EQ(acc, 0);
    EXPECT_EQ(o->cached, npages);
    /* Read-only region: the entries are not writable and carry no CoW bit. */
    EXPECT_FALSE(vt_flags(kspace, va) & (PTE_W | PTE_COW));
    EXPECT_EQ(region_unmap(kspace, va, npages * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

TEST(region, paged_private_writable_copies_on_write_shared_writes_the_cache)
{
    struct vmobj *o = vmobj_create_module(rodata_pa(), 2 * PAGE_SIZE, "rodata");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t pr = map_obj(kspace, o, 0, 2, REGION_R | REGION_W, 0);
    uintptr_t sh = map_obj(kspace, o, 0, 2, REGION_R | REGION_W, REGION_SHARED);
    ASSERT_NE(pr, 0);
    ASSERT_NE(sh, 0);
    uint64_t first = *(const uint64_t *)kernel_rodata_start;
    *vt_q(pr) = ~first;             /* paged in, then this region's own copy */
    EXPECT_EQ(o->cached, 1);
    EXPECT_EQ(*vt_q(sh), first);    /* the object's page is untouched */
    *vt_q(sh + 8) = 42;             /* shared: written into the object's page */
    EXPECT_EQ(*vt_q(pr + 8), *(const uint64_t *)(kernel_rodata_start + 8));
    EXPECT_EQ(*(const uint64_t *)(kernel_rodata_start + 8) == 42, false); /* source intact */
    EXPECT_EQ(region_unmap(kspace, pr, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, sh, 2 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

TEST(region, physical_object_maps_its_frames_as_they_are)
{
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    EXPECT_EQ((uintptr_t)vmobj_create_phys(pa, 1, "allocated"), 0); /* the allocator's frame */
    pmm_free(pa);
    EXPECT_EQ((uintptr_t)vmobj_create_phys(rodata_pa() + 1, 1, "unaligned"), 0);

    struct vmobj *o = vmobj_create_phys(rodata_pa(), 2, "rodata frames");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t ro = map_obj(kspace, o, 0, 2, REGION_R, 0);
    uintptr_t rw = map_obj(kspace, o, 1, 1, REGION_R | REGION_W, 0);
    ASSERT_NE(ro, 0);
    ASSERT_NE(rw, 0);
    EXPECT_EQ(*vt_q(ro), *(const uint64_t *)kernel_rodata_start); /* tables made here */
    uint64_t frames = vt_free_frames();
    EXPECT_EQ(*vt_q(ro + PAGE_SIZE), *(const uint64_t *)(kernel_rodata_start + PAGE_SIZE));
    EXPECT_EQ(vt_frame(kspace, ro + PAGE_SIZE), rodata_pa() + PAGE_SIZE);
    EXPECT_EQ(vt_free_frames(), frames); /* the frame is the object's own: nothing allocated */
    /* A private writable mapping copies before writing: the frame itself
     * is never written. */
    uint64_t orig = *(const uint64_t *)(kernel_rodata_start + PAGE_SIZE);
    *vt_q(rw) = ~orig;
    EXPECT_EQ(*(const uint64_t *)(kernel_rodata_start + PAGE_SIZE), orig);
    EXPECT_NE(vt_frame(kspace, rw), rodata_pa() + PAGE_SIZE);
    EXPECT_EQ(region_unmap(kspace, ro, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, rw, PAGE_SIZE), VMM_OK);
    vmobj_put(o);
    EXPECT_EQ(pmm_refcount(rodata_pa()), 0); /* still the kernel's, untouched */
}

/* A pager under the test's control. */
static enum pager_result test_pager_answer;
static enum pager_result test_provide(struct vmobj *o, uint64_t index, paddr_t frame,
                                      const char **why)
{
    (void)o;
    if (test_pager_answer == PAGER_FAIL) {
        *why = "the test pager says no";
        return PAGER_FAIL;
    }
    if (test_pager_answer == PAGER_LATER)
        return PAGER_LATER;
    uint64_t *p = kmap_push(frame, true, NULL);
    if (!p)
        return PAGER_FAIL;
    for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
        p[i] = index * 1000 + i;
    kmap_pop(p);
    return PAGER_OK;
}
static const struct vmobj_pager test_pager = { "test", test_provide };

TEST(region, pager_later_waits_then_the_provided_page_is_mapped)
{
    struct vmobj *o = vmobj_create_paged(4, &test_pager, "later");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t va = map_obj(kspace, o, 0, 4, REGION_R, 0);
    ASSERT_NE(va, 0);
    test_pager_answer = PAGER_LATER;
    struct vmm_fault f;
    EXPECT_EQ(vmm_fault_handle(kspace, va + 2 * PAGE_SIZE, 0, &f), VMM_FAULT_WAIT);
    EXPECT_EQ((uintptr_t)f.wait_obj, (uintptr_t)o);
    EXPECT_EQ(f.wait_index, 2);
    EXPECT_EQ(vt_frame(kspace, va + 2 * PAGE_SIZE), 0); /* nothing mapped meanwhile */
    /* The page arrives through the one "page provided" path. */
    paddr_t pa;
    ASSERT_EQ(pmm_alloc(&pa), PMM_OK);
    test_pager_answer = PAGER_OK;
    EXPECT_EQ(test_provide(o, 2, pa, NULL), PAGER_OK);
    EXPECT_EQ(vmobj_page_provide(o, 2, pa), VMM_OK);
    EXPECT_EQ(vmobj_page_provide(o, 2, pa), VMM_ERR_EXISTS);
    EXPECT_EQ(vmobj_page_provide(o, 4, pa), VMM_ERR_RANGE);
    /* The retried access now resolves from the cache. */
    EXPECT_EQ(vt_q(va + 2 * PAGE_SIZE)[5], 2005);
    EXPECT_EQ(vt_frame(kspace, va + 2 * PAGE_SIZE), pa);
    EXPECT_EQ(vt_q(va + 3 * PAGE_SIZE)[1], 3001); /* synchronous answers work too */
    EXPECT_EQ(region_unmap(kspace, va, 4 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

/* ---- refault: once a page is mapped, the same access costs no fault ----------- */

/* Read @va, then read it again and (when @write) write it twice: the
 * first of each kind may fault, the second must not. */
static void refault_free(uintptr_t va, bool write, const char *mode)
{
    uint64_t f0 = faults();
    (void)*vt_q(va);
    uint64_t f1 = faults();
    (void)*vt_q(va + 8);
    uint64_t f2 = faults();
    EXPECT_EQ(f1 - f0, 1); /* the first touch did fault: nothing was mapped */
    EXPECT_EQ(f2, f1);
    uint64_t f3 = f2, f4 = f2;
    if (write) {
        *vt_q(va + 16) = 1;
        f3 = faults();
        *vt_q(va + 24) = 2;
        f4 = faults();
        EXPECT_EQ(f4, f3);
    }
    if (f2 != f1 || f4 != f3 || f1 - f0 != 1)
        kprintf("# refault in mode: %s\n", mode);
}

TEST(region, refault_costs_no_fault_in_every_mode)
{
    const unsigned RW = REGION_R | REGION_W;
    uintptr_t pa = map_anon(kspace, 0, 1, RW, 0);
    uintptr_t sh = map_anon(kspace, 0, 1, RW, REGION_SHARED);
    struct vmobj *pg = vmobj_create_module(rodata_pa(), PAGE_SIZE, "rodata");
    struct vmobj *ph = vmobj_create_phys(rodata_pa(), 1, "rodata frame");
    ASSERT_NE((uintptr_t)pg, 0);
    ASSERT_NE((uintptr_t)ph, 0);
    uintptr_t pp = map_obj(kspace, pg, 0, 1, RW, 0);
    uintptr_t ps = map_obj(kspace, pg, 0, 1, RW, REGION_SHARED);
    uintptr_t xr = map_obj(kspace, ph, 0, 1, REGION_R, 0);
    ASSERT_NE(pa & sh & pp & ps & xr, 0);
    refault_free(pa, true, "anonymous private");
    refault_free(sh, true, "anonymous shared");
    refault_free(pp, true, "paged private");
    refault_free(ps, true, "paged shared");
    refault_free(xr, false, "physical");
    EXPECT_EQ(*vt_q(xr), *(const uint64_t *)kernel_rodata_start);
    EXPECT_EQ(region_unmap(kspace, pa, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, sh, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, pp, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, ps, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, xr, PAGE_SIZE), VMM_OK);
    vmobj_put(pg);
    vmobj_put(ph);
}

/* ---- every refusal, by the access it names -------------------------------- */

TEST(region, every_fatal_reason_made_by_its_access)
{
    uintptr_t ro = map_anon(kspace, 0, 1, REGION_R, 0);
    uintptr_t rw = map_anon(kspace, 0, 1, REGION_R | REGION_W, 0);
    uintptr_t none = map_anon(kspace, 0, 1, 0, 0);
    struct region_req g = { .addr = KERNEL_ARENA_BASE, .len = PAGE_SIZE, .flags = REGION_GUARD };
    uintptr_t guard = 0;
    ASSERT_EQ(region_map(kspace, &g, &guard), VMM_OK);
    test_pager_answer = PAGER_FAIL;
    struct vmobj *o = vmobj_create_paged(3, &test_pager, "failing");
    ASSERT_NE((uintptr_t)o, 0);
    uint32_t paged_id = o->id;
    uintptr_t paged = map_obj(kspace, o, 2, 1, REGION_R, 0);
    vmobj_put(o);
    ASSERT_NE(ro & rw & none & paged, 0);
    uint64_t fatal = vmm_counters_get().fatal;

    vt_expect_fault(0x18, 'r', "null pointer dereference", 0);
    vt_expect_fault(KERNEL_ARENA_BASE + KERNEL_ARENA_SIZE - PAGE_SIZE, 'r',
                    "no region holds this address", 0);
    vt_expect_fault(guard + 8, 'w', "access to a guard region", PF_ERR_W);
    vt_expect_fault(ro + 8, 'w', "write to a region without write permission", PF_ERR_W);
    vt_expect_fault(rw, 'x', "execute in a region without execute permission", PF_ERR_I);
    vt_expect_fault(none, 'r', "read of a region without read permission", 0);
    /* Page 2 of the object, so the page number in the text is not the
     * region's first page by accident. */
    char want[96];
    ksnprintf(want, sizeof(want), "pager failed to provide page 2 of object #%u: the test pager says no",
              paged_id);
    vt_expect_fault(paged, 'r', want, 0);
    EXPECT_STREQ(vmm_fault_last_unresolved()->pager_why, "the test pager says no");
    EXPECT_TRUE(vmm_fault_last_unresolved()->has_region);
    EXPECT_EQ(vmm_fault_last_unresolved()->region_start, paged);
    /* The read-only region really is read-only after a read mapped it (the
     * seed's check accepted such writes). */
    EXPECT_TRUE(probe_read64(ro, NULL, NULL));
    vt_expect_fault(ro, 'w', "write to a region without write permission", PF_ERR_P | PF_ERR_W);
    /* User-mode access to a kernel region: the decision, called as the #PF
     * entry would for a ring-3 access (processes come with the next issue). */
    struct vmm_fault f;
    EXPECT_EQ(vmm_fault_handle(kspace, rw, PF_ERR_U, &f), VMM_FAULT_FATAL);
    EXPECT_STREQ(vmm_fault_reason_str(f.reason),
                 "user-mode access to a region without user permission");
    /* A present entry that disagrees with its region is a named VMM bug. */
    EXPECT_TRUE(probe_write64(rw, 1, NULL));
    struct vmm_walk w;
    vmm_walk(kspace, rw, 1, &w);
    uint64_t saved = *w.entry;
    *w.entry = saved & ~PTE_W;
    invlpg(rw);
    vt_expect_fault(rw, 'w', "page-table entry disagrees with its region (VMM bug)",
                    PF_ERR_P | PF_ERR_W);
    *w.entry = saved;
    invlpg(rw);
    /* Outside region-managed memory the tables decide. */
    vt_expect_fault((uintptr_t)kernel_text_start, 'w', "write to read-only page", PF_ERR_P | PF_ERR_W);
    vt_expect_fault((uintptr_t)kernel_rodata_start, 'x', "execute of NX page", PF_ERR_P | PF_ERR_I);
    vt_expect_fault((uintptr_t)boot_stack_guard + 0xff8, 'w',
                    "kernel stack guard page hit (stack overflow)", PF_ERR_W);
    /* A reserved physical-address bit in a present entry (QEMU's TCG reports
     * RSVD without P, so only RSVD is required). */
    vmm_walk(kspace, rw, 1, &w);
    saved = *w.entry;
    *w.entry = saved | (1ull << 51);
    invlpg(rw);
    vt_expect_fault(rw, 'r', "reserved bit set in a page-table entry", PF_ERR_RSVD);
    *w.entry = saved;
    invlpg(rw);
    EXPECT_EQ(vmm_fault_handle(kspace, 0x0000800000000000ull, 0, &f), VMM_FAULT_FATAL);
    EXPECT_STREQ(vmm_fault_reason_str(f.reason), "non-canonical address");
    EXPECT_EQ(vmm_counters_get().fatal - fatal, 15);

    EXPECT_EQ(region_unmap(kspace, ro, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, rw, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, none, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, guard, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, paged, PAGE_SIZE), VMM_OK);
}

/* ---- split, merge, refusals -------------------------------------------------- */

static bool region_is(uintptr_t va, uintptr_t start, uintptr_t end, unsigned prot, uint64_t off)
{
    struct region r;
    return region_lookup(kspace, va, &r) && r.start == start && r.end == end && r.prot == prot &&
           r.offset == off;
}

TEST(region, partial_unmap_and_protect_split_then_merge)
{
    const unsigned RW = REGION_R | REGION_W;
    uintptr_t va = map_anon(kspace, 0, 10, RW, 0);
    ASSERT_NE(va, 0);
    uint64_t n0 = region_count(kspace);
    for (int i = 0; i < 10; i++)
        *vt_q(va + i * PAGE_SIZE) = 100 + i;
    /* A hole in the middle: two regions, offsets kept, contents kept. */
    EXPECT_EQ(region_unmap(kspace, va + 3 * PAGE_SIZE, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_count(kspace), n0 + 1);
    EXPECT_TRUE(region_is(va, va, va + 3 * PAGE_SIZE, RW, 0));
    EXPECT_TRUE(region_is(va + 5 * PAGE_SIZE, va + 5 * PAGE_SIZE, va + 10 * PAGE_SIZE, RW, 5));
    EXPECT_FALSE(region_lookup(kspace, va + 3 * PAGE_SIZE, NULL));
    EXPECT_EQ(vt_frame(kspace, va + 4 * PAGE_SIZE), 0);
    EXPECT_EQ(*vt_q(va + 2 * PAGE_SIZE), 102);
    EXPECT_EQ(*vt_q(va + 5 * PAGE_SIZE), 105);
    vt_expect_fault(va + 3 * PAGE_SIZE, 'r', "no region holds this address", 0);

    /* Protect the middle of the upper piece: three pieces, rights exact. */
    EXPECT_EQ(region_protect(kspace, va + 6 * PAGE_SIZE, 2 * PAGE_SIZE, REGION_R), VMM_OK);
    EXPECT_EQ(region_count(kspace), n0 + 3);
    EXPECT_TRUE(region_is(va + 5 * PAGE_SIZE, va + 5 * PAGE_SIZE, va + 6 * PAGE_SIZE, RW, 5));
    EXPECT_TRUE(region_is(va + 6 * PAGE_SIZE, va + 6 * PAGE_SIZE, va + 8 * PAGE_SIZE, REGION_R, 6));
    EXPECT_TRUE(region_is(va + 8 * PAGE_SIZE, va + 8 * PAGE_SIZE, va + 10 * PAGE_SIZE, RW, 8));
    EXPECT_FALSE(vt_flags(kspace, va + 7 * PAGE_SIZE) & PTE_W);
    EXPECT_EQ(*vt_q(va + 7 * PAGE_SIZE), 107);
    vt_expect_fault(va + 7 * PAGE_SIZE, 'w', "write to a region without write permission",
                    PF_ERR_P | PF_ERR_W);
    /* Writable again: merged back into one region; the pages are ours
     * alone, so the next write reuses them (no copy). */
    EXPECT_EQ(region_protect(kspace, va + 6 * PAGE_SIZE, 2 * PAGE_SIZE, RW), VMM_OK);
    EXPECT_EQ(region_count(kspace), n0 + 1);
    EXPECT_TRUE(region_is(va + 7 * PAGE_SIZE, va + 5 * PAGE_SIZE, va + 10 * PAGE_SIZE, RW, 5));
    uint64_t reuses = vmm_counters_get().reuses, copies = vmm_counters_get().copies;
    *vt_q(va + 7 * PAGE_SIZE) = 7;
    EXPECT_EQ(vmm_counters_get().reuses - reuses, 1);
    EXPECT_EQ(vmm_counters_get().copies, copies);
    /* Protect across a hole is refused and changes nothing. */
    EXPECT_EQ(region_protect(kspace, va, 10 * PAGE_SIZE, REGION_R), VMM_ERR_NO_REGION);
    EXPECT_TRUE(region_is(va, va, va + 3 * PAGE_SIZE, RW, 0));
    /* Unmap across both pieces and the hole. */
    EXPECT_EQ(region_unmap(kspace, va + PAGE_SIZE, 8 * PAGE_SIZE), VMM_OK);
    EXPECT_TRUE(region_is(va, va, va + PAGE_SIZE, RW, 0));
    EXPECT_TRUE(region_is(va + 9 * PAGE_SIZE, va + 9 * PAGE_SIZE, va + 10 * PAGE_SIZE, RW, 9));
    EXPECT_EQ(region_unmap(kspace, va, 10 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_count(kspace), n0 - 1);
}

TEST(region, bad_requests_are_refused_and_change_nothing)
{
    struct vmobj *o = vmobj_create_anon(4, "t");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t va = map_obj(kspace, o, 0, 4, REGION_R | REGION_W, 0);
    ASSERT_NE(va, 0);
    uint64_t n = region_count(kspace);
    struct region_req req = { .addr = va + PAGE_SIZE, .len = PAGE_SIZE, .prot = REGION_R,
                              .flags = REGION_FIXED, .obj = o };
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_OVERLAP);
    req.addr = va + 3 * PAGE_SIZE;
    req.len = 2 * PAGE_SIZE;
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_OVERLAP);
    req.addr = va + 4 * PAGE_SIZE + 1;
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_UNALIGNED);
    req.addr = va + 4 * PAGE_SIZE;
    req.len = 0;
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_RANGE);
    req.len = 5 * PAGE_SIZE; /* past the object's end */
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_RANGE);
    req.len = PAGE_SIZE;
    req.offset = 4;
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_RANGE);
    req.offset = 0;
    req.prot = REGION_R | REGION_U; /* kernel memory is never user memory */
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_BAD_FLAGS);
    req.prot = REGION_R;
    req.flags = REGION_FIXED | REGION_GUARD; /* a guard has no object */
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_BAD_FLAGS);
    req.flags = REGION_FIXED;
    req.obj = NULL;
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_BAD_FLAGS);
    req.obj = o;
    req.addr = KERNEL_VMA; /* not region-managed */
    EXPECT_EQ(region_map(kspace, &req, NULL), VMM_ERR_RANGE);
    struct vmm_space *other = vmm_space_new();
    ASSERT_NE((uintptr_t)other, 0);
    req.addr = 0; /* the null page never maps */
    EXPECT_EQ(region_map(other, &req, NULL), VMM_ERR_RANGE);
    req.addr = KERNEL_ARENA_BASE; /* the arena belongs to the kernel space */
    EXPECT_EQ(region_map(other, &req, NULL), VMM_ERR_RANGE);
    vmm_space_destroy(other);
    EXPECT_EQ(region_protect(kspace, va, PAGE_SIZE, 0x40), VMM_ERR_BAD_FLAGS);
    EXPECT_EQ(region_protect(kspace, va + 1, PAGE_SIZE, REGION_R), VMM_ERR_UNALIGNED);
    EXPECT_EQ(region_unmap(kspace, va, 0), VMM_ERR_RANGE);
    struct region_req g = { .addr = va + 4 * PAGE_SIZE, .len = PAGE_SIZE,
                            .flags = REGION_FIXED | REGION_GUARD };
    if (region_map(kspace, &g, NULL) == VMM_OK) {
        EXPECT_EQ(region_protect(kspace, va, 5 * PAGE_SIZE, REGION_R), VMM_ERR_GUARD);
        EXPECT_EQ(region_unmap(kspace, va + 4 * PAGE_SIZE, PAGE_SIZE), VMM_OK);
    }
    EXPECT_EQ(region_count(kspace), n);
    EXPECT_TRUE(region_is(va, va, va + 4 * PAGE_SIZE, REGION_R | REGION_W, 0));
    EXPECT_EQ(region_unmap(kspace, va, 4 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
}

TEST(region, lookup_among_a_thousand_regions)
{
    enum { N = 1000 };
    struct vmobj *o = vmobj_create_anon(2 * N, "many");
    ASSERT_NE((uintptr_t)o, 0);
    uint64_t n0 = region_count(kspace);
    uintptr_t base = 0;
    /* Every other page, each its own region (gaps stop merging). */
    for (int i = 0; i < N; i++) {
        struct region_req req = { .addr = KERNEL_ARENA_BASE + 0x40000000ull + 2ull * i * PAGE_SIZE,
                                  .len = PAGE_SIZE, .prot = REGION_R, .flags = REGION_FIXED,
                                  .obj = o, .offset = 2ull * i };
        ASSERT_EQ(region_map(kspace, &req, NULL), VMM_OK);
        if (i == 0)
            base = req.addr;
    }
    EXPECT_EQ(region_count(kspace), n0 + N);
    for (int i = 0; i < N; i += 37) {
        struct region r;
        EXPECT_TRUE(region_lookup(kspace, base + 2ull * i * PAGE_SIZE + 5, &r));
        EXPECT_EQ(r.offset, 2ull * i);
        EXPECT_FALSE(region_lookup(kspace, base + (2ull * i + 1) * PAGE_SIZE, NULL));
    }
    EXPECT_EQ(region_unmap(kspace, base, 2ull * N * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_count(kspace), n0);
    vmobj_put(o);
}

/* ---- spaces: fork-style clone, destroy --------------------------------------- */

TEST(region, clone_shares_private_pages_copy_on_write_and_shared_pages_stay_shared)
{
    struct vmm_space *a, *b;
    a = vmm_space_new();
    ASSERT_NE((uintptr_t)a, 0);
    b = vmm_space_new();
    ASSERT_NE((uintptr_t)b, 0);
    const unsigned RWU = REGION_R | REGION_W | REGION_U;
    ASSERT_EQ(map_anon(a, USER_VA, 4, RWU, 0), USER_VA);
    ASSERT_EQ(map_anon(a, USER_VA + 0x100000, 1, RWU, REGION_SHARED), USER_VA + 0x100000);
    vmm_space_activate(a);
    for (int i = 0; i < 3; i++)
        *vt_q(USER_VA + i * PAGE_SIZE) = 0xa0 + i;
    *vt_q(USER_VA + 0x100000) = 0x5e;
    EXPECT_EQ(vmm_space_clone(b, a), VMM_OK);
    EXPECT_EQ(region_count(b), 2);
    paddr_t p0 = vt_frame(a, USER_VA);
    EXPECT_EQ(vt_frame(b, USER_VA), p0);
    EXPECT_EQ(pmm_refcount(p0), 2);
    EXPECT_TRUE(vt_flags(a, USER_VA) & PTE_COW);
    EXPECT_FALSE(vt_flags(a, USER_VA) & PTE_W);

    struct vmm_fault_counters c0 = vmm_counters_get();
    *vt_q(USER_VA) = 0xaa;                 /* a copies */
    *vt_q(USER_VA + 0x100000) = 0x5f;      /* shared: no copy */
    vmm_space_activate(b);
    uint64_t seen0 = *vt_q(USER_VA), seen_sh = *vt_q(USER_VA + 0x100000);
    *vt_q(USER_VA) = 0xbb;                 /* b alone holds the old frame: reuse */
    *vt_q(USER_VA + 3 * PAGE_SIZE) = 1;    /* untouched: zero fill */
    vmm_space_activate(kspace);
    struct vmm_fault_counters c1 = vmm_counters_get();
    EXPECT_EQ(seen0, 0xa0);
    EXPECT_EQ(seen_sh, 0x5f);
    EXPECT_EQ(c1.copies - c0.copies, 1);
    EXPECT_EQ(c1.reuses - c0.reuses, 1);
    EXPECT_EQ(c1.zero_fills - c0.zero_fills, 1);
    EXPECT_EQ(vt_frame(b, USER_VA), p0);
    EXPECT_NE(vt_frame(a, USER_VA), p0);
    EXPECT_EQ(pmm_refcount(vt_frame(a, USER_VA + PAGE_SIZE)), 2); /* untouched since */
    vmm_space_destroy(a);
    EXPECT_EQ(pmm_refcount(vt_frame(b, USER_VA + PAGE_SIZE)), 1);
    vmm_space_destroy(b);
}

TEST(region, clone_of_a_clone_keeps_every_copy_isolated)
{
    struct vmm_space *s[3];
    for (int i = 0; i < 3; i++)
        ASSERT_NE((uintptr_t)(s[i] = vmm_space_new()), 0);
    ASSERT_EQ(map_anon(s[0], USER_VA, 1, REGION_R | REGION_W | REGION_U, 0), USER_VA);
    vmm_space_activate(s[0]);
    *vt_q(USER_VA) = 0;
    EXPECT_EQ(vmm_space_clone(s[1], s[0]), VMM_OK);
    vmm_space_activate(s[1]);
    EXPECT_EQ(vmm_space_clone(s[2], s[1]), VMM_OK); /* the CoW mark must survive */
    uint64_t seen[3];
    for (int i = 0; i < 3; i++) {
        vmm_space_activate(s[i]);
        *vt_q(USER_VA) = 10 + i;
    }
    for (int i = 0; i < 3; i++) {
        vmm_space_activate(s[i]);
        seen[i] = *vt_q(USER_VA);
    }
    vmm_space_activate(kspace);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(seen[i], 10 + i);
    for (int i = 0; i < 3; i++)
        vmm_space_destroy(s[i]);
}

TEST(region, destroying_many_spaces_with_many_regions_leaks_nothing)
{
    uint64_t frames = vt_free_frames(), objs = kmem_objects_in_use();
    for (int round = 0; round < 20; round++) {
        struct vmm_space *s = vmm_space_new();
        ASSERT_NE((uintptr_t)s, 0);
        vmm_space_activate(s);
        for (int i = 0; i < 40; i++) {
            uintptr_t va = USER_VA + (uintptr_t)i * 0x10000;
            unsigned flags = i % 3 == 0 ? REGION_SHARED : 0;
            if (map_anon(s, va, 4, REGION_R | REGION_W | REGION_U, flags) != va)
                break;
            *vt_q(va + (i % 4) * PAGE_SIZE) = i;
            (void)*vt_q(va + ((i + 1) % 4) * PAGE_SIZE);
        }
        struct region_req g = { .addr = USER_VA - PAGE_SIZE, .len = PAGE_SIZE,
                                .flags = REGION_GUARD | REGION_FIXED };
        EXPECT_EQ(region_map(s, &g, NULL), VMM_OK);
        vmm_space_activate(kspace);
        EXPECT_EQ(region_count(s), 41);
        vmm_space_destroy(s);
    }
    EXPECT_EQ(vt_free_frames(), frames);
    EXPECT_EQ(kmem_objects_in_use(), objs);
}

/* ---- regions without rights (PROT_NONE) ---------------------------------------
 * x86 has no present entry the kernel cannot read: such pages keep their
 * frames in entries that are not present (PTE_PROTNONE). */

static uint64_t leaf_entry(struct vmm_space *s, uintptr_t va)
{
    struct vmm_walk w;
    vmm_walk(s, va, 1, &w);
    return w.end == WALK_LEAF ? *w.entry : 0;
}

TEST(region, protnone_kernel_read_faults_and_rights_back_keep_contents)
{
    const unsigned RW = REGION_R | REGION_W;
    uint64_t frames = vt_free_frames();
    uintptr_t a = map_anon(kspace, 0, 2, RW, 0);
    ASSERT_NE(a, 0);
    *vt_q(a + 8) = 0x1234;
    *vt_q(a + PAGE_SIZE + 16) = 0x5678;
    paddr_t p0 = vt_frame(kspace, a);
    ASSERT_EQ(region_protect(kspace, a, 2 * PAGE_SIZE, 0), VMM_OK);
    uint64_t e = leaf_entry(kspace, a);
    EXPECT_EQ(e & (PTE_P | PTE_PROTNONE | PTE_W | PTE_COW), PTE_PROTNONE);
    EXPECT_EQ(e & PTE_ADDR_MASK, p0);
    EXPECT_EQ(pmm_refcount(p0), 1);
    /* The kernel's own read faults (not present) and is refused by the
     * region, with its reason; so are writes and fetches. */
    struct probe_fault pf = { 0 };
    EXPECT_FALSE(probe_read64(a + 8, NULL, &pf));
    EXPECT_EQ(pf.error_code & (PF_ERR_P | PF_ERR_W), 0);
    vt_expect_fault(a + 8, 'r', "read of a region without read permission", 0);
    vt_expect_fault(a + PAGE_SIZE + 16, 'r', "read of a region without read permission", 0);
    vt_expect_fault(a, 'w', "write to a region without write permission", PF_ERR_W);
    vt_expect_fault(a, 'x', "execute in a region without execute permission", PF_ERR_I);
    EXPECT_EQ(leaf_entry(kspace, a), e); /* refused: nothing filled over it */
    /* Read-only, then read-write: the same frames, the same contents. */
    ASSERT_EQ(region_protect(kspace, a, 2 * PAGE_SIZE, REGION_R), VMM_OK);
    EXPECT_EQ(*vt_q(a + 8), 0x1234);
    vt_expect_fault(a + 8, 'w', "write to a region without write permission", PF_ERR_P | PF_ERR_W);
    ASSERT_EQ(region_protect(kspace, a, 2 * PAGE_SIZE, 0), VMM_OK);
    ASSERT_EQ(region_protect(kspace, a, 2 * PAGE_SIZE, RW), VMM_OK);
    EXPECT_EQ(*vt_q(a + PAGE_SIZE + 16), 0x5678);
    struct vmm_fault_counters c0 = vmm_counters_get();
    *vt_q(a + 8) = 0x4321; /* CoW again, and we alone hold it: reused */
    EXPECT_EQ(vmm_counters_get().reuses - c0.reuses, 1);
    EXPECT_EQ(vt_frame(kspace, a), p0);
    EXPECT_EQ(*vt_q(a + 8), 0x4321);
    /* Unmapped while without rights: every frame back. */
    ASSERT_EQ(region_protect(kspace, a, 2 * PAGE_SIZE, 0), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, a, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(pmm_refcount(p0), 0);
    EXPECT_EQ(vt_free_frames(), frames);
}

TEST(region, protnone_fork_then_rights_back_copies_on_write_and_frees_exactly)
{
    const unsigned RWU = REGION_R | REGION_W | REGION_U;
    uint64_t frames = vt_free_frames();
    struct vmm_space *a = vmm_space_new(), *b = vmm_space_new();
    ASSERT_NE((uintptr_t)a, 0);
    ASSERT_NE((uintptr_t)b, 0);
    ASSERT_EQ(map_anon(a, USER_VA, 2, RWU, 0), USER_VA);
    vmm_space_activate(a);
    *vt_q(USER_VA) = 0xa0;
    *vt_q(USER_VA + PAGE_SIZE) = 0xa1;
    paddr_t p0 = vt_frame(a, USER_VA);
    EXPECT_EQ(region_protect(a, USER_VA, 2 * PAGE_SIZE, REGION_U), VMM_OK);
    vt_expect_fault(USER_VA, 'r', "read of a region without read permission", 0);
    /* The child gets the same held entry, with its own reference. */
    EXPECT_EQ(vmm_space_clone(b, a), VMM_OK);
    EXPECT_EQ(leaf_entry(b, USER_VA) & (PTE_ADDR_MASK | PTE_P | PTE_PROTNONE), p0 | PTE_PROTNONE);
    EXPECT_EQ(pmm_refcount(p0), 2);
    vmm_space_activate(b);
    vt_expect_fault(USER_VA, 'r', "read of a region without read permission", 0);
    /* Rights back in both: each write gets its own copy (the child copies,
     * the parent, then alone, reuses); each sees only its own. */
    EXPECT_EQ(region_protect(a, USER_VA, 2 * PAGE_SIZE, RWU), VMM_OK);
    EXPECT_EQ(region_protect(b, USER_VA, 2 * PAGE_SIZE, RWU), VMM_OK);
    EXPECT_TRUE(vt_flags(b, USER_VA) & PTE_COW);
    EXPECT_FALSE(vt_flags(b, USER_VA) & PTE_W);
    struct vmm_fault_counters c0 = vmm_counters_get();
    uint64_t b_saw = *vt_q(USER_VA);
    *vt_q(USER_VA) = 0xb0;
    vmm_space_activate(a);
    uint64_t a_saw = *vt_q(USER_VA);
    *vt_q(USER_VA) = 0xc0;
    uint64_t a_now = *vt_q(USER_VA), a_page1 = *vt_q(USER_VA + PAGE_SIZE);
    vmm_space_activate(b);
    uint64_t b_now = *vt_q(USER_VA);
    vmm_space_activate(kspace);
    struct vmm_fault_counters c1 = vmm_counters_get();
    EXPECT_EQ(b_saw, 0xa0);
    EXPECT_EQ(a_saw, 0xa0);
    EXPECT_EQ(a_now, 0xc0);
    EXPECT_EQ(b_now, 0xb0);
    EXPECT_EQ(a_page1, 0xa1);
    EXPECT_EQ(c1.copies - c0.copies, 1);
    EXPECT_EQ(c1.reuses - c0.reuses, 1);
    EXPECT_EQ(vt_frame(a, USER_VA), p0);
    /* Destroyed with the second page still without rights in the child. */
    EXPECT_EQ(region_protect(b, USER_VA + PAGE_SIZE, PAGE_SIZE, REGION_U), VMM_OK);
    paddr_t p1 = vt_frame(a, USER_VA + PAGE_SIZE);
    EXPECT_EQ(pmm_refcount(p1), 2);
    vmm_space_destroy(a);
    EXPECT_EQ(pmm_refcount(p1), 1);
    vmm_space_destroy(b);
    EXPECT_EQ(pmm_refcount(p1), 0);
    EXPECT_EQ(vt_free_frames(), frames);
}

/* ---- out of memory in each kind of resolution ------------------------------- */

struct snap {
    uint64_t pte, free, regions, objs;
};

static struct snap snap_of(uintptr_t va)
{
    struct vmm_walk w;
    vmm_walk(kspace, va, 1, &w);
    struct snap s = { w.end == WALK_LEAF ? *w.entry : w.level + 0x1000ull, vt_free_frames(),
                      region_count(kspace), kmem_objects_in_use() };
    return s;
}

/* Fail every allocation while @how touches @va: the fault must answer out of
 * memory and change nothing; then succeed with memory back. */
static void oom_case(uintptr_t va, char how, const char *what)
{
    struct snap before = snap_of(va);
    uint64_t oom = vmm_counters_get().oom;
    pmm_fail_all(true);
    struct probe_fault pf;
    bool ok = how == 'w' ? probe_write64(va, 3, &pf) : probe_read64(va, NULL, &pf);
    pmm_fail_all(false);
    struct snap after = snap_of(va);
    if (ok || vmm_fault_last_unresolved()->result != VMM_FAULT_OOM)
        kprintf("# out-of-memory case: %s\n", what);
    EXPECT_FALSE(ok);
    EXPECT_EQ(vmm_fault_last_unresolved()->result, VMM_FAULT_OOM);
    EXPECT_EQ(vmm_counters_get().oom - oom, 1);
    EXPECT_EQ(after.pte, before.pte);
    EXPECT_EQ(after.free, before.free);
    EXPECT_EQ(after.regions, before.regions);
    EXPECT_EQ(after.objs, before.objs);
    EXPECT_TRUE(how == 'w' ? probe_write64(va, 3, NULL) : probe_read64(va, NULL, NULL));
}

TEST(region, out_of_memory_in_each_resolution_changes_nothing)
{
    const unsigned RW = REGION_R | REGION_W;
    /* Anonymous private: a write to an untouched page (no table yet). */
    uintptr_t a = map_anon(kspace, 0, 4, RW, 0);
    ASSERT_NE(a, 0);
    oom_case(a, 'w', "zero fill, page tables needed");
    /* ... to an untouched page whose table exists; a CoW write on the zero frame. */
    oom_case(a + PAGE_SIZE, 'w', "zero fill");
    EXPECT_TRUE(probe_read64(a + 2 * PAGE_SIZE, NULL, NULL));
    oom_case(a + 2 * PAGE_SIZE, 'w', "CoW zero fill");
    /* Shared anonymous: the object's new page. */
    uintptr_t sh = map_anon(kspace, 0, 2, RW, REGION_SHARED);
    ASSERT_NE(sh, 0);
    EXPECT_TRUE(probe_read64(sh + PAGE_SIZE, NULL, NULL)); /* the table exists now */
    oom_case(sh, 'r', "shared object page");
    /* Paged: the pager's frame. */
    struct vmobj *o = vmobj_create_module(rodata_pa(), 2 * PAGE_SIZE, "rodata");
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t p = map_obj(kspace, o, 0, 2, RW, 0);
    ASSERT_NE(p, 0);
    EXPECT_TRUE(probe_read64(p + PAGE_SIZE, NULL, NULL));
    oom_case(p, 'r', "page-in");
    /* A CoW copy of a read-mapped object page. */
    uint64_t cached = o->cached;
    oom_case(p + PAGE_SIZE, 'w', "CoW copy of an object page");
    EXPECT_EQ(o->cached, cached);
    /* A first write through another private region to a page the object
     * holds: its own copy at once. */
    uintptr_t p2 = map_obj(kspace, o, 0, 2, RW, 0);
    ASSERT_NE(p2, 0);
    EXPECT_TRUE(probe_read64(p2, NULL, NULL)); /* the table exists now */
    oom_case(p2 + PAGE_SIZE, 'w', "private copy of a cached object page");
    EXPECT_EQ(o->cached, cached);
    EXPECT_EQ(region_unmap(kspace, p2, 2 * PAGE_SIZE), VMM_OK);
    /* A physical object's frame where a page table must be made first. */
    struct vmobj *ph = vmobj_create_phys(rodata_pa(), 1, "rodata frame");
    ASSERT_NE((uintptr_t)ph, 0);
    struct region_req far = { .addr = KERNEL_ARENA_BASE + 0x60000000ull, .len = PAGE_SIZE,
                              .prot = REGION_R, .flags = REGION_FIXED, .obj = ph };
    ASSERT_EQ(region_map(kspace, &far, NULL), VMM_OK);
    vmobj_put(ph);
    oom_case(far.addr, 'r', "physical frame, page tables needed");
    EXPECT_EQ(region_unmap(kspace, far.addr, PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, p, 2 * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
    EXPECT_EQ(region_unmap(kspace, sh, 2 * PAGE_SIZE), VMM_OK);
    EXPECT_EQ(region_unmap(kspace, a, 4 * PAGE_SIZE), VMM_OK);
}

/* Every free object of kmem cache @name taken, so its next allocation needs
 * a frame; the cache is returned for kmem_give_back. */
static void *kheld[1024];
static unsigned nkheld;

static struct kmem_cache *kmem_take_all(const char *name)
{
    struct kmem_cache *c = kmem_caches();
    while (c && strcmp(c->name, name) != 0)
        c = c->next_cache;
    while (c && c->partial && nkheld < sizeof(kheld) / sizeof(kheld[0]))
        kheld[nkheld++] = kmem_alloc(c);
    return c && !c->partial ? c : NULL;
}

static void kmem_give_back(struct kmem_cache *c)
{
    while (nkheld)
        kmem_free(c, kheld[--nkheld]);
}

TEST(region, unmap_and_protect_out_of_memory_change_nothing)
{
    enum { N = 8 };
    uintptr_t va = map_anon(kspace, 0, N, REGION_R | REGION_W, 0);
    ASSERT_NE(va, 0);
    for (int i = 0; i < N; i++)
        *vt_q(va + i * PAGE_SIZE) = 0x100 + i;
    uint64_t pte[N];
    for (int i = 0; i < N; i++)
        pte[i] = snap_of(va + i * PAGE_SIZE).pte;
    struct snap before = snap_of(va);
    struct kmem_cache *c = kmem_take_all("region");
    ASSERT_NE((uintptr_t)c, 0);
    pmm_fail_all(true);
    /* A hole in the middle, protecting the middle or one end: each needs a
     * new region, none can have one. */
    enum vmm_status hole = region_unmap(kspace, va + 3 * PAGE_SIZE, 2 * PAGE_SIZE);
    enum vmm_status mid = region_protect(kspace, va + 3 * PAGE_SIZE, 2 * PAGE_SIZE, REGION_R);
    enum vmm_status low = region_protect(kspace, va, PAGE_SIZE, REGION_R);
    /* Whole regions need none. */
    enum vmm_status whole = region_protect(kspace, va, N * PAGE_SIZE, REGION_R);
    pmm_fail_all(false);
    kmem_give_back(c);
    EXPECT_EQ(hole, VMM_ERR_NOMEM);
    EXPECT_EQ(mid, VMM_ERR_NOMEM);
    EXPECT_EQ(low, VMM_ERR_NOMEM);
    EXPECT_EQ(whole, VMM_OK);
    struct snap after = snap_of(va);
    EXPECT_EQ(after.regions, before.regions);
    EXPECT_EQ(after.free, before.free);
    EXPECT_TRUE(region_is(va + 4 * PAGE_SIZE, va, va + N * PAGE_SIZE, REGION_R, 0));
    for (int i = 0; i < N; i++) {
        /* The same frame in every entry; only the write right went. */
        EXPECT_EQ(snap_of(va + i * PAGE_SIZE).pte, pte[i] & ~(uint64_t)PTE_W);
        EXPECT_EQ(*vt_q(va + i * PAGE_SIZE), 0x100 + i);
    }
    EXPECT_EQ(region_unmap(kspace, va, N * PAGE_SIZE), VMM_OK);
}

/* ---- kernel memory in regions ---------------------------------------------- */

TEST(region, kernel_stack_is_populated_with_a_guard_region_below)
{
    uintptr_t top;
    uint64_t frames = vt_free_frames();
    uint8_t *bottom = kstack_alloc(4, &top);
    ASSERT_NE((uintptr_t)bottom, 0);
    EXPECT_EQ(top, (uintptr_t)bottom + 4 * PAGE_SIZE);
    EXPECT_GE(frames - vt_free_frames(), 4);
    uint64_t f0 = faults();
    for (uintptr_t p = (uintptr_t)bottom; p < top; p += PAGE_SIZE)
        *vt_q(p) = p;
    EXPECT_EQ(faults(), f0); /* never faults */
    struct region r;
    EXPECT_TRUE(region_lookup(kspace, (uintptr_t)bottom - 1, &r));
    EXPECT_TRUE(r.flags & REGION_GUARD);
    vt_expect_fault((uintptr_t)bottom - 8, 'w', "access to a guard region", PF_ERR_W);
    EXPECT_EQ(kstack_free(bottom), VMM_OK);
    EXPECT_FALSE(region_lookup(kspace, (uintptr_t)bottom - 1, NULL));
    EXPECT_EQ(vt_free_frames(), frames);
}

TEST(region, arena_memory_is_lazy)
{
    uint64_t *p = vmm_arena_alloc(16, "lazy");
    ASSERT_NE((uintptr_t)p, 0);
    uint64_t frames = vt_free_frames();
    EXPECT_EQ(p[0], 0);
    uint64_t after_first = vt_free_frames(); /* a table, perhaps */
    uint64_t acc = 0;
    for (unsigned i = 0; i < 16 * PAGE_SIZE / 8; i += 512)
        acc |= p[i];
    EXPECT_EQ(acc, 0);
    EXPECT_EQ(vt_free_frames(), after_first);
    EXPECT_LE(frames - after_first, 2);
    p[512 * 3] = 1;
    EXPECT_EQ(after_first - vt_free_frames(), 1);
    EXPECT_EQ(vmm_arena_free(p), VMM_OK);
    EXPECT_EQ(vmm_arena_free(p), VMM_ERR_NO_REGION);
}

/* ---- the checker catches what it must ----------------------------------------- */

TEST(region, consistency_checker_reports_the_first_mismatch)
{
    char why[160];
    ASSERT_TRUE(vmm_check_consistency(why, sizeof(why)));
    uintptr_t va = map_anon(kspace, 0, 1, REGION_R | REGION_W, 0);
    ASSERT_NE(va, 0);
    *vt_q(va) = 1;
    paddr_t pa = vt_frame(kspace, va);
    /* A reference nobody holds. */
    ASSERT_EQ(pmm_ref_inc(pa), PMM_OK);
    EXPECT_FALSE(vmm_check_consistency(why, sizeof(why)));
    kprintf("# checker: %s\n", why);
    EXPECT_NE((uintptr_t)strstr(why, "allocator count 2, but 1 mappings"), 0);
    pmm_ref_dec(pa, NULL);
    /* A writable entry in a read-only region. */
    EXPECT_EQ(region_protect(kspace, va, PAGE_SIZE, REGION_R), VMM_OK);
    struct vmm_walk w;
    vmm_walk(kspace, va, 1, &w);
    *w.entry |= PTE_W;
    EXPECT_FALSE(vmm_check_consistency(why, sizeof(why)));
    kprintf("# checker: %s\n", why);
    EXPECT_NE((uintptr_t)strstr(why, "allows more than its region"), 0);
    *w.entry &= ~PTE_W;
    invlpg(va);
    bool ok = vmm_check_consistency(why, sizeof(why));
    EXPECT_TRUE(ok);
    if (!ok)
        kprintf("# checker: %s\n", why);
    EXPECT_EQ(region_unmap(kspace, va, PAGE_SIZE), VMM_OK);
}

/* ---- a real module: the paged object against the module's own frames ---- */

TEST(region, paged_region_over_a_module_is_the_module_byte_for_byte)
{
    /* The smallest module of three pages or more, and at most 16 MiB: the
     * whole of it is paged in (make test boots such modules). */
    const struct boot_module *m = NULL;
    unsigned idx = 0;
    for (unsigned i = 0; i < boot_module_count(); i++) {
        const struct boot_module *c = boot_module_get(i);
        uint64_t size = c->end - c->start;
        if (size >= 3 * PAGE_SIZE && size <= (16ull << 20) && (!m || size < m->end - m->start)) {
            m = c;
            idx = i;
        }
    }
    if (!m)
        SKIP("no module of 3 pages to 16 MiB in this boot");
    uint64_t size = m->end - m->start;
    const uint8_t *view = vmm_module_view(idx);
    ASSERT_NE((uintptr_t)view, 0);
    struct vmobj *o = vmobj_create_module(m->start, size, m->name);
    ASSERT_NE((uintptr_t)o, 0);
    uintptr_t va = map_obj(kspace, o, 0, o->npages, REGION_R, 0);
    ASSERT_NE(va, 0);
    /* Only touched pages cost a frame. */
    EXPECT_EQ(*(volatile const uint8_t *)va, view[0]);
    EXPECT_EQ(*(volatile const uint8_t *)(va + PAGE_SIZE), view[PAGE_SIZE]);
    uint64_t frames = vt_free_frames();
    EXPECT_EQ(*(volatile const uint8_t *)(va + 2 * PAGE_SIZE), view[2 * PAGE_SIZE]);
    EXPECT_EQ(frames - vt_free_frames(), 1);
    EXPECT_EQ(o->cached, 3);
    /* Then all of it, byte for byte, zeros after the end. */
    EXPECT_EQ(memcmp((const void *)va, view, size), 0);
    EXPECT_EQ(o->cached, o->npages);
    uint8_t tail = 0;
    for (uint64_t b = size; b < o->npages * PAGE_SIZE; b++)
        tail |= ((const uint8_t *)va)[b];
    EXPECT_EQ(tail, 0);
    kprintf("# module %s: %llu bytes compared through a paged region\n", m->name,
            (unsigned long long)size);
    EXPECT_EQ(region_unmap(kspace, va, o->npages * PAGE_SIZE), VMM_OK);
    vmobj_put(o);
    /* Reading the view made its page tables: drop its pages again (they
     * refault from the module's frames when next read). */
    struct region r;
    ASSERT_TRUE(region_lookup(kspace, (uintptr_t)view, &r));
    EXPECT_EQ(region_discard(kspace, r.start, r.end - r.start), VMM_OK);
}
