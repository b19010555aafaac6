/* Reads what the loader handed over: the multiboot2 magic and info block,
 * the command line, and from it the boot mode. */
#include "boot.h"
#include "cmdline.h"
#include "kprintf.h"
#include "kstring.h"
#include "multiboot2.h"

struct boot_info boot_info = { .cmdline = "" };

static char test_glob_buf[96];

/* The info block must lie inside the boot window to be read at all. */
static size_t mbi_readable_bytes(uint64_t phys)
{
    return phys < BOOT_WINDOW_SIZE ? (size_t)(BOOT_WINDOW_SIZE - phys) : 0;
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
    size_t readable = mbi_readable_bytes(mbi_phys);
    enum mb2_status st = readable
        ? mb2_view_init(&view, (const void *)boot_phys_to_virt(mbi_phys), readable)
        : MB2_ERR_TOO_LARGE;
    if (st != MB2_OK) {
        kprintf("boot: multiboot2 info at %#llx unusable: %s\n", (unsigned long long)mbi_phys,
                mb2_status_str(st));
        return;
    }
    const struct mb2_tag *tag = mb2_find_tag(&view, MB2_TAG_CMDLINE);
    const char *cmd = tag ? mb2_tag_string(tag) : NULL;
    if (tag && !cmd)
        kprintf("boot: multiboot2 command line is not NUL-terminated; ignored\n");
    boot_info.cmdline = cmd ? cmd : "";

    char mode[16];
    if (cmdline_get(boot_info.cmdline, "mode", mode, sizeof(mode))) {
        if (strcmp(mode, "test") == 0)
            boot_info.mode = BOOT_MODE_TEST;
        else if (strcmp(mode, "run") != 0)
            kprintf("boot: unknown mode=%s, using mode=run\n", mode);
    }
    if (cmdline_get(boot_info.cmdline, "test", test_glob_buf, sizeof(test_glob_buf)))
        boot_info.test_glob = test_glob_buf;
}
