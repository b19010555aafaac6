/* sh: Zeroframe's shell on the serial console.  Runs a program by name
 * (from /bin) with arguments and says how it ended: its exit status, or the
 * signal that killed it and, on Zeroframe, the fault's reason (read from
 * the zombie's /proc/PID/status before reaping it; the kernel's full report
 * comes just before on the console).  Line editing: backspace,
 * Ctrl-U (erase the line), Ctrl-D on an empty line (leave).  Ctrl-C kills
 * the program in the foreground: the console driver sends SIGINT, which the
 * shell itself ignores and its children do not.  Built in: help, exit.
 *
 * The console has no terminal layer on Zeroframe (no echo): the shell
 * echoes what it reads.  On Linux it turns the terminal's own echo and line
 * editing off, so it behaves the same there. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/procfs.h"

#define LINE_MAX_ 256
#define ARGS_MAX 32

static const struct {
    const char *name, *what;
} programs[] = {
    { "ps", "list the processes (/proc/PID/status)" },
    { "maps", "maps PID: a process's regions with sizes, CoW and zero-frame pages" },
    { "meminfo", "memory in use and free (/proc/meminfo)" },
    { "vmstat", "page-fault counters by kind (/proc/vmstat); vmstat PROG ARGS: around one run" },
    { "kill", "kill [-SIG] PID: send a signal (default SIGTERM)" },
    { "lazy", "demo: a large mmap; reads cost nothing, writes cost a frame each" },
    { "cow", "demo: fork and copy-on-write, copies versus reuses" },
    { "faults", "demo: a gallery of fatal faults, each in a child, with the kernel's report" },
    { "filemap", "demo: a program file mapped: paged in on first touch, private copy on write" },
    { "oom", "demo: a process that runs out of memory, and the system that survives" },
    { "spin", "spin [SECONDS]: loop, to try Ctrl-C and kill on" },
    { "hello", "print a greeting and the arguments" },
    { "echoargs", "print each argument on its own line" },
    { "runtests", "runtests PROG...: run programs and report each (make test's runner)" },
    { "zfbench", "user-mode costs: faults, CoW, syscalls, fork" },
    { "test_maps", "test: /proc/self/maps follows mmap, mprotect, munmap, fork" },
    { "test_cowtest", "test: xv6 cowtest (simple, three, file, forkfork)" },
    { "test_cow", "test: Linux selftests mm/cow.c scenarios without huge pages" },
    { "test_cowchain", "test: chained fork, partial munmap of a CoW range" },
    { "test_fork", "test: fork, CoW copy versus reuse, no leak" },
    { "test_mem", "test: lazy memory, permissions, guards" },
    { "test_proc", "test: processes, wait4, kill, pipes" },
    { "test_oom", "test: out of memory kills only the faulting process" },
    { "test_traps", "test: ud2, division by zero, hlt" },
    { "test_efault", "test: bad pointers to system calls give EFAULT" },
    { "test_sysret", "test: a syscall at the top of the user half" },
};

static void say(const char *s)
{
    write(1, s, strlen(s));
}

static int exists(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static void help(void)
{
    printf("Built in: help, exit.  Programs in /bin (Ctrl-C stops the one running):\n");
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/bin/%s", programs[i].name);
        if (exists(path))
            printf("  %-13s %s\n", programs[i].name, programs[i].what);
    }
    fflush(stdout);
}

/* Read one line with echo and editing into @line: its length, or -1 at
 * the end of input. */
static int read_line(char *line)
{
    int len = 0;
    for (;;) {
        char c;
        ssize_t n = read(0, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return len ? len : -1;
        if (c == '\r' || c == '\n') {
            say("\n");
            line[len] = 0;
            return len;
        }
        if (c == 0x7f || c == '\b') {
            if (len) {
                len--;
                say("\b \b");
            }
        } else if (c == 0x15) { /* Ctrl-U */
            while (len) {
                len--;
                say("\b \b");
            }
        } else if (c == 0x04) { /* Ctrl-D */
            if (!len)
                return -1;
        } else if ((unsigned char)c >= ' ' && len < LINE_MAX_ - 1) {
            line[len++] = c;
            write(1, &c, 1);
        }
    }
}

static const char *signame(int sig)
{
    static const char *names[] = { [1] = "SIGHUP",  [2] = "SIGINT",   [3] = "SIGQUIT",
                                   [4] = "SIGILL",  [5] = "SIGTRAP",  [6] = "SIGABRT",
                                   [7] = "SIGBUS",  [8] = "SIGFPE",   [9] = "SIGKILL",
                                   [11] = "SIGSEGV", [13] = "SIGPIPE", [15] = "SIGTERM" };
    return sig > 0 && sig < (int)(sizeof(names) / sizeof(names[0])) && names[sig] ? names[sig]
                                                                                   : "signal";
}

static void run(char **argv)
{
    char path[LINE_MAX_ + 8];
    if (strchr(argv[0], '/'))
        snprintf(path, sizeof(path), "%s", argv[0]);
    else
        snprintf(path, sizeof(path), "/bin/%s", argv[0]);
    if (!exists(path)) {
        printf("sh: %s: no such program (help lists them)\n", argv[0]);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        printf("sh: fork: %s\n", strerror(errno));
        return;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* ignored dispositions survive execve */
        char *envp[] = { "PATH=/bin", "HOME=/", "TERM=dumb", NULL };
        execve(path, argv, envp);
        printf("sh: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    /* Wait without reaping first: a zombie's /proc/PID/status still says
     * why a fatal fault killed it (Zeroframe's ZfFault line). */
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            break;
    char fault[160] = "";
    char spath[64], status[4096];
    snprintf(spath, sizeof(spath), "/proc/%d/status", (int)pid);
    if (proc_slurp(spath, status, sizeof(status)) > 0) {
        const char *f = strstr(status, "\nZfFault:\t");
        if (f)
            snprintf(fault, sizeof(fault), "; %.*s", (int)strcspn(f + 10, "\n"), f + 10);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            printf("sh: wait: %s\n", strerror(errno));
            return;
        }
    if (WIFEXITED(st)) {
        if (WEXITSTATUS(st))
            printf("[%s: exit status %d]\n", argv[0], WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        printf("[%s: killed by %s (%d): %s%s]\n", argv[0], signame(WTERMSIG(st)), WTERMSIG(st),
               strsignal(WTERMSIG(st)), fault);
    }
    fflush(stdout);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGINT, SIG_IGN);
    struct termios saved, raw;
    int tty = tcgetattr(0, &saved) == 0;
    if (tty) {
        raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        tcsetattr(0, TCSANOW, &raw);
    }
    printf("Zeroframe shell.  'help' lists the programs.\n");
    char line[LINE_MAX_];
    for (;;) {
        say("zf$ ");
        int len = read_line(line);
        if (len < 0)
            break;
        char *argv[ARGS_MAX + 1];
        int argc = 0;
        for (char *tok = strtok(line, " \t"); tok && argc < ARGS_MAX; tok = strtok(NULL, " \t"))
            argv[argc++] = tok;
        argv[argc] = NULL;
        if (!argc)
            continue;
        if (strcmp(argv[0], "exit") == 0)
            break;
        if (strcmp(argv[0], "help") == 0)
            help();
        else
            run(argv);
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
    say("\n");
    return 0;
}
