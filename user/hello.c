/* hello: the smallest honest user program: prints its arguments and
 * environment size, then exits with status 0.  Runs the same on Linux. */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    int envc = 0;
    while (environ[envc])
        envc++;
    printf("hello from %s:", argc > 0 ? argv[0] : "(no argv[0])");
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf(" (%d environment strings)\n", envc);
    return 0;
}
