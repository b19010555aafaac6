/* userfaultfd descriptors (include/uffd.h, proc side): RefOS's external
 * pager through Linux's interface.  A context belongs to the address space
 * that created it; whoever holds the descriptor (inherited across fork) is
 * the pager: it reads one message per waiting page and answers with COPY,
 * ZEROPAGE, WAKE or WRITEPROTECT, which wake that page's waiters to retry.
 *
 * A fault waits on a request: one per page however many threads wait on
 * it, so the pager gets one message per page.  The last close with waiters
 * left unregisters the ranges (the waiters retry as ordinary memory, as on
 * Linux) and says so on the console.  Lock point: the scheduler's (one CPU,
 * interrupts off) for requests, messages and wait queues; the owning space's
 * lock for ranges and pages, taken inside uffd_range.c. */
#include "errno.h"
#include "file.h"
#include "kmap.h"
#include "kmem.h"
#include "kprintf.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "uaccess.h"
#include "uffd.h"
#include "uffd_abi.h"

#define UFFD_FEATURES UFFD_FEATURE_PAGEFAULT_FLAG_WP /* exactly what is implemented */
#define UFFD_IOCTLS ((1ull << _UFFDIO_REGISTER) | (1ull << _UFFDIO_UNREGISTER) | (1ull << _UFFDIO_API))
#define UFFD_RANGE_IOCTLS ((1ull << _UFFDIO_WAKE) | (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE))
#define BOUNCE 2048 /* bytes of a copied page staged on the kernel stack at a time */

struct uffd_req {
    struct uffd_req *next;
    uintptr_t page;
    uint64_t flags;  /* UFFD_PAGEFAULT_FLAG_* of the fault that made it */
    bool delivered;  /* its message was read */
    struct wait_queue waiters;
};

struct uffd_ctx {
    struct vmm_space *space; /* the owner's; NULL once it is gone */
    int owner_pid;
    char owner_name[PROC_NAME_MAX];
    int flags;               /* UFFD_USER_MODE_ONLY, UFFD_O_NONBLOCK */
    bool api_done;
    struct uffd_req *reqs, **reqs_tail; /* unresolved, oldest first */
    struct wait_queue readers;
    struct uffd_ctx *next;   /* every live context */
};

static struct kmem_cache ctx_cache, req_cache;
static struct uffd_ctx *contexts;

struct file *uffd_create(int flags, long *err)
{
    *err = -EINVAL;
    if (flags & ~(UFFD_USER_MODE_ONLY | UFFD_O_CLOEXEC | UFFD_O_NONBLOCK))
        return NULL;
    *err = -ENOMEM;
    struct proc *p = proc_current();
    kmem_cache_init(&ctx_cache, "uffd", sizeof(struct uffd_ctx));
    struct uffd_ctx *c = kmem_alloc(&ctx_cache);
    struct file *f = c ? file_new_uffd(c) : NULL;
    if (!f) {
        if (c)
            kmem_free(&ctx_cache, c);
        return NULL;
    }
    c->space = p->space;
    c->owner_pid = p->pid;
    memcpy(c->owner_name, p->name, sizeof(c->owner_name));
    c->flags = flags & (UFFD_USER_MODE_ONLY | UFFD_O_NONBLOCK);
    c->reqs_tail = &c->reqs;
    c->readers.name = "userfaultfd read";
    c->next = contexts;
    contexts = c;
    return f;
}

static unsigned waiters_of(const struct uffd_req *r)
{
    unsigned n = 0;
    for (const struct thread *t = r->waiters.head; t; t = t->next)
        n++;
    return n;
}

/* Wake and forget every request whose page lies in [start, end). */
static void resolve(struct uffd_ctx *c, uintptr_t start, uintptr_t end)
{
    struct uffd_req **pp = &c->reqs;
    while (*pp) {
        struct uffd_req *r = *pp;
        if (r->page >= start && r->page < end) {
            *pp = r->next;
            sched_wake_all(&r->waiters);
            kmem_free(&req_cache, r);
        } else {
            pp = &r->next;
        }
    }
    c->reqs_tail = &c->reqs;
    while (*c->reqs_tail)
        c->reqs_tail = &(*c->reqs_tail)->next;
}

bool uffd_fault_wait(const struct vmm_fault *f, bool user_mode)
{
    struct uffd_ctx *c = f->wait_uffd;
    struct proc *p = proc_current();
    if (p->pid == 0 || !c->space || p->space != c->space)
        return false; /* the kernel's own thread never waits for a process */
    if (!user_mode && (c->flags & UFFD_USER_MODE_ONLY))
        return false; /* as Linux: the kernel access fails (-EFAULT) */
    if (p->kill_signal)
        return user_mode; /* dying: user mode goes to its exit, a copy fails */
    uintptr_t page = f->va & ~(uintptr_t)(PAGE_SIZE - 1);
    struct uffd_req *r = c->reqs;
    while (r && r->page != page)
        r = r->next;
    if (!r) {
        kmem_cache_init(&req_cache, "uffd request", sizeof(struct uffd_req));
        r = kmem_alloc(&req_cache);
        if (!r)
            return false;
        r->page = page;
        r->flags = (f->error & PF_ERR_W ? UFFD_PAGEFAULT_FLAG_WRITE : 0) |
                   (f->reason == FAULT_UFFD_WP ? UFFD_PAGEFAULT_FLAG_WP : 0);
        r->waiters.name = "pager";
        *c->reqs_tail = r;
        c->reqs_tail = &r->next;
        sched_wake_all(&c->readers);
        sched_wake_all(&file_poll_waiters);
    }
    sched_block(&r->waiters, "pager");
    /* Resolved (the request is gone), released, or killed (the request
     * stays for the pager). */
    return user_mode || !p->kill_signal;
}

static struct uffd_req *first_undelivered(struct uffd_ctx *c)
{
    struct uffd_req *r = c->reqs;
    while (r && r->delivered)
        r = r->next;
    return r;
}

unsigned uffd_poll(struct file *f)
{
    /* As Linux: a blocking descriptor (or one before UFFDIO_API) reports an
     * error to poll, since a message can go (its page resolved) between
     * poll and read. */
    if (!f->uffd->api_done || !(f->uffd->flags & UFFD_O_NONBLOCK))
        return FILE_POLLERR;
    return first_undelivered(f->uffd) ? FILE_POLLIN : 0;
}

bool uffd_nonblock(struct file *f, int set)
{
    if (set >= 0)
        f->uffd->flags = (f->uffd->flags & ~UFFD_O_NONBLOCK) | (set ? UFFD_O_NONBLOCK : 0);
    return f->uffd->flags & UFFD_O_NONBLOCK;
}

long uffd_read(struct file *f, uintptr_t buf, size_t n)
{
    struct uffd_ctx *c = f->uffd;
    if (!c->api_done || n < sizeof(struct uffd_msg))
        return -EINVAL;
    struct uffd_req *r;
    while (!(r = first_undelivered(c))) {
        if (c->flags & UFFD_O_NONBLOCK)
            return -EAGAIN;
        sched_block(&c->readers, "userfaultfd read");
        if (proc_current()->kill_signal)
            return -EINTR;
    }
    size_t done = 0;
    for (; r && n - done >= sizeof(struct uffd_msg); r = first_undelivered(c)) {
        struct uffd_msg m;
        memset(&m, 0, sizeof(m));
        m.event = UFFD_EVENT_PAGEFAULT;
        m.arg.pagefault.flags = r->flags;
        m.arg.pagefault.address = r->page;
        /* Delivered before the copy, which may wait (a buffer in a
         * registered range) while requests come and go: @r is not looked
         * at again, and a failed copy gives the message back if it is
         * still wanted. */
        r->delivered = true;
        if (copy_to_user(buf + done, &m, sizeof(m))) {
            for (struct uffd_req *q = c->reqs; q; q = q->next)
                if (q->page == m.arg.pagefault.address)
                    q->delivered = false;
            return done ? (long)done : -EFAULT;
        }
        done += sizeof(m);
    }
    return (long)done;
}

/* A range from the pager: page aligned, not empty, in the user half. */
static bool range_ok(uint64_t start, uint64_t len)
{
    return !((start | len) & (PAGE_SIZE - 1)) && len && uaccess_range_ok(start, len);
}

static long status_errno(enum vmm_status st)
{
    switch (st) {
    case VMM_OK: return 0;
    case VMM_ERR_EXISTS: return -EEXIST;
    case VMM_ERR_NOMEM: return -ENOMEM;
    case VMM_ERR_NO_REGION: return -ENOENT; /* not in a range registered here */
    default: return -EINVAL;
    }
}

/* A fresh frame holding the pager's page at @src. */
static long frame_from_user(uintptr_t src, paddr_t *out)
{
    char tmp[BOUNCE];
    paddr_t frame;
    if (pmm_alloc(&frame) != PMM_OK)
        return -ENOMEM;
    for (unsigned off = 0; off < PAGE_SIZE; off += BOUNCE) {
        /* Staged: the copy may fault (and even wait), holding no mapping. */
        if (copy_from_user(tmp, src + off, BOUNCE)) {
            pmm_free(frame);
            return -EFAULT;
        }
        char *dst = kmap_push(frame, true, NULL);
        if (!dst) {
            pmm_free(frame);
            return -ENOMEM;
        }
        memcpy(dst + off, tmp, BOUNCE);
        kmap_pop(dst);
    }
    *out = frame;
    return 0;
}

/* COPY (@src: the pager's bytes) or ZEROPAGE (@zero) over [dst, dst + len):
 * bytes provided, or -errno when none were. */
static long fill(struct uffd_ctx *c, uint64_t dst, uint64_t src, uint64_t len, bool zero,
                 bool wp)
{
    uint64_t done = 0;
    long err = 0;
    while (done < len) {
        paddr_t frame = 0;
        if (!zero && (err = frame_from_user(src + done, &frame)))
            break;
        if (!c->space) {
            err = -ESRCH;
        } else {
            err = status_errno(uffd_page_provide(c->space, dst + done, c, frame, wp));
        }
        if (err) {
            if (frame)
                pmm_free(frame);
            break;
        }
        done += PAGE_SIZE;
    }
    return done ? (long)done : err;
}

static long ioctl_api(struct uffd_ctx *c, uintptr_t arg)
{
    struct uffdio_api a;
    if (copy_from_user(&a, arg, sizeof(a)))
        return -EFAULT;
    if (c->api_done || a.api != UFFD_API || (a.features & ~UFFD_FEATURES))
        return -EINVAL;
    a.features = UFFD_FEATURES;
    a.ioctls = UFFD_IOCTLS;
    if (copy_to_user(arg, &a, sizeof(a)))
        return -EFAULT;
    c->api_done = true;
    return 0;
}

static long ioctl_register(struct uffd_ctx *c, uintptr_t arg)
{
    struct uffdio_register r;
    if (copy_from_user(&r, arg, sizeof(r)))
        return -EFAULT;
    if (!r.mode || (r.mode & ~(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP)) ||
        !range_ok(r.range.start, r.range.len))
        return -EINVAL;
    unsigned mode = (r.mode & UFFDIO_REGISTER_MODE_MISSING ? REGION_UFFD_MISSING : 0) |
                    (r.mode & UFFDIO_REGISTER_MODE_WP ? REGION_UFFD_WP : 0);
    enum vmm_status st = uffd_range_register(c->space, r.range.start, r.range.len, c, mode);
    if (st != VMM_OK)
        return st == VMM_ERR_EXISTS ? -EBUSY : st == VMM_ERR_NOMEM ? -ENOMEM : -EINVAL;
    r.ioctls = UFFD_RANGE_IOCTLS | (mode & REGION_UFFD_WP ? 1ull << _UFFDIO_WRITEPROTECT : 0);
    return copy_to_user(arg + offsetof(struct uffdio_register, ioctls), &r.ioctls,
                        sizeof(r.ioctls))
               ? -EFAULT
               : 0;
}

long uffd_ioctl(struct file *f, uint64_t cmd, uintptr_t arg)
{
    struct uffd_ctx *c = f->uffd;
    if (cmd == UFFDIO_API)
        return ioctl_api(c, arg);
    if (!c->api_done)
        return -EINVAL;
    if (!c->space)
        return -ESRCH; /* the address space it served is gone */
    switch (cmd) {
    case UFFDIO_REGISTER:
        return ioctl_register(c, arg);
    case UFFDIO_UNREGISTER:
    case UFFDIO_WAKE: {
        struct uffdio_range r;
        if (copy_from_user(&r, arg, sizeof(r)))
            return -EFAULT;
        if (!range_ok(r.start, r.len))
            return -EINVAL;
        if (cmd == UFFDIO_UNREGISTER) {
            enum vmm_status st = uffd_range_unregister(c->space, r.start, r.len, c);
            if (st != VMM_OK)
                return status_errno(st);
        }
        resolve(c, r.start, r.start + r.len); /* unregistered waiters retry too */
        return 0;
    }
    case UFFDIO_COPY:
    case UFFDIO_ZEROPAGE: {
        bool copy = cmd == UFFDIO_COPY;
        struct uffdio_copy a;
        struct uffdio_zeropage z;
        uint64_t dst, len, mode;
        if (copy ? copy_from_user(&a, arg, sizeof(a)) : copy_from_user(&z, arg, sizeof(z)))
            return -EFAULT;
        dst = copy ? a.dst : z.range.start;
        len = copy ? a.len : z.range.len;
        mode = copy ? a.mode : z.mode;
        if ((mode & ~(UFFDIO_COPY_MODE_DONTWAKE | (copy ? UFFDIO_COPY_MODE_WP : 0))) ||
            !range_ok(dst, len) || (copy && (a.src & (PAGE_SIZE - 1))))
            return -EINVAL;
        long res = fill(c, dst, copy ? a.src : 0, len, !copy, copy && (mode & UFFDIO_COPY_MODE_WP));
        int64_t out = res;
        uintptr_t field = copy ? arg + offsetof(struct uffdio_copy, copy)
                               : arg + offsetof(struct uffdio_zeropage, zeropage);
        if (copy_to_user(field, &out, sizeof(out)))
            return -EFAULT;
        if (res > 0 && !(mode & UFFDIO_COPY_MODE_DONTWAKE))
            resolve(c, dst, dst + (uint64_t)res);
        if (res < 0)
            return res;
        return (uint64_t)res == len ? 0 : -EAGAIN; /* partly done: copy says how far */
    }
    case UFFDIO_WRITEPROTECT: {
        struct uffdio_writeprotect w;
        if (copy_from_user(&w, arg, sizeof(w)))
            return -EFAULT;
        bool wp = w.mode & UFFDIO_WRITEPROTECT_MODE_WP;
        bool dontwake = w.mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
        if ((w.mode & ~(UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE)) ||
            (wp && dontwake) || !range_ok(w.range.start, w.range.len))
            return -EINVAL;
        enum vmm_status st =
            uffd_range_writeprotect(c->space, w.range.start, w.range.len, c, wp);
        if (st != VMM_OK)
            return status_errno(st);
        if (!wp && !dontwake)
            resolve(c, w.range.start, w.range.start + w.range.len);
        return 0;
    }
    }
    return -ENOTTY; /* Linux: an ioctl a userfaultfd does not have */
}

static void forget(struct uffd_ctx *c)
{
    for (struct uffd_ctx **pp = &contexts; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

void uffd_release(struct file *f)
{
    struct uffd_ctx *c = f->uffd;
    unsigned waiters = 0;
    for (struct uffd_req *r = c->reqs; r; r = r->next)
        waiters += waiters_of(r);
    uintptr_t lo = 0, hi = 0;
    if (c->space)
        uffd_range_release(c->space, c, &lo, &hi);
    if (waiters) {
        struct proc *p = proc_current();
        kprintf("userfaultfd: PID %d [%s] closed the last descriptor of PID %d [%s]'s pager with "
                "faults pending: [%#lx, %#lx) unregistered, %u waiter%s released as ordinary "
                "memory\n",
                p->pid, p->name, c->owner_pid, c->owner_name, (unsigned long)lo,
                (unsigned long)hi, waiters, waiters == 1 ? "" : "s");
    }
    resolve(c, 0, ~(uintptr_t)0);
    forget(c);
    sched_wake_all(&c->readers);
    kmem_free(&ctx_cache, c);
}

void uffd_space_gone(struct vmm_space *s)
{
    for (struct uffd_ctx *c = contexts; c; c = c->next) {
        if (c->space != s)
            continue;
        c->space = NULL;
        resolve(c, 0, ~(uintptr_t)0); /* the space's own threads are gone */
    }
}
