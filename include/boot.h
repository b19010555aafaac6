/* What the boot path hands the kernel, the boot mode, and how a run ends. */
#ifndef ZF_BOOT_H
#define ZF_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#define KERNEL_VMA 0xffffffff80000000ull
/* The boot page tables map physical 0..1 GiB at KERNEL_VMA (2 MiB pages). */
#define BOOT_WINDOW_SIZE (1ull << 30)

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

struct boot_info {
    uint32_t magic;
    uint64_t mbi_phys;
    const char *cmdline;  /* "" when the loader gave none */
    enum boot_mode mode;
    const char *test_glob; /* NULL: every test except manual ones */
};

extern struct boot_info boot_info;

/* Parse the loader's handover into boot_info (kernel/boot_info.c). */
void boot_info_init(uint32_t magic, uint64_t mbi_phys);

/* Physical address -> kernel virtual address through the boot window.
 * Only valid for pa < BOOT_WINDOW_SIZE. */
static inline uintptr_t boot_phys_to_virt(uint64_t pa)
{
    return (uintptr_t)(pa + KERNEL_VMA);
}

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
