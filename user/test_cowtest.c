/* The scenarios of xv6's cowtest, written anew for a Linux-ABI kernel:
 *   simple    more than half of free memory, forked (impossible without
 *             copy-on-write), both sides write (the child a part: all of it
 *             on both sides would need more than all memory), contents
 *             checked; twice, and the free memory comes back each time.
 *   three     a process, its child and its grandchild all write the same
 *             pages, each keeps its own contents; the copies are freed.
 *   file      read() into a CoW page breaks the sharing (the kernel's copy
 *             into user memory), the other processes keep their value.
 *   forkfork  rounds of nested forks racing on the reference counts.
 * Exact leak checks on Zeroframe (free + cached frames); on Linux, whose
 * free memory moves on its own, within a slack. */
#include <stdint.h>
#include <sys/mman.h>

#include "lib/check.h"
#include "lib/procfs.h"

#define PG 4096ul

static long long free_kb(void)
{
    if (on_zeroframe())
        return (vmstat("nr_free_pages") + vmstat("zf_cached_pages")) * 4;
    static char buf[8192];
    proc_slurp("/proc/meminfo", buf, sizeof(buf));
    return proc_field(buf, "MemFree");
}

/* Free memory is back where it was (exactly on Zeroframe). */
static int back_to(long long before, long long after)
{
    long long slack = on_zeroframe() ? 0 : 4096; /* kB */
    return after >= before - slack;
}

static int simple(int round)
{
    static char buf[8192];
    proc_slurp("/proc/meminfo", buf, sizeof(buf));
    size_t sz = (size_t)proc_field(buf, "MemFree") * 1024 / 10 * 6; /* 60% of free */
    sz &= ~(PG - 1);
    size_t pages = sz / PG;
    long long before = free_kb();
    char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    for (size_t i = 0; i < pages; i++)
        *(uint64_t *)(m + i * PG) = i;
    pid_t pid = fork();
    if (pid > 0 || pid < 0)
        CHECK(pid > 0, "simple %d: fork with %zu MiB (60%% of free memory) written", round, sz >> 20);
    if (pid == 0) {
        int ok = 1;
        for (size_t i = 0; i < pages; i++)
            ok &= *(uint64_t *)(m + i * PG) == i;
        for (size_t i = 0; i < pages / 8; i++)
            *(uint64_t *)(m + i * PG) = ~i;
        for (size_t i = 0; i < pages / 8; i++)
            ok &= *(uint64_t *)(m + i * PG) == ~i;
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "simple %d: the child read every page and wrote an eighth of them", round);
    int ok = 1;
    for (size_t i = 0; i < pages; i++) {
        ok &= *(uint64_t *)(m + i * PG) == i;
        *(uint64_t *)(m + i * PG) = i * 3;
    }
    for (size_t i = 0; i < pages; i++)
        ok &= *(uint64_t *)(m + i * PG) == i * 3;
    CHECK(ok, "simple %d: the parent kept its contents, then rewrote every page", round);
    munmap(m, sz);
    long long after = free_kb();
    CHECK(back_to(before, after), "simple %d: free memory back (%lld kB before, %lld kB after)", round,
          before, after);
    return 1;
}

static int fill_check(char *m, size_t pages, uint64_t v)
{
    for (size_t i = 0; i < pages; i++)
        *(uint64_t *)(m + i * PG + 8 * (i % 64)) = v + i;
    int ok = 1;
    for (size_t i = 0; i < pages; i++)
        ok &= *(uint64_t *)(m + i * PG + 8 * (i % 64)) == v + i;
    return ok;
}

static void three(void)
{
    size_t pages = 2048; /* 8 MiB */
    long long before = free_kb();
    char *m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill_check(m, pages, 1000);
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            int ok = fill_check(m, pages, 3000);
            write(ready[1], "g", 1);
            _exit(ok ? 0 : 1);
        }
        int ok = fill_check(m, pages, 2000);
        int st;
        waitpid(grandchild, &st, 0);
        ok &= fill_check(m, pages, 2000); /* still ours after the grandchild wrote */
        _exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
    }
    char c;
    read(ready[0], &c, 1);
    int ok = 1;
    for (size_t i = 0; i < pages; i++)
        ok &= *(uint64_t *)(m + i * PG + 8 * (i % 64)) == 1000 + i;
    int st;
    waitpid(child, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "three: the child and the grandchild each kept their own contents");
    CHECK(ok && fill_check(m, pages, 4000), "three: the parent kept its own, then wrote again");
    munmap(m, pages * PG);
    close(ready[0]);
    close(ready[1]);
    long long after = free_kb();
    CHECK(back_to(before, after), "three: the copies were freed (%lld kB before, %lld kB after)", before, after);
}

static char file_buf[4096] __attribute__((aligned(4096)));

static void file(void)
{
    file_buf[0] = 99;
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        int fds[2];
        pipe(fds);
        pids[i] = fork();
        if (pids[i] == 0) {
            int j = -1;
            if (read(fds[0], file_buf, sizeof(i)) != sizeof(i))
                _exit(2);
            memcpy(&j, file_buf, sizeof(j));
            _exit(j == i ? 0 : 1);
        }
        write(fds[1], &i, sizeof(i));
        close(fds[0]);
        close(fds[1]);
    }
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(ok, "file: each of 4 children read() its own value into a CoW page");
    CHECK(file_buf[0] == 99, "file: the parent's page still holds 99 (the reads broke CoW)");
}

static void forkfork(void)
{
    long long before = free_kb();
    char *m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 1, 16 * PG);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            for (int round = 0; round < 100; round++) {
                pid_t g = fork();
                if (g < 0)
                    _exit(2);
                if (g == 0) {
                    m[(round % 16) * PG] = 7;
                    _exit(m[(round % 16) * PG] == 7 ? 0 : 1);
                }
                m[((round + 8) % 16) * PG] = (char)(10 + k);
                int st;
                waitpid(g, &st, 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st))
                    _exit(3);
            }
            int ok = 1;
            for (int i = 0; i < 16; i++)
                ok &= m[i * PG] == 10 + k;
            _exit(ok ? 0 : 4);
        }
    }
    memset(m, 5, 16 * PG);
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(ok, "forkfork: 2 children x 100 rounds of fork, writes on every side, all contents right");
    int mine = 1;
    for (int i = 0; i < 16; i++)
        mine &= m[i * PG] == 5;
    CHECK(mine, "forkfork: the parent's pages untouched by them");
    munmap(m, 16 * PG);
    long long after = free_kb();
    CHECK(back_to(before, after), "forkfork: no frame leaked (%lld kB before, %lld kB after)", before, after);
}

static void nothing(void *a)
{
    (void)a;
}

int main(void)
{
    check_begin("test_cowtest");
    in_child(nothing, NULL); /* the parent's own lazy memory in place first */
    free_kb();
    CHECK(simple(1), "simple 1: mmap");
    CHECK(simple(2), "simple 2: mmap");
    three();
    file();
    forkfork();
    return check_end();
}
