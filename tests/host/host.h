/* Host test helpers: simulated metadata memory for the allocator. */
#ifndef ZF_TESTS_HOST_H
#define ZF_TESTS_HOST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "multiboot2.h"
#include "pmm.h"

/* Set up the allocator over @n usable ranges (pairs start, end) minus @nr
 * reserved ranges; metadata geometry is chunk-aligned 2 MiB pages when
 * @big_meta, else exactly what is needed. */
enum pmm_status host_pmm_setup(const uint64_t *usable, size_t n, const uint64_t *reserved,
                               size_t nr, int big_meta);
void host_pmm_teardown(void);
/* Assert pmm_check() passes against the same ranges. */
void host_pmm_check(void);
extern int host_map_fail; /* make map_meta fail */

int run_pmm_tests(void);
int run_mb2_tests(void);
#endif
