/* zfbench: user-mode costs of the memory paths, in TSC ticks, which under
 * QEMU's -icount shift=0,sleep=off are guest instructions (make bench).
 * The same binary runs on Linux for the side-by-side comparison.  Each
 * case: 256 samples on distinct pages; one line
 *   bench name=<case> samples=<n> min=<n> median=<n> max=<n>
 * The measurement's own cost (a store that does not fault) is its own row.
 * user_uffd_round_trip: one fault delegated to a pager process through
 * userfaultfd (fault, the pager's read returns, UFFDIO_COPY, the faulting
 * process resumes), 64 samples. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 256
#define PAGE 4096

#include "lib/uffd.h"

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *d, int n)
{
    qsort(d, (size_t)n, sizeof(*d), cmp);
    printf("bench name=%s samples=%d min=%llu median=%llu max=%llu\n", name, n,
           (unsigned long long)d[0], (unsigned long long)d[n / 2], (unsigned long long)d[n - 1]);
}

static char *fresh(size_t pages)
{
    char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("zfbench: mmap failed\n");
        exit(1);
    }
    return p;
}

/* One access per page of @m, timed. */
static void per_page(char *m, int write, uint64_t *d)
{
    for (int i = 0; i < N; i++) {
        volatile char *p = m + (size_t)i * PAGE;
        uint64_t t0 = tsc();
        if (write)
            *p = 1;
        else
            (void)*p;
        d[i] = tsc() - t0;
    }
}

/* The parent touches 64 registered pages; a child serves each with COPY. */
static void uffd_round_trip(uint64_t *d)
{
    enum { PAGES = 64 };
    static char src[PAGE] __attribute__((aligned(4096)));
    char *m = fresh(PAGES);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, 0);
    if (fd < 0 || uffd_register(fd, m, (size_t)PAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        struct uffd_msg msg;
        for (int i = 0; i < PAGES && uffd_next(fd, &msg) == 1; i++)
            uffd_copy(fd, msg.arg.pagefault.address & ~(uint64_t)(PAGE - 1), src, 0);
        _exit(0);
    }
    for (int i = 0; i < PAGES; i++) {
        uint64_t t0 = tsc();
        *(volatile char *)(m + (size_t)i * PAGE) = 1;
        d[i] = tsc() - t0;
    }
    waitpid(pid, NULL, 0);
    close(fd);
    report("user_uffd_round_trip", d, PAGES);
}

int main(void)
{
    static uint64_t d[N];
    setvbuf(stdout, NULL, _IONBF, 0);

    char *m = fresh(N);
    per_page(m, 0, d);
    report("user_first_read", d, N);
    per_page(m, 1, d);
    report("user_write_after_read", d, N);
    per_page(m, 1, d);
    report("user_store_no_fault", d, N);
    m = fresh(N);
    per_page(m, 1, d);
    report("user_first_write", d, N);

    /* Shared with a child that stays alive: copies; then the child exits:
     * the parent's next writes reuse. */
    char *s = fresh(N);
    for (int i = 0; i < N; i++)
        s[(size_t)i * PAGE] = 1;
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        read(fds[0], &c, 1);
        _exit(0);
    }
    per_page(s, 1, d);
    report("user_cow_copy", d, N);
    /* Pages the child still shares, written after it is gone: reuse. */
    char *r = fresh(N);
    for (int i = 0; i < N; i++)
        r[(size_t)i * PAGE] = 1;
    pid_t pid2 = fork();
    if (pid2 == 0)
        _exit(0);
    waitpid(pid2, NULL, 0);
    per_page(r, 1, d);
    report("user_cow_reuse", d, N);
    write(fds[1], "x", 1);
    waitpid(pid, NULL, 0);

    for (int i = 0; i < N; i++) {
        uint64_t t0 = tsc();
        syscall(SYS_getppid);
        d[i] = tsc() - t0;
    }
    report("user_null_syscall", d, N);

    /* fork and exit of a process with 256 touched pages (and little else),
     * per page. */
    munmap(m, (size_t)N * PAGE);
    munmap(s, (size_t)N * PAGE);
    munmap(r, (size_t)N * PAGE);
    char *f = fresh(N);
    for (int i = 0; i < N; i++)
        f[(size_t)i * PAGE] = 1;
    for (int i = 0; i < 32; i++) {
        uint64_t t0 = tsc();
        pid_t c = fork();
        if (c == 0)
            _exit(0);
        waitpid(c, NULL, 0);
        d[i] = (tsc() - t0) / N;
    }
    report("user_fork_exit_per_page", d, 32);

    for (int k = 0; k < 16; k++) {
        char *u = fresh(N);
        for (int i = 0; i < N; i++)
            u[(size_t)i * PAGE] = 1;
        uint64_t t0 = tsc();
        munmap(u, (size_t)N * PAGE);
        d[k] = (tsc() - t0) / N;
    }
    report("user_munmap_per_page", d, 16);

    uffd_round_trip(d);
    return 0;
}
