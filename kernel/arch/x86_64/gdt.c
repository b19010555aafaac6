/* The kernel GDT and TSS.  boot.asm's GDT has no TSS, and without a TSS
 * there are no IST stacks: a kernel stack overflow would then fault again
 * while pushing the #PF frame, again for #DF, and reset the machine. */
#include "arch/x86_64/cpu.h"
#include "gdt.h"

struct __attribute__((packed)) tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

static struct tss tss __attribute__((aligned(16)));

/* 5 code/data descriptors, then the 16-byte TSS descriptor. */
static uint64_t gdt[7] __attribute__((aligned(16))) = {
    0,
    0x00209a0000000000, /* 0x08: kernel code, 64-bit (L), present, DPL 0 */
    0x0000920000000000, /* 0x10: kernel data, present, writable */
    0x0000f20000000000, /* 0x18: user data, DPL 3 */
    0x0020fa0000000000, /* 0x20: user code, 64-bit, DPL 3 */
    0,                  /* 0x28: TSS, filled in by gdt_init */
    0,
};

static uint64_t tss_descriptor_low(uintptr_t base, uint32_t limit)
{
    return (limit & 0xffffull) | ((base & 0xffffffull) << 16) |
           (0x89ull << 40) /* present, DPL 0, type 9: available 64-bit TSS */ |
           ((uint64_t)(limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xffull) << 56;
}

bool tss_ist_bounds(unsigned ist, uintptr_t *bottom, uintptr_t *top)
{
    switch (ist) {
    case TSS_IST_DF:
        *bottom = (uintptr_t)ist_df_bottom, *top = (uintptr_t)ist_df_top;
        return true;
    case TSS_IST_NMI:
        *bottom = (uintptr_t)ist_nmi_bottom, *top = (uintptr_t)ist_nmi_top;
        return true;
    case TSS_IST_MC:
        *bottom = (uintptr_t)ist_mc_bottom, *top = (uintptr_t)ist_mc_top;
        return true;
    }
    return false;
}

void tss_set_rsp0(uintptr_t top)
{
    tss.rsp[0] = top;
}

unsigned tss_ist_containing(uintptr_t addr)
{
    for (unsigned i = 1; i <= TSS_IST_COUNT; i++) {
        uintptr_t lo, hi;
        if (tss_ist_bounds(i, &lo, &hi) && addr >= lo && addr < hi)
            return i;
    }
    return 0;
}

void gdt_init(void)
{
    for (unsigned i = 1; i <= TSS_IST_COUNT; i++) {
        uintptr_t lo, hi;
        tss_ist_bounds(i, &lo, &hi);
        tss.ist[i - 1] = hi;
    }
    /* No I/O permission bitmap: a base beyond the limit denies all ports
     * to user mode. */
    tss.iomap_base = sizeof(tss);

    uintptr_t base = (uintptr_t)&tss;
    gdt[GDT_TSS / 8] = tss_descriptor_low(base, sizeof(tss) - 1);
    gdt[GDT_TSS / 8 + 1] = base >> 32;

    struct cpu_dtr d = { sizeof(gdt) - 1, (uintptr_t)gdt };
    cpu_lgdt(&d);
    /* CS and the data segments keep their selectors (and boot.asm's
     * descriptors were identical), so the cached segments stay valid. */
    cpu_ltr(GDT_TSS);
}
