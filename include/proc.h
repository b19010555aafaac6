/* Processes: a PID, a name, a parent and children, an address space, open
 * files, and (for now) one thread.  The state a user sees (runnable,
 * blocked, stopped, zombie) is the thread's, or zombie once it has exited.
 * Code: kernel/proc/proc.c (life cycle, fork, wait, kill, faults),
 * kernel/proc/exec.c (execve).  Lock point: the process table lock (one
 * CPU: interrupts off) covers the table, parent/child links and states. */
#ifndef ZF_PROC_H
#define ZF_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "sched.h"
#include "vmm.h"

#define PROC_NAME_MAX 32
#define PROC_MAX_FDS 64

/* Linux's signal numbers (default actions only: most terminate; the ones
 * whose default is to be ignored have no effect; stop signals are refused). */
#define SIGINT 2
#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGWINCH 28
#define NSIG 65

/* wait4 status words, as Linux encodes them. */
#define WAIT_EXITED(code) (((code) & 0xff) << 8)
#define WAIT_SIGNALED(sig) ((sig) & 0x7f)

struct file;

struct proc {
    int pid;
    char name[PROC_NAME_MAX];
    struct proc *parent;
    struct proc *children, *sibling;
    struct vmm_space *space;
    struct thread *thread;
    bool zombie;
    bool orphan;              /* its parent exited first: the kernel reaps it */
    int wait_status;          /* once a zombie */
    int kill_signal;          /* pending terminating signal, 0: none */
    char fault[224];          /* the fatal fault that killed it, one line (/proc/PID/status) */
    uint64_t sig_ignored;     /* bit sig-1: SIG_IGN (kept across fork and execve) */
    struct wait_queue child_exit; /* the parent waits here in wait4 */
    uintptr_t brk_start, brk; /* the heap: [brk_start, page_up(brk)) is a region */
    struct vmobj *exe;        /* the program's file (for symbols in reports) */
    uint64_t exe_size;
    struct file *fd[PROC_MAX_FDS];
    struct proc *next_proc;   /* the process table */
};

/* Policy for fatal user faults (kernel command line fault=kill|stop). */
enum fault_policy { FAULT_POLICY_KILL, FAULT_POLICY_STOP };
extern enum fault_policy proc_fault_policy;
/* Test mode: run the VMM consistency checker after every reaped process
 * and count its failures (the run then fails). */
extern bool proc_check_on_reap;
extern unsigned proc_check_runs, proc_check_failures;

/* Boot (kernel/proc/init.c): process 0 and the user-fault policy; then, after the self-tests, the timer and the first program,
 * waited for: its wait status, or -1 when it could not start. */
void proc_boot_init(void);
int proc_run_init(void);

/* Process 0 (the kernel, the boot thread) and the scheduler. */
void proc_init(void);
struct proc *proc_current(void);
struct proc *proc_find(int pid);
/* Every process, for ps and /proc. */
struct proc *proc_first(void);
const char *proc_state_str(const struct proc *p);

/* Start @path (a module's path) as a new child of the current process, with
 * @argv / @envp (NULL-terminated kernel strings).  Its PID, or -errno. */
int proc_spawn(const char *path, const char *const *argv, const char *const *envp);
/* The same with the program's file given as an object of @size bytes. */
struct vmobj;
int proc_spawn_object(const char *path, struct vmobj *file, uint64_t size,
                      const char *const *argv, const char *const *envp);
/* fork of the current process, whose syscall frame is @frame: the child's
 * PID (the child sees 0), or -errno. */
int proc_fork(const struct irq_frame *frame);
/* wait4 for the current process: -ECHILD, -EINTR-free blocking unless
 * @nohang (then 0 when no child has exited). */
int proc_wait(int pid, int *status, bool nohang);
/* The same, leaving the zombie in place with @keep (waitid's WNOWAIT). */
int proc_wait_keep(int pid, int *status, bool nohang, bool keep);
/* Deliver terminating signal @sig to @pid (0: just check it exists); a
 * signal the process ignores is dropped. */
int proc_kill(int pid, int sig);
/* Ctrl-C on the console: SIGINT to every user process but init.  Without
 * process groups every process is in the foreground; a shell ignores SIGINT
 * (and its children restore the default) as on Linux. */
void proc_console_interrupt(void);
/* The current process ends with wait status @status. */
__attribute__((noreturn)) void proc_exit(int status);

/* Replace the image of @p (the current process, or a new one that has not
 * run) with the program at @path: a new address space with the ELF's
 * segments, a stack holding @argv, @envp and the auxiliary vector, and
 * @frame set to enter it.  The old image stays untouched unless it
 * succeeds.  0 or -errno (-ENOENT, -ENOEXEC with a one-line reason on the
 * console, -E2BIG, -ENOMEM). */
int proc_execve_into(struct proc *p, const char *path, const char *const *argv,
                     const char *const *envp, struct irq_frame *frame);

/* proc_execve_into with the file given as an object. */
int proc_exec_object(struct proc *p, const char *path, struct vmobj *file, uint64_t size,
                     const char *const *argv, const char *const *envp, struct irq_frame *frame);

/* Internal to kernel/proc. */
struct vmm_space *proc_space_new(void);
void proc_space_free(struct vmm_space *s);
void proc_set_name(struct proc *p, const char *path);

/* A fatal exception in user mode (@cr2: the address of a #PF):
 * report it and apply the fault policy.  Called by the exception
 * dispatcher; the process never resumes the faulting instruction. */
void proc_user_fault(struct irq_frame *frame, uint64_t cr2);
/* The iretq back to user mode faulted (kernel/irq/entry.asm: a frame
 * with a bad selector): report it and end the process with SIGSEGV.
 * Never returns; @frame is the fault's, its RSP the frame iretq read. */
__attribute__((noreturn)) void proc_bad_user_return(struct irq_frame *frame);
/* The signal an exception in user mode sends, as Linux chooses it. */
int proc_signal_for(unsigned vector);

#endif
