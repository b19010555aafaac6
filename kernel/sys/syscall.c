/* The system-call table and dispatcher (include/syscall.h). */
#include "errno.h"
#include "irq.h"
#include "kprintf.h"
#include "proc.h"
#include "syscall.h"

static const struct {
    const char *name;
    syscall_fn fn;
} table[] = {
    [0] = { "read", sys_read },
    [1] = { "write", sys_write },
    [2] = { "open", sys_open },
    [3] = { "close", sys_close },
    [4] = { "stat", 0 },
    [5] = { "fstat", sys_fstat },
    [6] = { "lstat", 0 },
    [7] = { "poll", sys_poll },
    [8] = { "lseek", sys_lseek },
    [9] = { "mmap", sys_mmap },
    [10] = { "mprotect", sys_mprotect },
    [11] = { "munmap", sys_munmap },
    [12] = { "brk", sys_brk },
    [13] = { "rt_sigaction", sys_rt_sigaction },
    [14] = { "rt_sigprocmask", sys_rt_sigprocmask },
    [15] = { "rt_sigreturn", 0 },
    [16] = { "ioctl", sys_ioctl },
    [17] = { "pread64", 0 },
    [18] = { "pwrite64", 0 },
    [19] = { "readv", sys_readv },
    [20] = { "writev", sys_writev },
    [21] = { "access", 0 },
    [22] = { "pipe", sys_pipe },
    [23] = { "select", 0 },
    [24] = { "sched_yield", sys_sched_yield },
    [25] = { "mremap", 0 },
    [28] = { "madvise", sys_madvise },
    [32] = { "dup", sys_dup },
    [33] = { "dup2", sys_dup2 },
    [34] = { "pause", 0 },
    [35] = { "nanosleep", sys_nanosleep },
    [39] = { "getpid", sys_getpid },
    [56] = { "clone", 0 },
    [57] = { "fork", sys_fork },
    [58] = { "vfork", 0 },
    [59] = { "execve", sys_execve },
    [60] = { "exit", sys_exit },
    [61] = { "wait4", sys_wait4 },
    [62] = { "kill", sys_kill },
    [63] = { "uname", sys_uname },
    [72] = { "fcntl", sys_fcntl },
    [79] = { "getcwd", sys_getcwd },
    [102] = { "getuid", sys_getuid },
    [104] = { "getgid", sys_getuid },
    [107] = { "geteuid", sys_getuid },
    [108] = { "getegid", sys_getuid },
    [110] = { "getppid", sys_getppid },
    [158] = { "arch_prctl", sys_arch_prctl },
    [186] = { "gettid", sys_gettid },
    [217] = { "getdents64", sys_getdents64 },
    [218] = { "set_tid_address", sys_set_tid_address },
    [228] = { "clock_gettime", sys_clock_gettime },
    [230] = { "clock_nanosleep", sys_clock_nanosleep },
    [231] = { "exit_group", sys_exit_group },
    [247] = { "waitid", sys_waitid },
    [257] = { "openat", sys_openat },
    [292] = { "dup3", sys_dup3 },
    [293] = { "pipe2", sys_pipe2 },
    [271] = { "ppoll", sys_ppoll },
    [302] = { "prlimit64", 0 },
    [318] = { "getrandom", sys_getrandom },
    [323] = { "userfaultfd", sys_userfaultfd },
    [334] = { "rseq", 0 },
};

#define NSYSCALLS (sizeof(table) / sizeof(table[0]))

const char *syscall_name(uint64_t nr)
{
    return nr < NSYSCALLS ? table[nr].name : NULL;
}

void syscall_dispatch(struct irq_frame *f)
{
    uint64_t nr = f->rax;
    struct syscall_args args = { { f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9 }, f };
    syscall_fn fn = nr < NSYSCALLS ? table[nr].fn : 0;
    if (!fn) {
        struct proc *p = proc_current();
        const char *name = syscall_name(nr);
        kprintf("PID %d [%s] system call %llu (%s) is not implemented: -ENOSYS\n", p->pid,
                p->name, (unsigned long long)nr, name ? name : "unknown");
        f->rax = (uint64_t)-ENOSYS;
        return;
    }
    f->rax = (uint64_t)fn(&args);
}
