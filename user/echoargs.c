/* echoargs: prints argc, each argument and each environment string, one per
 * line (the execve test reads them back through a pipe). */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (int i = 0; environ[i]; i++)
        printf("env=%s\n", environ[i]);
    return 0;
}
