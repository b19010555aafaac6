/* Manual tests: never run by default, only when test=<glob> names them.  The
 * host runner boots them to prove it reports each failure mode correctly. */
#include "arch/x86_64/cpu.h"
#include "ktest.h"
#include "panic.h"

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
