/* vmstat: the page-fault counters by kind (/proc/vmstat).  "vmstat PROG
 * ARGS..." runs PROG and shows how much each counter moved. */
#include <sys/wait.h>

#include "lib/procfs.h"

int main(int argc, char **argv)
{
    struct counters a, b;
    counters_read(&a);
    if (argc < 2) {
        for (int i = 0; i < 9; i++)
            if (a.v[i] >= 0)
                printf("%-14s %10lld   %s\n", counter_names[i], a.v[i], counter_what[i]);
        return 0;
    }
    char path[256];
    snprintf(path, sizeof(path), strchr(argv[1], '/') ? "%s" : "/bin/%s", argv[1]);
    pid_t pid = fork();
    if (pid == 0) {
        char *envp[] = { "PATH=/bin", NULL };
        execve(path, argv + 1, envp);
        perror("vmstat: execve");
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    counters_read(&b);
    printf("vmstat: counters moved during %s:\n", argv[1]);
    counters_print(&a, &b, 0);
    return 0;
}
