/* faults: a gallery of fatal faults.  Each runs in a child, which the
 * kernel kills with the matching signal after printing its report (the
 * reason, the region, the page-table walk, the registers).  "faults -here
 * NAME" takes the fault itself, for the shell to report. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "lib/procfs.h"

static volatile uintptr_t bad_null = 8, bad_noncanonical = 0x8000000000000000ull,
                         bad_unmapped = 0x500000000000ull;
static volatile int depth_limit = -1;

static void null_read(void) { printf("%d\n", *(volatile int *)bad_null); }
static void write_read_only(void)
{
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *(volatile char *)p = 1;
}
static void write_code(void) { *(volatile char *)(uintptr_t)write_code = 0; }
static void exec_data(void)
{
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = (char)0xc3; /* ret: it never runs */
    ((void (*)(void))(uintptr_t)p)();
}
static int recurse(int n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    if (n == depth_limit) /* never: the guard comes first */
        return 0;
    return recurse(n + 1) + pad[0];
}
static void stack_overflow(void) { recurse(0); }
static void non_canonical(void) { printf("%d\n", *(volatile int *)bad_noncanonical); }
static void undefined_insn(void) { __asm__ volatile("ud2"); }
static void divide_by_zero(void)
{
    volatile int num = 7, zero = 0; /* both volatile: a real idiv */
    printf("%d\n", num / zero);
}
static void unmapped(void) { printf("%d\n", *(volatile int *)bad_unmapped); }

static const struct {
    const char *name, *what;
    void (*fn)(void);
} gallery[] = {
    { "null", "read through a null pointer (address 8)", null_read },
    { "unmapped", "read an address no region covers", unmapped },
    { "readonly", "write to a read-only mapping", write_read_only },
    { "code", "write to the program's own code", write_code },
    { "nx", "execute a data page (no-execute)", exec_data },
    { "stack", "recurse until the stack meets its guard", stack_overflow },
    { "noncanonical", "read a non-canonical address (#GP)", non_canonical },
    { "ud2", "an undefined instruction (#UD)", undefined_insn },
    { "div0", "divide by zero (#DE)", divide_by_zero },
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int n = (int)(sizeof(gallery) / sizeof(gallery[0]));
    if (argc == 3 && strcmp(argv[1], "-here") == 0) { /* the fault in this process */
        for (int i = 0; i < n; i++)
            if (strcmp(argv[2], gallery[i].name) == 0) {
                printf("faults: %s, in this process: %s\n", gallery[i].name, gallery[i].what);
                gallery[i].fn();
            }
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (argc > 1) { /* only the named ones */
            int want = 0;
            for (int a = 1; a < argc; a++)
                want |= strcmp(argv[a], gallery[i].name) == 0;
            if (!want)
                continue;
        }
        printf("faults: %s: %s\n", gallery[i].name, gallery[i].what);
        pid_t pid = fork();
        if (pid == 0) {
            gallery[i].fn();
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFSIGNALED(st))
            printf("faults: %s: the child was killed by signal %d (%s)\n\n", gallery[i].name,
                   WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            printf("faults: %s: the child exited with status %d\n\n", gallery[i].name,
                   WEXITSTATUS(st));
    }
    if (argc == 1)
        printf("faults: 'faults NAME...' for some of them only, 'faults -here NAME' for one in this process\n");
    return 0;
}
