/* Reading /proc the way Linux lays it out, for the tools (ps, maps,
 * meminfo, vmstat) and the tests: the same code reads Zeroframe's files and
 * Linux's.  Header-only, like check.h. */
#ifndef ZF_USER_PROCFS_H
#define ZF_USER_PROCFS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole of @path into @buf (NUL-terminated): its length, or -1. */
static inline long proc_slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    close(fd);
    buf[len] = 0;
    return (long)len;
}

/* The number after "@key:" in a "Key:   123 kB" file, or -1. */
static inline long long proc_field(const char *text, const char *key)
{
    size_t len = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, len) == 0 && line[len] == ':')
            return atoll(line + len + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

/* One line of /proc/PID/maps. */
struct map_line {
    unsigned long start, end, offset, inode;
    char perms[5];
    unsigned dev_major, dev_minor;
    char path[256];
};

/* Parse one line (up to its newline); pointer past it, or NULL at the end
 * or on a line that is not in the format. */
static inline const char *map_parse(const char *line, struct map_line *m)
{
    if (!line || !*line)
        return NULL;
    int used = 0;
    if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu%n", &m->start, &m->end, m->perms, &m->offset,
               &m->dev_major, &m->dev_minor, &m->inode, &used) != 7)
        return NULL;
    const char *c = line + used;
    while (*c == ' ')
        c++;
    size_t n = strcspn(c, "\n");
    if (n >= sizeof(m->path))
        n = sizeof(m->path) - 1;
    memcpy(m->path, c, n);
    m->path[n] = 0;
    c += strcspn(c, "\n");
    return *c ? c + 1 : c;
}

#endif

/* ---- fault counters, for the demos -------------------------------------- */
#include <sys/utsname.h>

struct counters {
    long long v[9];
};
static const char *const counter_names[9] = {
    "pgfault", "pgmajfault", "zf_zero_fills", "zf_zero_maps", "zf_cow_copies",
    "zf_cow_reuses", "zf_page_maps", "zf_fatal", "nr_free_pages",
};
static const char *const counter_what[9] = {
    "page faults (all kinds)", "faults that read a file page in", "zero-fills (a fresh zeroed frame)",
    "zero-frame maps (a read: no frame)", "CoW copies", "CoW reuses (no copy)",
    "file pages mapped", "fatal faults", "free frames",
};

static inline long long vmstat_of(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return atoll(line + len + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

static struct counters counters_noise; /* what one reading itself costs */

static inline void counters_read_raw(struct counters *c)
{
    static char buf[8192];
    if (proc_slurp("/proc/vmstat", buf, sizeof(buf)) < 0)
        buf[0] = 0;
    for (int i = 0; i < 9; i++)
        c->v[i] = vmstat_of(buf, counter_names[i]);
}

/* Reading /proc/vmstat costs a fault or so of its own (the kernel builds
 * the text in fresh memory): measured once, then left out of the deltas. */
static inline void counters_read(struct counters *c)
{
    static int calibrated;
    if (!calibrated) {
        struct counters a, b;
        calibrated = 1;
        counters_read_raw(&a); /* the first reading pages this code in */
        counters_read_raw(&a);
        counters_read_raw(&b);
        for (int i = 0; i < 9; i++)
            counters_noise.v[i] = b.v[i] - a.v[i];
    }
    counters_read_raw(c);
}

/* "  name  +delta  what" for each counter that moved (or every one with
 * @all), less the cost of one reading; counters this kernel does not have
 * are left out. */
static inline void counters_print(const struct counters *a, const struct counters *b, int all)
{
    for (int i = 0; i < 9; i++) {
        if (a->v[i] < 0 || b->v[i] < 0)
            continue;
        long long d = b->v[i] - a->v[i] - counters_noise.v[i];
        if (d || all)
            printf("    %-14s %+8lld   %s\n", counter_names[i], d, counter_what[i]);
    }
}

static inline int kernel_is_zeroframe(void)
{
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.sysname, "Zeroframe") == 0;
}
