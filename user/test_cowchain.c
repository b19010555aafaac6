/* Two known bug classes of copy-on-write:
 *   chain   a parent forks a child that forks a grandchild; each writes
 *           while the others still map the pages; all three keep their own
 *           data (the CoW mark lost on the second fork breaks this).
 *   munmap  part of a CoW-shared range unmapped in one process leaves the
 *           other's view whole; and the reverse. */
#include <sys/mman.h>

#include "lib/check.h"

#define PG 4096ul
#define N 8

static int all(const char *m, size_t from, size_t to, char v)
{
    int ok = 1;
    for (size_t i = from; i < to; i++)
        ok &= m[i * PG] == v && m[i * PG + PG - 1] == v;
    return ok;
}

static void fill(char *m, size_t from, size_t to, char v)
{
    for (size_t i = from; i < to; i++)
        m[i * PG] = m[i * PG + PG - 1] = v;
}

static void chain(void)
{
    char *m = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(m, 0, N, 'P');
    int wrote[2], go[2];
    pipe(wrote);
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            char c;
            fill(m, 0, N, 'G');
            write(wrote[1], "g", 1);
            read(go[0], &c, 1);
            _exit(all(m, 0, N, 'G') ? 0 : 1);
        }
        char c;
        fill(m, 0, N, 'C');
        write(wrote[1], "c", 1);
        read(go[0], &c, 1);
        int ok = all(m, 0, N, 'C');
        int st;
        waitpid(grandchild, &st, 0);
        _exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
    }
    char c;
    read(wrote[0], &c, 1);
    read(wrote[0], &c, 1); /* both have written, and still live */
    int mine = all(m, 0, N, 'P');
    fill(m, 0, N, 'Q');
    write(go[1], "gg", 2);
    int st;
    waitpid(child, &st, 0);
    CHECK(mine, "chain: the parent's data survived the child's and the grandchild's writes");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "chain: the child and the grandchild each kept their own data after all three wrote");
    CHECK(all(m, 0, N, 'Q'), "chain: the parent's last write is its own");
    munmap(m, N * PG);
}

/* @unmapper (0: the child, 1: the parent) unmaps pages 2-5. */
static void partial_munmap(int parent_unmaps)
{
    const char *who = parent_unmaps ? "the parent" : "the child";
    char *m = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(m, 0, N, 'A');
    int done[2], go[2];
    pipe(done);
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        int ok = 1;
        if (!parent_unmaps) {
            ok &= munmap(m + 2 * PG, 4 * PG) == 0;
            ok &= all(m, 0, 2, 'A') && all(m, 6, N, 'A');
            fill(m, 0, 2, 'c');
            fill(m, 6, N, 'c');
        }
        write(done[1], "d", 1);
        read(go[0], &c, 1);
        if (parent_unmaps)
            ok &= all(m, 0, N, 'A'); /* the parent's munmap took nothing from us */
        else
            ok &= all(m, 0, 2, 'c') && all(m, 6, N, 'c');
        _exit(ok ? 0 : 1);
    }
    char c;
    read(done[0], &c, 1);
    int ok = 1;
    if (parent_unmaps) {
        ok &= munmap(m + 2 * PG, 4 * PG) == 0;
        fill(m, 0, 2, 'p');
        fill(m, 6, N, 'p');
        ok &= all(m, 0, 2, 'p') && all(m, 6, N, 'p');
    } else {
        ok &= all(m, 0, N, 'A');
    }
    write(go[1], "g", 1);
    int st;
    waitpid(pid, &st, 0);
    CHECK(ok, "munmap by %s of pages 2-5: %s", who,
          parent_unmaps ? "the parent's remaining pages are its own" : "the parent's view is whole");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "munmap by %s of pages 2-5: %s", who,
          parent_unmaps ? "the child's view is whole" : "the child's remaining pages are its own");
    munmap(m, N * PG);
}

int main(void)
{
    check_begin("test_cowchain");
    chain();
    partial_munmap(0);
    partial_munmap(1);
    return check_end();
}
