/* A system call whose buffer lies in a registered range: read() from a pipe
 * into a buffer straddling two missing pages waits for the pager like a user fault would (one
 * event per page, flagged as a write), then completes with the pipe's bytes;
 * the rest of the second page is what the pager provided.  With
 * UFFD_USER_MODE_ONLY the kernel's access is not delivered: read() fails
 * with EFAULT (Linux: the kernel fault is refused). */
#include "lib/check.h"
#include "lib/uffd.h"

#define LEN 4000 /* fits Zeroframe's one-page pipe */
#define OFF 2048 /* the buffer straddles the two pages */

static int pager(int fd, char *area)
{
    static char fill[PAGE] __attribute__((aligned(4096)));
    memset(fill, 0xee, sizeof(fill));
    int events = 0, writes = 0;
    while (events < 2) {
        struct uffd_msg m;
        if (uffd_next(fd, &m) != 1)
            break;
        uintptr_t a = (uintptr_t)m.arg.pagefault.address & ~(PAGE - 1);
        if (a != (uintptr_t)area + events * PAGE)
            break; /* the copy goes in order: page 0, then page 1 */
        writes += (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
        if (uffd_copy(fd, a, fill, 0) != 0)
            break;
        events++;
    }
    CHECK(events == 2, "the pager got one event for each page of the buffer, in order (%d)", events);
    CHECK(writes == 2, "both flagged as writes (%d)", writes);
    return check_failures;
}

static unsigned char pattern(unsigned i)
{
    return (unsigned char)(i * 31 + 7);
}

int main(void)
{
    check_begin("test_uffd_syscall");
    char *area = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(0, 0); /* kernel accesses delivered: root or the sysctl on Linux */
    int p[2];
    CHECK(area != MAP_FAILED && fd >= 0 && pipe(p) == 0, "a region, a userfaultfd, a pipe");
    if (fd < 0 || area == MAP_FAILED)
        return check_end();
    CHECK(uffd_register(fd, area, 2 * PAGE, UFFDIO_REGISTER_MODE_MISSING) == 0, "two pages registered");
    static unsigned char src[LEN];
    for (unsigned i = 0; i < LEN; i++)
        src[i] = pattern(i);
    CHECK(write(p[1], src, LEN) == LEN, "%d bytes in the pipe", LEN);
    pid_t pid = fork();
    if (pid == 0)
        _exit(pager(fd, area));
    ssize_t n = read(p[0], area + OFF, LEN);
    CHECK(n == LEN, "read() into the missing pages returned %zd", n);
    unsigned bad = 0;
    for (unsigned i = 0; i < LEN; i++)
        bad += (unsigned char)area[OFF + i] != pattern(i);
    CHECK(bad == 0, "with the pipe's bytes (%u wrong)", bad);
    CHECK((unsigned char)area[0] == 0xee && (unsigned char)area[OFF + LEN] == 0xee &&
              (unsigned char)area[2 * PAGE - 1] == 0xee,
          "the rest of both pages is the pager's");
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the pager ended cleanly (status %#x)", st);
    close(fd);

    /* UFFD_USER_MODE_ONLY: the third page, registered, read into by the kernel. */
    int um = uffd_open(UFFD_USER_MODE_ONLY, 0);
    CHECK(um >= 0 && uffd_register(um, area + 2 * PAGE, PAGE, UFFDIO_REGISTER_MODE_MISSING) == 0,
          "a user-mode-only userfaultfd over the third page");
    CHECK(write(p[1], src, 100) == 100, "100 more bytes in the pipe");
    errno = 0;
    n = read(p[0], area + 2 * PAGE, 100);
    CHECK(n == -1 && errno == EFAULT, "read() into it fails with EFAULT (%zd, %s)", n, strerror(errno));
    close(um);
    return check_end();
}
