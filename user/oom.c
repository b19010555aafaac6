/* oom: a process that runs out of memory.  A child writes page after page
 * of an 8 GiB mapping until no frame is left; the kernel kills it (SIGKILL,
 * with a line saying so) and every frame comes back; the parent and the
 * rest of the system carry on. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "lib/procfs.h"

#define SPAN (8ull << 30)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    static char mi[8192];
    proc_slurp("/proc/meminfo", mi, sizeof(mi));
    printf("oom: MemFree before: %lld kB\n", proc_field(mi, "MemFree"));
    pid_t pid = fork();
    if (pid == 0) {
        char *p = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (p == MAP_FAILED)
            _exit(2);
        printf("oom: the child writes page after page of 8 GiB (a dot per 16 MiB)\n");
        for (unsigned long long off = 0; off < SPAN; off += 4096) {
            p[off] = 1;
            if (off % (16u << 20) == 0)
                write(1, ".", 1);
        }
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("\n");
    if (WIFSIGNALED(st))
        printf("oom: the child was killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        printf("oom: the child exited with status %d (this machine had the memory)\n", WEXITSTATUS(st));
    proc_slurp("/proc/meminfo", mi, sizeof(mi));
    printf("oom: MemFree after: %lld kB; the parent carries on\n", proc_field(mi, "MemFree"));
    return 0;
}
