/* faultstop: a child reads the null page.  Under Zeroframe's fault=stop
 * policy it is stopped for inspection instead of killed: still there after a
 * while, and reaped only once the parent kills it.  Under the default policy
 * (and on Linux) it dies of SIGSEGV.  Either is right; the output says which
 * happened, and `make test` boots once with fault=stop to see the first. */
#include <stdint.h>
#include <time.h>

#include "lib/check.h"

int main(void)
{
    check_begin("faultstop");
    pid_t pid = fork();
    if (pid == 0) {
        volatile uintptr_t null_page = 16;
        (void)*(volatile int *)null_page;
        _exit(0);
    }
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    int st = 0;
    pid_t got = waitpid(pid, &st, WNOHANG);
    if (got == 0) {
        printf("faultstop: the child is stopped after its fault (fault=stop)\n");
        char state = proc_state(pid);
        CHECK(state == 'T', "/proc/%d/status shows it stopped (state %c)", (int)pid, state ? state : '?');
        CHECK(kill(pid, SIGKILL) == 0, "kill the stopped child");
        CHECK(waitpid(pid, &st, 0) == pid && killed_by(st, SIGKILL), "it is reaped, killed by SIGKILL");
    } else {
        printf("faultstop: the child was killed by its fault (the default policy)\n");
        CHECK(got == pid && killed_by(st, SIGSEGV), "it died of SIGSEGV (status %#x)", st);
    }
    return check_end();
}
