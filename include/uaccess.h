/* The only doors between the kernel and user memory: copies to and from the
 * live space's user half.  Each checks the whole range first (below
 * REGION_USER_END, no wrap), then copies with page faults resolved by the
 * ordinary fault path (lazy memory is filled; a copy into a page shared
 * copy-on-write gets its own copy first, never the shared frame); a fault
 * the VMM refuses (no region, guard, no permission) ends the copy through
 * the exception-fixup table.  Results: 0, or -EFAULT. */
#ifndef ZF_UACCESS_H
#define ZF_UACCESS_H

#include <stddef.h>
#include <stdint.h>

int copy_from_user(void *dst, uintptr_t src, size_t n);
int copy_to_user(uintptr_t dst, const void *src, size_t n);
/* A NUL-terminated string of at most @max bytes (NUL included): its length,
 * -EFAULT, or -ENAMETOOLONG when no NUL comes within @max bytes. */
long strncpy_from_user(char *dst, uintptr_t src, size_t max);
/* Whether [addr, addr + n) lies wholly in the user half. */
int uaccess_range_ok(uintptr_t addr, size_t n);

#endif
