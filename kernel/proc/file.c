/* Open files (include/file.h): the console, read-only module files (their
 * bytes come from the module's paged object), and pipes; plus the module
 * namespace itself. */
#include "console.h"
#include "errno.h"
#include "file.h"
#include "kmem.h"
#include "kstring.h"
#include "proc.h"
#include "region.h"
#include "uaccess.h"
#include "uffd.h"
#include "vmobj.h"

/* ---- the module namespace ---------------------------------------------- */

#define MODFS_PATH_MAX 128

struct modfile {
    char path[MODFS_PATH_MAX];
    struct vmobj *obj;
    uint64_t size;
    struct modfile *next;
};

static struct kmem_cache modfile_cache, file_cache, pipe_cache;
static struct modfile *modfiles;

bool modfs_add(const char *path, uint64_t pa, uint64_t size)
{
    size_t len = strlen(path);
    if (path[0] != '/' || len >= MODFS_PATH_MAX)
        return false;
    kmem_cache_init(&modfile_cache, "modfile", sizeof(struct modfile));
    struct modfile *m = kmem_alloc(&modfile_cache);
    if (!m)
        return false;
    m->obj = vmobj_create_module(pa, size, m->path);
    if (!m->obj) {
        kmem_free(&modfile_cache, m);
        return false;
    }
    memcpy(m->path, path, len + 1);
    m->size = size;
    m->next = modfiles;
    modfiles = m;
    return true;
}

static struct modfile *modfs_find(const char *path)
{
    for (struct modfile *m = modfiles; m; m = m->next)
        if (strcmp(m->path, path) == 0)
            return m;
    return NULL;
}

bool modfs_lookup(const char *path, struct vmobj **obj, uint64_t *size)
{
    struct modfile *m = modfs_find(path);
    if (!m)
        return false;
    *obj = m->obj;
    *size = m->size;
    return true;
}

void modfs_for_each(void (*fn)(void *ctx, const char *path, uint64_t size), void *ctx)
{
    for (struct modfile *m = modfiles; m; m = m->next)
        fn(ctx, m->path, m->size);
}

/* ---- files ------------------------------------------------------------- */

#define PIPE_SIZE PAGE_SIZE

struct pipe {
    char *buf;
    size_t head, count; /* read position and bytes buffered */
    unsigned readers, writers;
    struct wait_queue readable, writable;
};

static struct file console = { .kind = FILE_CONSOLE, .refs = 1 };

static struct file *file_new(enum file_kind kind)
{
    kmem_cache_init(&file_cache, "file", sizeof(struct file));
    struct file *f = kmem_alloc(&file_cache);
    if (f) {
        f->kind = kind;
        f->refs = 1;
    }
    return f;
}

struct file *file_console(void)
{
    return &console;
}

struct file *file_open_module(const char *path)
{
    struct modfile *m = modfs_find(path);
    struct file *f = m ? file_new(FILE_MODULE) : NULL;
    if (f) {
        f->obj = m->obj;
        vmobj_get(f->obj);
        f->size = m->size;
        f->path = m->path;
    }
    return f;
}

struct file *file_new_uffd(struct uffd_ctx *c)
{
    struct file *f = file_new(FILE_UFFD);
    if (f)
        f->uffd = c;
    return f;
}

struct file *file_new_text(char *buf, size_t len)
{
    struct file *f = file_new(FILE_TEXT);
    if (f) {
        f->text = buf;
        f->size = len;
    }
    return f;
}

bool file_pipe(struct file **rd, struct file **wr)
{
    kmem_cache_init(&pipe_cache, "pipe", sizeof(struct pipe));
    struct pipe *p = kmem_alloc(&pipe_cache);
    char *buf = p ? vmm_arena_alloc(PIPE_SIZE / PAGE_SIZE, "pipe") : NULL;
    struct file *r = buf ? file_new(FILE_PIPE_READ) : NULL;
    struct file *w = r ? file_new(FILE_PIPE_WRITE) : NULL;
    if (!w) {
        if (r)
            kmem_free(&file_cache, r);
        if (buf)
            vmm_arena_free(buf);
        if (p)
            kmem_free(&pipe_cache, p);
        return false;
    }
    p->buf = buf;
    p->readers = p->writers = 1;
    p->readable.name = "pipe read";
    p->writable.name = "pipe write";
    r->pipe = w->pipe = p;
    *rd = r;
    *wr = w;
    return true;
}

void file_get(struct file *f)
{
    f->refs++;
}

void file_put(struct file *f)
{
    if (f == &console || --f->refs)
        return;
    struct pipe *p = f->pipe;
    switch (f->kind) {
    case FILE_MODULE:
        vmobj_put(f->obj);
        break;
    case FILE_PIPE_READ:
        p->readers--;
        sched_wake_all(&p->writable); /* writers now get EPIPE */
        break;
    case FILE_PIPE_WRITE:
        p->writers--;
        sched_wake_all(&p->readable); /* readers now get end of file */
        break;
    case FILE_TEXT:
        vmm_arena_free(f->text);
        break;
    case FILE_UFFD:
        uffd_release(f);
        break;
    case FILE_CONSOLE:
        break;
    }
    if (p && !p->readers && !p->writers) {
        vmm_arena_free(p->buf);
        kmem_free(&pipe_cache, p);
    }
    kmem_free(&file_cache, f);
}

/* Blocked readers and writers give up when the process is being killed. */
static bool killed(void)
{
    return proc_current()->kill_signal != 0;
}

static long pipe_read(struct pipe *p, uintptr_t buf, size_t n)
{
    while (!p->count) {
        if (!p->writers)
            return 0;
        sched_block(&p->readable, "pipe read");
        if (killed())
            return -EINTR;
    }
    size_t done = 0;
    while (done < n && p->count) {
        size_t chunk = PIPE_SIZE - p->head;
        if (chunk > p->count)
            chunk = p->count;
        if (chunk > n - done)
            chunk = n - done;
        if (copy_to_user(buf + done, p->buf + p->head, chunk))
            return done ? (long)done : -EFAULT;
        p->head = (p->head + chunk) % PIPE_SIZE;
        p->count -= chunk;
        done += chunk;
    }
    sched_wake_all(&p->writable);
    return (long)done;
}

static long pipe_write(struct pipe *p, uintptr_t buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        if (!p->readers) {
            proc_current()->kill_signal = SIGPIPE; /* the default action */
            return done ? (long)done : -EPIPE;
        }
        if (p->count == PIPE_SIZE) {
            sched_wake_all(&p->readable);
            sched_block(&p->writable, "pipe write");
            if (killed())
                return done ? (long)done : -EINTR;
            continue;
        }
        size_t tail = (p->head + p->count) % PIPE_SIZE;
        size_t chunk = PIPE_SIZE - tail; /* contiguous up to the buffer's end */
        if (chunk > PIPE_SIZE - p->count)
            chunk = PIPE_SIZE - p->count;
        if (chunk > n - done)
            chunk = n - done;
        if (copy_from_user(p->buf + tail, buf + done, chunk))
            return done ? (long)done : -EFAULT;
        p->count += chunk;
        done += chunk;
    }
    sched_wake_all(&p->readable);
    return (long)done;
}

static long console_file_read(uintptr_t buf, size_t n)
{
    char tmp[128];
    size_t got = 0;
    if (!n)
        return 0;
    /* Wait for the first byte (the ring is looked at every tick), then
     * take what is waiting, up to a newline. */
    int c;
    while ((c = console_input_getc()) < 0) {
        if (!serial_present(SERIAL_COM1))
            return 0;
        sched_sleep(1);
        if (killed())
            return -EINTR;
    }
    do {
        tmp[got++] = (char)(c == '\r' ? '\n' : c);
    } while (got < n && got < sizeof(tmp) && tmp[got - 1] != '\n' &&
             (c = console_input_getc()) >= 0);
    return copy_to_user(buf, tmp, got) ? -EFAULT : (long)got;
}

static long console_file_write(uintptr_t buf, size_t n)
{
    char tmp[129];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < 128 ? n - done : 128;
        if (copy_from_user(tmp, buf + done, chunk))
            return done ? (long)done : -EFAULT;
        for (size_t i = 0; i < chunk; i++)
            console_putc(tmp[i]);
        done += chunk;
    }
    return (long)done;
}

static long module_read(struct file *f, uintptr_t buf, size_t n)
{
    char tmp[512];
    size_t done = 0;
    while (done < n && f->pos < f->size) {
        size_t chunk = n - done < sizeof(tmp) ? n - done : sizeof(tmp);
        if (chunk > f->size - f->pos)
            chunk = f->size - f->pos;
        const char *why;
        if (vmobj_read(f->obj, f->pos, tmp, chunk, &why) != VMOBJ_GOT)
            return done ? (long)done : -EIO;
        if (copy_to_user(buf + done, tmp, chunk))
            return done ? (long)done : -EFAULT;
        f->pos += chunk;
        done += chunk;
    }
    return (long)done;
}

static long text_read(struct file *f, uintptr_t buf, size_t n)
{
    if (f->dir)
        return -EISDIR;
    size_t left = f->pos < f->size ? f->size - f->pos : 0;
    if (n > left)
        n = left;
    if (copy_to_user(buf, f->text + f->pos, n))
        return -EFAULT;
    f->pos += n;
    return (long)n;
}

long file_read(struct file *f, uintptr_t buf, size_t n)
{
    switch (f->kind) {
    case FILE_TEXT: return text_read(f, buf, n);
    case FILE_CONSOLE: return console_file_read(buf, n);
    case FILE_MODULE: return module_read(f, buf, n);
    case FILE_PIPE_READ: return pipe_read(f->pipe, buf, n);
    case FILE_PIPE_WRITE: return -EBADF;
    case FILE_UFFD: return uffd_read(f, buf, n);
    }
    return -EBADF;
}

long file_write(struct file *f, uintptr_t buf, size_t n)
{
    switch (f->kind) {
    case FILE_CONSOLE: return console_file_write(buf, n);
    case FILE_MODULE:
    case FILE_TEXT: return -EBADF; /* read-only */
    case FILE_PIPE_WRITE: return pipe_write(f->pipe, buf, n);
    case FILE_PIPE_READ: return -EBADF;
    case FILE_UFFD: return -EINVAL; /* Linux: a userfaultfd has no write */
    }
    return -EBADF;
}

long file_getdents(struct file *f, uintptr_t buf, size_t n)
{
    if (f->kind != FILE_TEXT || !f->dir)
        return -ENOTDIR;
    size_t done = 0;
    while (f->pos + done + 18 < f->size) { /* reclen is at byte 16 */
        uint16_t reclen;
        memcpy(&reclen, f->text + f->pos + done + 16, sizeof(reclen));
        if (done + reclen > n)
            break;
        done += reclen;
    }
    if (!done && f->pos < f->size)
        return -EINVAL;
    if (done && copy_to_user(buf, f->text + f->pos, done))
        return -EFAULT;
    f->pos += done;
    return (long)done;
}

struct wait_queue file_poll_waiters = { .name = "poll" };

unsigned file_poll(struct file *f)
{
    struct pipe *p = f->pipe;
    switch (f->kind) {
    case FILE_PIPE_READ: return (p->count ? FILE_POLLIN : 0) | (!p->writers ? FILE_POLLHUP : 0);
    case FILE_PIPE_WRITE: return !p->readers ? FILE_POLLERR : p->count < PIPE_SIZE ? FILE_POLLOUT : 0;
    case FILE_UFFD: return uffd_poll(f);
    case FILE_CONSOLE: return FILE_POLLOUT;
    case FILE_MODULE:
    case FILE_TEXT: return FILE_POLLIN; /* reads never block */
    }
    return 0;
}
