/* Processes: exit statuses through wait4, getpid/getppid, execve of another
 * program with argv and envp (read back through a pipe), execve refusals
 * (every kind of bad ELF file), the states /proc/PID/status shows
 * (sleeping, running, zombie), orphans reaped, loopers sharing the CPU round
 * robin, and a child that loops forever, preempted and killed by its parent. */
#include <sys/mman.h>
#include <time.h>

#include "lib/check.h"

static void exit_with(void *arg)
{
    _exit((int)(long)arg);
}

static void loop_forever(void *arg)
{
    (void)arg;
    for (volatile unsigned long i = 0;; i++)
        ;
}

int main(void)
{
    check_begin("test_proc");
    int st = in_child(exit_with, (void *)3L);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "a child's exit(3) reaches wait4 (status %#x)", st);
    st = in_child(exit_with, (void *)0L);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit(0) too");

    pid_t me = getpid();
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        char ppid_ok = getppid() == me ? 'y' : 'n';
        write(fds[1], &ppid_ok, 1);
        _exit(0);
    }
    char c = 0;
    read(fds[0], &c, 1);
    waitpid(pid, NULL, 0);
    CHECK(c == 'y', "the child's getppid() is the parent's getpid()");

    /* execve with argv and envp, stdout through the pipe. */
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        char *args[] = { "/bin/echoargs", "one", "two words", NULL };
        char *env[] = { "ZF_TEST=yes", "EMPTY=", NULL };
        execve(args[0], args, env);
        _exit(126);
    }
    close(fds[1]);
    char out[512] = { 0 };
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
        got += (size_t)n;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "execve'd program exits 0");
    CHECK(strstr(out, "argc=3\n") && strstr(out, "argv[0]=/bin/echoargs\n") &&
              strstr(out, "argv[2]=two words\n"),
          "argv arrives intact");
    CHECK(strstr(out, "env=ZF_TEST=yes\n") && strstr(out, "env=EMPTY=\n"), "envp arrives intact");
    close(fds[0]);

    char *none[] = { "/bin/does-not-exist", NULL };
    CHECK(execve(none[0], none, none + 1) == -1 && errno == ENOENT, "execve of a missing file: ENOENT");
    /* Bad files (made by tests/make-bad-elf.py): each refused with
     * ENOEXEC, and this process's image stays (the checks go on). */
    static const struct { const char *path, *what; } bad_elf[] = {
        { "/bin/badelf", "a truncated ELF" },
        { "/bin/badelf-class32", "a 32-bit ELF" },
        { "/bin/badelf-arm64", "an AArch64 ELF" },
        { "/bin/badelf-overlap", "overlapping segments" },
        { "/bin/badelf-kernel-half", "a segment in the kernel half" },
        { "/bin/badelf-huge", "a 16 TiB segment" },
    };
    for (size_t i = 0; i < sizeof(bad_elf) / sizeof(bad_elf[0]); i++) {
        if (!on_zeroframe() && access(bad_elf[i].path, F_OK) != 0)
            continue;
        char *bad[] = { (char *)bad_elf[i].path, NULL };
        errno = 0;
        int r = execve(bad[0], bad, bad + 1);
        /* Linux loads overlapping segments and says ENOMEM/EINVAL to some
         * others: ENOEXEC for each is Zeroframe's promise. */
        CHECK(r == -1 && (errno == ENOEXEC || !on_zeroframe()), "execve of %s: ENOEXEC (errno %d)",
              bad_elf[i].what, errno);
    }
    CHECK(syscall(59 /* execve */, 16, none, none + 1) == -1 && errno == EFAULT,
          "execve of a bad path pointer: EFAULT");

    /* States: a child blocked reading an empty pipe sleeps; once it has
     * exited and until it is reaped, it is a zombie. */
    CHECK(pipe(fds) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        char b;
        _exit(read(fds[0], &b, 1) == 1 ? 0 : 1);
    }
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    char state = proc_state(pid);
    CHECK(state == 'S', "a child blocked in read() is sleeping (state %c)", state ? state : '?');
    write(fds[1], "x", 1);
    nanosleep(&ts, NULL);
    state = proc_state(pid);
    CHECK(state == 'Z', "once it has exited and until reaped it is a zombie (state %c)", state ? state : '?');
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "then it is reaped");
    CHECK(proc_state(pid) == 0, "and gone from /proc");
    close(fds[0]);
    close(fds[1]);

    /* Orphans: a grandchild that is already a zombie when its parent exits,
     * and one that exits after its parent.  Zeroframe's kernel reaps both
     * (Linux gives them to init, which here may not reap: checked on
     * Zeroframe only), and nothing of them stays behind. */
    long long objects = vmstat("zf_kmem_objects");
    pid_t orphans[2];
    int go[2];
    CHECK(pipe(fds) == 0 && pipe(go) == 0, "pipes");
    pid = fork();
    if (pid == 0) {
        pid_t early = fork();
        if (early == 0)
            _exit(0);                      /* a zombie until its parent exits */
        pid_t late = fork();
        if (late == 0) {
            char b;
            read(go[0], &b, 1);            /* exits once its parent is gone */
            _exit(0);
        }
        pid_t both[2] = { early, late };
        write(fds[1], both, sizeof(both));
        nanosleep(&ts, NULL);
        _exit(0);
    }
    CHECK(read(fds[0], orphans, sizeof(orphans)) == sizeof(orphans), "the grandchildren's PIDs");
    CHECK(waitpid(pid, &st, 0) == pid, "their parent exits and is reaped");
    write(go[1], "x", 1);                  /* now the late one may exit */
    nanosleep(&ts, NULL);
    close(fds[0]);
    close(fds[1]);
    close(go[0]);
    close(go[1]);
    in_child(exit_with, 0);                /* another exit and reap after the orphans' */
    if (on_zeroframe()) {
        CHECK(proc_state(orphans[0]) == 0, "the orphan that was a zombie is reaped (PID %d)", (int)orphans[0]);
        CHECK(proc_state(orphans[1]) == 0, "the orphan that exited later is reaped (PID %d)", (int)orphans[1]);
        CHECK(vmstat("zf_kmem_objects") == objects, "nothing of them stays: kernel objects %lld -> %lld",
              objects, vmstat("zf_kmem_objects"));
    }

    /* Round robin: two children that never yield both get the CPU (each
     * counts in shared memory), and so does the parent, which then kills
     * both. */
    volatile unsigned long *counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t spin[2];
    for (int i = 0; i < 2; i++) {
        spin[i] = fork();
        if (spin[i] == 0)
            for (;;)
                counts[i]++;
    }
    struct timespec longer = { 0, 200 * 1000 * 1000 };
    nanosleep(&longer, NULL);
    unsigned long c0 = counts[0], c1 = counts[1];
    CHECK(c0 > 0 && c1 > 0, "two looping children both ran (%lu and %lu increments)", c0, c1);
    nanosleep(&longer, NULL);
    CHECK(counts[0] > c0 && counts[1] > c1, "and both go on running");
    int killed = 0;
    for (int i = 0; i < 2; i++) {
        kill(spin[i], SIGKILL);
        killed += waitpid(spin[i], &st, 0) == spin[i] && killed_by(st, SIGKILL);
    }
    CHECK(killed == 2, "both killed by SIGKILL");

    /* A child that never yields: the parent still runs, then kills it. */
    pid = fork();
    if (pid == 0)
        loop_forever(NULL);
    nanosleep(&ts, NULL);
    state = proc_state(pid);
    CHECK(state == 'R', "the looping child is runnable (state %c)", state ? state : '?');
    CHECK(kill(pid, SIGKILL) == 0, "kill the looping child");
    CHECK(waitpid(pid, &st, 0) == pid && killed_by(st, SIGKILL), "it ends by SIGKILL (status %#x)", st);
    CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD, "no children left: ECHILD");
    return check_end();
}
