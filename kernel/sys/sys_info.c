/* The machine and the thread: uname, arch_prctl (the TLS base), getrandom. */
#include "arch/x86_64/cpu.h"
#include "errno.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "syscall.h"
#include "uaccess.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

long sys_uname(const struct syscall_args *a)
{
    /* struct utsname: six fields of 65 bytes.  Programs tell the kernels
     * apart by sysname. */
    char u[6][65];
    memset(u, 0, sizeof(u));
    static const char *const f[6] = { "Zeroframe", "zeroframe", "0.1", "#1", "x86_64", "" };
    for (int i = 0; i < 6; i++)
        memcpy(u[i], f[i], strlen(f[i]));
    return copy_to_user(a->a[0], u, sizeof(u)) ? -EFAULT : 0;
}

long sys_arch_prctl(const struct syscall_args *a)
{
    struct thread *t = sched_current();
    switch (a->a[0]) {
    case ARCH_SET_FS:
        if (a->a[1] >= REGION_USER_END)
            return -EPERM; /* Linux: a kernel or non-canonical base */
        t->fs_base = a->a[1];
        wrmsr(MSR_FS_BASE, t->fs_base);
        return 0;
    case ARCH_GET_FS:
        return copy_to_user(a->a[1], &t->fs_base, 8) ? -EFAULT : 0;
    }
    return -EINVAL;
}

long sys_getrandom(const struct syscall_args *a)
{
    /* Not cryptographic: the TSC stirred.  Enough for musl and tests. */
    size_t n = a->a[1] > 256 ? 256 : a->a[1];
    uint8_t buf[256];
    uint64_t x = rdtsc() | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    return copy_to_user(a->a[0], buf, n) ? -EFAULT : (long)n;
}
