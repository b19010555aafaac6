/* Process life cycle (include/proc.h): the table, fork, exit, wait4, kill,
 * and what happens when user code faults. */
#include "errno.h"
#include "exec.h"
#include "file.h"
#include "fpu.h"
#include "irq.h"
#include "kmem.h"
#include "kprintf.h"
#include "ksym.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "uffd.h"

enum fault_policy proc_fault_policy = FAULT_POLICY_KILL;
bool proc_check_on_reap;
unsigned proc_check_runs, proc_check_failures;

static struct kmem_cache proc_cache;
static struct proc kernel_proc = { .pid = 0, .name = "kernel" };
static struct proc *procs = &kernel_proc;
static int next_pid = 1;

void proc_init(void)
{
    kmem_cache_init(&proc_cache, "proc", sizeof(struct proc));
    kernel_proc.space = &vmm_kernel_space;
    kernel_proc.child_exit.name = "wait4";
    sched_init(&kernel_proc);
}

struct proc *proc_current(void)
{
    return sched_current()->proc;
}

struct proc *proc_first(void)
{
    return procs;
}

struct proc *proc_find(int pid)
{
    for (struct proc *p = procs; p; p = p->next_proc)
        if (p->pid == pid)
            return p;
    return NULL;
}

const char *proc_state_str(const struct proc *p)
{
    if (p->zombie)
        return "zombie";
    switch (p->thread ? p->thread->state : THREAD_DEAD) {
    case THREAD_RUNNABLE: return "runnable";
    case THREAD_BLOCKED: return "blocked";
    case THREAD_STOPPED: return "stopped";
    case THREAD_DEAD: return "dead";
    }
    return "?";
}

/* @name's last path component, truncated to fit. */
void proc_set_name(struct proc *p, const char *path)
{
    const char *base = path;
    for (const char *c = path; *c; c++)
        if (*c == '/' && c[1])
            base = c + 1;
    size_t n = 0;
    while (base[n] && n + 1 < sizeof(p->name))
        n++;
    memcpy(p->name, base, n);
    p->name[n] = '\0';
}

struct vmm_space *proc_space_new(void)
{
    return vmm_space_new();
}

static void reap_orphans(void);

/* A process with an empty address space, linked under the current one. */
static struct proc *proc_alloc(const char *name)
{
    reap_orphans();
    struct proc *p = kmem_alloc(&proc_cache);
    struct vmm_space *s = p ? proc_space_new() : NULL;
    if (!s) {
        if (p)
            kmem_free(&proc_cache, p);
        return NULL;
    }
    p->space = s;
    p->pid = next_pid++;
    proc_set_name(p, name);
    p->child_exit.name = "wait4";
    struct proc *parent = proc_current();
    p->parent = parent;
    p->sibling = parent->children;
    parent->children = p;
    p->next_proc = procs;
    procs = p;
    return p;
}

void proc_space_free(struct vmm_space *s)
{
    uffd_space_gone(s); /* userfaultfds it owned now serve nothing (-ESRCH) */
    if (vmm_space_active() == s)
        vmm_space_activate(&vmm_kernel_space);
    vmm_space_destroy(s); /* frees it: vmm_space_new made it */
}

/* Undo proc_alloc for a process that never ran. */
static void proc_free(struct proc *p)
{
    for (struct proc **pp = &procs; *pp; pp = &(*pp)->next_proc)
        if (*pp == p) {
            *pp = p->next_proc;
            break;
        }
    for (struct proc **pp = &p->parent->children; *pp; pp = &(*pp)->sibling)
        if (*pp == p) {
            *pp = p->sibling;
            break;
        }
    for (int i = 0; i < PROC_MAX_FDS; i++)
        if (p->fd[i])
            file_put(p->fd[i]);
    if (p->space)
        proc_space_free(p->space);
    if (p->exe)
        vmobj_put(p->exe);
    kmem_free(&proc_cache, p);
}

int proc_spawn(const char *path, const char *const *argv, const char *const *envp)
{
    struct vmobj *file;
    uint64_t size;
    if (!modfs_lookup(path, &file, &size))
        return -ENOENT;
    return proc_spawn_object(path, file, size, argv, envp);
}

int proc_spawn_object(const char *path, struct vmobj *file, uint64_t size,
                      const char *const *argv, const char *const *envp)
{
    struct proc *p = proc_alloc(path);
    if (!p)
        return -ENOMEM;
    /* stdin, stdout, stderr: the console. */
    for (int i = 0; i < 3; i++) {
        p->fd[i] = file_console();
        file_get(p->fd[i]);
    }
    struct irq_frame frame = { 0 };
    p->thread = sched_thread_create(p, &frame);
    if (!p->thread) {
        proc_free(p);
        return -ENOMEM;
    }
    int st = proc_exec_object(p, path, file, size, argv, envp, sched_user_frame(p->thread));
    if (st < 0) {
        sched_thread_discard(p->thread);
        p->thread = NULL;
        proc_free(p);
        return st;
    }
    sched_ready(p->thread);
    return p->pid;
}

int proc_fork(const struct irq_frame *frame)
{
    struct proc *parent = proc_current();
    struct proc *child = proc_alloc(parent->name);
    if (!child)
        return -ENOMEM;
    enum vmm_status st = vmm_space_clone(child->space, parent->space);
    struct irq_frame cf = *frame;
    cf.rax = 0; /* the child's fork() returns 0 */
    child->thread = st == VMM_OK ? sched_thread_create(child, &cf) : NULL;
    if (!child->thread) {
        proc_free(child);
        return -ENOMEM;
    }
    child->thread->fs_base = sched_current()->fs_base;
    fpu_save(&child->thread->fpu); /* the parent's registers, as they are now */
    child->sig_ignored = parent->sig_ignored;
    child->brk_start = parent->brk_start;
    child->brk = parent->brk;
    if ((child->exe = parent->exe)) {
        vmobj_get(child->exe);
        child->exe_size = parent->exe_size;
    }
    for (int i = 0; i < PROC_MAX_FDS; i++) {
        child->fd[i] = parent->fd[i];
        if (child->fd[i])
            file_get(child->fd[i]);
    }
    sched_ready(child->thread);
    return child->pid;
}

/* Reap zombie @c of @p: unlink and free it; in test mode, check the VMM's
 * consistency after every process that ends. */
static void reap(struct proc *c)
{
    int pid = c->pid;
    char name[PROC_NAME_MAX];
    memcpy(name, c->name, sizeof(name));
    if (c->thread) {
        sched_thread_discard(c->thread);
        c->thread = NULL;
    }
    c->space = NULL; /* freed at exit */
    proc_free(c);
    char why[160];
    if (!proc_check_on_reap)
        return;
    proc_check_runs++;
    if (!vmm_check_consistency(why, sizeof(why))) {
        kprintf("vmm consistency check after PID %d [%s] failed: %s\n", pid, name, why);
        proc_check_failures++;
    }
}

int proc_wait(int pid, int *status, bool nohang)
{
    return proc_wait_keep(pid, status, nohang, false);
}

int proc_wait_keep(int pid, int *status, bool nohang, bool keep)
{
    struct proc *self = proc_current();
    for (;;) {
        bool any = false;
        for (struct proc *c = self->children; c; c = c->sibling) {
            if (pid > 0 && c->pid != pid)
                continue;
            any = true;
            if (c->zombie) {
                int id = c->pid;
                if (status)
                    *status = c->wait_status;
                if (!keep)
                    reap(c);
                return id;
            }
        }
        if (!any)
            return -ECHILD;
        if (nohang)
            return 0;
        sched_block(&self->child_exit, "wait4");
        if (self->kill_signal)
            return -EINTR;
    }
}

int proc_kill(int pid, int sig)
{
    struct proc *p = proc_find(pid);
    if (!p || p->zombie || p->pid == 0)
        return -ESRCH;
    if (sig < 0 || sig >= NSIG)
        return -EINVAL;
    if (sig == 0)
        return 0;
    if (sig != SIGKILL && (p->sig_ignored & (1ull << (sig - 1))))
        return 0;
    /* Default actions only: ignore is no effect at all (SIGCONT included:
     * a process stopped after a fault cannot go on); job-control stops do
     * not exist here, and terminating instead would be wrong. */
    if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH)
        return 0;
    if (sig >= SIGSTOP && sig <= SIGTTOU) {
        struct proc *self = proc_current();
        kprintf("PID %d [%s] kill(%d, %d): stop signals are not supported: -EINVAL\n", self->pid,
                self->name, pid, sig);
        return -EINVAL;
    }
    if (!p->kill_signal)
        p->kill_signal = sig;
    if (p->thread)
        sched_wake(p->thread); /* from a wait, a sleep or a stop: to die */
    return 0;
}

void proc_console_interrupt(void)
{
    for (struct proc *p = procs; p; p = p->next_proc)
        if (p->pid > 1 && !p->zombie)
            proc_kill(p->pid, SIGINT);
}

/* Orphans that have exited, reaped by the kernel (their parent, process 0,
 * never waits for them).  Not the current process: it still runs on its
 * own kernel stack until it switches away for good. */
static void reap_orphans(void)
{
    struct proc *self = proc_current();
    for (struct proc *c = kernel_proc.children, *next; c; c = next) {
        next = c->sibling;
        if (c->orphan && c->zombie && c != self)
            reap(c);
    }
}

void proc_exit(int status)
{
    struct proc *p = proc_current();
    for (int i = 0; i < PROC_MAX_FDS; i++)
        if (p->fd[i]) {
            file_put(p->fd[i]);
            p->fd[i] = NULL;
        }
    struct vmm_space *s = p->space;
    p->space = NULL;
    proc_space_free(s);
    /* Orphans go to the kernel, which reaps them once they have exited:
     * here (those already zombies, and earlier orphans), and whenever
     * another process exits or is created. */
    while (p->children) {
        struct proc *c = p->children;
        p->children = c->sibling;
        c->parent = &kernel_proc;
        c->orphan = true;
        c->sibling = kernel_proc.children;
        kernel_proc.children = c;
    }
    reap_orphans();
    p->wait_status = status;
    p->zombie = true;
    sched_wake_all(&p->parent->child_exit);
    sched_exit_current();
}

/* ---- faults in user mode ---------------------------------------------- */

int proc_signal_for(unsigned vector)
{
    switch (vector) {
    case IRQ_DE: return SIGFPE;
    case IRQ_MF: return SIGFPE;
    case IRQ_XM: return SIGFPE;
    case IRQ_UD: return SIGILL;
    case IRQ_AC: return SIGBUS;
    case IRQ_SS: return SIGBUS;
    case IRQ_NP: return SIGBUS;
    case IRQ_BP: return SIGTRAP;
    case IRQ_DB: return SIGTRAP;
    default: return SIGSEGV;
    }
}

/* Where the process was, with its program's symbol when it has one, the
 * error code in words, and every register. */
static void print_user_frame(struct proc *p, const struct irq_frame *f)
{
    char sym[64], err[160] = "";
    uint64_t off = 0;
    bool named = p->exe && elf_symbolize(p->exe, p->exe_size, f->rip, sym, sizeof(sym), &off);
    if (named)
        kprintf("  RIP=%016lx %s+0x%lx (in %s)\n", (unsigned long)f->rip, sym, (unsigned long)off,
                p->name);
    else
        kprintf("  RIP=%016lx (no symbol)\n", (unsigned long)f->rip);
    if (f->vector == IRQ_PF)
        irq_pf_error_describe(f->error_code, err, sizeof(err));
    else if (f->vector < IRQ_EXCEPTIONS && irq_vector_has_error_code((unsigned)f->vector))
        irq_selector_error_describe(f->error_code, err, sizeof(err));
    if (err[0])
        kprintf("  error code %#lx: %s\n", (unsigned long)f->error_code, err);
    kprintf("  RSP=%016lx RFLAGS=%016lx\n", (unsigned long)f->rsp, (unsigned long)f->rflags);
    kprintf("  RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", (unsigned long)f->rax,
            (unsigned long)f->rbx, (unsigned long)f->rcx, (unsigned long)f->rdx);
    kprintf("  RSI=%016lx RDI=%016lx RBP=%016lx R8 =%016lx\n", (unsigned long)f->rsi,
            (unsigned long)f->rdi, (unsigned long)f->rbp, (unsigned long)f->r8);
    kprintf("  R9 =%016lx R10=%016lx R11=%016lx R12=%016lx\n", (unsigned long)f->r9,
            (unsigned long)f->r10, (unsigned long)f->r11, (unsigned long)f->r12);
    kprintf("  R13=%016lx R14=%016lx R15=%016lx\n", (unsigned long)f->r13,
            (unsigned long)f->r14, (unsigned long)f->r15);
}

void proc_bad_user_return(struct irq_frame *frame)
{
    struct proc *p = proc_current();
    const uint64_t *to = (const uint64_t *)frame->rsp; /* iretq's RIP, CS, RFLAGS, RSP, SS */
    unsigned v = (unsigned)frame->vector;
    kprintf("PID %d [%s] cannot return to user mode: %s (%s), error code %#lx, on iretq to "
            "RIP=%#lx CS=%#lx RFLAGS=%#lx RSP=%#lx SS=%#lx\n",
            p->pid, p->name, irq_vector_mnemonic(v), irq_vector_name(v),
            (unsigned long)frame->error_code, (unsigned long)to[0], (unsigned long)to[1],
            (unsigned long)to[2], (unsigned long)to[3], (unsigned long)to[4]);
    kprintf("PID %d [%s] killed by signal %d\n", p->pid, p->name, SIGSEGV);
    proc_exit(WAIT_SIGNALED(SIGSEGV));
}

void proc_user_fault(struct irq_frame *frame, uint64_t cr2)
{
    struct proc *p = proc_current();
    unsigned v = (unsigned)frame->vector;
    int sig = proc_signal_for(v);
    if (v == IRQ_PF) {
        const struct vmm_fault *f = vmm_fault_last_unresolved();
        const char *kind = f->error & PF_ERR_I ? "instruction fetch" : f->error & PF_ERR_W ? "data write" : "data read";
        if (f->result == VMM_FAULT_OOM) {
            ksnprintf(p->fault, sizeof(p->fault), "out of memory resolving a %s fault at %#lx",
                      kind, (unsigned long)cr2);
            kprintf("PID %d [%s] %s: killed\n", p->pid, p->name, p->fault);
            sig = SIGKILL;
        } else {
            char why[160];
            ksnprintf(p->fault, sizeof(p->fault), "%s fault at %#lx: %s", kind,
                      (unsigned long)cr2, vmm_fault_reason_text(f, why, sizeof(why)));
            kprintf("PID %d [%s] %s\n", p->pid, p->name, p->fault);
        }
        vmm_fault_report(f);
    } else if (v >= IRQ_EXCEPTIONS) {
        ksnprintf(p->fault, sizeof(p->fault), "cannot return to %#lx: not a canonical user address",
                  (unsigned long)frame->rip);
        kprintf("PID %d [%s] %s\n", p->pid, p->name, p->fault);
    } else {
        ksnprintf(p->fault, sizeof(p->fault), "%s (%s) at %#lx", irq_vector_mnemonic(v),
                  irq_vector_name(v), (unsigned long)frame->rip);
        kprintf("PID %d [%s] %s\n", p->pid, p->name, p->fault);
        if (v == IRQ_GP && frame->error_code == 0)
            irq_print_gp_hint(frame, "  ");
    }
    print_user_frame(p, frame);
    if (proc_fault_policy == FAULT_POLICY_STOP && sig != SIGKILL) {
        kprintf("PID %d [%s] stopped for inspection (fault=stop); kill it to reap it\n", p->pid,
                p->name);
        sched_current()->state = THREAD_STOPPED;
        sched_current()->blocked_why = "stopped after a fault";
        return;
    }
    kprintf("PID %d [%s] killed by signal %d\n", p->pid, p->name, sig);
    p->kill_signal = sig;
}
