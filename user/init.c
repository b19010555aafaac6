/* init: the first program of `make run`, until the shell arrives.  Greets
 * and runs /bin/hello to show fork, execve and wait4 at work. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    printf("init: hello from user mode, PID %d\n", (int)getpid());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { "/bin/hello", "from", "init", NULL };
        char *env[] = { "PATH=/bin", NULL };
        execve(args[0], args, env);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("init: /bin/hello ended with status %d; init exits\n", WEXITSTATUS(st));
    return 0;
}
