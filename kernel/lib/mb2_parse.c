/* Multiboot2 boot information parser: memory map, modules, command line,
 * loader name, ELF sections.  Pure code (host tests and libFuzzer build it
 * unchanged).  All multi-byte fields inside tags are read with memcpy: entry
 * sizes come from the input and may leave fields misaligned. */
#include "multiboot2.h"

#define PAGE 4096ull

static void rd(void *dst, const void *src, size_t n)
{
    __builtin_memcpy(dst, src, n);
}

/* Add [a, b) to @s; when full, merge what is there and retry; when still
 * full either drop the range (@conservative false: losing usable memory is
 * safe) or grow the nearest range to cover it (@conservative true: reserving
 * too much is safe, reserving too little is not). */
static bool add_range(struct range_set *s, uint64_t a, uint64_t b, bool conservative)
{
    if (b <= a)
        return true;
    if (s->n < s->cap) {
        range_add(s, a, b);
        return true;
    }
    range_normalize(s);
    if (s->n < s->cap) {
        range_add(s, a, b);
        return true;
    }
    if (!conservative)
        return false;
    size_t best = 0;
    uint64_t best_gap = UINT64_MAX;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t gap = a >= s->r[i].end ? a - s->r[i].end
                     : s->r[i].start >= b ? s->r[i].start - b : 0;
        if (gap < best_gap) {
            best_gap = gap;
            best = i;
        }
    }
    if (a < s->r[best].start)
        s->r[best].start = a;
    if (b > s->r[best].end)
        s->r[best].end = b;
    return false;
}

static void parse_mmap(struct mb2_boot *o, const struct mb2_tag *tag, uint64_t max_phys,
                       struct range_set *raw_usable)
{
    struct mb2_tag_mmap h;
    if (tag->size < sizeof(h)) {
        o->warnings |= MB2_W_MMAP_BAD_HEADER;
        return;
    }
    rd(&h, tag, sizeof(h));
    if (h.entry_size < sizeof(struct mb2_mmap_entry) || h.entry_size % 8) {
        o->warnings |= MB2_W_MMAP_BAD_HEADER;
        return;
    }
    size_t payload = tag->size - sizeof(h);
    size_t n = payload / h.entry_size;
    if (payload % h.entry_size)
        o->warnings |= MB2_W_MMAP_TRUNCATED;
    const uint8_t *p = (const uint8_t *)tag + sizeof(h);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        struct mb2_mmap_entry e;
        rd(&e, p + i * h.entry_size, sizeof(e));
        o->mmap_entries++;
        if (i && e.addr < prev)
            o->warnings |= MB2_W_MMAP_UNSORTED;
        prev = e.addr;
        if (e.len == 0) {
            o->warnings |= MB2_W_MMAP_ZERO_LENGTH;
            continue;
        }
        uint64_t a = e.addr, b;
        if (__builtin_add_overflow(e.addr, e.len, &b) || b > max_phys) {
            o->warnings |= MB2_W_MMAP_BEYOND_MAXPHYS;
            b = max_phys;
        }
        if (a >= b)
            continue;
        if (e.type == MB2_MMAP_AVAILABLE) {
            if ((a | b) & (PAGE - 1))
                o->warnings |= MB2_W_MMAP_UNALIGNED;
            if (!add_range(raw_usable, a, b, false))
                o->warnings |= MB2_W_MMAP_TOO_MANY;
        } else {
            if (!add_range(&o->firmware, a, b, true))
                o->warnings |= MB2_W_MMAP_TOO_MANY;
        }
    }
}

static void parse_module(struct mb2_boot *o, const struct mb2_tag *tag)
{
    struct mb2_tag_module m;
    if (tag->size < sizeof(m) + 1) {
        o->warnings |= MB2_W_MODULE_BAD;
        return;
    }
    rd(&m, tag, sizeof(m));
    if (m.mod_end < m.mod_start) {
        o->warnings |= MB2_W_MODULE_BAD;
        return;
    }
    if (!add_range(&o->module_mem, m.mod_start, m.mod_end, true))
        o->warnings |= MB2_W_MODULE_TOO_MANY;
    if (o->n_modules >= MB2_MAX_MODULES) {
        o->warnings |= MB2_W_MODULE_TOO_MANY;
        return;
    }
    const char *s = (const char *)tag + sizeof(m);
    size_t len = tag->size - sizeof(m);
    const char *str = NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0') {
            str = s;
            break;
        }
    }
    if (!str)
        o->warnings |= MB2_W_MODULE_BAD;
    struct mb2_module *mod = &o->modules[o->n_modules++];
    mod->start = m.mod_start;
    mod->end = m.mod_end;
    mod->cmdline = str;
}

static void parse_elf(struct mb2_boot *o, const struct mb2_tag *tag)
{
    struct mb2_tag_elf_sections h;
    if (tag->size < sizeof(h)) {
        o->warnings |= MB2_W_ELF_BAD;
        return;
    }
    rd(&h, tag, sizeof(h));
    if (h.entsize < sizeof(struct mb2_elf64_shdr)) {
        o->warnings |= MB2_W_ELF_BAD;
        return;
    }
    size_t payload = tag->size - sizeof(h);
    uint32_t num = h.num;
    if ((uint64_t)num * h.entsize > payload) {
        o->warnings |= MB2_W_ELF_BAD;
        num = (uint32_t)(payload / h.entsize);
    }
    o->elf_shdrs = (const uint8_t *)tag + sizeof(h);
    o->elf_num = num;
    o->elf_entsize = h.entsize;
    o->elf_shndx = h.shndx < num ? h.shndx : 0;
    for (uint32_t i = 0; i < num; i++) {
        struct mb2_elf64_shdr sh;
        mb2_elf_section(o, i, &sh);
        if (!sh.addr || !sh.size)
            continue;
        uint64_t end;
        if (__builtin_add_overflow(sh.addr, sh.size, &end)) {
            o->warnings |= MB2_W_ELF_BAD;
            continue;
        }
        if (!add_range(&o->elf, sh.addr, end, true))
            o->warnings |= MB2_W_ELF_BAD;
    }
}

bool mb2_elf_section(const struct mb2_boot *b, uint32_t i, struct mb2_elf64_shdr *out)
{
    if (!b->elf_shdrs || i >= b->elf_num)
        return false;
    rd(out, b->elf_shdrs + (size_t)i * b->elf_entsize, sizeof(*out));
    return true;
}

void mb2_parse(struct mb2_boot *o, const struct mb2_view *view, uint64_t max_phys)
{
    struct range raw_r[MB2_MAX_RANGES];
    struct range_set raw_usable;
    const struct mb2_tag_basic_meminfo *basic = NULL;
    bool have_mmap = false;

    o->cmdline = o->bootloader = NULL;
    o->tags = o->mmap_entries = 0;
    o->n_modules = 0;
    o->elf_shdrs = NULL;
    o->elf_num = o->elf_entsize = o->elf_shndx = 0;
    o->warnings = 0;
    range_set_init(&o->usable, o->usable_r, MB2_MAX_RANGES);
    range_set_init(&o->firmware, o->firmware_r, MB2_MAX_RANGES);
    range_set_init(&o->elf, o->elf_r, MB2_MAX_ELF_RANGES);
    range_set_init(&o->module_mem, o->module_r, MB2_MAX_MODULES);
    range_set_init(&raw_usable, raw_r, MB2_MAX_RANGES);
    max_phys &= ~(PAGE - 1);
    if (!view->base)
        return;

    size_t cursor = 0;
    bool malformed = false;
    const struct mb2_tag *tag;
    while ((tag = mb2_next_tag(view, &cursor, &malformed)) != NULL) {
        o->tags++;
        switch (tag->type) {
        case MB2_TAG_CMDLINE:
        case MB2_TAG_BOOTLOADER: {
            const char *s = mb2_tag_string(tag);
            if (!s)
                o->warnings |= MB2_W_CMDLINE_BAD;
            else if (tag->type == MB2_TAG_CMDLINE)
                o->cmdline = s;
            else
                o->bootloader = s;
            break;
        }
        case MB2_TAG_MMAP:
            if (have_mmap) {
                o->warnings |= MB2_W_MMAP_DUPLICATE;
                break;
            }
            have_mmap = true;
            parse_mmap(o, tag, max_phys, &raw_usable);
            break;
        case MB2_TAG_BASIC_MEMINFO:
            if (tag->size >= sizeof(*basic))
                basic = (const struct mb2_tag_basic_meminfo *)tag;
            break;
        case MB2_TAG_MODULE:
            parse_module(o, tag);
            break;
        case MB2_TAG_ELF_SECTIONS:
            parse_elf(o, tag);
            break;
        default:
            break;
        }
    }
    if (malformed)
        o->warnings |= MB2_W_MALFORMED_TAG;
    else if ((cursor ? cursor : sizeof(struct mb2_info_header)) + sizeof(struct mb2_tag) >
             view->size)
        o->warnings |= MB2_W_NO_END_TAG;

    if (!have_mmap) {
        o->warnings |= MB2_W_NO_MMAP;
        if (basic) {
            struct mb2_tag_basic_meminfo b;
            rd(&b, basic, sizeof(b));
            uint64_t end = 0x100000ull + (uint64_t)b.mem_upper * 1024;
            if (end > max_phys)
                end = max_phys;
            o->warnings |= MB2_W_BASIC_MEMINFO_ONLY;
            add_range(&raw_usable, 0x100000, end, false);
        }
    }

    if (range_normalize(&raw_usable))
        o->warnings |= MB2_W_MMAP_OVERLAP;
    if (range_normalize(&o->firmware))
        o->warnings |= MB2_W_MMAP_OVERLAP;
    range_normalize(&o->elf);
    range_normalize(&o->module_mem);
    for (size_t i = 0; i < raw_usable.n; i++) {
        if (range_overlaps(&o->firmware, raw_usable.r[i].start, raw_usable.r[i].end)) {
            o->warnings |= MB2_W_MMAP_CONFLICT;
            break;
        }
    }
    /* Firmware ranges cover every frame they touch. */
    for (size_t i = 0; i < o->firmware.n; i++) {
        struct range *f = &o->firmware.r[i];
        f->start &= ~(PAGE - 1);
        f->end = f->end > max_phys - PAGE ? max_phys : (f->end + PAGE - 1) & ~(PAGE - 1);
    }
    range_normalize(&o->firmware);
    range_subtract(&raw_usable, &o->firmware);
    range_align_inward(&raw_usable, PAGE);
    for (size_t i = 0; i < raw_usable.n; i++)
        range_add(&o->usable, raw_usable.r[i].start, raw_usable.r[i].end);
    if (raw_usable.overflow)
        o->warnings |= MB2_W_MMAP_TOO_MANY;
}

const char *mb2_warning_str(uint32_t bit)
{
    switch (bit) {
    case MB2_W_MALFORMED_TAG: return "a tag runs past the end of the info block; later tags ignored";
    case MB2_W_NO_END_TAG: return "the info block has no end tag";
    case MB2_W_NO_MMAP: return "no memory-map tag";
    case MB2_W_MMAP_BAD_HEADER: return "memory-map tag has a bad entry size; map ignored";
    case MB2_W_MMAP_TRUNCATED: return "memory-map tag is not a whole number of entries";
    case MB2_W_MMAP_UNSORTED: return "memory-map entries are not sorted";
    case MB2_W_MMAP_OVERLAP: return "memory-map entries overlap";
    case MB2_W_MMAP_CONFLICT: return "usable memory overlaps reserved memory; treated as reserved";
    case MB2_W_MMAP_UNALIGNED: return "usable memory not page aligned; trimmed to whole pages";
    case MB2_W_MMAP_ZERO_LENGTH: return "zero-length memory-map entries ignored";
    case MB2_W_MMAP_BEYOND_MAXPHYS: return "memory-map entries beyond MAXPHYADDR clipped";
    case MB2_W_MMAP_TOO_MANY: return "too many memory-map entries; some usable memory dropped";
    case MB2_W_MMAP_DUPLICATE: return "second memory-map tag ignored";
    case MB2_W_MODULE_BAD: return "malformed module tag";
    case MB2_W_MODULE_TOO_MANY: return "too many modules; extra modules ignored";
    case MB2_W_CMDLINE_BAD: return "command line or loader name not NUL-terminated";
    case MB2_W_ELF_BAD: return "inconsistent ELF-sections tag";
    case MB2_W_BASIC_MEMINFO_ONLY: return "usable memory taken from the basic meminfo tag";
    }
    return "unknown multiboot2 warning";
}
