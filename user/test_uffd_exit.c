/* Failure is clean and never silent.
 *  1. The pager exits with a fault pending, holding the last descriptor:
 *     the range is unregistered and the waiter retries as ordinary memory
 *     (zeros, as on Linux); the console names the abandoned range.  Frames
 *     and kernel objects come back to the baseline.
 *  2. A pager that never answers blocks only the waiter (faulting in user
 *     mode, or in a read() into the range), which shows as blocked on the
 *     pager and dies when killed; nothing of it stays behind. */
#include "lib/check.h"
#include "lib/uffd.h"

#define NPAGES 4

static void abandoned(void *arg)
{
    (void)arg;
    char *area = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, 0);
    if (fd < 0 || area == MAP_FAILED || uffd_register(fd, area, NPAGES * PAGE, UFFDIO_REGISTER_MODE_MISSING))
        _exit(2);
    pid_t pager = fork();
    if (pager == 0) {
        struct uffd_msg m;
        /* Read the request, then leave without answering it. */
        _exit(uffd_next(fd, &m) == 1 ? 0 : 3);
    }
    close(fd); /* the pager holds the last descriptor */
    area[PAGE + 5] = 7; /* waits; released when the pager exits */
    int ok = area[PAGE + 5] == 7 && area[PAGE] == 0 && area[0] == 0 && area[3 * PAGE] == 0;
    int st = -1;
    waitpid(pager, &st, 0);
    munmap(area, NPAGES * PAGE);
    _exit(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4);
}

static void never_answered(void *arg)
{
    (void)arg;
    char *area = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(UFFD_USER_MODE_ONLY, 0);
    if (fd < 0 || area == MAP_FAILED || uffd_register(fd, area, PAGE, UFFDIO_REGISTER_MODE_MISSING))
        _exit(2);
    *(volatile char *)area = 1; /* nobody reads the descriptor: blocks until killed */
    _exit(5);
}

/* The same, with the wait inside a system call: read() from a pipe into
 * the registered page. */
static void never_answered_syscall(void *arg)
{
    (void)arg;
    char *area = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = uffd_open(0, 0), p[2];
    if (fd < 0 || area == MAP_FAILED || pipe(p) || write(p[1], "x", 1) != 1 ||
        uffd_register(fd, area, PAGE, UFFDIO_REGISTER_MODE_MISSING))
        _exit(2);
    read(p[0], area, 1);
    _exit(5);
}

static int state_says_pager(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return strstr(buf, "State:\tS (sleeping)") && strstr(buf, "Zf_blocked_on:\tpager\n");
}

static void nothing(void *arg)
{
    (void)arg;
}

int main(void)
{
    check_begin("test_uffd_exit");
    in_child(nothing, NULL); /* the parent's own lazy memory in place first */
    in_child(abandoned, NULL);
    long long frames = vmstat("nr_free_pages") + vmstat("zf_cached_pages");
    long long objects = vmstat("zf_kmem_objects");
    int st = in_child(abandoned, NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "a pager gone with a fault pending: the waiter resumed on ordinary memory (status %#x)", st);
    if (on_zeroframe()) {
        CHECK(vmstat("nr_free_pages") + vmstat("zf_cached_pages") == frames,
              "every frame came back (%lld free or cached before, %lld after)", frames,
              vmstat("nr_free_pages") + vmstat("zf_cached_pages"));
        CHECK(vmstat("zf_kmem_objects") == objects, "every kernel object came back (%lld, then %lld)",
              objects, vmstat("zf_kmem_objects"));
    }

    for (int k = 0; k < 2; k++) {
        const char *how = k ? "in read()" : "in user mode";
        pid_t pid = fork();
        if (pid == 0) {
            if (k)
                never_answered_syscall(NULL);
            else
                never_answered(NULL);
            _exit(6);
        }
        int blocked = 0;
        for (int i = 0; i < 200 && !blocked; i++) {
            usleep(10000);
            blocked = on_zeroframe() ? state_says_pager(pid) : i == 20;
        }
        CHECK(blocked, "a waiter %s shows as blocked on the pager", how);
        CHECK(kill(pid, SIGKILL) == 0, "and can be killed");
        st = -1;
        waitpid(pid, &st, 0);
        CHECK(killed_by(st, SIGKILL), "it died of SIGKILL (status %#x), the rest of the system runs on", st);
    }
    if (on_zeroframe()) {
        CHECK(vmstat("nr_free_pages") + vmstat("zf_cached_pages") == frames &&
                  vmstat("zf_kmem_objects") == objects,
              "and nothing of theirs stayed behind (frames %lld, then %lld; objects %lld, then %lld)", frames,
              vmstat("nr_free_pages") + vmstat("zf_cached_pages"), objects, vmstat("zf_kmem_objects"));
    }
    return check_end();
}
