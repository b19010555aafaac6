/* Out of memory while resolving a user fault kills that process (SIGKILL,
 * with a line on the console), and only that process: a child touches
 * anonymous memory until the machine has no frame left; the parent sees it
 * killed and goes on.  On Zeroframe the test boots have a few hundred MiB at
 * most, so the child must die; elsewhere it may just finish (then the test
 * says so and only checks that the parent survives). */
#include <stdint.h>
#include <sys/mman.h>

#include "lib/check.h"

#define SPAN (8ull << 30)

static void eat(void *a)
{
    (void)a;
    char *p = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        _exit(2);
    for (uint64_t off = 0; off < SPAN; off += 4096)
        p[off] = 1;
    _exit(0);
}

static void nothing(void *a)
{
    (void)a;
}

int main(void)
{
    check_begin("test_oom");
    /* A first child and a first read of the counters, so that the parent's
     * own lazy memory (stack, stdio) is in place before the baseline. */
    in_child(nothing, NULL);
    /* Free frames plus the page caches' (the child may page in code the
     * parent never ran; the program's file keeps those pages). */
    long long before = vmstat("nr_free_pages") + vmstat("zf_cached_pages");
    int st = in_child(eat, NULL);
    if (on_zeroframe()) {
        CHECK(killed_by(st, SIGKILL), "the child that ran out of memory was killed by SIGKILL (status %#x)", st);
        long long after = vmstat("nr_free_pages") + vmstat("zf_cached_pages");
        CHECK(after == before, "every frame it took came back (%lld free or cached before, %lld after)",
              before, after);
    } else if (killed_by(st, SIGKILL)) {
        CHECK(1, "the child that ran out of memory was killed by SIGKILL");
    } else {
        printf("test_oom: the child was not killed (status %#x): this machine has the memory\n", st);
    }
    CHECK(getpid() > 0, "and the parent goes on");
    return check_end();
}
