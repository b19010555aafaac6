/* Processes: fork, execve, exit, wait4, kill, getpid and friends, sleeping
 * and yielding. */
#include "errno.h"
#include "irq.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "syscall.h"
#include "uaccess.h"

#define EXEC_STRINGS_MAX (128u << 10)
#define EXEC_VECTOR_MAX 4096u
#define WNOHANG 1

long sys_fork(const struct syscall_args *a)
{
    return proc_fork(a->frame);
}

/* Copy a user string vector into @buf: pointers in @vec (NULL-terminated),
 * strings after them in @buf.  -EFAULT, -E2BIG or the count. */
static long copy_vector(uintptr_t uvec, const char **vec, size_t max, char **strings,
                        char *strings_end)
{
    size_t n = 0;
    for (; uvec; n++) {
        uint64_t p;
        if (n + 1 >= max)
            return -E2BIG;
        if (copy_from_user(&p, uvec + n * 8, 8))
            return -EFAULT;
        if (!p)
            break;
        long len = strncpy_from_user(*strings, p, (size_t)(strings_end - *strings));
        if (len < 0)
            return len == -ENAMETOOLONG ? -E2BIG : len;
        vec[n] = *strings;
        *strings += len + 1;
    }
    vec[n] = NULL;
    return (long)n;
}

long sys_execve(const struct syscall_args *a)
{
    /* One arena buffer: path, both vectors, then the strings. */
    size_t pages = (EXEC_STRINGS_MAX + 2 * EXEC_VECTOR_MAX * 8 + 4096) / PAGE_SIZE;
    char *buf = vmm_arena_alloc(pages, "execve arguments");
    if (!buf)
        return -ENOMEM;
    const char **argv = (const char **)(buf + 4096);
    const char **envp = argv + EXEC_VECTOR_MAX;
    char *strings = (char *)(envp + EXEC_VECTOR_MAX), *end = buf + pages * PAGE_SIZE;
    long st = strncpy_from_user(buf, a->a[0], 4096);
    if (st >= 0)
        st = copy_vector(a->a[1], argv, EXEC_VECTOR_MAX, &strings, end);
    if (st >= 0)
        st = copy_vector(a->a[2], envp, EXEC_VECTOR_MAX, &strings, end);
    if (st >= 0)
        st = proc_execve_into(proc_current(), buf, argv, envp, a->frame);
    vmm_arena_free(buf);
    return st < 0 ? st : 0;
}

long sys_exit(const struct syscall_args *a)
{
    proc_exit(WAIT_EXITED((int)a->a[0]));
}

long sys_exit_group(const struct syscall_args *a)
{
    proc_exit(WAIT_EXITED((int)a->a[0]));
}

/* waitid for exited children only (WEXITED), with WNOHANG and WNOWAIT (a
 * shell reads the zombie's /proc/PID/status before reaping it). */
#define P_ALL 0
#define P_PID 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define SIGCHLD 17
#define CLD_EXITED 1
#define CLD_KILLED 2
long sys_waitid(const struct syscall_args *a)
{
    int idtype = (int)a->a[0], id = (int)a->a[1], options = (int)a->a[3];
    if ((idtype != P_ALL && idtype != P_PID) || (idtype == P_PID && id <= 0) ||
        !(options & WEXITED) || (options & ~(WNOHANG | WEXITED | WNOWAIT)))
        return -EINVAL; /* no process groups, no stopped or continued children */
    int status = 0;
    int got = proc_wait_keep(idtype == P_PID ? id : -1, &status, options & WNOHANG,
                             options & WNOWAIT);
    if (got < 0)
        return got;
    int32_t info[32] = { 0 }; /* siginfo_t: 128 bytes; all zero when none (WNOHANG) */
    if (got > 0) {
        info[0] = SIGCHLD;
        info[2] = (status & 0x7f) ? CLD_KILLED : CLD_EXITED;
        info[4] = got;                                              /* si_pid */
        info[6] = (status & 0x7f) ? (status & 0x7f) : (status >> 8) & 0xff; /* si_status */
    }
    if (a->a[2] && copy_to_user(a->a[2], info, sizeof(info)))
        return -EFAULT;
    return 0;
}

long sys_wait4(const struct syscall_args *a)
{
    int pid = (int)a->a[0], options = (int)a->a[2];
    if (pid == 0 || pid < -1 || (options & ~WNOHANG))
        return -EINVAL; /* no process groups */
    int status = 0;
    int got = proc_wait(pid, &status, options & WNOHANG);
    if (got > 0 && a->a[1] && copy_to_user(a->a[1], &status, sizeof(status)))
        return -EFAULT;
    if (got > 0 && a->a[3]) {
        static const char zero[144]; /* struct rusage: nothing measured */
        if (copy_to_user(a->a[3], zero, sizeof(zero)))
            return -EFAULT;
    }
    return got;
}

long sys_kill(const struct syscall_args *a)
{
    int pid = (int)a->a[0];
    if (pid <= 0)
        return -EINVAL; /* no process groups, no broadcast */
    return proc_kill(pid, (int)a->a[1]);
}

long sys_getpid(const struct syscall_args *a)
{
    (void)a;
    return proc_current()->pid;
}

long sys_gettid(const struct syscall_args *a)
{
    (void)a;
    return proc_current()->pid; /* one thread per process: the TID is the PID */
}

long sys_set_tid_address(const struct syscall_args *a)
{
    (void)a;
    return proc_current()->pid;
}

long sys_getppid(const struct syscall_args *a)
{
    (void)a;
    struct proc *p = proc_current();
    return p->parent ? p->parent->pid : 0;
}

long sys_getuid(const struct syscall_args *a)
{
    (void)a;
    return 0;
}

long sys_sched_yield(const struct syscall_args *a)
{
    (void)a;
    schedule();
    return 0;
}

struct timespec64 {
    int64_t sec, nsec;
};

static long sleep_for(uintptr_t ureq)
{
    struct timespec64 ts;
    if (copy_from_user(&ts, ureq, sizeof(ts)))
        return -EFAULT;
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
        return -EINVAL;
    const uint64_t ns_per_tick = 1000000000ull / SCHED_HZ;
    uint64_t ticks = (uint64_t)ts.sec * SCHED_HZ + ((uint64_t)ts.nsec + ns_per_tick - 1) / ns_per_tick;
    if (ticks)
        sched_sleep(ticks);
    return proc_current()->kill_signal ? -EINTR : 0;
}

long sys_nanosleep(const struct syscall_args *a)
{
    return sleep_for(a->a[0]);
}

long sys_clock_nanosleep(const struct syscall_args *a)
{
    if (a->a[1] != 0)
        return -EINVAL; /* TIMER_ABSTIME: not supported */
    return sleep_for(a->a[2]);
}

long sys_clock_gettime(const struct syscall_args *a)
{
    if (a->a[0] > 7)
        return -EINVAL;
    uint64_t t = sched_ticks();
    struct timespec64 ts = { (int64_t)(t / SCHED_HZ),
                             (int64_t)(t % SCHED_HZ) * (1000000000 / SCHED_HZ) };
    return copy_to_user(a->a[1], &ts, sizeof(ts)) ? -EFAULT : 0;
}

/* Signals: default actions, or ignored (SIG_IGN).  Handlers are accepted
 * and never called (the default action happens instead); masks are
 * accepted and ignored (the terminating signals we deliver cannot be
 * blocked anyway). */
#define SIG_IGN_HANDLER 1
long sys_rt_sigaction(const struct syscall_args *a)
{
    uint64_t sig = a->a[0];
    if (sig == 0 || sig >= NSIG || a->a[3] != 8)
        return -EINVAL;
    struct proc *p = proc_current();
    uint64_t bit = 1ull << (sig - 1);
    uint64_t handler = 0;
    if (a->a[1]) {
        if (sig == SIGKILL || sig == 19 /* SIGSTOP */)
            return -EINVAL;
        if (copy_from_user(&handler, a->a[1], sizeof(handler)))
            return -EFAULT;
    }
    if (a->a[2]) {
        uint64_t old[4] = { (p->sig_ignored & bit) ? SIG_IGN_HANDLER : 0, 0, 0, 0 };
        if (copy_to_user(a->a[2], old, sizeof(old)))
            return -EFAULT;
    }
    if (a->a[1]) {
        if (handler == SIG_IGN_HANDLER)
            p->sig_ignored |= bit;
        else
            p->sig_ignored &= ~bit;
    }
    return 0;
}

long sys_rt_sigprocmask(const struct syscall_args *a)
{
    if (a->a[3] != 8)
        return -EINVAL;
    if (a->a[2]) {
        uint64_t none = 0;
        if (copy_to_user(a->a[2], &none, 8))
            return -EFAULT;
    }
    return 0;
}
