/* Kernel symbol lookup, for backtraces and fault reports. */
#ifndef ZF_KSYM_H
#define ZF_KSYM_H

#include <stdbool.h>
#include <stdint.h>

/* Find the function containing @addr.  Returns false when unknown. */
bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset);

/* Address of the symbol called @name, or 0. */
uintptr_t ksym_address(const char *name);

#endif
