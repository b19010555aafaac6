/* The user's x87/SSE state.  The kernel itself never touches it (it is
 * built with -mgeneral-regs-only), so the state only moves when the CPU
 * switches between threads: saved with fxsave into the outgoing thread,
 * restored with fxrstor from the incoming one (kernel/arch/x86_64/fpu.c). */
#ifndef ZF_FPU_H
#define ZF_FPU_H

#include <stdint.h>

struct fpu_state {
    uint8_t area[512];
} __attribute__((aligned(16)));

/* Enable SSE for user mode (CR0.MP, CR4.OSFXSR, CR4.OSXMMEXCPT) and take
 * the clean state new programs start from. */
void fpu_init(void);
void fpu_save(struct fpu_state *s);
void fpu_restore(const struct fpu_state *s);
/* The state a fresh program starts with (x87 reset, MXCSR 0x1f80). */
const struct fpu_state *fpu_initial(void);

#endif
