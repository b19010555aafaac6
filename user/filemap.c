/* filemap: a file (a module: a program in /bin) mapped privately.  Its
 * pages come in from the file on first touch; the first write gives this
 * process its own copy, and the file itself never changes. */
#include <sys/mman.h>

#include "lib/procfs.h"

static void show(const char *what, struct counters *before)
{
    struct counters now;
    counters_read(&now);
    printf("  counters after %s:\n", what);
    counters_print(before, &now, 0);
    *before = now;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *path = argc > 1 ? argv[1] : "/bin/hello";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("filemap: cannot open %s\n", path);
        return 1;
    }
    unsigned char orig[4];
    read(fd, orig, 4);
    struct counters c;
    counters_read(&c);
    printf("filemap: mmap of 4 pages of %s, private, read-write\n", path);
    unsigned char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        perror("filemap: mmap");
        return 1;
    }
    show("the mmap (nothing read yet)", &c);
    printf("filemap: first read of page 0: bytes %02x %02x %02x %02x (\\x7fELF)\n", m[0], m[1], m[2], m[3]);
    show("the first read (the page cache's frame mapped read-only)", &c);
    printf("filemap: second read of page 0: %02x\n", m[1]);
    show("the second read (no fault)", &c);
    printf("filemap: writing 'X' to page 0\n");
    m[1] = 'X';
    show("the write (a private copy)", &c);
    unsigned char now[4];
    lseek(fd, 0, SEEK_SET);
    read(fd, now, 4);
    printf("filemap: the mapping now reads %02x '%c'; the file still reads %02x '%c'\n", m[0], m[1],
           now[0], now[1]);
    return memcmp(orig, now, 4) != 0;
}
