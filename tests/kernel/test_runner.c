/* Manual tests: never run by default, only when test=<glob> names them.  The
 * host runner boots them to prove it reports each failure mode correctly. */
#include "arch/x86_64/cpu.h"
#include "kmap.h"
#include "ktest.h"
#include "panic.h"
#include "pmm.h"
#include "vmm.h"
#include "vmobj.h"

TEST_MANUAL(runner, deliberate_failure)
{
    EXPECT_EQ(1 + 1, 3);
}

TEST_MANUAL(runner, hang)
{
    cpu_halt_forever();
}

TEST_MANUAL(runner, triple_fault)
{
    /* An empty IDT: the breakpoint cannot be delivered, nor the #GP, nor the
     * #DF, and the CPU resets. */
    cpu_load_empty_idt();
    cpu_breakpoint();
}

TEST_MANUAL(runner, explicit_panic)
{
    panic("deliberate panic from %s", "runner.explicit_panic");
}

/* A failed ASSERT in the middle of a test that holds a frame of its own, a
 * mapping in the kernel arena and a temporary mapping: the leak guard must
 * charge this test alone, the harness's clean-ups undo the mapping and the
 * temporary mapping, and the tests after it must pass
 * (tests/runner-selftest.sh runs it together with pmm.* and vmm.*). */
TEST_MANUAL(runner, leak_after_failed_assert)
{
    paddr_t lost, mapped;
    ASSERT_EQ(pmm_alloc(&lost), PMM_OK);
    ASSERT_EQ(pmm_alloc(&mapped), PMM_OK);
    ASSERT_EQ(vmm_map(&vmm_kernel_space, KERNEL_ARENA_BASE + 200 * PAGE_2M, mapped, PTE_W | PTE_NX),
              VMM_OK);
    void *p = kmap_push(lost, true, NULL);
    ASSERT_TRUE(p != NULL);
    ASSERT_EQ(1 + 1, 3);
    kmap_pop(p); /* never reached */
}

/* A memory object created and never put: the kmem object guard must charge
 * it (tests/runner-selftest.sh checks that it does), even where the frame
 * guard could not, as when the object's slab already existed. */
TEST_MANUAL(runner, leaked_memory_object)
{
    EXPECT_NE((uintptr_t)vmobj_create_anon(1, "leaked"), 0);
}
