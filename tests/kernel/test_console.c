/* The framebuffer console (UEFI boots): text printed through kprintf shows
 * up as the font's glyphs in the right cells. */
#include "boot.h"
#include "console.h"
#include "kprintf.h"
#include "ktest.h"

TEST(console, framebuffer_draws_text)
{
    if (!boot_info.have_fb || boot_info.fb.type != BOOT_FB_TYPE_RGB)
        SKIP("no linear framebuffer (a BIOS boot keeps VGA text)");
    ASSERT_TRUE(fb_console_active());
    unsigned cols, rows, col, row;
    fb_console_size(&cols, &rows);
    EXPECT_EQ(cols, boot_info.fb.width / 8);
    EXPECT_EQ(rows, boot_info.fb.height / fb_console_glyph_height());
    fb_console_cursor(&col, &row);
    ASSERT_EQ(col, 0);
    kprintf("# fb probe: Zq\n");
    fb_console_cursor(&col, &row);
    ASSERT_GT(row, 0);
    /* The line is now the one above the cursor, scrolled or not. */
    EXPECT_TRUE(fb_console_cell_is(0, row - 1, '#'));
    EXPECT_TRUE(fb_console_cell_is(12, row - 1, 'Z'));
    EXPECT_TRUE(fb_console_cell_is(13, row - 1, 'q'));
    EXPECT_FALSE(fb_console_cell_is(12, row - 1, 'q'));
    EXPECT_TRUE(fb_console_cell_is(20, row - 1, ' '));
}
