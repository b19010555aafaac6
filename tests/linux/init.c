/* The init of make test-linux's initramfs, on a stock Debian Linux kernel:
 * mounts /proc and /dev, gives itself the console as stdin/out/err, runs
 * /bin/runtests with the test programs named on the kernel command line
 * (after "--": Linux passes them to init as arguments) and powers the
 * machine off.  Static musl, like the tests. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    mount("proc", "/proc", "proc", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    printf("linux-init: running %d test programs under Linux\n", argc - 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        argv[0] = "/bin/runtests";
        char *envp[] = { "PATH=/bin", NULL };
        execve(argv[0], argv, envp);
        perror("linux-init: execve /bin/runtests");
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("linux-init: runtests ended with status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
