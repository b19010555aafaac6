/* Every kind of bad pointer given to a system call returns -EFAULT, and the
 * kernel lives: null, unmapped, guard region, read-only (for a read into
 * it), PROT_NONE memory that holds data (its contents back with the rights,
 * in a forked child too), kernel half, non-canonical, and buffers that start
 * valid and run into unmapped memory, into a guard region, and off the user
 * half into the non-canonical hole. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "lib/check.h"

/* The bottom of Zeroframe's stack guard region (one page below the 8 MiB
 * stack that ends at 0x7ffffffff000). */
#define GUARD_BOTTOM (0x7ffffffff000ull - (8ull << 20) - 4096)

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
    char *held = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    struct { const char *what; uintptr_t p; } bad[] = {
        { "null", 0 },
        { "unmapped", (uintptr_t)page + 4096 },
        { "stack guard region", 0x7ffffffff000ull - (8ull << 20) - 64 },
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
    /* PROT_NONE over pages that hold data: the kernel's own copy fails too
     * (x86 has no present page the kernel cannot read, so Zeroframe keeps
     * them not present), and the data is there again with the rights. */
    CHECK(held != MAP_FAILED, "mmap two pages");
    memcpy(held, "held-data", 10);
    memcpy(held + 4096, "second", 7);
    CHECK(mprotect(held, 8192, PROT_NONE) == 0, "mprotect PROT_NONE over written pages");
    int pn[2];
    CHECK(pipe(pn) == 0, "a second pipe");
    CHECK(efault(write(pn[1], held, 10)), "write() from PROT_NONE memory holding data: EFAULT");
    CHECK(efault(read(fds[0], held + 4096, 1)), "read() into PROT_NONE memory holding data: EFAULT");
    /* A child forked meanwhile gets the pages as they are; its rights and
     * writes are its own. */
    pid_t c = fork();
    if (c == 0) {
        int ok = mprotect(held, 8192, PROT_READ | PROT_WRITE) == 0 &&
                 memcmp(held, "held-data", 10) == 0 && memcmp(held + 4096, "second", 7) == 0;
        held[0] = 'C';
        _exit(ok && held[0] == 'C' ? 0 : 1);
    }
    int wst = 0;
    CHECK(c > 0 && waitpid(c, &wst, 0) == c && WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
          "a forked child gives its copy rights back and sees the data");
    CHECK(mprotect(held, 8192, PROT_READ | PROT_WRITE) == 0, "mprotect back to read-write");
    CHECK(memcmp(held, "held-data", 10) == 0 && memcmp(held + 4096, "second", 7) == 0,
          "the data is still there (the child's write is not)");
    held[1] = 'E';
    CHECK(write(pn[1], held, 10) == 10, "and write() from it works again");
    char back[10];
    CHECK(read(pn[0], back, 10) == 10 && memcmp(back, "hEld-data", 10) == 0,
          "the pipe carries it (the refused write put nothing in)");
    /* Into a pipe: Linux writes part of such a buffer to a file, not to a pipe. */
    CHECK(efault(write(fds[1], page + 4096 - 4, 8)), "write() of a buffer running into an unmapped page: EFAULT");
    /* A page right below the stack's guard region: a buffer that starts
     * there runs into the guard. */
    char *below_guard = mmap((void *)(GUARD_BOTTOM - 4096), 4096, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (below_guard == (char *)(GUARD_BOTTOM - 4096)) {
        CHECK(efault(write(fds[1], below_guard + 4096 - 4, 8)), "write() of a buffer running into the guard region: EFAULT");
        CHECK(efault(read(fds[0], below_guard + 4096 - 1, 2)), "read() into a buffer running into the guard region: EFAULT");
    } else {
        CHECK(!on_zeroframe(), "the page below the stack guard is free on Zeroframe");
    }
    /* The user half's last page: a buffer there runs into the non-canonical
     * hole (and past it the kernel half).  Linux keeps that page out. */
    char *top = mmap((void *)0x7ffffffff000ull, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (top != MAP_FAILED) {
        CHECK(efault(write(fds[1], top + 4096 - 4, 8)), "write() of a buffer running into the non-canonical hole: EFAULT");
        CHECK(efault(read(fds[0], top + 4096 - 1, 2)), "read() into a buffer running into the non-canonical hole: EFAULT");
        CHECK(efault(syscall(63 /* uname */, top + 4096 - 64)), "uname() into a buffer running off the user half: EFAULT");
    } else {
        CHECK(!on_zeroframe(), "the user half's last page is mappable on Zeroframe");
    }
    CHECK(efault(syscall(2 /* open */, 16, O_RDONLY)), "open() of a bad path pointer: EFAULT");
    CHECK(efault(pipe((int *)ro)), "pipe() into a read-only mapping: EFAULT");
    char buf[4];
    CHECK(read(fds[0], buf, 4) >= 0, "and the pipe still works afterwards");
    return check_end();
}
