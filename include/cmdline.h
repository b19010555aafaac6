/* Kernel command line: space-separated words, "key=value" or "flag". */
#ifndef ZF_CMDLINE_H
#define ZF_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Copy the value of @key into @out (NUL-terminated, truncated to @outsz).
 * Returns false when @key is absent; a bare "key" has the value "". */
bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outsz);

/* Find @key's value without copying: *@val points into @cmdline, *@len is
 * its length (so a caller can refuse a value too long for its buffer). */
bool cmdline_find(const char *cmdline, const char *key, const char **val, size_t *len);

/* Shell-style glob: '*' any run, '?' one character. */
bool glob_match(const char *pattern, const char *text);

#endif
