/* libFuzzer target: the multiboot2 parser on arbitrary bytes.  Beyond "no
 * crash, no sanitizer report" it checks the sanitised result: usable ranges
 * sorted, disjoint, page aligned, below MAXPHYADDR, outside firmware ranges. */
#include <stdlib.h>
#include <string.h>

#include "multiboot2.h"

#define MAXP (1ull << 46)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mb2_boot mb;
    uint64_t *buf = malloc(size + 8); /* 8-byte aligned copy, exact size for ASan */
    memcpy(buf, data, size);
    struct mb2_view v;
    if (mb2_view_init(&v, buf, size) == MB2_OK) {
        mb2_parse(&mb, &v, MAXP);
        for (size_t i = 0; i < mb.usable.n; i++) {
            uint64_t a = mb.usable.r[i].start, b = mb.usable.r[i].end;
            if (a >= b || a % 4096 || b % 4096 || b > MAXP)
                abort();
            if (i && mb.usable.r[i - 1].end >= a)
                abort();
            if (range_overlaps(&mb.firmware, a, b))
                abort();
        }
        for (uint32_t bit = 1; bit; bit <<= 1)
            if (mb.warnings & bit)
                (void)mb2_warning_str(bit);
    }
    free(buf);
    return 0;
}
