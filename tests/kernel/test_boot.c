/* What the boot path promises the kernel: paging and long mode as set up by
 * boot/boot.asm, the higher half, the multiboot2 handover, a working UART. */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "cmdline.h"
#include "console.h"
#include "ktest.h"
#include "multiboot2.h"

TEST(boot, paging_and_long_mode_enabled)
{
    EXPECT_TRUE(read_cr0() & CR0_PG);
    EXPECT_TRUE(read_cr0() & CR0_PE);
    EXPECT_TRUE(read_cr0() & CR0_WP);
    EXPECT_TRUE(read_cr4() & CR4_PAE);
    uint64_t efer = rdmsr(MSR_EFER);
    EXPECT_TRUE(efer & EFER_LME);
    EXPECT_TRUE(efer & EFER_LMA);
    EXPECT_TRUE(efer & EFER_NXE);
}

static int local_in_frame(void)
{
    volatile int x = 1;
    return (uintptr_t)&x >= KERNEL_VMA;
}

TEST(boot, running_in_higher_half)
{
    EXPECT_GE(read_rip(), KERNEL_VMA);
    EXPECT_GE((uintptr_t)&boot_info_init, KERNEL_VMA);
    EXPECT_GE(read_rsp(), (uintptr_t)boot_stack_bottom);
    EXPECT_LT(read_rsp(), (uintptr_t)boot_stack_top);
    EXPECT_TRUE(local_in_frame());
    /* The kernel was linked at KERNEL_VMA + its load address (1 MiB). */
    EXPECT_EQ((uintptr_t)kernel_phys_start, 0x100000);
    EXPECT_EQ((uintptr_t)kernel_text_start % 4096, 0);
}

TEST(boot, multiboot2_handover_valid)
{
    struct mb2_view view;
    EXPECT_EQ(boot_info.magic, MB2_BOOT_MAGIC);
    ASSERT_NE(boot_info.mbi_phys, 0);
    EXPECT_EQ(boot_info.mbi_phys % 8, 0);
    /* The kernel reads its own copy of the block. */
    ASSERT_NE((uintptr_t)boot_info.mbi, 0);
    ASSERT_EQ(mb2_view_init(&view, boot_info.mbi, boot_info.mbi_size), MB2_OK);
    EXPECT_EQ(view.size, boot_info.mbi_size);
    /* The walk must end at the end tag, not by running off the block. */
    size_t cursor = 0;
    bool malformed = false;
    int tags = 0;
    while (mb2_next_tag(&view, &cursor, &malformed))
        tags++;
    EXPECT_FALSE(malformed);
    EXPECT_GT(tags, 0);
    const struct mb2_tag *end = (const struct mb2_tag *)(view.base + cursor);
    EXPECT_EQ(end->type, MB2_TAG_END);
    EXPECT_EQ(end->size, 8);
    /* GRUB always passes the command line and its name. */
    EXPECT_NE((uintptr_t)mb2_find_tag(&view, MB2_TAG_CMDLINE), 0);
    const struct mb2_tag *name = mb2_find_tag(&view, MB2_TAG_BOOTLOADER);
    ASSERT_NE((uintptr_t)name, 0);
    const char *s = mb2_tag_string(name);
    ASSERT_NE((uintptr_t)s, 0);
    EXPECT_EQ(s[0], 'G'); /* "GRUB 2.06..." */
}

TEST(boot, serial_uart_present)
{
    EXPECT_TRUE(serial_present(SERIAL_COM1));
}

TEST(boot, command_line_sets_mode)
{
    char v[16];
    EXPECT_TRUE(cmdline_get(boot_info.cmdline, "mode", v, sizeof(v)) ||
                boot_info.mode == BOOT_MODE_RUN);
    if (boot_info.mode == BOOT_MODE_TEST)
        EXPECT_STREQ(v, "test");
}

TEST(cmdline, parsing)
{
    char v[8];
    EXPECT_TRUE(cmdline_get("mode=test test=a.*", "test", v, sizeof(v)));
    EXPECT_STREQ(v, "a.*");
    EXPECT_TRUE(cmdline_get("  quiet mode=run", "quiet", v, sizeof(v)));
    EXPECT_STREQ(v, "");
    EXPECT_FALSE(cmdline_get("modex=1 xmode=2", "mode", v, sizeof(v)));
    EXPECT_FALSE(cmdline_get("", "mode", v, sizeof(v)));
    EXPECT_TRUE(cmdline_get("k=0123456789", "k", v, sizeof(v)));
    EXPECT_STREQ(v, "0123456"); /* truncated to the buffer */
}

TEST(cmdline, glob)
{
    EXPECT_TRUE(glob_match("*", "boot.paging"));
    EXPECT_TRUE(glob_match("boot.*", "boot.paging"));
    EXPECT_TRUE(glob_match("*.pag?ng", "boot.paging"));
    EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
    EXPECT_FALSE(glob_match("boot.*", "kprintf.x"));
    EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
    EXPECT_FALSE(glob_match("", "x"));
    EXPECT_TRUE(glob_match("", ""));
}

TEST(boot, identity_map_dropped_and_guards_unmapped)
{
    EXPECT_EQ(boot_pml4[0], 0); /* no identity map: the null page faults */
    EXPECT_NE(boot_pml4[510] & 1, 0); /* recursive slot */
    ASSERT_GT(guard_pages_end - guard_pages_start, 0);
    int found_stack_guard = 0;
    for (const uintptr_t *g = guard_pages_start; g < guard_pages_end; g++) {
        EXPECT_EQ(boot_pt[(*g - KERNEL_VMA) >> 12], 0);
        found_stack_guard += *g == (uintptr_t)boot_stack_guard;
    }
    EXPECT_EQ(found_stack_guard, 1);
    /* The page right above the guard (the stack's bottom) is mapped. */
    EXPECT_NE(boot_pt[((uintptr_t)boot_stack_bottom - KERNEL_VMA) >> 12] & 1, 0);
}
