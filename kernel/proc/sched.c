/* The scheduler (include/sched.h): a FIFO run queue, wait queues, a sleep
 * list, and the switch between kernel stacks. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "kmem.h"
#include "kstring.h"
#include "percpu.h"
#include "proc.h"
#include "region.h"
#include "sched.h"

void switch_context(uint64_t *save_rsp, uint64_t next_rsp);
void thread_start_user(void);

static struct kmem_cache thread_cache;
static struct thread boot_thread;
static struct thread *run_head, *run_tail;
static struct thread *sleepers;
static struct thread *dead;        /* exited threads whose stacks are still to free */
static uint64_t ticks;
static int next_tid = 1;

void sched_init(struct proc *kernel_proc)
{
    fpu_init();
    boot_thread.proc = kernel_proc;
    boot_thread.state = THREAD_RUNNABLE;
    kernel_proc->thread = &boot_thread;
    this_cpu()->current = &boot_thread;
    kmem_cache_init(&thread_cache, "thread", sizeof(struct thread));
}

struct thread *sched_current(void)
{
    return this_cpu()->current;
}

struct irq_frame *sched_user_frame(struct thread *t)
{
    return (struct irq_frame *)(t->kstack_top - sizeof(struct irq_frame));
}

struct thread *sched_thread_create(struct proc *p, const struct irq_frame *frame)
{
    struct thread *t = kmem_alloc(&thread_cache);
    if (!t)
        return NULL;
    t->kstack = kstack_alloc(KSTACK_PAGES, &t->kstack_top);
    if (!t->kstack) {
        kmem_free(&thread_cache, t);
        return NULL;
    }
    t->tid = next_tid++;
    t->proc = p;
    t->fpu = *fpu_initial();
    t->state = THREAD_BLOCKED; /* until sched_ready */
    struct irq_frame *f = sched_user_frame(t);
    *f = *frame;
    /* switch_context pops six callee-saved registers, then returns into
     * thread_start_user with RSP at the frame. */
    uint64_t *sp = (uint64_t *)f;
    *--sp = (uint64_t)(uintptr_t)thread_start_user;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    t->saved_rsp = (uint64_t)(uintptr_t)sp;
    return t;
}

void sched_thread_discard(struct thread *t)
{
    for (struct thread **pp = &dead; *pp; pp = &(*pp)->next_dead)
        if (*pp == t) {
            *pp = t->next_dead;
            break;
        }
    if (t->kstack)
        kstack_free(t->kstack);
    kmem_free(&thread_cache, t);
}

static void runq_push(struct thread *t)
{
    t->next = NULL;
    if (run_tail)
        run_tail->next = t;
    else
        run_head = t;
    run_tail = t;
}

static struct thread *runq_pop(void)
{
    struct thread *t = run_head;
    if (t) {
        run_head = t->next;
        if (!run_head)
            run_tail = NULL;
        t->next = NULL;
    }
    return t;
}

void sched_ready(struct thread *t)
{
    t->state = THREAD_RUNNABLE;
    t->blocked_on = NULL;
    t->blocked_why = NULL;
    runq_push(t);
}

/* Stacks of threads that are gone; never the one we are running on. */
static void reap_dead(void)
{
    struct thread *keep = NULL;
    while (dead) {
        struct thread *t = dead;
        dead = t->next_dead;
        if (t == sched_current()) {
            t->next_dead = keep;
            keep = t;
            continue;
        }
        kstack_free(t->kstack);
        t->kstack = NULL;
    }
    dead = keep;
}

static void switch_to(struct thread *next)
{
    struct thread *prev = sched_current();
    if (next == prev)
        return;
    this_cpu()->current = next;
    if (next->kstack_top)
        percpu_set_kernel_stack(next->kstack_top);
    struct vmm_space *space = next->proc->space;
    if (space && space != vmm_space_active())
        vmm_space_activate(space);
    wrmsr(MSR_FS_BASE, next->fs_base);
    fpu_save(&prev->fpu);
    fpu_restore(&next->fpu);
    switch_context(&prev->saved_rsp, next->saved_rsp);
    /* Back on prev's stack, some time later. */
    reap_dead();
}

void schedule(void)
{
    struct thread *cur = sched_current();
    for (;;) {
        struct thread *next = runq_pop();
        if (next) {
            if (cur->state == THREAD_RUNNABLE && next != cur)
                runq_push(cur);
            switch_to(next);
            return;
        }
        if (cur->state == THREAD_RUNNABLE)
            return; /* nobody else wants the CPU */
        /* Nothing runnable: wait for an interrupt to change that. */
        cpu_sti();
        cpu_hlt();
        cpu_cli();
    }
}

void sched_block(struct wait_queue *wq, const char *why)
{
    struct thread *t = sched_current();
    t->state = THREAD_BLOCKED;
    t->blocked_on = wq;
    t->blocked_why = why;
    t->next = wq->head;
    wq->head = t;
    schedule();
}

static void wq_remove(struct wait_queue *wq, struct thread *t)
{
    for (struct thread **pp = &wq->head; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            t->next = NULL;
            return;
        }
    }
}

static void sleepers_remove(struct thread *t)
{
    for (struct thread **pp = &sleepers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            t->next = NULL;
            return;
        }
    }
}

void sched_wake_all(struct wait_queue *wq)
{
    while (wq->head) {
        struct thread *t = wq->head;
        wq->head = t->next;
        sched_ready(t);
    }
}

void sched_wake(struct thread *t)
{
    if (t->state != THREAD_BLOCKED && t->state != THREAD_STOPPED)
        return;
    if (t->blocked_on)
        wq_remove(t->blocked_on, t);
    if (t->wake_tick) {
        sleepers_remove(t);
        t->wake_tick = 0;
    }
    sched_ready(t);
}

void sched_sleep(uint64_t n)
{
    struct thread *t = sched_current();
    t->wake_tick = ticks + (n ? n : 1);
    t->state = THREAD_BLOCKED;
    t->blocked_why = "sleep";
    t->next = sleepers;
    sleepers = t;
    schedule();
}

void sched_tick(void)
{
    ticks++;
    for (struct thread **pp = &sleepers; *pp;) {
        struct thread *t = *pp;
        if (t->wake_tick <= ticks) {
            *pp = t->next;
            t->wake_tick = 0;
            sched_ready(t);
        } else {
            pp = &t->next;
        }
    }
    this_cpu()->need_resched = true;
}

uint64_t sched_ticks(void)
{
    return ticks;
}

void sched_exit_current(void)
{
    struct thread *t = sched_current();
    t->state = THREAD_DEAD;
    t->next_dead = dead;
    dead = t;
    schedule();
    __builtin_unreachable(); /* nothing makes a dead thread runnable */
}

void user_return_prepare(struct irq_frame *frame)
{
    struct thread *t = sched_current();
    for (;;) {
        struct proc *p = t->proc;
        if (p->kill_signal)
            proc_exit(WAIT_SIGNALED(p->kill_signal));
        if (t->state == THREAD_STOPPED) {
            schedule(); /* off the run queue until a kill wakes it */
            continue;
        }
        if (this_cpu()->need_resched) {
            this_cpu()->need_resched = false;
            schedule();
            continue;
        }
        if (!va_is_canonical(frame->rip) || frame->rip >= REGION_USER_END) {
            /* sysret would fault in ring 0 on such an address (Intel);
             * iretq would fault too: the process cannot go on. */
            proc_user_fault(frame, 0);
            continue;
        }
        return;
    }
}
