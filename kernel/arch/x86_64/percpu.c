/* cpu0's per-CPU area, GS, and the syscall MSRs. */
#include <stddef.h>

#include "arch/x86_64/cpu.h"
#include "gdt.h"
#include "percpu.h"

_Static_assert(offsetof(struct percpu, self) == PERCPU_SELF, "syscall_entry.asm layout");
_Static_assert(offsetof(struct percpu, syscall_rsp) == PERCPU_SYSCALL_RSP, "syscall_entry.asm layout");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "syscall_entry.asm layout");
_Static_assert(offsetof(struct percpu, current) == PERCPU_CURRENT, "syscall_entry.asm layout");

static struct percpu cpu0 = { .self = &cpu0 };

void syscall_entry(void);

#define RFLAGS_TF (1ull << 8)
#define RFLAGS_IF (1ull << 9)
#define RFLAGS_DF (1ull << 10)
#define RFLAGS_NT (1ull << 14)
#define RFLAGS_AC (1ull << 18)

void percpu_init(void)
{
    wrmsr(MSR_GS_BASE, (uintptr_t)&cpu0);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    /* sysret loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8 (RPL 3);
     * syscall loads CS = STAR[47:32], SS = STAR[47:32] + 8. */
    wrmsr(MSR_STAR, ((uint64_t)(GDT_USER_DATA - 8 - 3) << 48) | ((uint64_t)GDT_KERNEL_CODE << 32));
    wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
    /* Interrupts off on entry (the kernel is not preemptible), and none of
     * the user's single-step, direction, nested-task or alignment-check
     * settings.  NT above all: the kernel may switch to a thread that
     * leaves through iretq, and iretq with NT set faults in ring 0 (a user
     * program could panic the kernel; test_entry). */
    wrmsr(MSR_SFMASK, RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /* As on Linux, a user program that sets RFLAGS.AC gets #AC (SIGBUS) on
     * a misaligned access; the kernel (ring 0) is never checked. */
    write_cr0(read_cr0() | CR0_AM);
}

void percpu_set_kernel_stack(uintptr_t top)
{
    this_cpu()->syscall_rsp = top;
    tss_set_rsp0(top);
}
