/* System calls with Linux x86-64 numbers, argument conventions and errors
 * (negative errno), so static musl programs run unchanged.  The dispatcher
 * (kernel/sys/syscall.c) gets the frame syscall_entry.asm built; each
 * family lives in its own file (sys_proc.c, sys_mem.c, sys_file.c,
 * sys_info.c).  A number with no handler returns -ENOSYS and prints one line
 * naming the call. */
#ifndef ZF_SYSCALL_H
#define ZF_SYSCALL_H

#include <stdint.h>

struct irq_frame;

struct syscall_args {
    uint64_t a[6];            /* rdi, rsi, rdx, r10, r8, r9 */
    struct irq_frame *frame;  /* fork copies it, execve rewrites it */
};

typedef long (*syscall_fn)(const struct syscall_args *args);

void syscall_dispatch(struct irq_frame *frame);
/* The Linux name of syscall @nr, or NULL. */
const char *syscall_name(uint64_t nr);

#define SYSCALL_DECL(name) long sys_##name(const struct syscall_args *args)
SYSCALL_DECL(read); SYSCALL_DECL(write); SYSCALL_DECL(open); SYSCALL_DECL(close);
SYSCALL_DECL(fstat); SYSCALL_DECL(lseek); SYSCALL_DECL(mmap); SYSCALL_DECL(mprotect);
SYSCALL_DECL(munmap); SYSCALL_DECL(brk); SYSCALL_DECL(rt_sigaction);
SYSCALL_DECL(rt_sigprocmask); SYSCALL_DECL(ioctl); SYSCALL_DECL(readv); SYSCALL_DECL(writev);
SYSCALL_DECL(pipe); SYSCALL_DECL(sched_yield); SYSCALL_DECL(madvise); SYSCALL_DECL(dup);
SYSCALL_DECL(dup2); SYSCALL_DECL(nanosleep); SYSCALL_DECL(getpid); SYSCALL_DECL(fork);
SYSCALL_DECL(execve); SYSCALL_DECL(exit); SYSCALL_DECL(wait4); SYSCALL_DECL(kill);
SYSCALL_DECL(uname); SYSCALL_DECL(fcntl); SYSCALL_DECL(getcwd); SYSCALL_DECL(getppid);
SYSCALL_DECL(getuid); SYSCALL_DECL(arch_prctl); SYSCALL_DECL(gettid);
SYSCALL_DECL(set_tid_address); SYSCALL_DECL(clock_gettime); SYSCALL_DECL(clock_nanosleep);
SYSCALL_DECL(exit_group); SYSCALL_DECL(openat); SYSCALL_DECL(dup3); SYSCALL_DECL(pipe2);
SYSCALL_DECL(getrandom); SYSCALL_DECL(getdents64); SYSCALL_DECL(waitid);
SYSCALL_DECL(poll); SYSCALL_DECL(ppoll); SYSCALL_DECL(userfaultfd);

#endif
