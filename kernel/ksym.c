/* Placeholder symbol table lookup: the symbolised version comes with the
 * embedded ELF symbol table (exceptions issue).  Until then every address is
 * printed raw. */
#include "ksym.h"

bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset)
{
    (void)addr;
    *name = 0;
    *offset = 0;
    return false;
}

uintptr_t ksym_address(const char *name)
{
    (void)name;
    return 0;
}
