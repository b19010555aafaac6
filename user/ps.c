/* ps: the processes, from /proc/PID/status (Linux's format, so it runs on
 * Linux too). */
#include <dirent.h>

#include "lib/procfs.h"

int main(void)
{
    DIR *d = opendir("/proc");
    if (!d) {
        perror("ps: /proc");
        return 1;
    }
    printf("  PID  PPID STATE         VSZ(kB)  RSS(kB) NAME\n");
    struct dirent *e;
    static char buf[8192];
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
        if (proc_slurp(path, buf, sizeof(buf)) <= 0)
            continue; /* gone meanwhile */
        char name[64] = "?", state[32] = "?";
        const char *n = strstr(buf, "Name:\t"), *s = strstr(buf, "State:\t");
        if (n)
            sscanf(n + 6, "%63[^\n]", name);
        if (s)
            sscanf(s + 7, "%31[^\n]", state);
        /* Zeroframe says what a sleeping process waits for (e.g. a pager). */
        char on[32] = "";
        const char *w = strstr(buf, "Zf_blocked_on:\t");
        if (w)
            sscanf(w + 15, "%31[^\n]", on);
        long long vsz = proc_field(buf, "VmSize"), rss = proc_field(buf, "VmRSS");
        printf("%5lld %5lld %-12s %8lld %8lld %s%s%s%s\n", proc_field(buf, "Pid"), proc_field(buf, "PPid"),
               state, vsz < 0 ? 0 : vsz, rss < 0 ? 0 : rss, name, on[0] ? " (waits on: " : "", on,
               on[0] ? ")" : "");
    }
    closedir(d);
    return 0;
}
