/* Write-protect tracking (the pager has a say on writes: dirty tracking,
 * snapshots): the owner registers populated memory with MODE_WP and
 * protects it; the pager sees every first write to a protected page (flags
 * WRITE and WP) and releases the page with UFFDIO_WRITEPROTECT, which wakes
 * the writer.  Second writes and reads are silent; the data is intact. */
#include "lib/check.h"
#include "lib/uffd.h"

#define NPAGES 8

static int pager(int fd, char *area)
{
    int seen[NPAGES] = { 0 }, flags_ok = 0, n = 0;
    while (n < NPAGES) {
        struct uffd_msg m;
        if (uffd_next(fd, &m) != 1)
            break;
        uintptr_t a = (uintptr_t)m.arg.pagefault.address & ~(PAGE - 1);
        unsigned page = (unsigned)((a - (uintptr_t)area) / PAGE);
        if (page >= NPAGES)
            break;
        seen[page]++;
        flags_ok += (m.arg.pagefault.flags & (UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE)) ==
                    (UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE);
        struct uffdio_writeprotect w = { .range = { a, PAGE }, .mode = 0 };
        if (ioctl(fd, UFFDIO_WRITEPROTECT, &w) != 0)
            break;
        n++;
    }
    int once = 0;
    for (int i = 0; i < NPAGES; i++)
        once += seen[i] == 1;
    CHECK(once == NPAGES, "the pager saw the first write to each of the %d pages once (%d)", NPAGES, once);
    CHECK(flags_ok == NPAGES, "each message said write + write-protect (%d)", flags_ok);
    return check_failures;
}

int main(void)
{
    check_begin("test_uffd_wp");
    char *area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
    CHECK(area != MAP_FAILED && fd >= 0, "a region and a userfaultfd with the WP feature");
    if (fd < 0 || area == MAP_FAILED)
        return check_end();
    for (unsigned p = 0; p < NPAGES; p++)
        memset(area + p * PAGE, 'a' + (int)p, PAGE);
    CHECK(uffd_register(fd, area, NPAGES * PAGE, UFFDIO_REGISTER_MODE_WP) == 0, "registered for write protection");
    pid_t pid = fork();
    if (pid == 0)
        _exit(pager(fd, area));
    struct uffdio_writeprotect w = { .range = { (uintptr_t)area, NPAGES * PAGE },
                                     .mode = UFFDIO_WRITEPROTECT_MODE_WP };
    CHECK(ioctl(fd, UFFDIO_WRITEPROTECT, &w) == 0, "the whole region write-protected");
    w.mode = UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
    CHECK(ioctl(fd, UFFDIO_WRITEPROTECT, &w) == -1 && errno == EINVAL, "WP with DONTWAKE: EINVAL");
    unsigned reads_ok = 0;
    for (unsigned p = 0; p < NPAGES; p++)
        reads_ok += area[p * PAGE + 9] == 'a' + (int)p; /* reads: no event */
    CHECK(reads_ok == NPAGES, "reads of protected pages go through");
    for (unsigned k = 0; k < NPAGES; k++) {
        unsigned p = (k * 3) % NPAGES;
        area[p * PAGE + 1] = 'X'; /* first write: the pager sees it */
        area[p * PAGE + 2] = 'Y'; /* second: silent */
    }
    unsigned ok = 0;
    for (unsigned p = 0; p < NPAGES; p++)
        ok += area[p * PAGE] == 'a' + (int)p && area[p * PAGE + 1] == 'X' && area[p * PAGE + 2] == 'Y' &&
              area[p * PAGE + 4095] == 'a' + (int)p;
    CHECK(ok == NPAGES, "every page holds its old bytes and both writes");
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pager ended cleanly (status %#x)", st);
    close(fd);
    return check_end();
}
