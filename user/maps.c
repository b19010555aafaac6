/* maps PID: a readable /proc/PID/maps.  Sizes and resident memory come from
 * /proc/PID/smaps; the CoW and zero-frame columns from Zeroframe's own
 * smaps fields (ZfCow, ZfZeroFrame: "-" on Linux, which has no such
 * fields).  "maps" alone: the maps of maps itself. */
#include "lib/procfs.h"

static char text[65536];

int main(int argc, char **argv)
{
    const char *who = argc > 1 ? argv[1] : "self";
    char path[64];
    snprintf(path, sizeof(path), "/proc/%s/smaps", who);
    if (proc_slurp(path, text, sizeof(text)) < 0) {
        printf("maps: cannot read %s (no such process?)\n", path);
        return 1;
    }
    printf("%-25s %-4s %8s %7s %7s %7s  %s\n", "range", "perm", "size", "rss", "cow", "zero",
           "what");
    struct map_line m;
    long long tsize = 0, trss = 0;
    for (const char *c = text; c && *c;) {
        const char *next = map_parse(c, &m);
        if (!next) { /* a field line of the entry above */
            c = strchr(c, '\n');
            c = c ? c + 1 : NULL;
            continue;
        }
        /* The fields run up to the next maps line. */
        const char *end = next;
        struct map_line probe;
        while (*end && !map_parse(end, &probe)) {
            const char *nl = strchr(end, '\n');
            end = nl ? nl + 1 : end + strlen(end);
        }
        char fields[4096];
        size_t n = (size_t)(end - next) < sizeof(fields) - 1 ? (size_t)(end - next) : sizeof(fields) - 1;
        memcpy(fields, next, n);
        fields[n] = 0;
        long long size = proc_field(fields, "Size"), rss = proc_field(fields, "Rss");
        long long cow = proc_field(fields, "ZfCow"), zero = proc_field(fields, "ZfZeroFrame");
        char cs[24] = "-", zs[24] = "-";
        if (cow >= 0)
            snprintf(cs, sizeof(cs), "%lldK", cow);
        if (zero >= 0)
            snprintf(zs, sizeof(zs), "%lldK", zero);
        char range[40];
        snprintf(range, sizeof(range), "%lx-%lx", m.start, m.end);
        printf("%-25s %-4s %7lldK %6lldK %7s %7s  %s\n", range, m.perms, size, rss, cs, zs,
               m.path[0] ? m.path : (m.perms[3] == 's' ? "(shared anonymous)" : "(anonymous)"));
        tsize += size;
        trss += rss;
        c = end;
    }
    printf("total %lld kB mapped, %lld kB resident\n", tsize, trss);
    return 0;
}
