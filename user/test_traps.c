/* Exceptions other than page faults, each in a child: an invalid opcode
 * (SIGILL), a division by zero (SIGFPE), a privileged instruction (#GP:
 * SIGSEGV), a load through a non-canonical pointer (#GP with error code 0:
 * SIGSEGV, and the kernel's report names the register holding it).  The
 * parent sees each through wait4, and goes on. */
#include <stdint.h>

#include "lib/check.h"

static void do_ud2(void *a)
{
    (void)a;
    __asm__ volatile("ud2");
}

static void do_div0(void *a)
{
    (void)a;
    /* In assembly: a C division by zero is undefined, and may vanish. */
    __asm__ volatile("xor %%edx, %%edx; mov $1, %%eax; xor %%ecx, %%ecx; div %%ecx"
                     ::: "eax", "ecx", "edx");
}

static void do_hlt(void *a)
{
    (void)a;
    __asm__ volatile("hlt");
}

static void do_noncanonical(void *a)
{
    (void)a;
    uint64_t out;
    __asm__ volatile("movq (%%rbx), %0" : "=r"(out) : "b"(0xdead000000002000ull) : "memory");
    (void)out;
}

int main(void)
{
    check_begin("test_traps");
    int st = in_child(do_ud2, NULL);
    CHECK(killed_by(st, SIGILL), "ud2: SIGILL (status %#x)", st);
    st = in_child(do_div0, NULL);
    CHECK(killed_by(st, SIGFPE), "division by zero: SIGFPE (status %#x)", st);
    st = in_child(do_hlt, NULL);
    CHECK(killed_by(st, SIGSEGV), "hlt in user mode (#GP): SIGSEGV (status %#x)", st);
    st = in_child(do_noncanonical, NULL);
    CHECK(killed_by(st, SIGSEGV), "load through a non-canonical pointer (#GP): SIGSEGV (status %#x)",
          st);
    CHECK(getpid() > 0, "and the parent goes on");
    return check_end();
}
