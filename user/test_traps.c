/* Exceptions other than page faults, each in a child: an invalid opcode
 * (SIGILL), a division by zero (SIGFPE), a misaligned access with alignment
 * checking on (#AC: SIGBUS), a breakpoint (int3: SIGTRAP), a privileged
 * instruction (#GP: SIGSEGV), a load through a non-canonical pointer (#GP
 * with error code 0: SIGSEGV, and the kernel's report names the register
 * holding it).  The parent sees each through wait4, and goes on. */
#include <cpuid.h>
#include <stdint.h>
#include <string.h>

#include "lib/check.h"

/* QEMU's software CPU (TCG) names itself in the hypervisor leaf. */
static int cpu_is_qemu_tcg(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 31))) /* no hypervisor */
        return 0;
    char id[13] = { 0 };
    __cpuid(0x40000000, a, b, c, d);
    memcpy(id, &b, 4);
    memcpy(id + 4, &c, 4);
    memcpy(id + 8, &d, 4);
    return strcmp(id, "TCGTCGTCGTCG") == 0;
}

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

/* RFLAGS.AC set, then a 4-byte load from an odd address: #AC (SIGBUS)
 * where the kernel turned alignment checking on (CR0.AM, as Linux does). */
static void do_misaligned(void *a)
{
    static volatile uint32_t words[2];
    __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq\n\t"
                     "movl (%0), %%eax\n\t"
                     "pushfq; andq $~0x40000, (%%rsp); popfq"
                     :: "r"((volatile char *)words + 1) : "eax", "memory", "cc");
    (void)a;
}

static void do_int3(void *a)
{
    (void)a;
    __asm__ volatile("int3");
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
    st = in_child(do_misaligned, NULL);
    if (cpu_is_qemu_tcg() && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        /* QEMU's TCG ignores RFLAGS.AC, under any kernel: on Zeroframe the
         * self-test proc.exceptions_map_to_linux_signals covers #AC. */
        printf("test_traps: this CPU raised no #AC (QEMU TCG does not check alignment); skipped\n");
    else
        CHECK(killed_by(st, SIGBUS), "a misaligned load with RFLAGS.AC set (#AC): SIGBUS (status %#x)", st);
    st = in_child(do_int3, NULL);
    CHECK(killed_by(st, SIGTRAP), "int3 (#BP): SIGTRAP (status %#x)", st);
    st = in_child(do_hlt, NULL);
    CHECK(killed_by(st, SIGSEGV), "hlt in user mode (#GP): SIGSEGV (status %#x)", st);
    st = in_child(do_noncanonical, NULL);
    CHECK(killed_by(st, SIGSEGV), "load through a non-canonical pointer (#GP): SIGSEGV (status %#x)",
          st);
    CHECK(getpid() > 0, "and the parent goes on");
    return check_end();
}
