/* Memory: brk, mmap, munmap, mprotect, madvise, all as regions of the
 * calling process's space. */
#include "errno.h"
#include "file.h"
#include "proc.h"
#include "region.h"
#include "syscall.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MADV_DONTNEED 4
/* Flags accepted and ignored: no reservation accounting, no huge pages,
 * populate happens lazily anyway. */
#define MAP_IGNORED (0x0100 /* GROWSDOWN */ | 0x0800 /* DENYWRITE */ | 0x1000 /* EXECUTABLE */ | \
                     0x2000 /* LOCKED */ | 0x4000 /* NORESERVE */ | 0x8000 /* POPULATE */ |    \
                     0x10000 /* NONBLOCK */ | 0x20000 /* STACK */ | 0x40000 /* HUGETLB */)
#define MMAP_BASE 0x00007f0000000000ull /* where mmap looks first, far from the heap */
#define HEAP_MAX_PAGES (1ull << 20)     /* the heap object's size: 4 GiB, costs nothing */

static unsigned region_prot(uint64_t prot)
{
    return REGION_U | (prot & PROT_READ ? REGION_R : 0) | (prot & PROT_WRITE ? REGION_W : 0) |
           (prot & PROT_EXEC ? REGION_X : 0);
}

static long errno_of(enum vmm_status st)
{
    switch (st) {
    case VMM_OK: return 0;
    case VMM_ERR_NOMEM:
    case VMM_ERR_NO_SPACE:
    case VMM_ERR_NO_REGION:
    case VMM_ERR_GUARD: return -ENOMEM;
    case VMM_ERR_OVERLAP: return -EEXIST;
    default: return -EINVAL;
    }
}

static uint64_t page_up(uint64_t v)
{
    return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

long sys_brk(const struct syscall_args *a)
{
    struct proc *p = proc_current();
    uint64_t want = a->a[0];
    if (want < p->brk_start || want - p->brk_start > HEAP_MAX_PAGES * PAGE_SIZE)
        return (long)p->brk;
    uint64_t old_end = page_up(p->brk), new_end = page_up(want);
    if (new_end > old_end) {
        /* Every piece maps the same object at the matching offset, so the
         * heap stays one region (neighbours merge). */
        struct region r;
        struct vmobj *heap = NULL;
        if (old_end > p->brk_start && region_lookup(p->space, old_end - 1, &r) && r.obj)
            heap = r.obj;
        bool fresh = !heap;
        if (fresh && !(heap = vmobj_create_anon(HEAP_MAX_PAGES, "[heap]")))
            return (long)p->brk;
        struct region_req req = { .addr = old_end, .len = new_end - old_end,
                                  .prot = REGION_R | REGION_W | REGION_U, .flags = REGION_FIXED,
                                  .obj = heap, .offset = (old_end - p->brk_start) / PAGE_SIZE,
                                  .name = "[heap]" };
        enum vmm_status st = region_map(p->space, &req, NULL);
        if (fresh)
            vmobj_put(heap);
        if (st != VMM_OK)
            return (long)p->brk;
    } else if (new_end < old_end) {
        region_unmap(p->space, new_end, old_end - new_end);
    }
    p->brk = want;
    return (long)want;
}

long sys_mmap(const struct syscall_args *a)
{
    uint64_t addr = a->a[0], len = a->a[1], prot = a->a[2], flags = a->a[3], off = a->a[5];
    int fd = (int)a->a[4];
    struct proc *p = proc_current();
    uint64_t type = flags & MAP_TYPE;
    if (!len || (type != MAP_SHARED && type != MAP_PRIVATE) || (prot & ~7ull) ||
        (flags & ~(MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_IGNORED)) ||
        (off & (PAGE_SIZE - 1)) || len > REGION_USER_END)
        return -EINVAL;
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (fixed && (addr & (PAGE_SIZE - 1)))
        return -EINVAL;
    len = page_up(len);
    struct vmobj *o;
    if (flags & MAP_ANONYMOUS) {
        o = vmobj_create_anon(len / PAGE_SIZE, NULL);
        off = 0;
        if (!o)
            return -ENOMEM;
    } else {
        if (fd < 0 || fd >= PROC_MAX_FDS || !p->fd[fd])
            return -EBADF;
        struct file *f = p->fd[fd];
        if (f->kind != FILE_MODULE)
            return -ENODEV;
        if (type == MAP_SHARED && (prot & PROT_WRITE))
            return -EACCES; /* module files are read-only */
        o = f->obj;
        vmobj_get(o);
    }
    /* MAP_FIXED replaces whatever was there; NOREPLACE refuses instead. */
    if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE)) {
        enum vmm_status st = region_unmap(p->space, addr, len);
        if (st != VMM_OK) {
            vmobj_put(o);
            return errno_of(st);
        }
    }
    struct region_req req = { .addr = addr ? addr : MMAP_BASE, .len = len,
                              .prot = region_prot(prot),
                              .flags = (type == MAP_SHARED ? REGION_SHARED : 0) |
                                       (fixed ? REGION_FIXED : 0),
                              .obj = o, .offset = off / PAGE_SIZE,
                              .name = (flags & MAP_ANONYMOUS) ? NULL : o->name };
    uintptr_t at = 0;
    enum vmm_status st = region_map(p->space, &req, &at);
    vmobj_put(o);
    if (st == VMM_ERR_RANGE && !(flags & MAP_ANONYMOUS))
        return -EINVAL; /* past the end of the file */
    return st == VMM_OK ? (long)at : errno_of(st);
}

long sys_munmap(const struct syscall_args *a)
{
    if (a->a[0] & (PAGE_SIZE - 1) || !a->a[1])
        return -EINVAL;
    return errno_of(region_unmap(proc_current()->space, a->a[0], page_up(a->a[1])));
}

long sys_mprotect(const struct syscall_args *a)
{
    if (a->a[0] & (PAGE_SIZE - 1) || (a->a[2] & ~7ull))
        return -EINVAL;
    if (!a->a[1])
        return 0;
    return errno_of(region_protect(proc_current()->space, a->a[0], page_up(a->a[1]),
                                   region_prot(a->a[2])));
}

long sys_madvise(const struct syscall_args *a)
{
    if (a->a[0] & (PAGE_SIZE - 1))
        return -EINVAL;
    if (a->a[2] != MADV_DONTNEED)
        return 0; /* advice we may ignore */
    if (!a->a[1])
        return 0;
    return errno_of(region_discard(proc_current()->space, a->a[0], page_up(a->a[1])));
}
