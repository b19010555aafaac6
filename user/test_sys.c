/* The system calls not exercised elsewhere, with Linux's semantics: open and
 * openat, fstat of a file, the console and a pipe, lseek, writev, pipe2,
 * dup2, close, ioctl(TIOCGWINSZ), mmap hinted and shared over a file,
 * clock_gettime, nanosleep, sched_yield, arch_prctl(ARCH_SET_FS),
 * set_tid_address, rt_sigaction, rt_sigprocmask, kill (SIGTERM), exit and
 * exit_group, read() into lazy and PROT_NONE memory, the auxiliary vector,
 * uname; and a number
 * the kernel does not implement, which answers ENOSYS (and names itself on
 * Zeroframe's console). */
#include <stdint.h>
#include <elf.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "lib/check.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

/* Raw system calls: between two ARCH_SET_FS calls musl's own thread
 * pointer (errno included) is not there to use. */
static long raw2(long nr, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

static uint64_t fs_word0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(v));
    return v;
}

static void pause_briefly(void)
{
    struct timespec t = { 0, 1000 * 1000 };
    nanosleep(&t, NULL);
}

static long long ns_of(const struct timespec *t)
{
    return t->tv_sec * 1000000000ll + t->tv_nsec;
}

int main(void)
{
    check_begin("test_sys");
    int zf = on_zeroframe();

    /* open (musl's open() is SYS_open) and openat, on the same file. */
    int a = open("/bin/echoargs", O_RDONLY);
    int b = (int)syscall(SYS_openat, AT_FDCWD, "/bin/echoargs", O_RDONLY);
    CHECK(a >= 0 && b >= 0 && a != b, "open and openat of /bin/echoargs (fds %d, %d)", a, b);
    struct stat st;
    CHECK(fstat(a, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 4096, "fstat: a regular file of %lld bytes",
          (long long)st.st_size);
    CHECK(lseek(a, 0, SEEK_END) == st.st_size, "lseek(SEEK_END) is its size");
    CHECK(lseek(a, 1, SEEK_SET) == 1, "lseek(SEEK_SET)");
    char elf[4] = { 0 };
    CHECK(read(a, elf, 3) == 3 && memcmp(elf, "ELF", 3) == 0, "reading from there gives \"ELF\"");
    CHECK(lseek(a, -1, SEEK_SET) == -1 && errno == EINVAL, "lseek before the start: EINVAL");
    CHECK(close(b) == 0, "close");
    CHECK(close(b) == -1 && errno == EBADF, "close of a closed fd: EBADF");
    CHECK(open("/bin/no-such-program", O_RDONLY) == -1 && errno == ENOENT, "open of a missing file: ENOENT");
    if (zf)
        CHECK(open("/bin/echoargs", O_WRONLY) == -1 && errno == EROFS, "open for writing: EROFS (the modules are read-only)");

    /* fstat of the console and of a pipe; ioctl(TIOCGWINSZ). */
    struct stat cs;
    CHECK(fstat(1, &cs) == 0, "fstat of stdout");
    if (zf)
        CHECK(S_ISCHR(cs.st_mode), "stdout is a character device");
    struct winsize ws;
    int r = ioctl(1, TIOCGWINSZ, &ws);
    /* Zeroframe's console has no terminal layer; on Linux stdout may be one. */
    CHECK(zf ? r == -1 && errno == ENOTTY : r == 0 || errno == ENOTTY, "ioctl(TIOCGWINSZ) on stdout: %s",
          zf ? "ENOTTY" : "a size or ENOTTY");
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2(O_CLOEXEC)");
    CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "fstat of a pipe: a FIFO");
    CHECK(lseek(p[0], 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek on a pipe: ESPIPE");
    CHECK(ioctl(p[0], TIOCGWINSZ, &ws) == -1 && errno == ENOTTY, "ioctl(TIOCGWINSZ) on a pipe: ENOTTY");
    CHECK(pipe2(p, 12345) == -1 && errno == EINVAL, "pipe2 with unknown flags: EINVAL");

    /* writev gathers; dup2 makes another name for the same pipe. */
    struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
    CHECK(writev(p[1], iov, 3) == 5, "writev of 2+0+3 bytes: 5");
    CHECK(dup2(p[1], 20) == 20, "dup2 to fd 20");
    CHECK(write(20, "f", 1) == 1, "a write through the copy");
    char got[8] = { 0 };
    CHECK(read(p[0], got, sizeof(got)) == 6 && memcmp(got, "abcdef", 6) == 0, "the pipe holds \"abcdef\" (%s)",
          got);
    CHECK(dup2(20, 20) == 20, "dup2 of an fd onto itself");
    CHECK(dup2(99, 21) == -1 && errno == EBADF, "dup2 of a closed fd: EBADF");

    /* mmap: a hint that is free is taken; MAP_SHARED over a file reads its bytes. */
    void *hint = (void *)0x300000000000ull;
    char *h = mmap(hint, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h == hint, "mmap with a free hint maps there (%p)", (void *)h);
    char *h2 = mmap(hint, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h2 != MAP_FAILED && (h2 < h || h2 >= h + 8192), "a taken hint: elsewhere, the mapping there intact");
    char *fm = mmap(NULL, 4096, PROT_READ, MAP_SHARED, a, 0);
    CHECK(fm != MAP_FAILED && memcmp(fm, "\177ELF", 4) == 0, "a MAP_SHARED read-only file mapping shows the file");
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0) == MAP_FAILED && errno == EACCES,
          "a writable MAP_SHARED mapping of a read-only fd: EACCES");
    close(a);

    /* Time: the monotonic clock never goes back; nanosleep returns 0. */
    struct timespec t0, t1, t2;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0, "clock_gettime(CLOCK_MONOTONIC)");
    struct timespec nap = { 0, 30 * 1000 * 1000 };
    CHECK(nanosleep(&nap, NULL) == 0, "nanosleep 30 ms");
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t1) == 0 && ns_of(&t1) >= ns_of(&t0) + 30 * 1000 * 1000,
          "the monotonic clock moved on by at least the sleep");
    CHECK(sched_yield() == 0, "sched_yield");
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t2) == 0 && ns_of(&t2) >= ns_of(&t1), "and never goes back");
    nap.tv_nsec = 1000000000;
    CHECK(nanosleep(&nap, NULL) == -1 && errno == EINVAL, "nanosleep with 10^9 ns: EINVAL");

    /* The thread pointer: musl set FS to its thread block, whose first word
     * points at itself; ARCH_SET_FS moves it, and back. */
    uint64_t self = fs_word0();
    uint64_t block[2] = { 0x5a5a5a5a12345678ull, 0 };
    long set = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)block);
    uint64_t seen = fs_word0();
    long back = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)self);
    CHECK(set == 0 && seen == block[0] && back == 0 && fs_word0() == self,
          "arch_prctl(ARCH_SET_FS) moves %%fs (read %#llx)", (unsigned long long)seen);
    uint64_t fs = 0;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0 && fs == self, "ARCH_GET_FS gives it back");
    CHECK(syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000ull) == -1 && errno == EPERM,
          "ARCH_SET_FS to the kernel half: EPERM");
    int tid_word;
    CHECK(syscall(SYS_set_tid_address, &tid_word) == getpid(), "set_tid_address returns the TID (the PID)");

    /* Signals: default actions only, but the calls answer. */
    struct sigaction old;
    CHECK(sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_DFL, "rt_sigaction: SIGTERM's action is SIG_DFL");
    sigset_t set_now;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &set_now) == 0, "rt_sigprocmask answers");
    CHECK(syscall(SYS_rt_sigaction, SIGTERM, NULL, &old, 4) == -1 && errno == EINVAL,
          "rt_sigaction with a wrong sigset size: EINVAL");
    CHECK(kill(getpid(), 0) == 0, "kill(self, 0): the process exists");
    CHECK(kill(1 << 22, SIGTERM) == -1 && errno == ESRCH, "kill of no such process: ESRCH");

    /* Terminating signals by kill, and exit (one thread) against exit_group. */
    int wst = 0;
    pid_t c = fork();
    if (c == 0) {
        for (;;)
            pause_briefly();
    }
    /* Signals whose default action is to be ignored change nothing. */
    CHECK(kill(c, SIGCHLD) == 0 && kill(c, SIGURG) == 0 && kill(c, SIGWINCH) == 0,
          "kill(child, SIGCHLD / SIGURG / SIGWINCH)");
    pause_briefly();
    CHECK(waitpid(c, &wst, WNOHANG) == 0, "the child ignores them: still running");
    if (zf)
        CHECK(kill(c, SIGSTOP) == -1 && errno == EINVAL, "kill(child, SIGSTOP): EINVAL (no job control)");
    CHECK(kill(c, SIGTERM) == 0, "kill(child, SIGTERM)");
    CHECK(waitpid(c, &wst, 0) == c && killed_by(wst, SIGTERM), "it ends by SIGTERM (status %#x)", wst);
    c = fork();
    if (c == 0)
        syscall(SYS_exit, 5);
    CHECK(waitpid(c, &wst, 0) == c && WIFEXITED(wst) && WEXITSTATUS(wst) == 5, "exit(5) of the only thread: status 5");
    c = fork();
    if (c == 0)
        syscall(SYS_exit_group, 6);
    CHECK(waitpid(c, &wst, 0) == c && WIFEXITED(wst) && WEXITSTATUS(wst) == 6, "exit_group(6): status 6");

    /* read() into anonymous memory never touched: the kernel's copy takes
     * the lazy fault; PROT_NONE memory is refused (EFAULT) and kills on touch. */
    char *lazy = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    write(p[1], "lazy", 4);
    CHECK(read(p[0], lazy + 4096 - 2, 4) == 4 && memcmp(lazy + 4096 - 2, "lazy", 4) == 0,
          "read() into untouched anonymous memory, across a page boundary");
    char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(none != MAP_FAILED, "mmap PROT_NONE");
    write(p[1], "x", 1);
    CHECK(read(p[0], none, 1) == -1 && errno == EFAULT, "read() into PROT_NONE memory: EFAULT");
    read(p[0], got, 1);
    c = fork();
    if (c == 0)
        _exit(*(volatile char *)none);
    CHECK(waitpid(c, &wst, 0) == c && killed_by(wst, SIGSEGV), "a read of PROT_NONE memory: SIGSEGV");

    /* The auxiliary vector execve laid out, as musl reads it. */
    extern char _start[];
    CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ is 4096");
    CHECK(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is _start (%#lx)", getauxval(AT_ENTRY));
    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM), loads = 0;
    for (unsigned long i = 0; ph && i < phnum; i++)
        loads += ph[i].p_type == PT_LOAD;
    CHECK(ph && phnum > 0 && getauxval(AT_PHENT) == sizeof(Elf64_Phdr) && loads > 0,
          "AT_PHDR points at %lu program headers, %lu of them PT_LOAD", phnum, loads);
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; rnd && i < 16; i++)
        nonzero |= rnd[i];
    CHECK(rnd && nonzero, "AT_RANDOM points at 16 bytes, not all zero");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn && strstr(execfn, "test_sys"), "AT_EXECFN names the program (%s)", execfn ? execfn : "none");

    struct utsname u;
    CHECK(uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0, "uname: %s on %s", u.sysname, u.machine);

    /* A number no kernel implements, and on Zeroframe a known call it lacks. */
    CHECK(syscall(1000) == -1 && errno == ENOSYS, "system call 1000: ENOSYS");
    if (zf)
        CHECK(syscall(SYS_mremap, 0, 0, 0, 0) == -1 && errno == ENOSYS, "mremap (not implemented): ENOSYS");
    return check_end();
}
