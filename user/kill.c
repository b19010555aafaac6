/* kill [-SIG] PID...: send a signal (default SIGTERM). */
#include <errno.h>
#include <signal.h>

#include "lib/procfs.h"

int main(int argc, char **argv)
{
    int sig = SIGTERM, i = 1, failed = 0;
    if (argc > 1 && argv[1][0] == '-') {
        sig = atoi(argv[1] + 1);
        i = 2;
    }
    if (i >= argc) {
        printf("usage: kill [-SIG] PID...\n");
        return 2;
    }
    for (; i < argc; i++)
        if (kill(atoi(argv[i]), sig) != 0) {
            printf("kill: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
        }
    return failed;
}
