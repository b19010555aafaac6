/* x87/SSE state for user mode (include/fpu.h).  Facts: CR0.EM must be 0
 * and CR0.MP 1 for SSE; CR4.OSFXSR (bit 9) enables fxsave/fxrstor and SSE,
 * CR4.OSXMMEXCPT (bit 10) unmasked SIMD exceptions as #XM. */
#include "arch/x86_64/cpu.h"
#include "fpu.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

static struct fpu_state initial;

void fpu_save(struct fpu_state *s)
{
    __asm__ volatile("fxsave64 %0" : "=m"(*s));
}

void fpu_restore(const struct fpu_state *s)
{
    __asm__ volatile("fxrstor64 %0" : : "m"(*s));
}

void fpu_init(void)
{
    uint64_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    uint32_t mxcsr = 0x1f80; /* every SIMD exception masked, round to nearest */
    __asm__ volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
    fpu_save(&initial);
}

const struct fpu_state *fpu_initial(void)
{
    return &initial;
}
