/* meminfo: the memory figures of /proc/meminfo that matter here. */
#include "lib/procfs.h"

int main(void)
{
    static char buf[8192];
    if (proc_slurp("/proc/meminfo", buf, sizeof(buf)) < 0) {
        perror("meminfo: /proc/meminfo");
        return 1;
    }
    static const char *const keys[][2] = {
        { "MemTotal", "usable RAM" },
        { "MemFree", "free frames" },
        { "Cached", "file pages kept in memory" },
        { "AnonPages", "anonymous pages mapped by processes (each counted once)" },
        { "Mapped", "file pages mapped by processes" },
        { "Shmem", "shared anonymous pages" },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        long long v = proc_field(buf, keys[i][0]);
        if (v >= 0)
            printf("%-10s %9lld kB  %s\n", keys[i][0], v, keys[i][1]);
    }
    return 0;
}
