#include "cmdline.h"
#include "kstring.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outsz)
{
    const char *val;
    size_t vlen;
    if (!cmdline_find(cmdline, key, &val, &vlen))
        return false;
    if (outsz > 0) {
        size_t n = vlen < outsz - 1 ? vlen : outsz - 1;
        memcpy(out, val, n);
        out[n] = '\0';
    }
    return true;
}

bool cmdline_find(const char *cmdline, const char *key, const char **val_out, size_t *len_out)
{
    size_t klen = strlen(key);
    const char *p = cmdline;

    while (p && *p) {
        while (is_space(*p))
            p++;
        const char *word = p;
        while (*p && !is_space(*p))
            p++;
        size_t wlen = (size_t)(p - word);
        if (wlen < klen || strncmp(word, key, klen) != 0)
            continue;
        if (wlen != klen && word[klen] != '=')
            continue;
        const char *val = wlen == klen ? word + wlen : word + klen + 1;
        *val_out = val;
        *len_out = (size_t)(p - val);
        return true;
    }
    return false;
}

bool glob_match(const char *pat, const char *s)
{
    /* Iterative with one backtrack point: linear-ish, no recursion. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}
