/* Threads and the scheduler: preemptive round robin driven by the PIT
 * (kernel/arch/x86_64/pit.c, 100 Hz on the legacy PIC), wait queues for
 * blocking and waking.  The kernel itself is not preemptible: it runs with
 * interrupts off and gives the CPU up only in schedule(); the timer preempts
 * user mode, on its way back there (user_return_prepare).  When nothing is
 * runnable, schedule() halts with interrupts on until something is.
 *
 * A thread belongs to a process (proc.h); one thread per process for now,
 * but the split is kept so that threads can come later.  Lock point: the
 * run queue and every wait queue are covered by the scheduler lock
 * (implicit on one CPU: interrupts are off wherever they change). */
#ifndef ZF_SCHED_H
#define ZF_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "fpu.h"

struct proc;
struct irq_frame;

enum thread_state {
    THREAD_RUNNABLE,
    THREAD_BLOCKED,
    THREAD_STOPPED, /* by a fatal fault under fault=stop: until killed */
    THREAD_DEAD,
};

struct wait_queue {
    struct thread *head;
    const char *name;
};

struct thread {
    int tid;
    struct proc *proc;
    enum thread_state state;
    uint64_t saved_rsp;           /* while switched out */
    void *kstack;                 /* bottom of the kernel stack (NULL: the boot stack) */
    uintptr_t kstack_top;
    struct thread *next;          /* run queue, wait queue or sleep list */
    struct wait_queue *blocked_on;
    const char *blocked_why;      /* for ps: "wait4", "pipe", "sleep" */
    uint64_t wake_tick;           /* sleeping until this tick (0: not sleeping) */
    uint64_t fs_base;             /* arch_prctl(ARCH_SET_FS) */
    struct thread *next_dead;
    struct fpu_state fpu;         /* x87/SSE registers while switched out */
};

#define KSTACK_PAGES 4
#define SCHED_HZ 100

/* The boot context becomes thread 0 of process 0 (the kernel). */
void sched_init(struct proc *kernel_proc);
struct thread *sched_current(void);
/* A new thread whose first run returns to user mode through @frame (which
 * sched_thread_create copies to the top of its fresh kernel stack).  NULL
 * when out of memory. */
struct thread *sched_thread_create(struct proc *p, const struct irq_frame *frame);
/* Free a thread that will never run again (never started, or reaped). */
void sched_thread_discard(struct thread *t);
/* The frame a user thread returns through (top of its kernel stack). */
struct irq_frame *sched_user_frame(struct thread *t);
/* Make @t runnable (from blocked or new). */
void sched_ready(struct thread *t);
/* Give the CPU to the next runnable thread; the current one goes to the
 * back of the run queue if it is still runnable. */
void schedule(void);
/* Block the current thread on @wq until sched_wake_all(@wq) (or a kill). */
void sched_block(struct wait_queue *wq, const char *why);
void sched_wake_all(struct wait_queue *wq);
/* Wake one thread wherever it is blocked (kill). */
void sched_wake(struct thread *t);
/* Sleep for at least @ticks timer ticks. */
void sched_sleep(uint64_t ticks);
/* The current thread is dead: switch away for good (its stack is freed by
 * the next thread to run). */
__attribute__((noreturn)) void sched_exit_current(void);

/* The timer's tick (pit.c calls it): wakes sleepers, asks for preemption. */
void sched_tick(void);
uint64_t sched_ticks(void);

/* Called on every way back to user mode (syscall_entry.asm, entry.asm):
 * honours kills, stops and preemption, and refuses a non-canonical return
 * address.  May switch threads; returns when @frame may be resumed. */
void user_return_prepare(struct irq_frame *frame);

#endif
