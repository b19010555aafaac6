/* A syscall instruction in the last two bytes of the user half: its return
 * address, 0x800000000000, is not canonical, so the kernel must not return
 * with sysret (which would fault in ring 0 on Intel CPUs).  The child dies
 * of SIGSEGV and the kernel goes on.  Linux keeps that page out of user
 * space altogether; there the test notes it and skips. */
#include <stdint.h>
#include <sys/mman.h>

#include "lib/check.h"

#define TOP_PAGE 0x7ffffffff000ull

static void jump(void *entry)
{
    ((void (*)(void))entry)();
}

int main(void)
{
    check_begin("test_sysret");
    unsigned char *p = mmap((void *)TOP_PAGE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        CHECK(!on_zeroframe(), "the user half's last page cannot be mapped here (Linux keeps it out)");
        return check_end();
    }
    /* mov eax, 39 (getpid); syscall -- ending exactly at 0x800000000000. */
    static const unsigned char code[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05 };
    memcpy(p + 4096 - sizeof(code), code, sizeof(code));
    int st = in_child(jump, p + 4096 - sizeof(code));
    CHECK(killed_by(st, SIGSEGV), "returning to 0x800000000000: the child dies of SIGSEGV (status %#x)", st);
    CHECK(getpid() > 0, "and the kernel goes on");
    return check_end();
}
