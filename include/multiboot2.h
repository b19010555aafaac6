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
    MB2_TAG_FRAMEBUFFER = 8,
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

/* ---- Parsing the boot information (kernel/lib/mb2_parse.c) ----------------
 * mb2_parse() walks every tag with bounds checks and turns the memory map into
 * a clean, sorted, page-aligned list of usable RAM.  Malformed input never
 * crashes the parser and never makes memory usable twice: each oddity sets a
 * warning bit (mb2_warning_str() names it) and the memory it concerns is
 * treated conservatively (usable only when type 1 and overlapping nothing
 * else; anything overlapping a reserved entry is reserved). */
#include "range.h"

#define MB2_MMAP_AVAILABLE 1

struct mb2_mmap_entry {
    uint64_t addr;
    uint64_t len;
    uint32_t type;
    uint32_t zero;
};

struct mb2_tag_mmap {
    struct mb2_tag tag;
    uint32_t entry_size;
    uint32_t entry_version;
    /* entries follow, entry_size bytes apart */
};

struct mb2_tag_module {
    struct mb2_tag tag;
    uint32_t mod_start;
    uint32_t mod_end; /* exclusive */
    /* NUL-terminated command line follows */
};

/* Framebuffer info; the colour fields follow only for type 1 (RGB). */
struct mb2_tag_framebuffer {
    struct mb2_tag tag;
    uint64_t addr;
    uint32_t pitch, width, height;
    uint8_t bpp, type;
    uint16_t reserved;
    uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
} __attribute__((packed));
#define MB2_FRAMEBUFFER_MIN_SIZE 32 /* without the colour fields */

struct mb2_tag_basic_meminfo {
    struct mb2_tag tag;
    uint32_t mem_lower; /* KiB from 0 */
    uint32_t mem_upper; /* KiB from 1 MiB */
};

struct mb2_tag_elf_sections {
    struct mb2_tag tag;
    uint32_t num;
    uint32_t entsize;
    uint32_t shndx;
    /* section headers follow */
};

/* The ELF64 section header fields the kernel uses. */
struct mb2_elf64_shdr {
    uint32_t name, type;
    uint64_t flags, addr, offset, size;
    uint32_t link, info;
    uint64_t addralign, entsize;
};

enum mb2_warning {
    MB2_W_MALFORMED_TAG = 1u << 0,  /* a tag's size runs past the block: walk stopped */
    MB2_W_NO_END_TAG = 1u << 1,     /* block ended without an end tag */
    MB2_W_NO_MMAP = 1u << 2,        /* no memory map (fell back to basic meminfo, if any) */
    MB2_W_MMAP_BAD_HEADER = 1u << 3,/* entry_size too small or odd: map ignored */
    MB2_W_MMAP_TRUNCATED = 1u << 4, /* tag size not a whole number of entries */
    MB2_W_MMAP_UNSORTED = 1u << 5,
    MB2_W_MMAP_OVERLAP = 1u << 6,   /* entries of the same kind overlap */
    MB2_W_MMAP_CONFLICT = 1u << 7,  /* usable overlaps non-usable: treated as reserved */
    MB2_W_MMAP_UNALIGNED = 1u << 8, /* usable entry not page aligned: trimmed */
    MB2_W_MMAP_ZERO_LENGTH = 1u << 9,
    MB2_W_MMAP_BEYOND_MAXPHYS = 1u << 10, /* entry (partly) beyond MAXPHYADDR: clipped */
    MB2_W_MMAP_TOO_MANY = 1u << 11, /* more entries than the parser keeps: extra usable dropped */
    MB2_W_MMAP_DUPLICATE = 1u << 12,/* a second memory-map tag: ignored */
    MB2_W_MODULE_BAD = 1u << 13,    /* module with end < start, short tag or bad string */
    MB2_W_MODULE_TOO_MANY = 1u << 14, /* names of extra modules dropped (memory kept reserved) */
    MB2_W_CMDLINE_BAD = 1u << 15,   /* command line / loader name not NUL-terminated */
    MB2_W_ELF_BAD = 1u << 16,       /* ELF sections tag inconsistent: (partly) ignored */
    MB2_W_BASIC_MEMINFO_ONLY = 1u << 17, /* usable memory taken from basic meminfo */
};
#define MB2_WARNING_COUNT 18

#define MB2_MAX_RANGES 128
#define MB2_MAX_MODULES 256 /* boot.h BOOT_MAX_MODULES */
#define MB2_MAX_ELF_RANGES 64

struct mb2_module {
    uint64_t start, end; /* physical, end exclusive */
    const char *cmdline; /* NULL when not NUL-terminated */
};

/* Everything mb2_parse() extracts.  Holds pointers into the info block and
 * into itself (the range sets): do not copy it by value. */
struct mb2_boot {
    const char *cmdline;    /* NULL when absent or bad */
    const char *bootloader;
    uint32_t tags;          /* tags walked */
    uint32_t mmap_entries;  /* raw memory-map entries seen */
    struct range_set usable;   /* sanitized: page aligned, sorted, disjoint */
    struct range_set firmware; /* non-usable map entries, page aligned outward, normalized */
    struct mb2_module modules[MB2_MAX_MODULES];
    size_t n_modules;
    struct range_set module_mem; /* every module's memory, normalized (even
                                    modules beyond MB2_MAX_MODULES) */
    /* Sections the loader placed in memory (addr != 0, size != 0), raw
     * addresses as in the section headers (link addresses for SHF_ALLOC). */
    struct range_set elf;
    const uint8_t *elf_shdrs; /* NULL when absent or bad; may be misaligned */
    uint32_t elf_num, elf_entsize, elf_shndx;
    uint32_t warnings;      /* enum mb2_warning bits */
    struct range usable_r[MB2_MAX_RANGES], firmware_r[MB2_MAX_RANGES];
    struct range elf_r[MB2_MAX_ELF_RANGES], module_r[MB2_MAX_MODULES];
};

/* Parse @view (from mb2_view_init).  @max_phys: first physical address that
 * cannot exist (1 << MAXPHYADDR).  Never fails: problems are warnings. */
void mb2_parse(struct mb2_boot *out, const struct mb2_view *view, uint64_t max_phys);

/* Copy section header @i (i < elf_num) into @out; false when out of range. */
bool mb2_elf_section(const struct mb2_boot *b, uint32_t i, struct mb2_elf64_shdr *out);

/* A short description of one warning bit. */
const char *mb2_warning_str(uint32_t bit);

#endif
