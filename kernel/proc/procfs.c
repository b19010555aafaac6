/* Generated read-only files: /proc/meminfo and /proc/vmstat in Linux's
 * formats (a snapshot taken when the file is opened).  Linux's names where
 * they mean the same; Zeroframe's own counters are prefixed zf_. */
#include "file.h"
#include "kmem.h"
#include "kprintf.h"
#include "kstring.h"
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
    EMIT(t, "zf_frames_allocated %llu\n", (unsigned long long)s.allocated);
    EMIT(t, "zf_kmem_objects %llu\n", (unsigned long long)kmem_objects_in_use());
    EMIT(t, "zf_vm_objects %llu\n", (unsigned long long)vmobj_live_count());
    uint64_t cached = 0;
    for (struct vmobj *o = vmobj_first(); o; o = o->next_obj)
        cached += o->cached;
    EMIT(t, "zf_cached_pages %llu\n", (unsigned long long)cached);
}

static const struct {
    const char *path;
    void (*gen)(struct text *t);
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
