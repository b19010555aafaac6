/* uffd_demo: a fault delegated to another process, live.  The parent maps
 * four pages and registers them with a userfaultfd; its child becomes their
 * pager.  Each time the parent touches a page, the child prints the request
 * it read, writes the page's text and provides it with UFFDIO_COPY; the
 * parent then prints what it found.  Run it with
 *   make run CMDLINE="init=/bin/uffd_demo"   (or from a shell: uffd_demo) */
#include <stdio.h>
#include <sys/wait.h>

#include "lib/uffd.h"

#define NPAGES 4

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char *area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, 0);
    if (area == MAP_FAILED || fd < 0 || uffd_register(fd, area, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING))
        return 1;
    printf("demo: PID %d registered [%p, %p) for missing pages; forking its pager\n", (int)getpid(),
           (void *)area, (void *)(area + NPAGES * PAGE));
    pid_t pid = fork();
    if (pid == 0) {
        static char page[PAGE] __attribute__((aligned(4096)));
        struct uffd_msg m;
        for (int i = 0; i < NPAGES && uffd_next(fd, &m) == 1; i++) {
            uintptr_t a = m.arg.pagefault.address & ~(PAGE - 1);
            printf("  pager PID %d: %s fault at %#lx, page %lu -> UFFDIO_COPY\n", (int)getpid(),
                   m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE ? "write" : "read",
                   (unsigned long)m.arg.pagefault.address, (unsigned long)((a - (uintptr_t)area) / PAGE));
            snprintf(page, sizeof(page), "page %lu, written by the pager PID %d",
                     (unsigned long)((a - (uintptr_t)area) / PAGE), (int)getpid());
            uffd_copy(fd, a, page, 0);
        }
        _exit(0);
    }
    close(fd);
    for (int p = NPAGES - 1; p >= 0; p--) {
        printf("demo: PID %d reads page %d (blocks until the pager answers)\n", (int)getpid(), p);
        printf("demo: found \"%s\"\n", area + p * PAGE);
    }
    waitpid(pid, NULL, 0);
    printf("demo: done; the pages are ordinary memory now\n");
    return 0;
}
