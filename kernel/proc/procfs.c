/* Generated read-only files: /proc/meminfo, /proc/vmstat and /proc/PID/status in Linux's
 * formats (a snapshot taken when the file is opened).  Linux's names where
 * they mean the same; Zeroframe's own counters are prefixed zf_. */
#include "file.h"
#include "kmem.h"
#include "kprintf.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "vmm.h"
#include "vmobj.h"

#define TEXT_MAX PAGE_SIZE

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

static void meminfo(struct text *t)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    uint64_t kb = PAGE_SIZE / 1024;
    EMIT(t, "MemTotal:       %8llu kB\n", (unsigned long long)(s.total * kb));
    EMIT(t, "MemFree:        %8llu kB\n", (unsigned long long)(s.free * kb));
    EMIT(t, "MemAvailable:   %8llu kB\n", (unsigned long long)(s.free * kb));
}

static void vmstat(struct text *t)
{
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

/* /proc/PID/status: Linux's first lines; a blocked process says on what
 * ("S (blocked on pager)": waiting for a userfaultfd pager). */
static int status_pid;

static void status(struct text *t)
{
    struct proc *p = proc_find(status_pid);
    if (!p)
        return;
    const struct thread *th = p->thread;
    char st = p->zombie ? 'Z' : !th ? 'X' : th->state == THREAD_BLOCKED ? 'S'
            : th->state == THREAD_STOPPED ? 'T' : 'R';
    EMIT(t, "Name:\t%s\n", p->name);
    if (st == 'S')
        EMIT(t, "State:\tS (blocked on %s)\n", th->blocked_why ? th->blocked_why : "?");
    else
        EMIT(t, "State:\t%c (%s)\n", st, proc_state_str(p));
    EMIT(t, "Pid:\t%d\nPPid:\t%d\n", p->pid, p->parent ? p->parent->pid : 0);
}

/* "/proc/PID/status" or "/proc/self/status": the PID, else -1. */
static int status_path(const char *path)
{
    const char *pre = "/proc/", *suf = "/status";
    size_t n = strlen(pre);
    if (strncmp(path, pre, n) != 0)
        return -1;
    path += n;
    int pid = 0;
    if (strncmp(path, "self", 4) == 0) {
        pid = proc_current()->pid;
        path += 4;
    } else {
        const char *d = path;
        while (*path >= '0' && *path <= '9' && pid < 1000000)
            pid = pid * 10 + (*path++ - '0');
        if (path == d)
            return -1;
    }
    return strcmp(path, suf) == 0 && proc_find(pid) ? pid : -1;
}

static const struct {
    const char *path;
    void (*gen)(struct text *t);
} generated[] = {
    { "/proc/meminfo", meminfo },
    { "/proc/vmstat", vmstat },
    { "/proc/PID/status", status },
};

struct file *file_open_generated(const char *path, bool *known)
{
    *known = false;
    int pid = status_path(path);
    for (size_t i = 0; i < sizeof(generated) / sizeof(generated[0]); i++) {
        if (generated[i].gen == status ? pid < 0 : strcmp(path, generated[i].path) != 0)
            continue;
        status_pid = pid;
        *known = true;
        struct text t = { vmm_arena_alloc(TEXT_MAX / PAGE_SIZE, "proc text"), 0 };
        if (!t.buf)
            return NULL;
        generated[i].gen(&t);
        if (t.len > TEXT_MAX - 1)
            t.len = TEXT_MAX - 1;
        struct file *f = file_new_text(t.buf, t.len);
        if (!f)
            vmm_arena_free(t.buf);
        return f;
    }
    return NULL;
}
