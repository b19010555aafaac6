/* /proc/self/maps reflects mmap, mprotect, munmap and fork exactly: regions
 * split where the permissions change, holes where memory went, the same
 * lines in a forked child; [heap], [stack] and the program's own file are
 * named; /proc/self/status and /proc/PID/status name the process.  Only
 * Linux's formats are read, so the checks hold on Linux too. */
#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "lib/check.h"
#include "lib/procfs.h"

#define PG 4096ul
#define MAXL 16

static char text[65536];

/* The lines of /proc/@who/maps overlapping [lo, hi). */
static int collect(const char *who, unsigned long lo, unsigned long hi, struct map_line *out)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%s/maps", who);
    if (proc_slurp(path, text, sizeof(text)) < 0)
        return -1;
    int n = 0;
    struct map_line m;
    for (const char *c = text; (c = map_parse(c, &m));)
        if (m.end > lo && m.start < hi && n < MAXL)
            out[n++] = m;
    return n;
}

/* The line holding @addr. */
static int line_of(unsigned long addr, struct map_line *out)
{
    return collect("self", addr, addr + 1, out) == 1;
}

/* @path names the program run as @argv0 (Linux shows the absolute path). */
static int same_file(const char *path, const char *argv0)
{
    size_t lp = strlen(path), la = strlen(argv0);
    const char *tail = argv0[0] == '.' && argv0[1] == '/' ? argv0 + 1 : argv0;
    size_t lt = strlen(tail);
    (void)la;
    return lp >= lt && strcmp(path + lp - lt, tail) == 0 && (tail[0] == '/' || path[lp - lt - 1] == '/');
}

struct want {
    unsigned long start, end;
    const char *perms;
};

/* The lines over the reservation [b, b + 6 pages) are exactly @w (the
 * outermost may extend beyond it: a neighbour of the same kind merges on
 * Linux). */
static int matches(const char *who, unsigned long b, const struct want *w, int nw)
{
    struct map_line l[MAXL];
    int n = collect(who, b, b + 6 * PG, l);
    if (n != nw) {
        printf("test_maps: %d lines over the range, %d expected\n", n, nw);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        unsigned long ws = b + w[i].start * PG, we = b + w[i].end * PG;
        int start_ok = i == 0 ? l[i].start <= ws : l[i].start == ws;
        int end_ok = i == n - 1 ? l[i].end >= we : l[i].end == we;
        if (!start_ok || !end_ok || strcmp(l[i].perms, w[i].perms) != 0 || l[i].offset ||
            l[i].inode || l[i].path[0]) {
            printf("test_maps: line %d is %lx-%lx %s %lx %lu '%s', expected %lx-%lx %s anonymous\n",
                   i, l[i].start, l[i].end, l[i].perms, l[i].offset, l[i].inode, l[i].path, ws,
                   we, w[i].perms);
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    (void)argc;
    check_begin("test_maps");
    char *b = mmap(NULL, 6 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(b != MAP_FAILED, "mmap of 6 pages PROT_NONE");
    unsigned long base = (unsigned long)b;
    const struct want w0[] = { { 0, 6, "---p" } };
    CHECK(matches("self", base, w0, 1), "one ---p line over the reservation");

    CHECK(mmap(b + PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
               -1, 0) == b + PG, "mmap MAP_FIXED of pages 1-4 read-write");
    const struct want w1[] = { { 0, 1, "---p" }, { 1, 5, "rw-p" }, { 5, 6, "---p" } };
    CHECK(matches("self", base, w1, 3), "split in three: ---p rw-p ---p");

    memset(b + PG, 'x', 4 * PG);
    CHECK(mprotect(b + 2 * PG, PG, PROT_READ) == 0, "mprotect page 2 read-only");
    const struct want w2[] = { { 0, 1, "---p" }, { 1, 2, "rw-p" }, { 2, 3, "r--p" },
                               { 3, 5, "rw-p" }, { 5, 6, "---p" } };
    CHECK(matches("self", base, w2, 5), "five lines: ---p rw-p r--p rw-p ---p");

    CHECK(munmap(b + 3 * PG, PG) == 0, "munmap page 3");
    const struct want w3[] = { { 0, 1, "---p" }, { 1, 2, "rw-p" }, { 2, 3, "r--p" },
                               { 4, 5, "rw-p" }, { 5, 6, "---p" } };
    CHECK(matches("self", base, w3, 5), "a hole at page 3, the rest unchanged");

    CHECK(mprotect(b + 2 * PG, PG, PROT_READ | PROT_WRITE) == 0, "mprotect page 2 back to read-write");
    const struct want w4[] = { { 0, 1, "---p" }, { 1, 3, "rw-p" }, { 4, 5, "rw-p" }, { 5, 6, "---p" } };
    CHECK(matches("self", base, w4, 4), "pages 1-2 merge again into one rw-p line");

    /* fork: the child's maps are the parent's, line for line. */
    int go[2], done[2];
    pipe(go);
    pipe(done);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        int ok = matches("self", base, w4, 4);
        write(done[1], "r", 1);
        read(go[0], &c, 1); /* the parent reads /proc/PID/maps meanwhile */
        _exit(ok ? 0 : 1);
    }
    char c, who[64];
    read(done[0], &c, 1);
    snprintf(who, sizeof(who), "%d", (int)pid);
    CHECK(matches(who, base, w4, 4), "/proc/%d/maps (the child, read by the parent) has the same lines", (int)pid);
    char status[4096];
    snprintf(who, sizeof(who), "/proc/%d/status", (int)pid);
    CHECK(proc_slurp(who, status, sizeof(status)) > 0 && proc_field(status, "Pid") == pid &&
              proc_field(status, "PPid") == getpid(),
          "/proc/%d/status: Pid %d, PPid %d (its parent)", (int)pid, (int)pid, (int)getpid());
    write(go[1], "g", 1);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the forked child saw the same lines in /proc/self/maps");

    /* Named lines: heap, stack, the program's file. */
    /* brk itself: musl's sbrk refuses to move it. */
    unsigned long brk0 = (unsigned long)syscall(SYS_brk, 0);
    CHECK((unsigned long)syscall(SYS_brk, brk0 + 3 * PG) == brk0 + 3 * PG,
          "brk grows the heap by 3 pages");
    struct map_line l[MAXL];
    CHECK(line_of(brk0 + PG, l) && strcmp(l[0].path, "[heap]") == 0 &&
              strcmp(l[0].perms, "rw-p") == 0,
          "the heap is a rw-p line named [heap]");
    int local = 0;
    CHECK(line_of((unsigned long)&local, l) && strcmp(l[0].path, "[stack]") == 0 &&
              strcmp(l[0].perms, "rw-p") == 0,
          "a local variable lies in the rw-p line named [stack]");
    CHECK(line_of((unsigned long)(uintptr_t)main, l) && same_file(l[0].path, argv[0]) &&
              strcmp(l[0].perms, "r-xp") == 0 && l[0].inode != 0,
          "main lies in an r-xp line of %s (inode %lu)", argv[0], l[0].inode);
    int fd = open(argv[0], O_RDONLY);
    char *f = fd >= 0 ? mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG) : MAP_FAILED;
    CHECK(f != MAP_FAILED && line_of((unsigned long)f, l) && same_file(l[0].path, argv[0]) &&
              strcmp(l[0].perms, "r--p") == 0 && l[0].offset == PG && l[0].end - l[0].start == PG,
          "a private mapping of page 1 of the program's file: r--p, offset 00001000, its path");

    CHECK(proc_slurp("/proc/self/status", status, sizeof(status)) > 0 &&
              proc_field(status, "Pid") == getpid() && proc_field(status, "PPid") == getppid() &&
              strstr(status, "Name:\ttest_maps\n") && strstr(status, "State:\tR (running)\n") &&
              proc_field(status, "VmSize") > 0 && proc_field(status, "VmRSS") > 0,
          "/proc/self/status: Name, State R, Pid, PPid, VmSize and VmRSS");

    /* The system-wide files, and /proc as a directory. */
    static char info[16384];
    CHECK(proc_slurp("/proc/meminfo", info, sizeof(info)) > 0 && proc_field(info, "MemTotal") > 0 &&
              proc_field(info, "MemFree") > 0 && proc_field(info, "AnonPages") > 0 &&
              proc_field(info, "Mapped") >= 0 && proc_field(info, "MemFree") < proc_field(info, "MemTotal"),
          "/proc/meminfo: MemTotal, MemFree (less), AnonPages (ours at least), Mapped");
    long long f0 = vmstat("pgfault");
    volatile char *fresh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fresh[0] = 1;
    CHECK(f0 > 0 && vmstat("pgfault") > f0 && vmstat("pgmajfault") >= 0,
          "/proc/vmstat: pgfault counts our fault, pgmajfault is there");
    DIR *d = opendir("/proc");
    int found_self = 0, found_meminfo = 0;
    char me[16];
    snprintf(me, sizeof(me), "%d", (int)getpid());
    for (struct dirent *e; d && (e = readdir(d));) {
        found_self |= strcmp(e->d_name, me) == 0;
        found_meminfo |= strcmp(e->d_name, "meminfo") == 0;
    }
    if (d)
        closedir(d);
    CHECK(found_self && found_meminfo, "readdir(/proc) lists our PID %s and meminfo", me);
    return check_end();
}
