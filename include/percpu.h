/* Per-CPU state, in one place: the current thread, the kernel stack that
 * syscall entry switches to, the scheduler's need-resched flag.  Reached
 * through GS in the kernel (GS_BASE points at this CPU's struct while the
 * kernel runs; swapgs exchanges it with the user's on every user<->kernel
 * transition, and kernel code never runs with the user's GS except in the
 * first instructions of the entry paths, which use no per-CPU data).
 * One CPU today: cpu0.  Kernel only (inline assembly). */
#ifndef ZF_PERCPU_H
#define ZF_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "mm_cpu.h"

struct thread;

struct percpu {
    struct percpu *self;        /* gs:0 */
    uint64_t syscall_rsp;       /* gs:8  kernel stack top for syscall entry */
    uint64_t user_rsp;          /* gs:16 the user's RSP during syscall entry */
    struct thread *current;     /* gs:24 */
    bool need_resched;          /* set by the timer, honoured on the way to user mode */
    unsigned cpu;
    struct mm_cpu mm;           /* temporary mappings, the live space */
};

#define PERCPU_SELF 0
#define PERCPU_SYSCALL_RSP 8
#define PERCPU_USER_RSP 16
#define PERCPU_CURRENT 24

/* Point GS at cpu0 and enable syscall/sysret (kernel/arch/x86_64/percpu.c).
 * First thing at boot: temporary mappings use the per-CPU area. */
void percpu_init(void);

/* Not volatile: gs:0 is the same for as long as code runs on this CPU, so
 * the compiler may reuse one read within a function (kmap_push then
 * kmap_pop reads it once).  With SMP, a thread that sleeps may wake on
 * another CPU: code that sleeps must not keep this pointer across it. */
static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__("mov %%gs:0, %0" : "=r"(p));
    return p;
}
/* The kernel stack a user->kernel transition lands on (TSS.RSP0 and the
 * syscall stack): the top of the current thread's kernel stack. */
void percpu_set_kernel_stack(uintptr_t top);

#endif
