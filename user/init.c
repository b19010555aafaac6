/* init: the first program of `make run`.  Greets, then becomes the shell
 * (/bin/sh), which a student can use at the prompt. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("init: hello from user mode, PID %d; starting /bin/sh\n", (int)getpid());
    fflush(stdout);
    char *args[] = { "/bin/sh", NULL };
    char *env[] = { "PATH=/bin", "HOME=/", "TERM=dumb", NULL };
    execve(args[0], args, env);
    perror("init: cannot run /bin/sh");
    return 1;
}
