#include "range.h"

bool range_add(struct range_set *s, uint64_t start, uint64_t end)
{
    if (end <= start)
        return true;
    if (s->n >= s->cap) {
        s->overflow = true;
        return false;
    }
    s->r[s->n].start = start;
    s->r[s->n].end = end;
    s->n++;
    return true;
}

bool range_normalize(struct range_set *s)
{
    bool overlapped = false;
    /* Insertion sort: the sets are small (tens of entries) and often sorted. */
    for (size_t i = 1; i < s->n; i++) {
        struct range x = s->r[i];
        size_t j = i;
        while (j > 0 && s->r[j - 1].start > x.start) {
            s->r[j] = s->r[j - 1];
            j--;
        }
        s->r[j] = x;
    }
    size_t out = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct range x = s->r[i];
        if (x.end <= x.start)
            continue;
        if (out > 0 && x.start <= s->r[out - 1].end) {
            if (x.start < s->r[out - 1].end)
                overlapped = true;
            if (x.end > s->r[out - 1].end)
                s->r[out - 1].end = x.end;
            continue;
        }
        s->r[out++] = x;
    }
    s->n = out;
    return overlapped;
}

void range_subtract(struct range_set *s, const struct range_set *sub)
{
    for (size_t k = 0; k < sub->n; k++) {
        uint64_t ss = sub->r[k].start, se = sub->r[k].end;
        for (size_t i = 0; i < s->n; i++) {
            struct range *x = &s->r[i];
            if (se <= x->start || ss >= x->end)
                continue;
            if (ss <= x->start && se >= x->end) { /* swallowed: remove */
                for (size_t j = i + 1; j < s->n; j++)
                    s->r[j - 1] = s->r[j];
                s->n--;
                i--;
            } else if (ss <= x->start) { /* cut the front */
                x->start = se;
            } else if (se >= x->end) { /* cut the back */
                x->end = ss;
            } else { /* split */
                uint64_t upper_end = x->end;
                x->end = ss;
                if (s->n >= s->cap) {
                    s->overflow = true;
                    continue;
                }
                for (size_t j = s->n; j > i + 1; j--)
                    s->r[j] = s->r[j - 1];
                s->r[i + 1].start = se;
                s->r[i + 1].end = upper_end;
                s->n++;
                i++;
            }
        }
    }
}

void range_align_inward(struct range_set *s, uint64_t align)
{
    size_t out = 0;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t a = s->r[i].start, b = s->r[i].end & ~(align - 1);
        if (a & (align - 1)) {
            if (a > UINT64_MAX - align)
                continue;
            a = (a + align - 1) & ~(align - 1);
        }
        if (b > a) {
            s->r[out].start = a;
            s->r[out].end = b;
            out++;
        }
    }
    s->n = out;
}

/* Index of the last range with start <= addr, or -1. */
static long range_find(const struct range_set *s, uint64_t addr)
{
    long lo = 0, hi = (long)s->n - 1, found = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (s->r[mid].start <= addr) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

bool range_contains(const struct range_set *s, uint64_t start, uint64_t end)
{
    long i = range_find(s, start);
    return i >= 0 && end <= s->r[i].end && start < s->r[i].end;
}

bool range_overlaps(const struct range_set *s, uint64_t start, uint64_t end)
{
    if (end <= start)
        return false;
    long i = range_find(s, end - 1);
    return i >= 0 && s->r[i].end > start;
}

uint64_t range_total(const struct range_set *s)
{
    uint64_t t = 0;
    for (size_t i = 0; i < s->n; i++)
        t += s->r[i].end - s->r[i].start;
    return t;
}
