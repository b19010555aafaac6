/* The kernel's entry and exit paths against RFLAGS a user may set: NT
 * (nested task) and AC set before a system call that switches to another
 * process.  That process leaves the kernel through iretq, which faults in
 * ring 0 if the kernel still runs with NT set (the flags the syscall left).
 * A child loops, so it is preempted by the timer and returns through iretq;
 * the parent yields and sleeps with NT and AC set, many times.  And TF
 * set into a syscall, and a syscall made with a non-canonical stack. */
#include <stdint.h>
#include <time.h>

#include "lib/check.h"

#define RFLAGS_NT 0x4000ull
#define RFLAGS_AC 0x40000ull

static long syscall_with_flags(long nr, long a, uint64_t flags)
{
    long r;
    __asm__ volatile("pushfq; orq %[f], (%%rsp); popfq\n\t"
                     "syscall\n\t"
                     "pushfq; andq %[nf], (%%rsp); popfq"
                     : "=a"(r)
                     : "a"(nr), "D"(a), "S"(0L), [f] "r"(flags), [nf] "r"(~flags)
                     : "rcx", "r11", "memory", "cc");
    return r;
}

static void loop_forever(void *a)
{
    (void)a;
    for (volatile unsigned long i = 0;; i++)
        ;
}

/* TF (single-step) set right before syscall: the kernel masks it on entry
 * (no #DB in ring 0); sysret gives it back, and the user's next
 * instruction traps: SIGTRAP. */
static void single_step_into_syscall(void *a)
{
    (void)a;
    __asm__ volatile("pushfq; orq $0x100, (%%rsp); mov $39, %%eax; popfq; syscall"
                     ::: "rax", "rcx", "r11", "memory", "cc");
}

/* A system call made with a non-canonical stack pointer: the kernel never
 * uses the user's stack, sysret gives RSP back as it was, and the first
 * push faults in user mode. */
static void syscall_with_bad_stack(void *a)
{
    (void)a;
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "movabs $0x8000000000000000, %%rsp\n\t"
                     "mov $39, %%eax\n\t"
                     "syscall\n\t"
                     "push %%rax\n\t"
                     "mov %%rbx, %%rsp"
                     ::: "rax", "rbx", "rcx", "r11", "memory");
}

int main(void)
{
    check_begin("test_entry");
    int tst = in_child(single_step_into_syscall, NULL);
    CHECK(killed_by(tst, SIGTRAP), "TF set into a syscall: the child ends by SIGTRAP in user mode (status %#x)", tst);
    tst = in_child(syscall_with_bad_stack, NULL);
    /* Which exception the push raises is the CPU's choice: #SS (SIGBUS) on
     * Intel, #GP (SIGSEGV) on AMD and under QEMU. */
    CHECK(killed_by(tst, SIGBUS) || killed_by(tst, SIGSEGV),
          "a syscall with a non-canonical RSP returns; the push after it kills the child (status %#x)", tst);
    pid_t spinner = fork();
    if (spinner == 0)
        loop_forever(NULL);
    struct timespec nap = { 0, 2 * 1000 * 1000 };
    int ok = 1;
    for (int i = 0; i < 50; i++) {
        ok &= syscall_with_flags(24 /* sched_yield */, 0, RFLAGS_NT | RFLAGS_AC) == 0;
        ok &= syscall_with_flags(35 /* nanosleep */, (long)&nap, RFLAGS_NT) == 0;
    }
    CHECK(ok, "sched_yield and nanosleep with NT and AC set: 0 each time");
    uint64_t fl;
    __asm__ volatile("pushfq; pop %0" : "=r"(fl));
    CHECK(!(fl & (RFLAGS_NT | RFLAGS_AC)), "the flags are clear again");
    CHECK(kill(spinner, SIGKILL) == 0, "kill the looping child");
    int st;
    CHECK(waitpid(spinner, &st, 0) == spinner && killed_by(st, SIGKILL), "it ends by SIGKILL");
    return check_end();
}
