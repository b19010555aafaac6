/* The scenarios of Linux's tools/testing/selftests/mm/cow.c that apply
 * without huge pages or io_uring, written anew:
 *   child-snapshot   the child takes a snapshot, the parent writes, the
 *                    child compares: the parent's write is not visible.
 *   parent-snapshot  the reverse: the child writes, the parent compares.
 *   mprotect         the same after the parent's mprotect read-only then
 *                    read-write (the write must still copy).
 *   dontneed         MADV_DONTNEED in the child after fork: the child reads
 *                    zeros, the parent keeps its data.
 *   file-private     a private file mapping, read then forked, written on
 *                    each side: each sees its own, the file is unchanged.
 *   zero-page        anonymous memory only read (the shared zero page),
 *                    forked, written on both sides. */
#include <sys/mman.h>

#include "lib/check.h"

#define PG 4096ul
#define N 8

static char *anon(void)
{
    return mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* The child snapshots @m, says so, waits for the parent's write, compares. */
static int child_snapshot(char *m, int do_mprotect)
{
    static char snap[N * PG];
    int said[2], done[2];
    pipe(said);
    pipe(done);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        memcpy(snap, m, N * PG);
        write(said[1], "s", 1);
        read(done[0], &c, 1);
        _exit(memcmp(snap, m, N * PG) == 0 ? 0 : 1);
    }
    char c;
    read(said[0], &c, 1);
    if (do_mprotect) {
        mprotect(m, N * PG, PROT_READ);
        mprotect(m, N * PG, PROT_READ | PROT_WRITE);
    }
    memset(m, 0xee, N * PG);
    write(done[1], "d", 1);
    int st;
    waitpid(pid, &st, 0);
    for (int i = 0; i < 2; i++) {
        close(said[i]);
        close(done[i]);
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && (unsigned char)m[N * PG - 1] == 0xee;
}

/* The reverse: the parent snapshots, the child writes. */
static int parent_snapshot(char *m, int do_mprotect)
{
    static char snap[N * PG];
    memcpy(snap, m, N * PG);
    pid_t pid = fork();
    if (pid == 0) {
        if (do_mprotect) {
            mprotect(m, N * PG, PROT_READ);
            mprotect(m, N * PG, PROT_READ | PROT_WRITE);
        }
        memset(m, 0xdd, N * PG);
        _exit((unsigned char)m[0] == 0xdd ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && memcmp(snap, m, N * PG) == 0;
}

static void dontneed(void)
{
    char *m = anon();
    memset(m, 'p', N * PG);
    pid_t pid = fork();
    if (pid == 0) {
        madvise(m, N * PG, MADV_DONTNEED);
        int zeros = 1;
        for (size_t i = 0; i < N * PG; i++)
            zeros &= m[i] == 0;
        m[0] = 'c';
        _exit(zeros ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dontneed: the child reads zeros after MADV_DONTNEED");
    int ok = 1;
    for (size_t i = 0; i < N * PG; i++)
        ok &= m[i] == 'p';
    CHECK(ok, "dontneed: the parent keeps its data");
    munmap(m, N * PG);
}

static void file_private(const char *self)
{
    int fd = open(self, O_RDONLY);
    char *m = fd >= 0 ? mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    CHECK(m != MAP_FAILED, "file-private: mmap of the program's own file, private, read-write");
    if (m == MAP_FAILED)
        return;
    char orig = m[1]; /* paged in before the fork */
    pid_t pid = fork();
    if (pid == 0) {
        m[1] = 'C';
        _exit(m[1] == 'C' ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && m[1] == orig,
          "file-private: the child's write after fork is its own");
    m[1] = 'P';
    char now[2];
    lseek(fd, 0, SEEK_SET);
    read(fd, now, 2);
    CHECK(m[1] == 'P' && now[1] == orig, "file-private: the parent's write is its own; the file is unchanged");
    munmap(m, 2 * PG);
    close(fd);
}

static void zero_page(void)
{
    char *m = anon();
    int zeros = 1;
    for (size_t i = 0; i < N; i++)
        zeros &= m[i * PG] == 0; /* reads only: the shared zero page */
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        for (size_t i = 0; i < N; i++)
            m[i * PG] = 'c';
        read(go[0], &c, 1); /* the parent has written too */
        int ok = 1;
        for (size_t i = 0; i < N; i++)
            ok &= m[i * PG] == 'c' && m[i * PG + 1] == 0;
        _exit(ok ? 0 : 1);
    }
    for (size_t i = 0; i < N; i++)
        m[i * PG] = 'p';
    write(go[1], "g", 1);
    int st;
    waitpid(pid, &st, 0);
    int ok = 1;
    for (size_t i = 0; i < N; i++)
        ok &= m[i * PG] == 'p' && m[i * PG + 1] == 0;
    CHECK(zeros && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ok,
          "zero-page: read as zeros, forked, written on both sides: each sees its own");
    munmap(m, N * PG);
}

int main(int argc, char **argv)
{
    (void)argc;
    check_begin("test_cow");
    char *m = anon();
    memset(m, 'a', N * PG);
    CHECK(child_snapshot(m, 0), "child-snapshot: the parent's write after fork is invisible to the child");
    CHECK(parent_snapshot(m, 0), "parent-snapshot: the child's write after fork is invisible to the parent");
    memset(m, 'b', N * PG);
    CHECK(child_snapshot(m, 1), "mprotect: read-only then read-write in the parent, then its write: still invisible to the child");
    CHECK(parent_snapshot(m, 1), "mprotect: the same in the child, then its write: invisible to the parent");
    munmap(m, N * PG);
    dontneed();
    file_private(argv[0]);
    zero_page();
    return check_end();
}
