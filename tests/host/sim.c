/* Host simulation of what the mm code gets from the hardware and the frame
 * allocator: physical memory as a heap buffer, a small refcounting frame
 * allocator with fault injection, temporary mappings as plain pointers, an
 * empty guard-page table and a console that records its output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "kmap.h"
#include "kmem.h"
#include "vmobj.h"
#include "console.h"
#include "mmu_hooks.h"
#include "sim.h"

uint8_t *sim_ram;
struct mm_cpu sim_mm_cpu;
uint64_t sim_ram_size;
uint64_t sim_invlpg_count;
uintptr_t sim_last_invlpg;
uintptr_t sim_invlpg_log[SIM_INVLPG_LOG];
uint64_t sim_table_unlinks;
void (*sim_tlb_invlpg)(uintptr_t va);
bool sim_live_tracking;

static uint32_t *refcount;
static paddr_t *free_stack;
static uint64_t free_top;
static long fail_countdown = -1; /* allocations left before failing; -1: never */

bool boot_is_guard_page(uintptr_t va)
{
    return (va & ~(uintptr_t)(PAGE_SIZE - 1)) == SIM_GUARD_PAGE;
}

void *sim_phys(paddr_t pa)
{
    if (pa >= sim_ram_size) {
        fprintf(stderr, "sim: physical address %#llx outside simulated RAM\n",
                (unsigned long long)pa);
        abort();
    }
    return sim_ram + pa;
}

/* With sim_reuse_ram (the model checker: thousands of machines a second)
 * sim_fini keeps the buffer for the next sim_init of no more frames. */
bool sim_reuse_ram;
uint64_t sim_unmanaged;
static uint8_t *ram_kept;
static uint64_t ram_kept_size;

void sim_init(uint64_t frames)
{
    sim_ram_size = frames * PAGE_SIZE;
    if (ram_kept && ram_kept_size >= sim_ram_size) {
        sim_ram = ram_kept;
        ram_kept = NULL;
    } else {
        free(ram_kept);
        ram_kept = NULL;
        sim_ram = aligned_alloc(PAGE_SIZE, sim_ram_size);
        ram_kept_size = sim_ram_size;
    }
    memset(sim_ram, 0xa5, sim_ram_size); /* garbage: tables must be zeroed */
    refcount = calloc(frames, sizeof(*refcount));
    free_stack = calloc(frames, sizeof(*free_stack));
    free_top = 0;
    /* Frame 0 stays reserved so that physical address 0 is never handed out. */
    for (uint64_t f = frames - 1 - sim_unmanaged; f >= 1; f--)
        free_stack[free_top++] = f * PAGE_SIZE;
    fail_countdown = -1;
    sim_invlpg_count = sim_table_unlinks = 0;
    vmm_zero_frame = 0;
    memset(&vmm_counters, 0, sizeof(vmm_counters));
}

void sim_fini(void)
{
    if (sim_reuse_ram)
        ram_kept = sim_ram;
    else
        free(sim_ram);
    free(refcount);
    free(free_stack);
    sim_ram = NULL;
}

uint64_t sim_free_frames(void)
{
    return free_top;
}

void sim_fail_allocations_after(long n)
{
    fail_countdown = n;
}

enum pmm_status pmm_alloc(paddr_t *out)
{
    if (fail_countdown == 0 || free_top == 0)
        return PMM_ERR_NOMEM;
    if (fail_countdown > 0)
        fail_countdown--;
    paddr_t pa = free_stack[--free_top];
    memset(sim_phys(pa), 0x5a, PAGE_SIZE); /* not zeroed: callers must not assume */
    refcount[pa / PAGE_SIZE] = 1;
    *out = pa;
    return PMM_OK;
}

/* The lowest run of @n free frames aligned to @align frames, taken out of
 * the free stack (2 MiB pages for the ownership tests). */
enum pmm_status pmm_alloc_contig(size_t n, size_t align, paddr_t *out)
{
    uint64_t frames = sim_ram_size / PAGE_SIZE;
    if (fail_countdown == 0 || n == 0 || align == 0)
        return PMM_ERR_NOMEM;
    for (uint64_t base = align; base + n <= frames; base += align) {
        uint64_t i = 0;
        while (i < n && refcount[base + i] == 0)
            i++;
        if (i < n)
            continue;
        uint64_t kept = 0;
        for (uint64_t k = 0; k < free_top; k++) {
            uint64_t f = free_stack[k] / PAGE_SIZE;
            if (f < base || f >= base + n)
                free_stack[kept++] = free_stack[k];
        }
        free_top = kept;
        for (i = 0; i < n; i++)
            refcount[base + i] = 1;
        if (fail_countdown > 0)
            fail_countdown--;
        *out = base * PAGE_SIZE;
        return PMM_OK;
    }
    return PMM_ERR_NOMEM;
}

static enum pmm_status check(paddr_t pa)
{
    if (pa % PAGE_SIZE)
        return PMM_ERR_UNALIGNED;
    if (pa == 0 || pa >= sim_ram_size)
        return PMM_ERR_OUT_OF_RANGE;
    if (refcount[pa / PAGE_SIZE] == 0)
        return PMM_ERR_NOT_ALLOCATED;
    return PMM_OK;
}

enum pmm_status pmm_free(paddr_t pa)
{
    enum pmm_status st = check(pa);
    if (st != PMM_OK)
        return st;
    if (refcount[pa / PAGE_SIZE] != 1)
        return PMM_ERR_REFCOUNT;
    refcount[pa / PAGE_SIZE] = 0;
    free_stack[free_top++] = pa;
    return PMM_OK;
}

enum pmm_status pmm_ref_inc(paddr_t pa)
{
    enum pmm_status st = check(pa);
    if (st == PMM_OK)
        refcount[pa / PAGE_SIZE]++;
    return st;
}

enum pmm_status pmm_ref_dec(paddr_t pa, uint32_t *remaining)
{
    enum pmm_status st = check(pa);
    if (st != PMM_OK)
        return st;
    uint32_t left = --refcount[pa / PAGE_SIZE];
    if (left == 0)
        free_stack[free_top++] = pa;
    if (remaining)
        *remaining = left;
    return PMM_OK;
}

uint32_t pmm_refcount(paddr_t pa)
{
    return pa < sim_ram_size && pa % PAGE_SIZE == 0 ? refcount[pa / PAGE_SIZE] : 0;
}

void pmm_get_stats(struct pmm_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->free = free_top;
}

const char *pmm_status_str(enum pmm_status st)
{
    return st == PMM_OK ? "ok" : "pmm error";
}

void *kmap_arch_set(unsigned slot, paddr_t pa, bool writable)
{
    (void)slot;
    (void)writable;
    return sim_phys(pa);
}

void kmap_arch_clear(unsigned slot, void *va)
{
    (void)slot;
    (void)va;
}

/* The console records what kprintf prints, for report tests. */
char sim_console[16384];
size_t sim_console_len;

void console_putc(char c)
{
    if (sim_console_len + 1 < sizeof(sim_console)) {
        sim_console[sim_console_len++] = c;
        sim_console[sim_console_len] = '\0';
    }
}

bool sim_vmm_up(uint64_t frames, struct vmm_space *s)
{
    sim_init(frames);
    sim_console_len = 0;
    bool ok = vmm_space_create_root(&vmm_kernel_space) == VMM_OK &&
              vmm_zero_frame_init() == VMM_OK &&
              vmm_kernel_slot_reserve(PML4_SLOT_KERNEL_ARENA) == VMM_OK &&
              vmm_space_create(s) == VMM_OK;
    sim_mm_cpu.active_pml4 = s->pml4;
    sim_mm_cpu.walk.space = NULL; /* as vmm_space_activate */ /* the test's space is the live one */
    return ok;
}

bool sim_vmm_down(struct vmm_space *s)
{
    bool clean = kmap_depth() == 0;
    vmm_space_destroy(s);
    vmm_space_destroy(&vmm_kernel_space);
    /* Nothing may survive into the next test: its slabs would point into
     * freed simulated memory. */
    clean = clean && vmobj_live_count() == 0 && kmem_objects_in_use() == 0;
    sim_fini();
    return clean;
}
