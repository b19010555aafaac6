/* What the boot path hands the kernel, the boot mode, and how a run ends. */
#ifndef ZF_BOOT_H
#define ZF_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#define KERNEL_VMA 0xffffffff80000000ull
/* The only low-memory mappings at KERNEL_VMA + pa (boot/boot.asm): the kernel
 * image and the VGA text page.  Everything else the loader handed over is
 * read through temporary mappings (kmap). */
#define BOOT_VGA_TEXT_PA 0xb8000ull
#define BOOT_VGA_TEXT_VA (KERNEL_VMA + BOOT_VGA_TEXT_PA)
/* Where the VMM maps a linear framebuffer (kernel/dev/fb.c), up to 512 MiB. */
#define BOOT_FB_VA 0xffffffffa0000000ull
#define BOOT_FB_MAX_SIZE (512ull << 20)

#define MB2_BOOT_MAGIC 0x36d76289u

/* Linker-script symbols (linker.ld). */
extern char kernel_phys_start[], kernel_phys_end[];
extern char kernel_text_start[], kernel_text_end[];
extern char kernel_rodata_start[], kernel_rodata_end[];
extern char kernel_data_start[], kernel_bss_start[], kernel_bss_end[], kernel_end[];
/* boot/boot.asm */
extern char boot_stack_guard[], boot_stack_bottom[], boot_stack_top[];
extern uint64_t boot_pml4[512];
extern uint64_t boot_pdpt_high[512]; /* PML4[511]: the kernel's top 512 GiB */
extern uint64_t boot_pt[4 * 512]; /* 4 KiB entries for physical 0..8 MiB */

/* Pages that must never be mapped (stack guards).  Declare with
 * GUARD_PAGE(symbol) next to the stack. */
extern const uintptr_t guard_pages_start[], guard_pages_end[];
#define GUARD_PAGE(sym)                                                                     \
    static const uintptr_t guard_page_##sym                                                 \
        __attribute__((used, section(".guard_pages"), aligned(8))) = (uintptr_t)(sym)

/* Unmap every guard page in the boot page tables (kernel/boot_guard.c);
 * the VMM keeps them unmapped in the tables it builds. */
void boot_unmap_guard_pages(void);
/* True when @va lies in a guard page. */
bool boot_is_guard_page(uintptr_t va);

enum boot_mode {
    BOOT_MODE_RUN,  /* run self-tests, then idle (make run) */
    BOOT_MODE_TEST, /* run self-tests, then exit QEMU with a pass/fail code */
};

/* A multiboot2 module: its physical memory (GRUB's `module2 FILE NAME...`)
 * and its name, the module's command line, copied into kernel memory. */
struct boot_module {
    uint64_t start, end; /* physical, end exclusive; start == end: empty */
    const char *name;    /* "" when the loader gave none */
};
/* More modules than this are refused at boot with a message. */
#define BOOT_MAX_MODULES 256
/* The multiboot2 information block is copied into a kernel buffer this big;
 * a larger block is refused at boot with a message. */
#define BOOT_MBI_MAX (128u * 1024)

/* The linear framebuffer GRUB set up (multiboot2 tag 8), if any. */
struct boot_framebuffer {
    uint64_t pa;
    uint32_t pitch, width, height; /* bytes per line, pixels */
    uint8_t bpp;                   /* bits per pixel */
    uint8_t type;                  /* 0 indexed, 1 RGB, 2 EGA text */
    uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};
#define BOOT_FB_TYPE_RGB 1
#define BOOT_FB_TYPE_EGA_TEXT 2

struct boot_info {
    uint32_t magic;
    uint64_t mbi_phys;     /* where the loader put the info block */
    const void *mbi;       /* its copy in kernel memory (NULL if unusable) */
    uint32_t mbi_size;     /* bytes in the copy (the block's total_size) */
    const char *cmdline;   /* "" when the loader gave none */
    const char *loader;    /* boot loader name, "" when absent */
    enum boot_mode mode;
    const char *test_glob; /* NULL: every test except manual ones */
    bool test_glob_too_long; /* test= longer than the kernel keeps: refused */
    bool have_fb;
    struct boot_framebuffer fb;
};

extern struct boot_info boot_info;

/* Copy the loader's handover into kernel memory and parse it into
 * boot_info and the module list (kernel/boot_info.c).  Halts with a message
 * when the block or the module count exceeds the limits above. */
void boot_info_init(uint32_t magic, uint64_t mbi_phys);

/* The modules, in the loader's order. */
unsigned boot_module_count(void);
const struct boot_module *boot_module_get(unsigned i); /* NULL when i is out of range */

/* Copy @n bytes of physical memory at @pa into @dst through temporary
 * mappings (for boot data; any address, any alignment). */
void boot_copy_from_phys(void *dst, uint64_t pa, uint64_t n);

/* isa-debug-exit (iobase 0xf4): QEMU exits with status (code << 1) | 1. */
enum boot_exit_code {
    BOOT_EXIT_PASS = 0x10,  /* QEMU status 33 */
    BOOT_EXIT_FAIL = 0x11,  /* 35: some self-test failed */
    BOOT_EXIT_PANIC = 0x12, /* 37: panic() or fatal exception */
};

/* In test mode, end the QEMU run with @code; otherwise (or if the exit
 * device is absent) halt this CPU. */
__attribute__((noreturn)) void boot_exit(enum boot_exit_code code);

#endif
