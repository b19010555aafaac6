/* spin: loop forever (or SECONDS), for trying Ctrl-C and kill. */
#include <time.h>

#include "lib/procfs.h"

int main(int argc, char **argv)
{
    long limit = argc > 1 ? atol(argv[1]) : 0;
    printf("spin: PID %d spinning%s\n", (int)getpid(), limit ? "" : " until Ctrl-C or kill");
    fflush(stdout);
    time_t t0 = time(NULL);
    volatile unsigned long n = 0;
    while (!limit || time(NULL) - t0 < limit)
        n++;
    return 0;
}
