#include "multiboot2.h"

#define MB2_TAG_ALIGN 8

enum mb2_status mb2_view_init(struct mb2_view *view, const void *mbi, size_t max_size)
{
    view->base = NULL;
    view->size = 0;
    if (!mbi)
        return MB2_ERR_NULL;
    if ((uintptr_t)mbi % MB2_TAG_ALIGN)
        return MB2_ERR_MISALIGNED;
    if (max_size < sizeof(struct mb2_info_header))
        return MB2_ERR_TOO_SMALL;
    const struct mb2_info_header *h = mbi;
    if (h->total_size < sizeof(*h) + sizeof(struct mb2_tag))
        return MB2_ERR_TOO_SMALL;
    if (h->total_size > max_size)
        return MB2_ERR_TOO_LARGE;
    view->base = mbi;
    view->size = h->total_size;
    return MB2_OK;
}

const struct mb2_tag *mb2_next_tag(const struct mb2_view *view, size_t *cursor, bool *malformed)
{
    size_t off = *cursor ? *cursor : sizeof(struct mb2_info_header);

    if (malformed)
        *malformed = false;
    if (off > view->size || view->size - off < sizeof(struct mb2_tag))
        return NULL; /* ran off the end without an end tag */
    const struct mb2_tag *tag = (const struct mb2_tag *)(view->base + off);
    if (tag->type == MB2_TAG_END)
        return NULL;
    if (tag->size < sizeof(struct mb2_tag) || tag->size > view->size - off) {
        if (malformed)
            *malformed = true;
        return NULL;
    }
    size_t next = off + ((tag->size + MB2_TAG_ALIGN - 1) & ~(size_t)(MB2_TAG_ALIGN - 1));
    *cursor = next;
    return tag;
}

const struct mb2_tag *mb2_find_tag(const struct mb2_view *view, uint32_t type)
{
    size_t cursor = 0;
    const struct mb2_tag *tag;
    while ((tag = mb2_next_tag(view, &cursor, NULL)) != NULL) {
        if (tag->type == type)
            return tag;
    }
    return NULL;
}

const char *mb2_tag_string(const struct mb2_tag *tag)
{
    const char *s = (const char *)(tag + 1);
    size_t n = tag->size - sizeof(*tag);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0')
            return s;
    }
    return NULL;
}

const char *mb2_status_str(enum mb2_status st)
{
    switch (st) {
    case MB2_OK: return "ok";
    case MB2_ERR_NULL: return "no multiboot2 info block";
    case MB2_ERR_MISALIGNED: return "multiboot2 info block not 8-byte aligned";
    case MB2_ERR_TOO_SMALL: return "multiboot2 total_size too small";
    case MB2_ERR_TOO_LARGE: return "multiboot2 total_size too large";
    }
    return "unknown multiboot2 status";
}
