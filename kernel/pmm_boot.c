/* Bringing up the frame allocator from the multiboot2 information, and the
 * kernel's panicking wrappers around the allocator's API. */
#include "arch/x86_64/pmm_window.h"
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "kmap.h"
#include "kprintf.h"
#include "ksym.h"
#include "kstring.h"
#include "multiboot2.h"
#include "panic.h"
#include "pmm.h"

#ifndef ZF_DEBUG
#define ZF_DEBUG 1
#endif

static struct mb2_boot mb;
static struct range reserved_r[MB2_MAX_RANGES];
static struct range_set reserved;

const struct range_set *pmm_boot_usable(void)
{
    return &mb.usable;
}

const struct range_set *pmm_boot_reserved(void)
{
    return &reserved;
}

/* Debug poisoning of freed frames through a temporary mapping: no frame the
 * allocator hands out has a permanent kernel mapping. */
static void poison_frame(paddr_t pa)
{
    void *p = kmap_push(pa, true, NULL);
    if (!p)
        return;
    memset(p, PMM_POISON_BYTE, PAGE_SIZE);
    kmap_pop(p);
}

/* Reserve every frame [a, b) touches.  When the set is full, merging what
 * touches (modules lie back to back) usually makes room. */
static void reserve(uint64_t a, uint64_t b)
{
    a &= ~(uint64_t)(PAGE_SIZE - 1);
    b = (b + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (reserved.n == reserved.cap)
        range_normalize(&reserved);
    if (!range_add(&reserved, a, b))
        panic("pmm: too many reserved ranges (more than %zu after merging)", reserved.cap);
}

/* Below this much usable RAM the boot stops with one line instead of failing
 * self-tests.  Measured (README: Minimum memory): under SeaBIOS the smallest
 * machine whose self-tests all pass is -m 8320K, which leaves 7804 KiB
 * usable; the binding need is the self-tests' 2 MiB-aligned contiguous run
 * (pmm.contiguous_with_alignment, vmm.huge_page_translate_and_map). */
#define PMM_MIN_USABLE_KIB 7804

static void check_minimum_memory(void)
{
    uint64_t usable = 0;
    for (size_t i = 0; i < mb.usable.n; i++)
        usable += mb.usable.r[i].end - mb.usable.r[i].start;
    if (usable >= (uint64_t)PMM_MIN_USABLE_KIB << 10)
        return;
    kprintf("Zeroframe: too little memory: %llu KiB of usable RAM found, %u KiB needed; "
            "halting.\n",
            (unsigned long long)(usable >> 10), PMM_MIN_USABLE_KIB);
    cpu_halt_forever();
}

void pmm_init(void)
{
    struct mb2_view view;
    unsigned phys_bits = pmm_arch_maxphyaddr();
    uint64_t max_phys = 1ull << phys_bits;

    if (!boot_info.mbi || mb2_view_init(&view, boot_info.mbi, boot_info.mbi_size) != MB2_OK)
        panic("pmm: no usable multiboot2 information: cannot find memory");
    mb2_parse(&mb, &view, max_phys);
    /* Trimming a usable entry to whole pages is routine (SeaBIOS ends low
     * memory at 0x9fc00): not worth a warning. */
    for (uint32_t bit = 1; bit; bit <<= 1) {
        if ((mb.warnings & bit) && bit != MB2_W_MMAP_UNALIGNED)
            kprintf("pmm: warning: multiboot2: %s\n", mb2_warning_str(bit));
    }
    check_minimum_memory();

    range_set_init(&reserved, reserved_r, MB2_MAX_RANGES);
    /* Real-mode IVT, BIOS data, EBDA, ROMs (the first MiB), then the kernel
     * image (loaded at 1 MiB, .bss included). */
    reserve(0, (uint64_t)(uintptr_t)kernel_phys_end);
    reserve(boot_info.mbi_phys, boot_info.mbi_phys + view.size);
    for (size_t i = 0; i < mb.module_mem.n; i++)
        reserve(mb.module_mem.r[i].start, mb.module_mem.r[i].end);
    for (size_t i = 0; i < mb.elf.n; i++) {
        uint64_t a = mb.elf.r[i].start, b = mb.elf.r[i].end;
        if (a >= KERNEL_VMA) { /* link address of a loaded section */
            a -= KERNEL_VMA;
            b -= KERNEL_VMA;
        }
        reserve(a, b);
    }
    range_normalize(&reserved);
    if (mb.usable.n && mb.usable.r[mb.usable.n - 1].end > PMM_MAX_PHYS)
        kprintf("pmm: warning: RAM above %llu TiB ignored\n",
                (unsigned long long)(PMM_MAX_PHYS >> 40));

    pmm_window_install();
    static const struct pmm_platform plat = {
        .meta_geometry = pmm_window_geometry,
        .map_meta = pmm_window_map,
    };
    enum pmm_status st = pmm_setup(&plat, &mb.usable, &reserved);
    if (st != PMM_OK)
        panic("pmm: set-up failed: %s", pmm_status_str(st));
    if (ZF_DEBUG)
        pmm_set_poison_writer(poison_frame);

    /* Bring up the lowest chunk now (every boot needs it): later chunks
     * come up lazily. */
    paddr_t first;
    if (pmm_alloc(&first) != PMM_OK)
        panic("pmm: no usable memory");
    pmm_free(first);
    struct pmm_stats s;
    pmm_get_stats(&s);
    kprintf("pmm: %llu MiB usable in %zu ranges (MAXPHYADDR %u), %u chunks of 1 GiB, "
            "%llu frames free, %llu reserved\n",
            (unsigned long long)(s.total >> 8), mb.usable.n, phys_bits, pmm_chunk_count(),
            (unsigned long long)s.free, (unsigned long long)s.reserved);
    kprintf("pmm: init done at tsc=%llu\n", (unsigned long long)pmm_arch_cycles());
}

__attribute__((noreturn)) static void pmm_misuse(const char *what, paddr_t pa, uintptr_t caller,
                                                 enum pmm_status st)
{
    const char *name;
    uintptr_t off;
    if (ksym_lookup(caller, &name, &off))
        panic("pmm: %s(%#llx) called from %s+%#lx: %s", what, (unsigned long long)pa, name,
              (unsigned long)off, pmm_status_str(st));
    panic("pmm: %s(%#llx) called from %p: %s", what, (unsigned long long)pa, (void *)caller,
          pmm_status_str(st));
}

#define CALLER() ((uintptr_t)__builtin_return_address(0) - 1)

__attribute__((noinline)) paddr_t pmm_kalloc(void)
{
    paddr_t pa = 0;
    enum pmm_status st = pmm_alloc(&pa);
    if (st != PMM_OK)
        pmm_misuse("pmm_alloc", 0, CALLER(), st);
    return pa;
}

__attribute__((noinline)) void pmm_kfree(paddr_t pa)
{
    enum pmm_status st = pmm_free(pa);
    if (st != PMM_OK)
        pmm_misuse("pmm_free", pa, CALLER(), st);
}

__attribute__((noinline)) void pmm_kref_inc(paddr_t pa)
{
    enum pmm_status st = pmm_ref_inc(pa);
    if (st != PMM_OK)
        pmm_misuse("pmm_ref_inc", pa, CALLER(), st);
}

__attribute__((noinline)) uint32_t pmm_kref_dec(paddr_t pa)
{
    uint32_t left = 0;
    enum pmm_status st = pmm_ref_dec(pa, &left);
    if (st != PMM_OK)
        pmm_misuse("pmm_ref_dec", pa, CALLER(), st);
    return left;
}
