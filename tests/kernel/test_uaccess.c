/* The doors into user memory: copies resolve lazy and copy-on-write faults
 * through the ordinary fault path, and every kind of bad pointer gives
 * -EFAULT, never a panic. */
#include "errno.h"
#include "kstring.h"
#include "region.h"
#include "uaccess.h"
#include "vm_util.h"

#define UVA 0x0000000000400000ull

static struct vmm_space *const kspace = &vmm_kernel_space;

/* A space with [UVA, +4 pages) rw user anonymous, a guard page after it, a
 * read-only page after that; live when this returns it (NULL: no memory). */
static struct vmm_space *user_space(void)
{
    struct vmm_space *s = vmm_space_new();
    if (!s)
        return NULL;
    struct vmobj *o = vmobj_create_anon(5, "user");
    struct region_req rw = { .addr = UVA, .len = 4 * PAGE_SIZE, .flags = REGION_FIXED,
                             .prot = REGION_R | REGION_W | REGION_U, .obj = o };
    struct region_req g = { .addr = UVA + 4 * PAGE_SIZE, .len = PAGE_SIZE,
                            .flags = REGION_FIXED | REGION_GUARD };
    struct region_req ro = { .addr = UVA + 5 * PAGE_SIZE, .len = PAGE_SIZE, .offset = 4,
                             .flags = REGION_FIXED, .prot = REGION_R | REGION_U, .obj = o };
    bool ok = o && region_map(s, &rw, NULL) == VMM_OK && region_map(s, &g, NULL) == VMM_OK &&
              region_map(s, &ro, NULL) == VMM_OK;
    if (o)
        vmobj_put(o);
    if (!ok) {
        vmm_space_destroy(s);
        return NULL;
    }
    vmm_space_activate(s);
    return s;
}

static void done(struct vmm_space *s)
{
    vmm_space_activate(kspace);
    vmm_space_destroy(s);
}

TEST(uaccess, copies_resolve_lazy_memory)
{
    struct vmm_space *s = user_space();
    ASSERT_NE((uintptr_t)s, 0);
    char msg[] = "hello, user memory";
    uint64_t fills = vmm_counters_get().zero_fills;
    EXPECT_EQ(copy_to_user(UVA + PAGE_SIZE - 5, msg, sizeof(msg)), 0); /* across two pages */
    EXPECT_EQ(vmm_counters_get().zero_fills - fills, 2);
    char back[sizeof(msg)] = { 0 };
    EXPECT_EQ(copy_from_user(back, UVA + PAGE_SIZE - 5, sizeof(msg)), 0);
    EXPECT_STREQ(back, msg);
    char s2[64];
    EXPECT_EQ(strncpy_from_user(s2, UVA + PAGE_SIZE - 5, sizeof(s2)), (long)strlen(msg));
    EXPECT_STREQ(s2, msg);
    EXPECT_EQ(strncpy_from_user(s2, UVA + PAGE_SIZE - 5, 4), -ENAMETOOLONG);
    uint64_t zero = 1;
    EXPECT_EQ(copy_from_user(&zero, UVA + 3 * PAGE_SIZE, 8), 0); /* untouched: zeros */
    EXPECT_EQ(zero, 0);
    done(s);
}

TEST(uaccess, bad_pointers_give_efault)
{
    struct vmm_space *s = user_space();
    ASSERT_NE((uintptr_t)s, 0);
    char buf[16] = "0123456789abcde";
    uint64_t fatal = vmm_counters_get().fatal;
    EXPECT_EQ(copy_to_user(0, buf, 8), -EFAULT);                          /* null page */
    EXPECT_EQ(copy_to_user(UVA + 64 * PAGE_SIZE, buf, 8), -EFAULT);       /* no region */
    EXPECT_EQ(copy_to_user(UVA + 4 * PAGE_SIZE, buf, 8), -EFAULT);        /* guard */
    EXPECT_EQ(copy_to_user(UVA + 5 * PAGE_SIZE, buf, 8), -EFAULT);        /* read-only */
    EXPECT_EQ(copy_from_user(buf, UVA + 5 * PAGE_SIZE, 8), 0);            /* ... readable */
    EXPECT_EQ(copy_to_user(UVA + 4 * PAGE_SIZE - 4, buf, 8), -EFAULT);    /* runs into the guard */
    EXPECT_EQ(copy_to_user((uintptr_t)buf, buf, 8), -EFAULT);             /* kernel half */
    EXPECT_EQ(copy_from_user(buf, KERNEL_ARENA_BASE, 8), -EFAULT);
    EXPECT_EQ(copy_from_user(buf, 0x0000800000000000ull, 8), -EFAULT);    /* non-canonical */
    EXPECT_EQ(copy_from_user(buf, 0x00007ffffffffffcull, 8), -EFAULT);    /* wraps out of the half */
    EXPECT_EQ(copy_from_user(buf, UVA, ~(size_t)0), -EFAULT);             /* absurd length */
    EXPECT_EQ(strncpy_from_user(buf, UVA + 4 * PAGE_SIZE, 16), -EFAULT);
    EXPECT_EQ(strncpy_from_user(buf, (uintptr_t)buf, 16), -EFAULT);
    /* The four that reached the VMM were refused there, with reasons. */
    EXPECT_GE(vmm_counters_get().fatal - fatal, 4);
    done(s);
}

TEST(uaccess, copy_into_a_cow_page_never_writes_the_shared_frame)
{
    struct vmm_space *a = user_space(), *b;
    ASSERT_NE((uintptr_t)a, 0);
    uint64_t v = 0x1111;
    EXPECT_EQ(copy_to_user(UVA, &v, 8), 0);
    b = vmm_space_new();
    ASSERT_NE((uintptr_t)b, 0);
    ASSERT_EQ(vmm_space_clone(b, a), VMM_OK);
    paddr_t shared = vt_frame(a, UVA);
    EXPECT_EQ(vt_frame(b, UVA), shared);
    /* The kernel writes into a's copy-on-write page (as read() would). */
    v = 0x2222;
    uint64_t copies = vmm_counters_get().copies;
    EXPECT_EQ(copy_to_user(UVA, &v, 8), 0);
    EXPECT_EQ(vmm_counters_get().copies - copies, 1);
    EXPECT_NE(vt_frame(a, UVA), shared);
    vmm_space_activate(b);
    uint64_t seen = 0;
    EXPECT_EQ(copy_from_user(&seen, UVA, 8), 0);
    EXPECT_EQ(seen, 0x1111); /* the other side kept its data */
    vmm_space_activate(a);
    vmm_space_destroy(b);
    done(a);
}
