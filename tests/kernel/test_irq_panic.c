/* Expected-panic boots (manual tests, selected by tests/run-all.sh): each
 * must end in the right fatal report, never in a silent reset. */
#include "arch/x86_64/cpu.h"
#include "irq.h"
#include "ktest.h"
#include "panic.h"

/* Volatile pointers: the compiler must not see the bad address (a known
 * null dereference would become a trap instruction). */
static volatile uint64_t *volatile unmapped_ptr = (uint64_t *)0xffff800000000000ull;
static volatile uint64_t *volatile null_ptr = (uint64_t *)0;
static volatile int never;

TEST_MANUAL(irq_panic, page_fault)
{
    *unmapped_ptr = 0x5a5a;
}

TEST_MANUAL(irq_panic, general_protection)
{
    unmapped_ptr = (volatile uint64_t *)0x8000000000000000ull;
    (void)*unmapped_ptr;
}

/* A load through a non-canonical pointer held in RBX: #GP, error code 0;
 * the report must name RBX. */
TEST_MANUAL(irq_panic, non_canonical_address)
{
    uint64_t out;
    __asm__ volatile("movq (%%rbx), %0" : "=r"(out) : "b"(0xdead000000001000ull) : "memory");
    (void)out;
}

/* Each level keeps 512 bytes live across the call, so the 16 KiB boot stack
 * runs into its guard page after about 30 levels. */
__attribute__((noinline)) static int overflow_recurse(int depth)
{
    volatile char buf[512];
    buf[0] = (char)depth;
    if (never == depth) /* never true: no unconditional recursion warning */
        return 0;
    return overflow_recurse(depth + 1) + buf[0];
}

TEST_MANUAL(irq_panic, stack_overflow)
{
    overflow_recurse(1);
}

/* A page-fault handler with a bug of its own: it faults, which enters the
 * handler again, and again, until the kernel stack overflows. */
static irq_result_t faulty_pf_handler(struct irq_frame *f)
{
    return *null_ptr == f->error_code ? IRQ_HANDLED : IRQ_UNHANDLED;
}

TEST_MANUAL(irq_panic, fault_in_pf_handler)
{
    irq_set_handler(IRQ_PF, faulty_pf_handler);
    (void)*unmapped_ptr;
}

TEST_MANUAL(irq_panic, explicit_panic)
{
    panic("deliberate panic from %s", "irq_panic.explicit_panic");
}
