/* Multiboot2 boot information: layout (from the Multiboot2 specification)
 * and a bounds-checked tag iterator.  Pure code: no hardware access, no
 * printing, so it also builds for host tests and fuzzing. */
#ifndef ZF_MULTIBOOT2_H
#define ZF_MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mb2_tag_type {
    MB2_TAG_END = 0,
    MB2_TAG_CMDLINE = 1,
    MB2_TAG_BOOTLOADER = 2,
    MB2_TAG_MODULE = 3,
    MB2_TAG_BASIC_MEMINFO = 4,
    MB2_TAG_BOOTDEV = 5,
    MB2_TAG_MMAP = 6,
    MB2_TAG_ELF_SECTIONS = 9,
};

struct mb2_info_header {
    uint32_t total_size;
    uint32_t reserved;
};

struct mb2_tag {
    uint32_t type;
    uint32_t size; /* including this header, excluding padding to 8 */
};

/* A view of the info block: @base points at the header, @size is the number
 * of bytes that may be read (min of the header's total_size and what the
 * caller knows is mapped). */
struct mb2_view {
    const uint8_t *base;
    size_t size;
};

enum mb2_status {
    MB2_OK = 0,
    MB2_ERR_NULL,       /* no info block */
    MB2_ERR_MISALIGNED, /* info block not 8-byte aligned */
    MB2_ERR_TOO_SMALL,  /* total_size smaller than header + end tag */
    MB2_ERR_TOO_LARGE,  /* total_size beyond what the caller allows */
};

/* Validate the header and set up @view.  @max_size bounds total_size. */
enum mb2_status mb2_view_init(struct mb2_view *view, const void *mbi, size_t max_size);

/* Iterate tags: start with *cursor == 0.  Returns the next well-formed tag
 * (size >= 8 and inside the block), or NULL at the end tag, at the end of the
 * block, or at the first malformed tag (then *malformed is set, if given). */
const struct mb2_tag *mb2_next_tag(const struct mb2_view *view, size_t *cursor,
                                   bool *malformed);

/* First tag of @type, or NULL. */
const struct mb2_tag *mb2_find_tag(const struct mb2_view *view, uint32_t type);

/* The string payload of a cmdline/bootloader tag, or NULL when it is not
 * NUL-terminated inside the tag. */
const char *mb2_tag_string(const struct mb2_tag *tag);

const char *mb2_status_str(enum mb2_status st);

#endif
