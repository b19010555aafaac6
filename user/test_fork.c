/* fork and copy-on-write: after fork, writes (and read() system calls) on
 * either side are invisible to the other; on Zeroframe the counters prove copy versus reuse, and 100
 * fork/exit cycles leave the frame allocator and the object caches exactly
 * where they started. */
#include <sys/mman.h>

#include "lib/check.h"

#define PAGES 16

int main(void)
{
    check_begin("test_fork");
    int zf = on_zeroframe();
    if (!zf)
        printf("test_fork: not Zeroframe: the kernel-counter checks are skipped\n");
    char *m = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < PAGES; i++)
        m[i * 4096] = 'p';
    int fds[2];
    pipe(fds);
    long long copies = vmstat("zf_cow_copies"), reuses = vmstat("zf_cow_reuses");
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < PAGES; i++)
            m[i * 4096] = 'c'; /* the parent still shares: copies */
        char ok = 'y';
        for (int i = 0; i < PAGES; i++)
            ok = m[i * 4096] == 'c' ? ok : 'n';
        write(fds[1], &ok, 1);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    char ok = 0;
    read(fds[0], &ok, 1);
    CHECK(ok == 'y', "the child sees its own writes");
    int intact = 1;
    for (int i = 0; i < PAGES; i++)
        intact &= m[i * 4096] == 'p';
    CHECK(intact, "the parent does not see the child's writes");
    for (int i = 0; i < PAGES; i++)
        m[i * 4096] = 'q'; /* the child is gone: reuse, no copy */
    if (zf) {
        long long c = vmstat("zf_cow_copies") - copies, r = vmstat("zf_cow_reuses") - reuses;
        CHECK(c >= PAGES, "the child's writes were copies (%lld)", c);
        CHECK(r >= PAGES, "the parent's writes after the child exited were reuses (%lld)", r);
    }

    /* The parent writes while the child still shares: the child keeps its view. */
    pid = fork();
    if (pid == 0) {
        char v;
        read(fds[0], &v, 1); /* wait for the parent's writes */
        char same = 'y';
        for (int i = 0; i < PAGES; i++)
            same = m[i * 4096] == 'q' ? same : 'n';
        write(fds[1], &same, 1);
        _exit(0);
    }
    for (int i = 0; i < PAGES; i++)
        m[i * 4096] = 'r';
    write(fds[1], "g", 1);
    waitpid(pid, &st, 0);
    read(fds[0], &ok, 1);
    CHECK(ok == 'y', "the child does not see the parent's writes");

    /* read() into a page shared copy-on-write: the kernel's copy must break
     * the sharing first, on either side, never write the shared frame. */
    for (int i = 0; i < PAGES; i++)
        m[i * 4096] = 's';
    int go[2];
    pipe(go);
    long long before = vmstat("zf_cow_copies");
    pid = fork();
    if (pid == 0) {
        char v;
        read(go[0], &v, 1);                   /* the parent has read into page 1 */
        int ok_child = m[4096] == 's';         /* not the parent's "PARENT" */
        write(fds[1], "CHILD", 5);
        ok_child &= read(fds[0], m + 2 * 4096, 5) == 5 && memcmp(m + 2 * 4096, "CHILD", 5) == 0;
        _exit(ok_child ? 0 : 1);
    }
    write(fds[1], "PARENT", 6);
    CHECK(read(fds[0], m + 4096, 6) == 6 && memcmp(m + 4096, "PARENT", 6) == 0,
          "the parent's read() into a shared page lands");
    write(go[1], "g", 1);
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the child still sees the old byte there, and its own read() into a shared page lands");
    CHECK(m[2 * 4096] == 's', "the child's read() did not reach the parent's page");
    if (zf)
        CHECK(vmstat("zf_cow_copies") - before >= 2, "both reads copied their page first (%lld copies)",
              vmstat("zf_cow_copies") - before);
    close(go[0]);
    close(go[1]);

    /* Chained fork: the copy-on-write mark must survive a second fork. */
    pid = fork();
    if (pid == 0) {
        pid_t g = fork();
        m[0] = g == 0 ? 'G' : 'C';
        if (g == 0)
            _exit(m[0] == 'G' ? 0 : 1);
        int gst;
        waitpid(g, &gst, 0);
        _exit(m[0] == 'C' && WIFEXITED(gst) && WEXITSTATUS(gst) == 0 ? 0 : 1);
    }
    m[0] = 'P';
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && m[0] == 'P', "parent, child and grandchild keep their own data");

    /* 100 fork/exit cycles leak nothing.  One cycle first, so that the
     * code the children run is in the program file's page cache (which
     * rightly keeps it); then the counts must come back exactly: frames
     * allocated, page-cache pages, kernel objects and memory objects. */
    pid = fork();
    if (pid == 0) {
        m[0] = 'x';
        _exit(0);
    }
    waitpid(pid, &st, 0);
    long long frames = vmstat("zf_frames_allocated"), cached = vmstat("zf_cached_pages");
    long long objects = vmstat("zf_kmem_objects"), vmobjs = vmstat("zf_vm_objects");
    for (int i = 0; i < 100; i++) {
        pid = fork();
        if (pid == 0) {
            m[(i % PAGES) * 4096] = 'x';
            _exit(0);
        }
        waitpid(pid, &st, 0);
    }
    if (zf) {
        CHECK(vmstat("zf_frames_allocated") == frames, "100 fork/exit cycles: frames allocated %lld -> %lld",
              frames, vmstat("zf_frames_allocated"));
        CHECK(vmstat("zf_cached_pages") == cached, "... page-cache pages %lld -> %lld", cached,
              vmstat("zf_cached_pages"));
        CHECK(vmstat("zf_kmem_objects") == objects, "... kernel objects %lld -> %lld", objects,
              vmstat("zf_kmem_objects"));
        CHECK(vmstat("zf_vm_objects") == vmobjs, "... memory objects %lld -> %lld", vmobjs,
              vmstat("zf_vm_objects"));
    }
    return check_end();
}
