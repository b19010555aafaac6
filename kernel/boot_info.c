/* Reads what the loader handed over: the multiboot2 magic and info block,
 * which is copied into kernel memory first (through temporary mappings, so
 * it may lie anywhere), then the command line, the boot mode, the module
 * list and the framebuffer. */
#include "boot.h"
#include "cmdline.h"
#include "kmap.h"
#include "kprintf.h"
#include "kstring.h"
#include "multiboot2.h"
#include "panic.h"

struct boot_info boot_info = { .cmdline = "", .loader = "" };

static uint8_t mbi_copy[BOOT_MBI_MAX] __attribute__((aligned(8)));
static struct boot_module modules[BOOT_MAX_MODULES];
static unsigned n_modules;
/* Long enough for any sensible selection; longer ones are refused, never cut. */
static char test_glob_buf[256];

void boot_copy_from_phys(void *dst, uint64_t pa, uint64_t n)
{
    uint8_t *d = dst;
    while (n) {
        uint64_t page = pa & ~(uint64_t)(PAGE_SIZE - 1), off = pa - page;
        uint64_t chunk = PAGE_SIZE - off < n ? PAGE_SIZE - off : n;
        enum kmap_status st;
        const uint8_t *p = kmap_push(page, false, &st);
        if (!p)
            panic("boot: cannot map %#llx to read boot data: %s", (unsigned long long)page,
                  kmap_status_str(st));
        memcpy(d, p + off, chunk);
        kmap_pop((void *)p);
        d += chunk;
        pa += chunk;
        n -= chunk;
    }
}

unsigned boot_module_count(void)
{
    return n_modules;
}

const struct boot_module *boot_module_get(unsigned i)
{
    return i < n_modules ? &modules[i] : NULL;
}

static void read_modules(const struct mb2_view *view)
{
    size_t cursor = 0;
    unsigned seen = 0;
    const struct mb2_tag *tag;
    while ((tag = mb2_next_tag(view, &cursor, NULL)) != NULL) {
        if (tag->type != MB2_TAG_MODULE)
            continue;
        seen++;
        struct mb2_tag_module m;
        if (tag->size < sizeof(m)) {
            kprintf("boot: module tag %u is too short (%u bytes); ignored\n", seen, tag->size);
            continue;
        }
        memcpy(&m, tag, sizeof(m));
        if (n_modules == BOOT_MAX_MODULES)
            continue;
        /* The name is the tag's string, NUL-terminated inside the tag. */
        const char *s = (const char *)tag + sizeof(m);
        size_t len = tag->size - sizeof(m);
        const char *name = "";
        for (size_t i = 0; i < len && name != s; i++) {
            if (s[i] == '\0')
                name = s;
        }
        if (name != s)
            kprintf("boot: module %u has no NUL-terminated name\n", seen);
        if (m.mod_end < m.mod_start) {
            kprintf("boot: module %u (%s) ends before it starts; ignored\n", seen, name);
            continue;
        }
        modules[n_modules++] = (struct boot_module){ m.mod_start, m.mod_end, name };
    }
    if (seen > BOOT_MAX_MODULES)
        panic("boot: the loader passed %u modules; Zeroframe accepts at most %u", seen,
              BOOT_MAX_MODULES);
}

static void read_framebuffer(const struct mb2_view *view)
{
    const struct mb2_tag *tag = mb2_find_tag(view, MB2_TAG_FRAMEBUFFER);
    struct mb2_tag_framebuffer f;
    if (!tag || tag->size < MB2_FRAMEBUFFER_MIN_SIZE)
        return;
    memset(&f, 0, sizeof(f));
    memcpy(&f, tag, tag->size < sizeof(f) ? tag->size : sizeof(f));
    boot_info.fb = (struct boot_framebuffer){
        .pa = f.addr, .pitch = f.pitch, .width = f.width, .height = f.height, .bpp = f.bpp,
        .type = f.type, .red_pos = f.red_pos, .red_size = f.red_size,
        .green_pos = f.green_pos, .green_size = f.green_size, .blue_pos = f.blue_pos,
        .blue_size = f.blue_size,
    };
    boot_info.have_fb = true;
}

void boot_info_init(uint32_t magic, uint64_t mbi_phys)
{
    struct mb2_view view;

    boot_info.magic = magic;
    boot_info.mbi_phys = mbi_phys;
    if (magic != MB2_BOOT_MAGIC) {
        kprintf("boot: bad multiboot2 magic %#x (expected %#x)\n", magic, MB2_BOOT_MAGIC);
        return;
    }
    if (!mbi_phys || mbi_phys % 8) {
        kprintf("boot: multiboot2 info at %#llx is not 8-byte aligned\n",
                (unsigned long long)mbi_phys);
        return;
    }
    kmap_window_install();
    struct mb2_info_header h;
    boot_copy_from_phys(&h, mbi_phys, sizeof(h));
    if (h.total_size > BOOT_MBI_MAX)
        panic("boot: the multiboot2 information is %u bytes; Zeroframe keeps at most %u",
              h.total_size, BOOT_MBI_MAX);
    boot_copy_from_phys(mbi_copy, mbi_phys, h.total_size < sizeof(h) ? sizeof(h) : h.total_size);
    enum mb2_status st = mb2_view_init(&view, mbi_copy, sizeof(mbi_copy));
    if (st != MB2_OK) {
        kprintf("boot: multiboot2 info at %#llx unusable: %s\n", (unsigned long long)mbi_phys,
                mb2_status_str(st));
        return;
    }
    boot_info.mbi = mbi_copy;
    boot_info.mbi_size = (uint32_t)view.size;

    const struct mb2_tag *tag = mb2_find_tag(&view, MB2_TAG_CMDLINE);
    const char *cmd = tag ? mb2_tag_string(tag) : NULL;
    if (tag && !cmd)
        kprintf("boot: multiboot2 command line is not NUL-terminated; ignored\n");
    boot_info.cmdline = cmd ? cmd : "";
    tag = mb2_find_tag(&view, MB2_TAG_BOOTLOADER);
    const char *loader = tag ? mb2_tag_string(tag) : NULL;
    boot_info.loader = loader ? loader : "";

    char mode[16];
    if (cmdline_get(boot_info.cmdline, "mode", mode, sizeof(mode))) {
        if (strcmp(mode, "test") == 0)
            boot_info.mode = BOOT_MODE_TEST;
        else if (strcmp(mode, "run") != 0)
            kprintf("boot: unknown mode=%s, using mode=run\n", mode);
    }
    const char *glob;
    size_t glob_len;
    if (cmdline_find(boot_info.cmdline, "test", &glob, &glob_len)) {
        if (glob_len >= sizeof(test_glob_buf)) {
            boot_info.test_glob_too_long = true;
            glob_len = 0;
        }
        memcpy(test_glob_buf, glob, glob_len);
        test_glob_buf[glob_len] = '\0';
        boot_info.test_glob = test_glob_buf;
    }
    read_modules(&view);
    read_framebuffer(&view);
}
