/* The frame allocator's own virtual window (PML4[509], 0xfffffe8000000000):
 * chunk c's metadata is mapped at PMM_WINDOW_BASE + c * 2 MiB.  Chunk 0 (the
 * first GiB, often a small machine's only chunk) uses 4 KiB pages through a
 * static page table so that it takes only as many frames as it needs; every
 * other chunk takes one 2 MiB page.  The PDPT and all page directories are
 * static (.bss), so mapping never needs the allocator.  These are the only
 * lines of the allocator that write page-table entries or flush the TLB. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/pmm_window.h"
#include "boot.h"
#include "pmm.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define WINDOW_PDS (PMM_MAX_CHUNKS / 512)
#define PML4_WINDOW_SLOT 509

static uint64_t window_pdpt[512] __attribute__((aligned(4096)));
static uint64_t window_pd[WINDOW_PDS][512] __attribute__((aligned(4096)));
static uint64_t window_pt0[512] __attribute__((aligned(4096)));

static uint64_t kphys(const void *p)
{
    return (uint64_t)(uintptr_t)p - KERNEL_VMA;
}

void pmm_window_install(void)
{
    for (unsigned i = 0; i < WINDOW_PDS; i++)
        window_pdpt[i] = kphys(window_pd[i]) | PTE_P | PTE_W;
    window_pd[0][0] = kphys(window_pt0) | PTE_P | PTE_W;
    boot_pml4[PML4_WINDOW_SLOT] = kphys(window_pdpt) | PTE_P | PTE_W;
}

void pmm_window_geometry(uint32_t chunk, uint64_t need, uint64_t *size, uint64_t *align)
{
    if (chunk == 0) {
        *size = (need + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        *align = PAGE_SIZE;
    } else {
        *size = 2ull << 20;
        *align = 2ull << 20;
    }
}

void *pmm_window_map(uint32_t chunk, paddr_t pa, uint64_t size)
{
    uintptr_t va = PMM_WINDOW_BASE + ((uintptr_t)chunk << 21);
    if (chunk >= PMM_MAX_CHUNKS || size > (2ull << 20))
        return NULL;
    if (chunk == 0) {
        for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
            window_pt0[off >> PAGE_SHIFT] = (pa + off) | PTE_P | PTE_W | PTE_NX;
            invlpg(va + off);
        }
    } else {
        if (pa & ((2ull << 20) - 1))
            return NULL;
        window_pd[chunk / 512][chunk % 512] = pa | PTE_P | PTE_W | PTE_PS | PTE_NX;
        invlpg(va);
    }
    return (void *)va;
}

unsigned pmm_arch_maxphyaddr(void)
{
    uint32_t a, b, c, d;
    cpuid(0x80000000, 0, &a, &b, &c, &d);
    if (a < 0x80000008)
        return 36;
    cpuid(0x80000008, 0, &a, &b, &c, &d);
    return a & 0xff;
}

uint64_t pmm_arch_cycles(void)
{
    return rdtsc();
}
