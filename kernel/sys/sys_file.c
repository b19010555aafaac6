/* Files: descriptors over the console, module files and pipes. */
#include "errno.h"
#include "file.h"
#include "kstring.h"
#include "proc.h"
#include "syscall.h"
#include "uaccess.h"
#include "uffd.h"
#include "vmobj.h"

#define O_ACCMODE 3
#define O_CREAT 0100
#define O_RDWR 2
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define TIOCGWINSZ 0x5413
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define IOV_MAX 1024

static struct file *fd_get(int fd)
{
    struct proc *p = proc_current();
    return fd >= 0 && fd < PROC_MAX_FDS ? p->fd[fd] : NULL;
}

/* The lowest free descriptor at or above @from, holding @f; -EMFILE. */
static int fd_install(struct file *f, int from)
{
    struct proc *p = proc_current();
    for (int fd = from; fd < PROC_MAX_FDS; fd++) {
        if (!p->fd[fd]) {
            p->fd[fd] = f;
            return fd;
        }
    }
    return -EMFILE;
}

long sys_read(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    return f ? file_read(f, a->a[1], a->a[2]) : -EBADF;
}

long sys_write(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    return f ? file_write(f, a->a[1], a->a[2]) : -EBADF;
}

struct iovec64 {
    uint64_t base, len;
};

static long vector_io(const struct syscall_args *a, bool write)
{
    struct file *f = fd_get((int)a->a[0]);
    int64_t n = (int64_t)a->a[2];
    if (!f)
        return -EBADF;
    if (n < 0 || n > IOV_MAX)
        return -EINVAL;
    long total = 0;
    for (int64_t i = 0; i < n; i++) {
        struct iovec64 v;
        if (copy_from_user(&v, a->a[1] + (uint64_t)i * sizeof(v), sizeof(v)))
            return total ? total : -EFAULT;
        if (!v.len)
            continue;
        long r = write ? file_write(f, v.base, v.len) : file_read(f, v.base, v.len);
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((uint64_t)r < v.len)
            break;
    }
    return total;
}

long sys_readv(const struct syscall_args *a)
{
    return vector_io(a, false);
}

long sys_writev(const struct syscall_args *a)
{
    return vector_io(a, true);
}

static long open_path(uintptr_t upath, uint64_t flags)
{
    char path[256];
    long len = strncpy_from_user(path, upath, sizeof(path));
    if (len < 0)
        return len;
    if (!len)
        return -ENOENT;
    bool generated;
    struct file *f = file_open_generated(path, &generated);
    if (!generated)
        f = file_open_module(path);
    else if (!f)
        return -ENOMEM;
    if ((flags & O_ACCMODE) != 0 || (flags & O_CREAT)) {
        if (f)
            file_put(f);
        return -EROFS; /* a read-only namespace */
    }
    if (!f)
        return -ENOENT;
    int fd = fd_install(f, 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

long sys_open(const struct syscall_args *a)
{
    return open_path(a->a[0], a->a[1]);
}

long sys_openat(const struct syscall_args *a)
{
    if ((int)a->a[0] != AT_FDCWD)
        return -ENOTDIR; /* only absolute paths and the root as cwd */
    return open_path(a->a[1], a->a[2]);
}

long sys_close(const struct syscall_args *a)
{
    int fd = (int)a->a[0];
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    proc_current()->fd[fd] = NULL;
    file_put(f);
    return 0;
}

/* struct stat (x86-64): 144 bytes. */
struct stat64 {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    uint64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t reserved[3];
};
_Static_assert(sizeof(struct stat64) == 144, "x86-64 struct stat");

long sys_fstat(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    if (!f)
        return -EBADF;
    struct stat64 st = { .nlink = 1, .blksize = (int64_t)PAGE_SIZE };
    switch (f->kind) {
    case FILE_CONSOLE:
        st.mode = 0020620; /* character device, rw--w---- */
        st.rdev = (4ull << 8) | 64; /* like ttyS0 */
        break;
    case FILE_MODULE:
        st.mode = 0100555;
        st.size = (int64_t)f->size;
        st.blocks = (int64_t)((f->size + 511) / 512);
        st.ino = f->obj->id;
        break;
    case FILE_PIPE_READ:
    case FILE_PIPE_WRITE:
        st.mode = 0010600;
        break;
    case FILE_TEXT:
        st.mode = 0100444; /* /proc files report size 0, as on Linux */
        break;
    case FILE_UFFD:
        st.mode = 0600; /* an anonymous inode, as on Linux */
        break;
    }
    return copy_to_user(a->a[1], &st, sizeof(st)) ? -EFAULT : 0;
}

long sys_lseek(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    if (!f)
        return -EBADF;
    if (f->kind != FILE_MODULE && f->kind != FILE_TEXT)
        return -ESPIPE;
    int64_t off = (int64_t)a->a[1], base;
    switch (a->a[2]) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)f->pos; break;
    case SEEK_END: base = (int64_t)f->size; break;
    default: return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    f->pos = (uint64_t)(base + off);
    return (long)f->pos;
}

/* Directory entries: /proc is the one directory. */
long sys_getdents64(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    return f ? file_getdents(f, a->a[1], a->a[2]) : -EBADF;
}

long sys_ioctl(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    if (!f)
        return -EBADF;
    if (f->kind == FILE_UFFD)
        return uffd_ioctl(f, (uint32_t)a->a[1], a->a[2]); /* Linux: an unsigned int */
    /* The console is a serial line without a terminal layer: not a tty
     * (so musl buffers stdout fully and flushes at exit). */
    (void)TIOCGWINSZ;
    return -ENOTTY;
}

static long make_pipe(uintptr_t ufds, uint64_t flags)
{
    if (flags & ~(uint64_t)(O_CLOEXEC | 04000 /* O_NONBLOCK: not supported */))
        return -EINVAL;
    if (flags & 04000)
        return -EINVAL;
    struct file *r, *w;
    if (!file_pipe(&r, &w))
        return -ENOMEM;
    int fds[2] = { fd_install(r, 0), -1 };
    if (fds[0] >= 0)
        fds[1] = fd_install(w, 0);
    if (fds[1] < 0 || copy_to_user(ufds, fds, sizeof(fds))) {
        long err = fds[1] < 0 ? -EMFILE : -EFAULT;
        if (fds[0] >= 0)
            proc_current()->fd[fds[0]] = NULL;
        if (fds[1] >= 0)
            proc_current()->fd[fds[1]] = NULL;
        file_put(r);
        file_put(w);
        return err;
    }
    return 0;
}

long sys_pipe(const struct syscall_args *a)
{
    return make_pipe(a->a[0], 0);
}

long sys_pipe2(const struct syscall_args *a)
{
    return make_pipe(a->a[0], a->a[1]);
}

long sys_dup(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    if (!f)
        return -EBADF;
    int fd = fd_install(f, 0);
    if (fd >= 0)
        file_get(f);
    return fd;
}

static long dup_to(int oldfd, int newfd)
{
    struct proc *p = proc_current();
    struct file *f = fd_get(oldfd);
    if (!f)
        return -EBADF;
    if (newfd < 0 || newfd >= PROC_MAX_FDS)
        return -EBADF;
    if (oldfd == newfd)
        return newfd;
    file_get(f);
    if (p->fd[newfd])
        file_put(p->fd[newfd]);
    p->fd[newfd] = f;
    return newfd;
}

long sys_dup2(const struct syscall_args *a)
{
    int oldfd = (int)a->a[0], newfd = (int)a->a[1];
    if (oldfd == newfd)
        return fd_get(oldfd) ? newfd : -EBADF;
    return dup_to(oldfd, newfd);
}

long sys_dup3(const struct syscall_args *a)
{
    if ((int)a->a[0] == (int)a->a[1] || (a->a[2] & ~(uint64_t)O_CLOEXEC))
        return -EINVAL;
    return dup_to((int)a->a[0], (int)a->a[1]);
}

long sys_fcntl(const struct syscall_args *a)
{
    struct file *f = fd_get((int)a->a[0]);
    if (!f)
        return -EBADF;
    switch (a->a[1]) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        if ((int64_t)a->a[2] < 0 || a->a[2] >= PROC_MAX_FDS)
            return -EINVAL;
        int fd = fd_install(f, (int)a->a[2]);
        if (fd >= 0)
            file_get(f);
        return fd;
    }
    case F_SETFL:
        if (f->kind == FILE_UFFD) /* a pager may turn O_NONBLOCK on later */
            uffd_nonblock(f, (a->a[2] & O_NONBLOCK) != 0);
        return 0; /* other status flags: accepted, not kept */
    case F_GETFD:
    case F_SETFD:
        return 0; /* close-on-exec: accepted, not kept */
    case F_GETFL:
        if (f->kind == FILE_UFFD)
            return O_RDWR | (uffd_nonblock(f, -1) ? O_NONBLOCK : 0);
        return f->kind == FILE_PIPE_WRITE ? 1 : f->kind == FILE_CONSOLE ? 2 : 0;
    }
    return -EINVAL;
}

long sys_getcwd(const struct syscall_args *a)
{
    if (a->a[1] < 2)
        return -ERANGE;
    return copy_to_user(a->a[0], "/", 2) ? -EFAULT : 2;
}

long sys_userfaultfd(const struct syscall_args *a)
{
    long err;
    struct file *f = uffd_create((int)a->a[0], &err);
    if (!f)
        return err;
    int fd = fd_install(f, 0);
    if (fd < 0)
        file_put(f);
    return fd;
}

/* struct pollfd */
struct pollfd_abi {
    int32_t fd;
    int16_t events, revents;
};
#define POLLNVAL 0x20
#define POLL_MAX 64

/* poll over @n descriptors with a timeout in ticks (<0: none).  Waits on
 * file_poll_waiters when every descriptor is a userfaultfd and there is no
 * timeout; otherwise rechecks every tick. */
static long do_poll(uintptr_t ufds, uint64_t n, int64_t ticks)
{
    struct pollfd_abi fds[POLL_MAX];
    if (n > POLL_MAX)
        return -EINVAL;
    if (n && copy_from_user(fds, ufds, n * sizeof(fds[0])))
        return -EFAULT;
    uint64_t deadline = ticks > 0 ? sched_ticks() + (uint64_t)ticks : 0;
    for (;;) {
        long ready = 0;
        bool all_uffd = true;
        for (uint64_t i = 0; i < n; i++) {
            fds[i].revents = 0;
            if (fds[i].fd < 0)
                continue;
            struct file *f = fd_get(fds[i].fd);
            if (!f) {
                fds[i].revents = POLLNVAL;
            } else {
                all_uffd &= f->kind == FILE_UFFD;
                unsigned want = (uint16_t)fds[i].events | FILE_POLLERR | FILE_POLLHUP;
                fds[i].revents = (int16_t)(file_poll(f) & want);
            }
            ready += fds[i].revents != 0;
        }
        if (ready || ticks == 0 || (ticks > 0 && sched_ticks() >= deadline)) {
            if (n && copy_to_user(ufds, fds, n * sizeof(fds[0])))
                return -EFAULT;
            return ready;
        }
        if (ticks < 0 && all_uffd && n)
            sched_block(&file_poll_waiters, "poll");
        else
            sched_sleep(1);
        if (proc_current()->kill_signal)
            return -EINTR;
    }
}

long sys_poll(const struct syscall_args *a)
{
    int64_t ms = (int32_t)a->a[2];
    return do_poll(a->a[0], a->a[1], ms < 0 ? -1 : (ms * SCHED_HZ + 999) / 1000);
}

long sys_ppoll(const struct syscall_args *a)
{
    int64_t ticks = -1;
    if (a->a[2]) {
        int64_t ts[2];
        if (copy_from_user(ts, a->a[2], sizeof(ts)))
            return -EFAULT;
        if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
            return -EINVAL;
        ticks = ts[0] * SCHED_HZ + (ts[1] * SCHED_HZ + 999999999) / 1000000000;
    }
    return do_poll(a->a[0], a->a[1], ticks); /* the signal mask (a[3]): signals have no handlers */
}
