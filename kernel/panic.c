#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "ksym.h"
#include "panic.h"

#define BACKTRACE_MAX 32

static bool frame_ok(uintptr_t rbp)
{
    /* Kernel frames live in the higher half and are 8-byte aligned. */
    return rbp >= KERNEL_VMA && rbp % 8 == 0 && rbp <= UINTPTR_MAX - 16;
}

int backtrace_collect(uintptr_t rbp, uintptr_t *out, int max)
{
    int n = 0;
    while (n < max && frame_ok(rbp)) {
        const uintptr_t *frame = (const uintptr_t *)rbp;
        uintptr_t ret = frame[1];
        if (ret == 0)
            break;
        out[n++] = ret;
        /* Frames grow towards higher addresses as we unwind; anything else is
         * a corrupt chain, and following it could loop forever. */
        if (frame[0] <= rbp)
            break;
        rbp = frame[0];
    }
    return n;
}

static void print_frame(int i, uintptr_t addr)
{
    const char *name;
    uintptr_t off;
    if (ksym_lookup(addr, &name, &off))
        kprintf("  #%-2d %p %s+0x%lx\n", i, (void *)addr, name, (unsigned long)off);
    else
        kprintf("  #%-2d %p ?\n", i, (void *)addr);
}

void backtrace_print(uintptr_t rip, uintptr_t rbp)
{
    uintptr_t frames[BACKTRACE_MAX];
    int i = 0;
    kprintf("Backtrace:\n");
    if (rip)
        print_frame(i++, rip);
    int n = backtrace_collect(rbp, frames, BACKTRACE_MAX);
    for (int k = 0; k < n; k++, i++)
        /* A return address points after the call; -1 lands inside it. */
        print_frame(i, frames[k] - 1);
    if (i == 0)
        kprintf("  (no frames)\n");
}

static bool in_panic;

void panic(const char *fmt, ...)
{
    cpu_cli();
    uintptr_t rbp = read_rbp();
    uintptr_t rsp = read_rsp();
    if (in_panic) {
        /* A panic while panicking: say so once and stop, no more reporting. */
        kprintf("\nPANIC (nested): ");
        va_list ap;
        va_start(ap, fmt);
        kvprintf(fmt, ap);
        va_end(ap);
        kprintf("\n");
        boot_exit(BOOT_EXIT_PANIC);
    }
    in_panic = true;

    kprintf("\n==================== KERNEL PANIC ====================\n");
    kprintf("PANIC: ");
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    kprintf("CR0=%016lx CR2=%016lx CR3=%016lx CR4=%016lx\n", (unsigned long)read_cr0(),
            (unsigned long)read_cr2(), (unsigned long)read_cr3(), (unsigned long)read_cr4());
    kprintf("EFER=%016lx RFLAGS=%016lx RSP=%016lx RBP=%016lx\n",
            (unsigned long)rdmsr(MSR_EFER), (unsigned long)read_rflags(), (unsigned long)rsp,
            (unsigned long)rbp);
    backtrace_print((uintptr_t)__builtin_return_address(0) - 1,
                    rbp ? ((const uintptr_t *)rbp)[0] : 0);
    kprintf("======================================================\n");
    boot_exit(BOOT_EXIT_PANIC);
}
