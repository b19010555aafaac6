/* Content-initialised memory (RefOS: a content-init dataspace) is
 * MODE_MISSING: the pager supplies each page once, and after that it is
 * ordinary anonymous memory: writes stay, and no second event comes.  The
 * pager polls the userfaultfd and a control pipe; any event after the first
 * per page is counted as a failure (and answered, so nothing hangs). */
#include <poll.h>

#include "lib/check.h"
#include "lib/uffd.h"

#define NPAGES 4

static int pager(int fd, int ctl, char *area)
{
    static char buf[PAGE] __attribute__((aligned(4096)));
    int events[NPAGES] = { 0 }, strays = 0;
    for (;;) {
        struct pollfd p[2] = { { fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            break;
        if (p[0].revents & POLLIN) {
            struct uffd_msg m;
            if (uffd_next(fd, &m) != 1)
                continue;
            uintptr_t a = (uintptr_t)m.arg.pagefault.address & ~(PAGE - 1);
            unsigned page = (unsigned)((a - (uintptr_t)area) / PAGE);
            if (page >= NPAGES) {
                strays++;
                continue;
            }
            events[page]++;
            memset(buf, 'A' + (int)page, PAGE);
            uffd_copy(fd, a, buf, 0);
            continue;
        }
        if (p[1].revents)
            break;
    }
    for (int i = 0; i < NPAGES; i++)
        CHECK(events[i] == 1, "page %d: exactly one event (%d)", i, events[i]);
    CHECK(strays == 0, "no event outside the range (%d)", strays);
    struct uffd_msg m;
    CHECK(uffd_next(fd, &m) == 0, "nothing more queued (a non-blocking read says EAGAIN)");
    return check_failures;
}

int main(void)
{
    check_begin("test_uffd_init");
    char *area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_O_NONBLOCK | UFFD_USER_MODE_ONLY, 0);
    int ctl[2];
    CHECK(area != MAP_FAILED && fd >= 0 && pipe(ctl) == 0, "a region, a userfaultfd, a pipe");
    if (fd < 0 || area == MAP_FAILED)
        return check_end();
    CHECK(uffd_register(fd, area, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING) == 0,
          "registered for missing pages");
    pid_t pid = fork();
    if (pid == 0) {
        close(ctl[1]);
        _exit(pager(fd, ctl[0], area));
    }
    close(ctl[0]);
    /* Pages 0 and 1: read first (content-init), then written. */
    CHECK(area[0] == 'A' && area[PAGE + 100] == 'B', "a read sees the initial contents");
    area[0] = 'x';
    area[PAGE + 100] = 'y';
    /* Pages 2 and 3: written first; the write lands on the initial contents. */
    area[2 * PAGE] = 'z';
    area[3 * PAGE + 7] = 'w';
    CHECK(area[2 * PAGE + 1] == 'C' && area[3 * PAGE] == 'D', "a first write keeps the rest of the page");
    /* Everything again: no page faults to the pager any more. */
    unsigned bad = 0;
    for (int round = 0; round < 3; round++)
        for (unsigned p = 0; p < NPAGES; p++) {
            area[p * PAGE + 2000] = (char)round;
            bad += area[p * PAGE + 2000] != (char)round;
        }
    CHECK(bad == 0, "writes stay");
    CHECK(area[0] == 'x' && area[PAGE + 100] == 'y' && area[2 * PAGE] == 'z' && area[3 * PAGE + 7] == 'w',
          "the first writes are still there");
    close(ctl[1]); /* tells the pager we are done */
    /* As on Linux: poll reports an error for a blocking userfaultfd. */
    int blocking = uffd_open(UFFD_USER_MODE_ONLY, 0);
    struct pollfd pb = { blocking, POLLIN, 0 };
    CHECK(blocking >= 0 && poll(&pb, 1, 0) == 1 && (pb.revents & POLLERR),
          "poll on a blocking userfaultfd: POLLERR (revents %#x)", pb.revents);
    close(blocking);
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pager saw one event per page (status %#x)", st);
    return check_end();
}
