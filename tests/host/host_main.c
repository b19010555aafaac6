#include <stdlib.h>
#include <string.h>

#include "host.h"

#define MAX_MAPS 8192
static void *maps[MAX_MAPS];
static size_t nmaps;
static int big;
int host_map_fail;
static struct range ur[PMM_MAX_RANGES], rr[PMM_MAX_RANGES];
static struct range_set us, rs;

static void geometry(uint32_t chunk, uint64_t need, uint64_t *size, uint64_t *align)
{
    (void)chunk;
    *size = big ? (2ull << 20) : need;
    *align = big ? (2ull << 20) : PAGE_SIZE;
}

static void *map_meta(uint32_t chunk, paddr_t pa, uint64_t size)
{
    (void)chunk;
    assert_true(pa % PAGE_SIZE == 0);
    if (host_map_fail || nmaps == MAX_MAPS)
        return NULL;
    void *p = malloc(size);
    assert_non_null(p);
    memset(p, 0xa5, size); /* garbage: the allocator must not rely on zeroes */
    maps[nmaps++] = p;
    return p;
}

void host_pmm_teardown(void)
{
    for (size_t i = 0; i < nmaps; i++)
        free(maps[i]);
    nmaps = 0;
    host_map_fail = 0;
}

enum pmm_status host_pmm_setup(const uint64_t *u, size_t n, const uint64_t *r, size_t nr,
                               int big_meta)
{
    static const struct pmm_platform plat = { geometry, map_meta };
    host_pmm_teardown();
    big = big_meta;
    range_set_init(&us, ur, PMM_MAX_RANGES);
    range_set_init(&rs, rr, PMM_MAX_RANGES);
    for (size_t i = 0; i < n; i++)
        range_add(&us, u[2 * i], u[2 * i + 1]);
    for (size_t i = 0; i < nr; i++)
        range_add(&rs, r[2 * i], r[2 * i + 1]);
    range_normalize(&us);
    range_normalize(&rs);
    pmm_set_poison_writer(NULL);
    pmm_fail_nth(0);
    pmm_fail_all(false);
    return pmm_setup(&plat, &us, &rs);
}

void host_pmm_check(void)
{
    const char *why;
    paddr_t where;
    enum pmm_status st = pmm_check(&us, &rs, &why, &where);
    if (st != PMM_OK)
        fail_msg("pmm_check: %s at %#llx", why, (unsigned long long)where);
}

int main(void)
{
    int failed = run_mb2_tests();
    failed += run_pmm_tests();
    host_pmm_teardown();
    return failed ? 1 : 0;
}
