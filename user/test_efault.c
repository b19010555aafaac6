/* Every kind of bad pointer given to a system call returns -EFAULT, and the
 * kernel lives: null, unmapped, guard region, read-only (for a read into
 * it), kernel half, non-canonical, and a buffer that starts valid and runs
 * into unmapped memory. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "lib/check.h"

static int efault(ssize_t r)
{
    return r == -1 && errno == EFAULT;
}

int main(void)
{
    check_begin("test_efault");
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    write(fds[1], "0123456789abcdef", 16);
    /* The read-only page first: a later mmap could land in the hole. */
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    struct { const char *what; uintptr_t p; } bad[] = {
        { "null", 0 },
        { "unmapped", (uintptr_t)page + 4096 },
        { "the stack's guard region", 0x7ffffffff000ull - (8ull << 20) - 64 },
        { "kernel half", 0xffff800000000000ull },
        { "kernel image", 0xffffffff80100000ull },
        { "non-canonical", 0x0000800000000000ull },
        { "non-canonical, high", 0x8000000000000000ull },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(efault(write(1, (void *)bad[i].p, 8)), "write() from a %s pointer: EFAULT", bad[i].what);
        CHECK(efault(read(fds[0], (void *)bad[i].p, 1)), "read() into a %s pointer: EFAULT", bad[i].what);
        CHECK(efault(syscall(63 /* uname */, bad[i].p)), "uname() into a %s pointer: EFAULT", bad[i].what);
    }
    CHECK(efault(read(fds[0], ro, 1)), "read() into a read-only mapping: EFAULT");
    /* Into a pipe: Linux writes part of such a buffer to a file, not to a pipe. */
    CHECK(efault(write(fds[1], page + 4096 - 4, 8)), "write() of a buffer running into an unmapped page: EFAULT");
    CHECK(efault(syscall(2 /* open */, 16, O_RDONLY)), "open() of a bad path pointer: EFAULT");
    CHECK(efault(pipe((int *)ro)), "pipe() into a read-only mapping: EFAULT");
    char buf[4];
    CHECK(read(fds[0], buf, 4) >= 0, "and the pipe still works afterwards");
    return check_end();
}
