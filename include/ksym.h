/* Kernel symbol lookup, for backtraces and fault reports.  The table is the
 * kernel's own ELF symbol table (functions, objects and assembly labels),
 * embedded by a multi-pass link (scripts/link.sh). */
#ifndef ZF_KSYM_H
#define ZF_KSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Find the function (or object, or assembly label) containing @addr.
 * Returns false when unknown: before the first symbol, past the end of a
 * sized symbol, or past the last one. */
bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset);

/* Address of the symbol called @name, or 0. */
uintptr_t ksym_address(const char *name);

/* Number of symbols embedded (0 only in the first link pass). */
size_t ksym_table_size(void);

#endif
