/* userfaultfd for the user programs: the kernel's own copy of Linux's
 * numbers and layouts (include/uffd_abi.h; musl has no linux/ headers) and
 * small wrappers that print why a step failed. */
#ifndef ZF_USER_UFFD_H
#define ZF_USER_UFFD_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../include/uffd_abi.h"

#ifndef PAGE
#define PAGE 4096ul
#endif

/* A userfaultfd with the API handshake done (@features asked for), or -1. */
static inline int uffd_open(int flags, uint64_t features)
{
    int fd = (int)syscall(UFFD_SYSCALL_NR, flags);
    if (fd < 0) {
        printf("uffd: userfaultfd(%#x) failed: %s\n", flags, strerror(errno));
        return -1;
    }
    struct uffdio_api api = { .api = UFFD_API, .features = features };
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        printf("uffd: UFFDIO_API failed: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static inline int uffd_register(int fd, void *start, size_t len, uint64_t mode)
{
    struct uffdio_register r = { .range = { (uintptr_t)start, len }, .mode = mode };
    if (ioctl(fd, UFFDIO_REGISTER, &r) != 0) {
        printf("uffd: UFFDIO_REGISTER failed: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* UFFDIO_COPY of one page from @src to @dst: 0 or -errno. */
static inline int uffd_copy(int fd, uintptr_t dst, const void *src, uint64_t mode)
{
    struct uffdio_copy c = { .dst = dst, .src = (uintptr_t)src, .len = PAGE, .mode = mode };
    return ioctl(fd, UFFDIO_COPY, &c) == 0 ? 0 : -errno;
}

/* One page-fault message (blocking unless the descriptor is O_NONBLOCK):
 * 1, 0 when none is there (EAGAIN), -1 on error. */
static inline int uffd_next(int fd, struct uffd_msg *m)
{
    ssize_t n = read(fd, m, sizeof(*m));
    if (n == (ssize_t)sizeof(*m) && m->event == UFFD_EVENT_PAGEFAULT)
        return 1;
    if (n < 0 && errno == EAGAIN)
        return 0;
    printf("uffd: read returned %zd (%s), event %#x\n", n, n < 0 ? strerror(errno) : "-",
           n > 0 ? m->event : 0);
    return -1;
}

#endif
