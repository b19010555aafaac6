/* Open files: the console, read-only module files, and pipes.  A struct
 * file is shared by every descriptor that refers to it (dup2, fork) and
 * counted.  Code: kernel/proc/file.c. */
#ifndef ZF_FILE_H
#define ZF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

struct vmobj;
struct pipe;
struct uffd_ctx;

enum file_kind { FILE_CONSOLE, FILE_MODULE, FILE_PIPE_READ, FILE_PIPE_WRITE, FILE_TEXT, FILE_UFFD };

struct file {
    enum file_kind kind;
    unsigned refs;
    /* modules */
    struct vmobj *obj;
    uint64_t size, pos;
    const char *path;
    /* pipes */
    struct pipe *pipe;
    /* generated text (/proc files): a snapshot taken at open; for a
     * directory (/proc), linux_dirent64 records for getdents64 */
    char *text;
    bool dir;
    /* userfaultfd (kernel/proc/uffd.c) */
    struct uffd_ctx *uffd;
};

/* The named, read-only files: multiboot2 modules by path ("/bin/init"). */
bool modfs_add(const char *path, uint64_t pa, uint64_t size);
/* Object (the module's paged object) and size of @path; false if none. */
bool modfs_lookup(const char *path, struct vmobj **obj, uint64_t *size);
/* Visit every file (help, ls). */
void modfs_for_each(void (*fn)(void *ctx, const char *path, uint64_t size), void *ctx);

struct file *file_console(void);
struct file *file_open_module(const char *path); /* NULL if no such file */
/* A generated read-only file (/proc/meminfo, /proc/vmstat, /proc/PID/maps,
 * smaps, status, and /proc itself: kernel/proc/procfs.c): NULL if @path
 * names none (*@known false) or memory ran out (*@known true). */
struct file *file_open_generated(const char *path, bool *known);
/* A read-only file over @len bytes of generated text at @buf (an arena
 * allocation the file frees on its last close). */
struct file *file_new_text(char *buf, size_t len);
/* A pipe: *rd and *wr, or false when out of memory. */
bool file_pipe(struct file **rd, struct file **wr);
/* A userfaultfd's file over @c (uffd.c makes the context). */
struct file *file_new_uffd(struct uffd_ctx *c);
void file_get(struct file *f);
void file_put(struct file *f);

/* read/write on a file to/from user memory at @buf: bytes or -errno. */
long file_read(struct file *f, uintptr_t buf, size_t n);
long file_write(struct file *f, uintptr_t buf, size_t n);
/* getdents64 on a directory: whole records only; 0 at the end, -ENOTDIR
 * for other files, -EINVAL when @n cannot hold the next record. */
long file_getdents(struct file *f, uintptr_t buf, size_t n);

/* poll: what @f would not block on now, in Linux's bits (POLLERR and
 * POLLHUP are reported whether asked for or not). */
#define FILE_POLLIN 0x1
#define FILE_POLLOUT 0x4
#define FILE_POLLERR 0x8
#define FILE_POLLHUP 0x10
unsigned file_poll(struct file *f);
/* Woken whenever a userfaultfd gets a message (poll with no timeout on
 * such descriptors sleeps here; other files are rechecked every tick). */
extern struct wait_queue file_poll_waiters;

#endif
