/* Generated read-only files in Linux's formats, built from the live kernel
 * structures when the file is opened (a snapshot):
 *   /proc/meminfo  /proc/vmstat
 *   /proc/PID/maps /proc/PID/smaps /proc/PID/status  (PID or "self")
 *   /proc          the directory: one entry per process (getdents64)
 * Linux's names where they mean the same; Zeroframe's own counters are
 * prefixed zf_ (vmstat) or Zf (smaps). */
#include "file.h"
#include "kmem.h"
#include "kprintf.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "vmm.h"
#include "vmobj.h"

#define TEXT_MAX (8 * PAGE_SIZE)

struct text {
    char *buf;
    size_t len;
};

#define EMIT(t, ...)                                                                        \
    do {                                                                                    \
        if ((t)->len < TEXT_MAX)                                                            \
            (t)->len += (size_t)ksnprintf((t)->buf + (t)->len, TEXT_MAX - (t)->len,        \
                                          __VA_ARGS__);                                     \
    } while (0)

/* ---- what a region's pages are ------------------------------------------
 * Shares are fixed point (WEIGHT per page): a frame mapped by n page tables
 * counts 1/n in each, so summing over every space counts it once (Linux's
 * AnonPages and Mapped count pages, not mappings). */
#define WEIGHT 65536ull

struct usage {
    uint64_t rss, anon, file, shmem, shared, cow, zero; /* pages */
    uint64_t anon_w, file_w, shmem_w, pss_w;             /* weighted */
};

struct usage_walk {
    const struct region *r;
    struct usage *u;
};

static void usage_leaf(void *ctx, uintptr_t va, uint64_t *entry, int level)
{
    struct usage_walk *w = ctx;
    struct usage *u = w->u;
    if (level != 1)
        return; /* user memory is 4 KiB pages */
    paddr_t pa = *entry & PTE_ADDR_MASK;
    if (pa == vmm_zero_frame) {
        u->zero++; /* not resident: Linux leaves the zero page out of RSS too */
        return;
    }
    u->rss++;
    if (*entry & PTE_COW)
        u->cow++;
    const struct region *r = w->r;
    uint64_t refs = pmm_refcount(pa);
    bool cached = false;
    if (r->obj && r->obj->kind != VMOBJ_PHYS) {
        uint64_t index = r->offset + (va - r->start) / PAGE_SIZE;
        cached = vmobj_page_lookup(r->obj, index) == pa;
    }
    uint64_t mappers = refs > (cached ? 1u : 0u) ? refs - (cached ? 1u : 0u) : 1;
    uint64_t share = WEIGHT / mappers;
    if (mappers > 1)
        u->shared++;
    u->pss_w += share;
    if (cached && r->obj->kind == VMOBJ_ANON) {
        u->shmem++;
        u->shmem_w += share;
    } else if (cached || (r->obj && r->obj->kind == VMOBJ_PHYS)) {
        u->file++;
        u->file_w += share;
    } else {
        u->anon++;
        u->anon_w += share;
    }
}

static void region_usage(struct vmm_space *s, const struct region *r, struct usage *u)
{
    struct usage_walk w = { r, u };
    struct vmm_visitor v = { .leaf = usage_leaf, .ctx = &w };
    vmm_visit(s, r->start, r->end - 1, &v);
}

static void usage_add(struct usage *sum, const struct usage *u)
{
    sum->rss += u->rss;
    sum->anon += u->anon;
    sum->file += u->file;
    sum->shmem += u->shmem;
    sum->shared += u->shared;
    sum->cow += u->cow;
    sum->zero += u->zero;
    sum->anon_w += u->anon_w;
    sum->file_w += u->file_w;
    sum->shmem_w += u->shmem_w;
    sum->pss_w += u->pss_w;
}

/* The path /proc/PID/maps shows for a region: its own name ([heap],
 * [stack]) or its file's; none for anonymous memory. */
static const char *region_path(const struct region *r)
{
    if (r->name)
        return r->name;
    if (r->obj && r->obj->kind == VMOBJ_PAGED)
        return r->obj->name;
    return NULL;
}

/* Guard regions are the kernel's own fences (the stack guard); Linux lists
 * no such mapping, so neither do we. */
static bool region_listed(const struct region *r)
{
    return !(r->flags & REGION_GUARD);
}

static uint64_t kb(uint64_t pages)
{
    return pages * (PAGE_SIZE / 1024);
}

static uint64_t kb_w(uint64_t weighted)
{
    return (weighted * (PAGE_SIZE / 1024) + WEIGHT / 2) / WEIGHT;
}

struct space_walk {
    struct text *t;
    struct vmm_space *s;
    struct usage sum;
    uint64_t size; /* bytes of listed regions */
    bool smaps;
};

/* One line of /proc/PID/maps, Linux's layout: range, perms (p/s), offset,
 * device, inode, then the path at column 74. */
static void maps_line(struct text *t, const struct region *r)
{
    const char *path = region_path(r);
    bool file = r->obj && r->obj->kind == VMOBJ_PAGED;
    size_t start = t->len;
    EMIT(t, "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", (unsigned long)r->start,
         (unsigned long)r->end, r->prot & REGION_R ? 'r' : '-', r->prot & REGION_W ? 'w' : '-',
         r->prot & REGION_X ? 'x' : '-', r->flags & REGION_SHARED ? 's' : 'p',
         file ? (unsigned long long)r->offset * PAGE_SIZE : 0ull, 0, file ? 1 : 0,
         file ? (unsigned long)r->obj->id : 0ul);
    if (path) {
        size_t col = t->len - start;
        EMIT(t, "%*s%s", col < 73 ? (int)(73 - col) : 0, "", path);
    }
    EMIT(t, "\n");
}

static void space_region(void *ctx, const struct region *r)
{
    struct space_walk *w = ctx;
    if (!region_listed(r))
        return;
    struct usage u = { 0 };
    region_usage(w->s, r, &u);
    usage_add(&w->sum, &u);
    w->size += r->end - r->start;
    if (!w->t)
        return;
    maps_line(w->t, r);
    if (!w->smaps)
        return;
    struct text *t = w->t;
    EMIT(t, "Size:           %8llu kB\n", (unsigned long long)(r->end - r->start) / 1024);
    EMIT(t, "Rss:            %8llu kB\n", (unsigned long long)kb(u.rss));
    EMIT(t, "Pss:            %8llu kB\n", (unsigned long long)kb_w(u.pss_w));
    EMIT(t, "Shared:         %8llu kB\n", (unsigned long long)kb(u.shared));
    EMIT(t, "Private:        %8llu kB\n", (unsigned long long)kb(u.rss - u.shared));
    EMIT(t, "Anonymous:      %8llu kB\n", (unsigned long long)kb(u.anon));
    EMIT(t, "ZfCow:          %8llu kB\n", (unsigned long long)kb(u.cow));
    EMIT(t, "ZfZeroFrame:    %8llu kB\n", (unsigned long long)kb(u.zero));
}

static void walk_space(struct vmm_space *s, struct space_walk *w)
{
    w->s = s;
    if (s)
        region_for_each(s, space_region, w);
}

/* ---- the files ----------------------------------------------------------- */

static void meminfo(struct text *t, struct proc *unused)
{
    (void)unused;
    struct pmm_stats s;
    pmm_get_stats(&s);
    struct space_walk w = { 0 };
    for (struct proc *p = proc_first(); p; p = p->next_proc)
        if (p->space && p->pid != 0)
            walk_space(p->space, &w);
    uint64_t cached = 0;
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        cached += o->cached;
    EMIT(t, "MemTotal:       %8llu kB\n", (unsigned long long)kb(s.total));
    EMIT(t, "MemFree:        %8llu kB\n", (unsigned long long)kb(s.free));
    EMIT(t, "MemAvailable:   %8llu kB\n", (unsigned long long)kb(s.free));
    EMIT(t, "Cached:         %8llu kB\n", (unsigned long long)kb(cached));
    EMIT(t, "AnonPages:      %8llu kB\n", (unsigned long long)kb_w(w.sum.anon_w));
    EMIT(t, "Mapped:         %8llu kB\n", (unsigned long long)kb_w(w.sum.file_w));
    EMIT(t, "Shmem:          %8llu kB\n", (unsigned long long)kb_w(w.sum.shmem_w));
}

static void vmstat(struct text *t, struct proc *unused)
{
    (void)unused;
    struct vmm_fault_counters c = vmm_counters_get();
    struct pmm_stats s;
    pmm_get_stats(&s);
    EMIT(t, "nr_free_pages %llu\n", (unsigned long long)s.free);
    EMIT(t, "pgfault %llu\n", (unsigned long long)c.faults);
    EMIT(t, "pgmajfault %llu\n", (unsigned long long)c.page_ins);
    EMIT(t, "zf_zero_fills %llu\n", (unsigned long long)c.zero_fills);
    EMIT(t, "zf_zero_maps %llu\n", (unsigned long long)c.zero_maps);
    EMIT(t, "zf_cow_copies %llu\n", (unsigned long long)c.copies);
    EMIT(t, "zf_cow_reuses %llu\n", (unsigned long long)c.reuses);
    EMIT(t, "zf_page_maps %llu\n", (unsigned long long)c.page_maps);
    EMIT(t, "zf_spurious %llu\n", (unsigned long long)c.spurious);
    EMIT(t, "zf_fatal %llu\n", (unsigned long long)c.fatal);
    EMIT(t, "zf_oom %llu\n", (unsigned long long)c.oom);
    EMIT(t, "zf_pager_waits %llu\n", (unsigned long long)c.waits);
    EMIT(t, "zf_uffd_waits %llu\n", (unsigned long long)c.uffd_waits);
    EMIT(t, "zf_frames_allocated %llu\n", (unsigned long long)s.allocated);
    EMIT(t, "zf_kmem_objects %llu\n", (unsigned long long)kmem_objects_in_use());
    EMIT(t, "zf_vm_objects %llu\n", (unsigned long long)vmobj_live_count());
    uint64_t cached = 0;
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        cached += o->cached;
    EMIT(t, "zf_cached_pages %llu\n", (unsigned long long)cached);
}

static void maps(struct text *t, struct proc *p)
{
    struct space_walk w = { .t = t };
    walk_space(p->space, &w);
}

static void smaps(struct text *t, struct proc *p)
{
    struct space_walk w = { .t = t, .smaps = true };
    walk_space(p->space, &w);
}

/* Linux's state letters and words: a program (or a person) reads the
 * state a process is in, e.g. "T (stopped)" after a fault under fault=stop. */
static const char *state_letter(const struct proc *p)
{
    if (p->zombie)
        return "Z (zombie)";
    switch (p->thread ? p->thread->state : THREAD_DEAD) {
    case THREAD_RUNNABLE: return "R (running)";
    case THREAD_BLOCKED: return "S (sleeping)";
    case THREAD_STOPPED: return "T (stopped)";
    case THREAD_DEAD: break;
    }
    return "X (dead)";
}

static void status(struct text *t, struct proc *p)
{
    struct space_walk w = { 0 };
    walk_space(p->space, &w);
    EMIT(t, "Name:\t%s\n", p->name);
    EMIT(t, "State:\t%s\n", state_letter(p));
    EMIT(t, "Tgid:\t%d\n", p->pid);
    EMIT(t, "Pid:\t%d\n", p->pid);
    EMIT(t, "PPid:\t%d\n", p->parent ? p->parent->pid : 0);
    if (p->space) { /* Linux leaves the Vm lines out for a zombie too */
        EMIT(t, "VmSize:\t%8llu kB\n", (unsigned long long)w.size / 1024);
        EMIT(t, "VmRSS:\t%8llu kB\n", (unsigned long long)kb(w.sum.rss));
        EMIT(t, "RssAnon:\t%8llu kB\n", (unsigned long long)kb(w.sum.anon));
        EMIT(t, "RssFile:\t%8llu kB\n", (unsigned long long)kb(w.sum.file));
        EMIT(t, "RssShmem:\t%8llu kB\n", (unsigned long long)kb(w.sum.shmem));
    }
    EMIT(t, "Threads:\t1\n");
    if (p->thread && p->thread->blocked_why) /* Zeroframe's own: what it waits for */
        EMIT(t, "Zf_blocked_on:\t%s\n", p->thread->blocked_why);
    if (p->fault[0]) /* Zeroframe's own: why a fatal fault killed it (zombies) */
        EMIT(t, "ZfFault:\t%s\n", p->fault);
}

/* /proc as a directory: linux_dirent64 records (getdents64 hands out whole
 * records). */
struct dirent64 {
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    uint8_t type;
    char name[];
};
#define DT_DIR 4
#define DT_REG 8

static void dir_entry(struct text *t, uint64_t ino, uint8_t type, const char *name)
{
    size_t len = strlen(name);
    size_t reclen = (sizeof(struct dirent64) + len + 1 + 7) & ~(size_t)7;
    if (t->len + reclen > TEXT_MAX)
        return;
    struct dirent64 *d = (struct dirent64 *)(t->buf + t->len);
    memset(d, 0, reclen);
    d->ino = ino;
    d->off = (int64_t)(t->len + reclen);
    d->reclen = (uint16_t)reclen;
    d->type = type;
    memcpy(d->name, name, len + 1);
    t->len += reclen;
}

static void proc_dir(struct text *t, struct proc *unused)
{
    (void)unused;
    dir_entry(t, 1, DT_DIR, ".");
    dir_entry(t, 1, DT_DIR, "..");
    dir_entry(t, 2, DT_REG, "meminfo");
    dir_entry(t, 3, DT_REG, "vmstat");
    dir_entry(t, 4, DT_DIR, "self");
    /* The table lists the newest first; ps wants them ascending. */
    int last = 0;
    for (;;) {
        struct proc *next = NULL;
        for (struct proc *p = proc_first(); p; p = p->next_proc)
            if (p->pid > last && (!next || p->pid < next->pid))
                next = p;
        if (!next)
            break;
        char name[16];
        ksnprintf(name, sizeof(name), "%d", next->pid);
        if (next->pid != 0)
            dir_entry(t, 100 + (uint64_t)next->pid, DT_DIR, name);
        last = next->pid;
    }
}

typedef void (*gen_fn)(struct text *t, struct proc *p);

static const struct {
    const char *name;
    gen_fn gen;
} per_process[] = {
    { "maps", maps },
    { "smaps", smaps },
    { "status", status },
};

/* The generator for @path and its process; NULL when @path names none. */
static gen_fn lookup(const char *path, struct proc **pp, bool *dir)
{
    *pp = NULL;
    *dir = false;
    if (strcmp(path, "/proc/meminfo") == 0)
        return meminfo;
    if (strcmp(path, "/proc/vmstat") == 0)
        return vmstat;
    if (strcmp(path, "/proc") == 0 || strcmp(path, "/proc/") == 0) {
        *dir = true;
        return proc_dir;
    }
    if (strncmp(path, "/proc/", 6) != 0)
        return NULL;
    const char *c = path + 6;
    struct proc *p;
    if (strncmp(c, "self/", 5) == 0) {
        p = proc_current();
        c += 5;
    } else {
        int pid = 0;
        if (*c < '0' || *c > '9')
            return NULL;
        while (*c >= '0' && *c <= '9' && pid < 10000000)
            pid = pid * 10 + (*c++ - '0');
        if (*c++ != '/' || !(p = proc_find(pid)) || pid == 0)
            return NULL;
    }
    for (size_t i = 0; i < sizeof(per_process) / sizeof(per_process[0]); i++)
        if (strcmp(c, per_process[i].name) == 0) {
            *pp = p;
            return per_process[i].gen;
        }
    return NULL;
}

struct file *file_open_generated(const char *path, bool *known)
{
    struct proc *p;
    bool dir;
    gen_fn gen = lookup(path, &p, &dir);
    *known = gen != NULL;
    if (!gen)
        return NULL;
    struct text t = { vmm_arena_alloc(TEXT_MAX / PAGE_SIZE, "proc text"), 0 };
    if (!t.buf)
        return NULL;
    gen(&t, p);
    if (!dir && t.len > TEXT_MAX - 1)
        t.len = TEXT_MAX - 1; /* cut short, never past the buffer */
    struct file *f = file_new_text(t.buf, t.len);
    if (!f)
        vmm_arena_free(t.buf);
    else
        f->dir = dir;
    return f;
}
