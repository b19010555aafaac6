/* cow: fork and copy-on-write.  After fork parent and child share every
 * page read-only; the first write on a side still sharing copies the page,
 * a write on a page no one else maps any more just makes it writable
 * again (a reuse). */
#include <sys/mman.h>
#include <sys/wait.h>

#include "lib/procfs.h"

#define PAGES 64

static char *m;

static void show(const char *who, const char *what, struct counters *before)
{
    struct counters now;
    counters_read(&now);
    printf("  %s, counters after %s:\n", who, what);
    counters_print(before, &now, 0);
    *before = now;
}

static void smaps_line(const char *who)
{
    static char text[65536];
    if (proc_slurp("/proc/self/smaps", text, sizeof(text)) < 0)
        return;
    char key[32];
    snprintf(key, sizeof(key), "%lx-", (unsigned long)m);
    const char *at = strstr(text, key);
    long long cow = at ? proc_field(strstr(at, "ZfCow") ? strstr(at, "ZfCow") - 1 : at, "ZfCow") : -1;
    long long rss = at ? proc_field(strstr(at, "\nRss") ? strstr(at, "\nRss") + 1 : at, "Rss") : -1;
    if (cow >= 0)
        printf("  %s: the buffer has %lld kB resident, %lld kB of it copy-on-write\n", who, rss, cow);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct counters c;
    m = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    counters_read(&c);
    printf("cow: the parent writes %d pages\n", PAGES);
    memset(m, 'P', PAGES * 4096);
    show("parent", "its writes", &c);
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char x;
        read(go[0], &x, 1);
        smaps_line("child");
        printf("cow: the child writes %d pages while the parent still shares them\n", PAGES / 2);
        counters_read(&c);
        memset(m, 'C', PAGES / 2 * 4096);
        show("child", "its writes (copies)", &c);
        smaps_line("child");
        printf("cow: the child reads its page 0: '%c', page %d: '%c'\n", m[0], PAGES - 1,
               m[(PAGES - 1) * 4096]);
        _exit(0);
    }
    show("parent", "fork (the page tables copied, pages write-protected)", &c);
    smaps_line("parent");
    write(go[1], "g", 1);
    waitpid(pid, NULL, 0);
    counters_read(&c);
    printf("cow: the child has exited; the parent writes all %d pages again\n", PAGES);
    memset(m, 'Q', PAGES * 4096);
    show("parent", "its writes (no one else maps them: reuses, no copy)", &c);
    printf("cow: the parent reads its page 0: '%c'\n", m[0]);
    return 0;
}
