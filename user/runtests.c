/* runtests: the first program of a test boot.  Runs each program named on
 * its command line (fork + execve), one after the other, and reports how
 * each ended; exits with the number that did not exit with status 0. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int failed = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 1; i < argc; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = { argv[i], NULL };
            char *env[] = { "PATH=/bin", NULL };
            execve(argv[i], args, env);
            printf("runtests: cannot execve %s\n", argv[i]);
            _exit(127);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid) {
            printf("user-test: not ok %s (fork or wait failed)\n", argv[i]);
            failed++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("user-test: ok %s\n", argv[i]);
        } else {
            failed++;
            if (WIFEXITED(st))
                printf("user-test: not ok %s (exit status %d)\n", argv[i], WEXITSTATUS(st));
            else
                printf("user-test: not ok %s (killed by signal %d)\n", argv[i], WTERMSIG(st));
        }
    }
    printf("user tests: %d of %d passed\n", argc - 1 - failed, argc - 1);
    return failed;
}
