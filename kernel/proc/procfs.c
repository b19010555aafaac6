/* Generated read-only files: /proc/meminfo, /proc/vmstat and
 * /proc/PID/status (also /proc/self/status) in Linux's formats (a snapshot
 * taken when the file is opened).  Linux's names where they mean the same;
 * Zeroframe's own counters are prefixed zf_. */
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

static void meminfo(struct text *t, const struct proc *p)
{
    (void)p;
    struct pmm_stats s;
    pmm_get_stats(&s);
    uint64_t kb = PAGE_SIZE / 1024;
    EMIT(t, "MemTotal:       %8llu kB\n", (unsigned long long)(s.total * kb));
    EMIT(t, "MemFree:        %8llu kB\n", (unsigned long long)(s.free * kb));
    EMIT(t, "MemAvailable:   %8llu kB\n", (unsigned long long)(s.free * kb));
}

static void vmstat(struct text *t, const struct proc *p)
{
    (void)p;
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
    EMIT(t, "zf_frames_allocated %llu\n", (unsigned long long)s.allocated);
    EMIT(t, "zf_kmem_objects %llu\n", (unsigned long long)kmem_objects_in_use());
    EMIT(t, "zf_vm_objects %llu\n", (unsigned long long)vmobj_live_count());
    uint64_t cached = 0;
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        cached += o->cached;
    EMIT(t, "zf_cached_pages %llu\n", (unsigned long long)cached);
}

/* Linux's state letters and words: a program (or a person) reads the
 * state a process is in, e.g. "T (stopped)" after a fault under fault=stop. */
static const char *linux_state(const struct proc *p)
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

static void status(struct text *t, const struct proc *p)
{
    EMIT(t, "Name:\t%s\n", p->name);
    EMIT(t, "State:\t%s\n", linux_state(p));
    EMIT(t, "Pid:\t%d\n", p->pid);
    EMIT(t, "PPid:\t%d\n", p->parent ? p->parent->pid : 0);
    if (p->thread && p->thread->blocked_why)
        EMIT(t, "Zf_blocked_on:\t%s\n", p->thread->blocked_why);
}

/* The process @path names ("/proc/PID/status", "/proc/self/status"), or
 * NULL when @path is not of that form or names no process. */
static struct proc *status_path(const char *path)
{
    static const char prefix[] = "/proc/", suffix[] = "/status";
    size_t n = strlen(path), pl = sizeof(prefix) - 1, sl = sizeof(suffix) - 1;
    if (n <= pl + sl || strncmp(path, prefix, pl) != 0 || strcmp(path + n - sl, suffix) != 0)
        return NULL;
    const char *id = path + pl, *end = path + n - sl;
    if (end - id == 4 && strncmp(id, "self", 4) == 0)
        return proc_current();
    long pid = 0;
    for (const char *c = id; c < end; c++) {
        if (*c < '0' || *c > '9' || pid > 1000000000)
            return NULL;
        pid = pid * 10 + (*c - '0');
    }
    return proc_find((int)pid);
}

static struct file *text_file(void (*gen)(struct text *t, const struct proc *p),
                              const struct proc *p)
{
    struct text t = { vmm_arena_alloc(TEXT_MAX / PAGE_SIZE, "proc text"), 0 };
    if (!t.buf)
        return NULL;
    gen(&t, p);
    if (t.len > TEXT_MAX - 1)
        t.len = TEXT_MAX - 1;
    struct file *f = file_new_text(t.buf, t.len);
    if (!f)
        vmm_arena_free(t.buf);
    return f;
}

static const struct {
    const char *path;
    void (*gen)(struct text *t, const struct proc *p);
} generated[] = {
    { "/proc/meminfo", meminfo },
    { "/proc/vmstat", vmstat },
};

struct file *file_open_generated(const char *path, bool *known)
{
    *known = false;
    for (size_t i = 0; i < sizeof(generated) / sizeof(generated[0]); i++) {
        if (strcmp(path, generated[i].path) != 0)
            continue;
        *known = true;
        return text_file(generated[i].gen, NULL);
    }
    struct proc *p = status_path(path);
    if (!p)
        return NULL; /* not ours, or no such process: ENOENT */
    *known = true;
    return text_file(status, p);
}
