/* Symbol lookup from the kernel's own ELF symbol table, embedded at build
 * time (scripts/link.sh, scripts/gen-ksyms.sh): backtraces and fault
 * reports name functions from what the linker actually produced. */
#include "ksym.h"
#include "kstring.h"

struct ksym {
    uintptr_t addr;
    uintptr_t size; /* 0 for assembly and linker-script labels */
    const char *name;
};

/* Sorted by address; at equal addresses sized symbols come first. */
extern const uint64_t ksym_count;
extern const struct ksym ksym_table[];

size_t ksym_table_size(void)
{
    return (size_t)ksym_count;
}

bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset)
{
    size_t n = (size_t)ksym_count, lo = 0, hi = n;
    *name = 0;
    *offset = 0;
    /* First entry above @addr. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ksym_table[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    size_t next = lo; /* first entry beyond @addr's symbol, or n */
    size_t i = lo - 1;
    while (i > 0 && ksym_table[i - 1].addr == ksym_table[i].addr)
        i--;
    const struct ksym *s = &ksym_table[i];
    if (s->size ? addr - s->addr >= s->size : next == n)
        return false; /* past the end of a sized symbol, or past the last label */
    *name = s->name;
    *offset = addr - s->addr;
    return true;
}

uintptr_t ksym_address(const char *name)
{
    for (size_t i = 0; i < (size_t)ksym_count; i++)
        if (strcmp(ksym_table[i].name, name) == 0)
            return ksym_table[i].addr;
    return 0;
}
