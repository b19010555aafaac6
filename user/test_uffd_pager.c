/* A pager process serves a region of its parent (RefOS: an external pager
 * for a window): the parent registers a range for missing pages and forks;
 * the child reads each fault's message and answers with UFFDIO_COPY of
 * computed contents; the parent reads every page and checks every word.
 * The first request for the last page is answered with WAKE alone (the
 * parent faults again: a second message), then with ZEROPAGE.  Then the
 * child's errors: COPY onto a present page (EEXIST), outside the registered
 * range (ENOENT), an unaligned address (EINVAL).  Last, a shared anonymous
 * range: the page the pager provides goes into the object's page cache, so
 * the pager's own (unregistered) view of it shows the same bytes. */
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
    int served = 0, woken = 0, messages = 0;
    while (served < NPAGES) {
        struct uffd_msg m;
        if (uffd_next(fd, &m) != 1)
            break;
        messages++;
        uintptr_t a = (uintptr_t)m.arg.pagefault.address & ~(PAGE - 1);
        unsigned page = (unsigned)((a - (uintptr_t)area) / PAGE);
        if (a < (uintptr_t)area || page >= NPAGES)
            break;
        if (page == NPAGES - 1) {
            if (!woken++) {
                struct uffdio_range r = { a, PAGE };
                if (ioctl(fd, UFFDIO_WAKE, &r) != 0)
                    break;
                continue; /* nothing provided: the parent faults again */
            }
            struct uffdio_zeropage z = { .range = { a, PAGE } };
            if (ioctl(fd, UFFDIO_ZEROPAGE, &z) != 0 || z.zeropage != (int64_t)PAGE)
                break;
            served++;
            continue;
        }
        for (unsigned i = 0; i < PAGE / 8; i++)
            buf[i] = word(page, i);
        if (uffd_copy(fd, a, buf, 0) != 0)
            break;
        served++;
    }
    CHECK(served == NPAGES, "the pager served all %d pages (%d)", NPAGES, served);
    CHECK(messages == NPAGES + 1, "one message per page, and one more after the bare WAKE (%d)", messages);
    CHECK(uffd_copy(fd, (uintptr_t)area, buf, 0) == -EEXIST, "COPY onto a present page: EEXIST");
    CHECK(uffd_copy(fd, (uintptr_t)outside, buf, 0) == -ENOENT,
          "COPY outside the registered range: ENOENT");
    CHECK(uffd_copy(fd, (uintptr_t)area + 8, buf, 0) == -EINVAL, "COPY to an unaligned address: EINVAL");
    return check_failures;
}

/* MAP_SHARED anonymous memory: the provided page is the object's. */
static void shared_range(void)
{
    static char buf[PAGE] __attribute__((aligned(4096)));
    char *sh = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, 0);
    CHECK(sh != MAP_FAILED && fd >= 0 && uffd_register(fd, sh, 2 * PAGE, UFFDIO_REGISTER_MODE_MISSING) == 0,
          "a shared anonymous range registered");
    if (sh == MAP_FAILED || fd < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        struct uffd_msg m;
        int ok = uffd_next(fd, &m) == 1 && (m.arg.pagefault.address & ~(PAGE - 1)) == (uintptr_t)sh + PAGE;
        memset(buf, 's', PAGE);
        ok = ok && uffd_copy(fd, (uintptr_t)sh + PAGE, buf, 0) == 0;
        /* Our own mapping of the same object (not registered in a child). */
        ok = ok && sh[PAGE + 17] == 's';
        _exit(ok ? 0 : 1);
    }
    close(fd);
    char c = sh[PAGE + 3];
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(c == 's' && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "a shared page from the pager, seen by the pager's own mapping too (status %#x)", st);
    sh[PAGE] = 't';
    CHECK(sh[PAGE] == 't', "and writable");
    munmap(sh, 2 * PAGE);
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
            bad += w[i] != (page == NPAGES - 1 ? 0 : word(page, i));
    }
    CHECK(bad == 0, "every word of the %d pages is the pager's, the last page zeros (%u wrong)", NPAGES, bad);
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pager ended cleanly (status %#x)", st);
    if (on_zeroframe())
        CHECK(vmstat("zf_uffd_waits") - waits == NPAGES + 1, "%d faults waited for the pager (%lld)",
              NPAGES + 1, vmstat("zf_uffd_waits") - waits);
    area[5] = 1; /* a page the pager provided is ordinary memory now */
    area[(NPAGES - 1) * PAGE + 5] = 2;
    CHECK(area[5] == 1 && area[(NPAGES - 1) * PAGE + 5] == 2, "provided pages are writable, the zero page too");
    CHECK(vmstat("zf_uffd_waits") - waits == NPAGES + 1 || !on_zeroframe(),
          "no further waits after the pages came");
    shared_range();
    return check_end();
}
