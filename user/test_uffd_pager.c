/* A pager process serves a region of its parent (RefOS: an external pager
 * for a window): the parent registers a range for missing pages and forks;
 * the child reads each fault's message and answers with UFFDIO_COPY of
 * computed contents; the parent reads every page and checks every word.
 * Then the child's errors: COPY onto a present page (EEXIST), outside the
 * registered range (ENOENT), an unaligned address (EINVAL). */
#include "lib/check.h"
#include "lib/uffd.h"

#define NPAGES 16

static uint64_t word(unsigned page, unsigned i)
{
    return 0x5a5a000000000000ull ^ ((uint64_t)page << 32) ^ (i * 2654435761u);
}

static int pager(int fd, char *area, char *outside)
{
    static uint64_t buf[PAGE / 8] __attribute__((aligned(4096)));
    int served = 0;
    while (served < NPAGES) {
        struct uffd_msg m;
        if (uffd_next(fd, &m) != 1)
            break;
        uintptr_t a = (uintptr_t)m.arg.pagefault.address & ~(PAGE - 1);
        unsigned page = (unsigned)((a - (uintptr_t)area) / PAGE);
        if (a < (uintptr_t)area || page >= NPAGES)
            break;
        for (unsigned i = 0; i < PAGE / 8; i++)
            buf[i] = word(page, i);
        if (uffd_copy(fd, a, buf, 0) != 0)
            break;
        served++;
    }
    CHECK(served == NPAGES, "the pager served all %d pages (%d)", NPAGES, served);
    CHECK(uffd_copy(fd, (uintptr_t)area, buf, 0) == -EEXIST, "COPY onto a present page: EEXIST");
    CHECK(uffd_copy(fd, (uintptr_t)outside, buf, 0) == -ENOENT,
          "COPY outside the registered range: ENOENT");
    CHECK(uffd_copy(fd, (uintptr_t)area + 8, buf, 0) == -EINVAL, "COPY to an unaligned address: EINVAL");
    return check_failures;
}

int main(void)
{
    check_begin("test_uffd_pager");
    char *area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *outside = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_O_CLOEXEC | UFFD_USER_MODE_ONLY, 0);
    CHECK(area != MAP_FAILED && outside != MAP_FAILED && fd >= 0, "a region and a userfaultfd");
    if (fd < 0 || area == MAP_FAILED || outside == MAP_FAILED)
        return check_end();
    CHECK(uffd_register(fd, area, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING) == 0,
          "the region registered for missing pages");
    long long waits = vmstat("zf_uffd_waits");
    pid_t pid = fork();
    if (pid == 0)
        _exit(pager(fd, area, outside));
    close(fd); /* the child is the pager now */
    unsigned bad = 0;
    /* Touch the pages out of order: the pager answers whatever comes. */
    for (unsigned k = 0; k < NPAGES; k++) {
        unsigned page = (k * 7) % NPAGES;
        const uint64_t *w = (const uint64_t *)(area + page * PAGE);
        for (unsigned i = 0; i < PAGE / 8; i++)
            bad += w[i] != word(page, i);
    }
    CHECK(bad == 0, "every word of the %d pages is the pager's (%u wrong)", NPAGES, bad);
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pager ended cleanly (status %#x)", st);
    if (on_zeroframe())
        CHECK(vmstat("zf_uffd_waits") - waits == NPAGES, "%d faults waited for the pager (%lld)",
              NPAGES, vmstat("zf_uffd_waits") - waits);
    area[5] = 1; /* a page the pager provided is ordinary memory now */
    CHECK(area[5] == 1, "a provided page is writable");
    return check_end();
}
