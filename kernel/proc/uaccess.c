/* Range checks around the fault-tolerant copies (uaccess.asm). */
#include "errno.h"
#include "region.h"
#include "uaccess.h"

size_t uaccess_copy(void *dst, const void *src, size_t n);
long uaccess_strncpy(char *dst, const char *src, size_t max);

int uaccess_range_ok(uintptr_t addr, size_t n)
{
    return addr < REGION_USER_END && n <= REGION_USER_END - addr;
}

int copy_from_user(void *dst, uintptr_t src, size_t n)
{
    if (!uaccess_range_ok(src, n))
        return -EFAULT;
    return uaccess_copy(dst, (const void *)src, n) ? -EFAULT : 0;
}

int copy_to_user(uintptr_t dst, const void *src, size_t n)
{
    if (!uaccess_range_ok(dst, n))
        return -EFAULT;
    return uaccess_copy((void *)dst, src, n) ? -EFAULT : 0;
}

long strncpy_from_user(char *dst, uintptr_t src, size_t max)
{
    if (src >= REGION_USER_END)
        return -EFAULT;
    /* Never read past the user half, even when @max would. */
    if (max > REGION_USER_END - src)
        max = REGION_USER_END - src;
    long r = uaccess_strncpy(dst, (const char *)src, max);
    if (r == -2)
        return -EFAULT;
    if (r == -1)
        return src + max == REGION_USER_END ? -EFAULT : -ENAMETOOLONG;
    return r;
}
