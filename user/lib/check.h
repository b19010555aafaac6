/* The user test programs' tiny shared helpers: checks that print what they
 * checked, a child runner that reports how the child ended, and the kernel's
 * counters when the kernel has them.  Header-only: every program is one
 * static musl executable that runs on Zeroframe and on Linux alike. */
#ifndef ZF_USER_CHECK_H
#define ZF_USER_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_failures, check_count;
static const char *check_prog = "test";

/* Every check prints one line: "ok: what" or "FAIL: what (detail)". */
#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        check_count++;                                                                      \
        if (cond) {                                                                         \
            printf("%s: ok: ", check_prog);                                                 \
        } else {                                                                            \
            check_failures++;                                                               \
            printf("%s: FAIL (%s:%d): ", check_prog, __FILE__, __LINE__);                   \
        }                                                                                   \
        printf(__VA_ARGS__);                                                                \
        printf("\n");                                                                       \
        fflush(stdout);                                                                     \
    } while (0)

static inline void check_begin(const char *name)
{
    check_prog = name;
    setvbuf(stdout, NULL, _IONBF, 0); /* lines in order with the children's */
}

static inline int check_end(void)
{
    printf("%s: %d checks, %d failed\n", check_prog, check_count, check_failures);
    return check_failures ? 1 : 0;
}

static inline int on_zeroframe(void)
{
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.sysname, "Zeroframe") == 0;
}

/* Run @fn in a child; its wait status. */
static inline int in_child(void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    int st = -1;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return st;
}

static inline int killed_by(int status, int sig)
{
    return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* A counter from /proc/vmstat (-1 when absent: not Zeroframe's name, or no
 * such file). */
static inline long long vmstat(const char *name)
{
    char buf[4096];
    int fd = open("/proc/vmstat", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    size_t len = strlen(name);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return atoll(line + len + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

/* A process's state letter from /proc/PID/status (Linux's letters: R
 * running, S sleeping, T stopped, Z zombie), or 0 when there is none. */
static inline char proc_state(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *s = strstr(buf, "\nState:\t");
    return s ? s[8] : 0;
}

#endif
