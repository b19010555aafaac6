/* Linux's userfaultfd interface (include/uapi/linux/userfaultfd.h): the
 * numbers and structure layouts a pager written for Linux uses, shared by
 * the kernel (kernel/proc/uffd.c) and the user programs (user/test_uffd_*),
 * which musl's headers do not cover.  Only what Zeroframe implements is
 * here, so nothing can promise more than the kernel does. */
#ifndef ZF_UFFD_ABI_H
#define ZF_UFFD_ABI_H

#include <stdint.h>

#define UFFD_SYSCALL_NR 323        /* userfaultfd(int flags) on x86-64 */
#define UFFD_USER_MODE_ONLY 1      /* faults of kernel accesses are not delivered */
#define UFFD_O_CLOEXEC 02000000
#define UFFD_O_NONBLOCK 04000

#define UFFD_API 0xAAull
#define UFFD_FEATURE_PAGEFAULT_FLAG_WP (1ull << 0)

/* ioctl numbers: _IOWR/_IOR(0xAA, nr, struct), as Linux's _IOC encodes them
 * (direction << 30 | size << 16 | type << 8 | nr). */
#define UFFD_IOC(dir, nr, size) (((uint64_t)(dir) << 30) | ((uint64_t)(size) << 16) | (0xAAu << 8) | (nr))
#define UFFD_IOC_RW 3u /* _IOC_READ | _IOC_WRITE */
#define UFFD_IOC_R 2u  /* _IOC_READ */

#define _UFFDIO_REGISTER 0x00
#define _UFFDIO_UNREGISTER 0x01
#define _UFFDIO_WAKE 0x02
#define _UFFDIO_COPY 0x03
#define _UFFDIO_ZEROPAGE 0x04
#define _UFFDIO_WRITEPROTECT 0x06
#define _UFFDIO_API 0x3F

struct uffdio_api {
    uint64_t api;
    uint64_t features;
    uint64_t ioctls;
};

struct uffdio_range {
    uint64_t start;
    uint64_t len;
};

struct uffdio_register {
    struct uffdio_range range;
    uint64_t mode;
    uint64_t ioctls;
};
#define UFFDIO_REGISTER_MODE_MISSING (1ull << 0)
#define UFFDIO_REGISTER_MODE_WP (1ull << 1)

struct uffdio_copy {
    uint64_t dst;
    uint64_t src;
    uint64_t len;
    uint64_t mode;
    int64_t copy;
};
#define UFFDIO_COPY_MODE_DONTWAKE (1ull << 0)
#define UFFDIO_COPY_MODE_WP (1ull << 1)

struct uffdio_zeropage {
    struct uffdio_range range;
    uint64_t mode;
    int64_t zeropage;
};
#define UFFDIO_ZEROPAGE_MODE_DONTWAKE (1ull << 0)

struct uffdio_writeprotect {
    struct uffdio_range range;
    uint64_t mode;
};
#define UFFDIO_WRITEPROTECT_MODE_WP (1ull << 0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE (1ull << 1)

#define UFFDIO_API UFFD_IOC(UFFD_IOC_RW, _UFFDIO_API, sizeof(struct uffdio_api))
#define UFFDIO_REGISTER UFFD_IOC(UFFD_IOC_RW, _UFFDIO_REGISTER, sizeof(struct uffdio_register))
#define UFFDIO_UNREGISTER UFFD_IOC(UFFD_IOC_R, _UFFDIO_UNREGISTER, sizeof(struct uffdio_range))
#define UFFDIO_WAKE UFFD_IOC(UFFD_IOC_R, _UFFDIO_WAKE, sizeof(struct uffdio_range))
#define UFFDIO_COPY UFFD_IOC(UFFD_IOC_RW, _UFFDIO_COPY, sizeof(struct uffdio_copy))
#define UFFDIO_ZEROPAGE UFFD_IOC(UFFD_IOC_RW, _UFFDIO_ZEROPAGE, sizeof(struct uffdio_zeropage))
#define UFFDIO_WRITEPROTECT \
    UFFD_IOC(UFFD_IOC_RW, _UFFDIO_WRITEPROTECT, sizeof(struct uffdio_writeprotect))

/* What read() returns: one event per 32-byte message. */
struct uffd_msg {
    uint8_t event;
    uint8_t reserved1;
    uint16_t reserved2;
    uint32_t reserved3;
    union {
        struct {
            uint64_t flags;
            uint64_t address;
            union {
                uint32_t ptid;
            } feat;
        } pagefault;
        struct {
            uint64_t reserved1, reserved2, reserved3;
        } reserved;
    } arg;
} __attribute__((packed));
#define UFFD_EVENT_PAGEFAULT 0x12
#define UFFD_PAGEFAULT_FLAG_WRITE (1ull << 0)
#define UFFD_PAGEFAULT_FLAG_WP (1ull << 1)

_Static_assert(sizeof(struct uffd_msg) == 32, "struct uffd_msg is 32 bytes on Linux");

#endif
