/* userfaultfd in the kernel: user-space pagers (RefOS external pagers)
 * through Linux's interface (uffd_abi.h).
 *
 * mm side (kernel/mm/uffd_range.c, no knowledge of files or threads): a
 * range of regions is registered with a context; the fault path answers
 * VMM_FAULT_WAIT with f->wait_uffd for a missing page or a write to a
 * PTE_UFFD_WP page there; a provided page enters through uffd_page_provide.
 *
 * proc side (kernel/proc/uffd.c): the context is the file behind the
 * descriptor; it belongs to the address space that created it, and any
 * process holding the descriptor is its pager.  Faulting threads block on a
 * per-page request (one message however many waiters) until COPY, ZEROPAGE,
 * WAKE or WRITEPROTECT resolves it, or the last descriptor goes.  Lock
 * point: the owning space's lock for ranges and pages; the context's
 * request list and message queue under the scheduler lock (one CPU:
 * interrupts off). */
#ifndef ZF_UFFD_H
#define ZF_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

struct uffd_ctx;
struct file;
struct irq_frame;

/* ---- mm: ranges and pages (errors as vmm_status) --------------------------
 * Register [start, start + len) with @ctx for REGION_UFFD_* @mode: covered
 * by regions without holes (VMM_ERR_NO_REGION), each private or shared
 * anonymous user memory (else VMM_ERR_BAD_FLAGS; WP: private only), none
 * registered with another context (VMM_ERR_EXISTS).  Splits at the ends.
 * Registering again replaces the mode; a mode without WP releases the
 * pages' write protection. */
enum vmm_status uffd_range_register(struct vmm_space *s, uintptr_t start, size_t len,
                                    struct uffd_ctx *ctx, unsigned mode);
/* Unregister what @ctx has in the range (holes allowed inside it); pages
 * lose their PTE_UFFD_WP and become ordinary memory. */
enum vmm_status uffd_range_unregister(struct vmm_space *s, uintptr_t start, size_t len,
                                      struct uffd_ctx *ctx);
/* Every region of @s registered with @ctx: unregistered.  Their count. */
unsigned uffd_range_release(struct vmm_space *s, struct uffd_ctx *ctx, uintptr_t *lo,
                            uintptr_t *hi);
/* Write-protect (@wp) or release the present pages of a range wholly
 * registered with @ctx in MODE_WP (else VMM_ERR_NO_REGION). */
enum vmm_status uffd_range_writeprotect(struct vmm_space *s, uintptr_t start, size_t len,
                                        struct uffd_ctx *ctx, bool wp);
/* The page provided for @va (registered with @ctx: else VMM_ERR_NO_REGION):
 * @frame, a fresh frame whose reference the mapping takes over, or 0 for
 * the zero page.  Shared regions: into the object's page cache through
 * vmobj_page_provide, the path the in-kernel module pager takes; private
 * regions: the page-table entry, as every private anonymous page, with the
 * region's rights.  Already there: VMM_ERR_EXISTS (the frame stays the
 * caller's); @wp in a range registered without WP: VMM_ERR_BAD_FLAGS. */
enum vmm_status uffd_page_provide(struct vmm_space *s, uintptr_t va, struct uffd_ctx *ctx,
                                  paddr_t frame, bool wp);

/* ---- proc: the descriptor --------------------------------------------------- */
/* userfaultfd(@flags): a file over a new context for the current process's
 * space, or NULL with *@err (-EINVAL, -ENOMEM). */
struct file *uffd_create(int flags, long *err);
long uffd_read(struct file *f, uintptr_t buf, size_t n);
long uffd_ioctl(struct file *f, uint64_t cmd, uintptr_t arg);
/* poll: FILE_POLLIN when a message waits; FILE_POLLERR for a blocking
 * descriptor (as Linux). */
unsigned uffd_poll(struct file *f);
/* O_NONBLOCK: set (@set 1), clear (0) or just read (-1) it. */
bool uffd_nonblock(struct file *f, int set);
/* The last reference to the file went. */
void uffd_release(struct file *f);
/* The space @s is being destroyed (exit, execve): contexts owned by it
 * forget it (later ioctls: -ESRCH). */
void uffd_space_gone(struct vmm_space *s);
/* The page-fault entry got VMM_FAULT_WAIT for a userfaultfd: block the
 * current thread until the pager answers.  True: retry the access; false:
 * the fault stays unresolved (kernel access with UFFD_USER_MODE_ONLY, a
 * kill while blocked in a kernel access, out of memory). */
bool uffd_fault_wait(const struct vmm_fault *f, bool user_mode);

#endif
