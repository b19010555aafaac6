/* lazy: lazy memory at work.  A large anonymous mmap costs no frame; reads
 * map the one shared zero frame (no frame either); each page written costs
 * one frame (a zero-fill). */
#include <sys/mman.h>

#include "lib/procfs.h"

#define MB (1024ul * 1024)

static void step(const char *what, struct counters *before)
{
    struct counters now;
    counters_read(&now);
    printf("  counters after %s:\n", what);
    counters_print(before, &now, 0);
    *before = now;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct counters c;
    counters_read(&c);
    size_t size = 256 * MB, reads = 16 * MB, writes = 4 * MB;
    printf("lazy: mmap of %zu MiB of anonymous memory\n", size / MB);
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("lazy: mmap");
        return 1;
    }
    step("the mmap (no fault, no frame)", &c);
    printf("lazy: reading one byte of each of %zu pages (%zu MiB)\n", reads / 4096, reads / MB);
    unsigned sum = 0;
    for (size_t off = 0; off < reads; off += 4096)
        sum += (unsigned char)m[off];
    step("the reads (the zero frame, shared: no free frame used)", &c);
    printf("lazy: writing one byte of each of %zu pages (%zu MiB)\n", writes / 4096, writes / MB);
    for (size_t off = 0; off < writes; off += 4096)
        m[off] = 1;
    step("the writes (one fresh frame per page)", &c);
    printf("lazy: sum of the bytes read: %u (all zero)\n", sum);
    munmap(m, size);
    step("munmap (the frames come back)", &c);
    return 0;
}
