/* Memory system calls: brk, mmap (anonymous and file, private and shared,
 * fixed and hinted), munmap, mprotect, madvise; and the refusals: in a
 * child, a write to a PROT_READ mapping, an execute of a PROT_READ|PROT_WRITE
 * mapping, a read of a PROT_NONE mapping, an access to a munmap'ed page and
 * to the stack's guard region each end in SIGSEGV. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "lib/check.h"

static char *ro, *rw, *gone, *none;

static void write_ro(void *a) { (void)a; ro[0] = 1; }
static void exec_rw(void *a) { (void)a; ((void (*)(void))rw)(); }
static void touch_gone(void *a) { (void)a; (void)*(volatile char *)gone; }
static void read_none(void *a) { (void)a; (void)*(volatile char *)none; }
static void touch_guard(void *a)
{
    (void)a;
    /* Below Zeroframe's 8 MiB stack region: its guard region. */
    volatile char *p = (volatile char *)(0x7ffffffff000ull - (8ull << 20) - 16);
    *p = 1;
}

int main(void)
{
    check_begin("test_mem");
    /* The system call itself: musl's sbrk and brk refuse to move the break. */
    char *b0 = (char *)syscall(SYS_brk, 0);
    CHECK((char *)syscall(SYS_brk, b0 + 100000) == b0 + 100000, "brk grows the heap");
    memset(b0, 0x5a, 100000);
    CHECK(b0[99999] == 0x5a, "the heap holds what was written");
    CHECK((char *)syscall(SYS_brk, b0 + 4096) == b0 + 4096, "brk shrinks it");
    CHECK(b0[100] == 0x5a, "what stays keeps its contents");
    CHECK((char *)syscall(SYS_brk, b0 - (1 << 30)) == b0 + 4096, "brk below the heap's start: unchanged");

    char *a = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED, "mmap 1 MiB anonymous");
    int zeros = 1;
    for (int i = 0; i < (1 << 20); i += 4096)
        zeros &= a[i] == 0;
    CHECK(zeros, "untouched anonymous memory reads as zeros");
    a[12345] = 7;
    CHECK(a[12345] == 7, "and keeps writes");
    CHECK(munmap(a + 4096, 4096) == 0, "munmap one page in the middle");
    CHECK(a[0] == 0 && a[12345] == 7, "the rest stays");
    char *f = mmap(a + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(f == a + 4096 && f[0] == 0, "MAP_FIXED maps the hole again");
    CHECK(mmap(a, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED && errno == EEXIST,
          "MAP_FIXED_NOREPLACE refuses to replace (EEXIST)");
    CHECK(madvise(a + 8192, 8192, MADV_DONTNEED) == 0 && a[12345] == 0, "MADV_DONTNEED drops the page: zeros again");
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL,
          "a zero-length mmap: EINVAL");
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL,
          "neither MAP_PRIVATE nor MAP_SHARED: EINVAL");
    CHECK(munmap(a + 1, 4096) == -1 && errno == EINVAL, "an unaligned munmap: EINVAL");
    CHECK(munmap(a, 1 << 20) == 0, "munmap the lot");

    /* Shared anonymous memory survives fork as shared; private does not. */
    int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *sh = 1;
    *pr = 1;
    pid_t pid = fork();
    if (pid == 0) {
        *sh = 2;
        *pr = 2;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(*sh == 2, "a child's write to MAP_SHARED memory is seen by the parent");
    CHECK(*pr == 1, "a child's write to MAP_PRIVATE memory is not");

    /* A file mapping: the bytes read() gives. */
    int fd = open("/bin/echoargs", O_RDONLY);
    CHECK(fd >= 0, "open /bin/echoargs");
    char head[64];
    CHECK(fd >= 0 && read(fd, head, sizeof(head)) == (ssize_t)sizeof(head), "read its first bytes");
    char *map = fd < 0 ? MAP_FAILED : mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(map != MAP_FAILED && memcmp(map, head, sizeof(head)) == 0,
          "a private file mapping shows the same bytes");
    if (map != MAP_FAILED) {
        map[0] = 'X';
        char again[4];
        lseek(fd, 0, SEEK_SET);
        read(fd, again, 4);
        CHECK(again[0] == 0x7f && map[0] == 'X', "writing the private mapping leaves the file alone");
    }
    if (fd >= 0)
        close(fd);

    /* mprotect and the refusals, each in a child. */
    ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 3;
    CHECK(mprotect(ro, 4096, PROT_READ) == 0, "mprotect read-only");
    CHECK(ro[0] == 3, "still readable");
    CHECK(killed_by(in_child(write_ro, NULL), SIGSEGV), "a write to a PROT_READ mapping: SIGSEGV");
    rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    rw[0] = (char)0xc3; /* ret */
    CHECK(killed_by(in_child(exec_rw, NULL), SIGSEGV), "an execute of a PROT_READ|PROT_WRITE mapping: SIGSEGV");
    CHECK(mprotect(rw, 4096, PROT_READ | PROT_EXEC) == 0, "mprotect read+exec");
    ((void (*)(void))rw)();
    CHECK(1, "and then it runs");
    none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(none != MAP_FAILED, "mmap PROT_NONE");
    CHECK(killed_by(in_child(read_none, NULL), SIGSEGV), "a read of a PROT_NONE mapping: SIGSEGV");
    gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[0] = 1;
    munmap(gone, 4096);
    CHECK(killed_by(in_child(touch_gone, NULL), SIGSEGV), "an access to a munmap'ed page: SIGSEGV");
    CHECK(killed_by(in_child(touch_guard, NULL), SIGSEGV), "an access to the stack's guard region: SIGSEGV");
    CHECK(mprotect((void *)0x10000000000, 4096, PROT_READ) == -1 && errno == ENOMEM,
          "mprotect of unmapped memory: ENOMEM");
    return check_end();
}
