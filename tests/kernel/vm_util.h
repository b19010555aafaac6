/* Helpers shared by the VMM self-tests. */
#ifndef ZF_TESTS_VM_UTIL_H
#define ZF_TESTS_VM_UTIL_H

#include "ktest.h"
#include "pmm.h"
#include "probe.h"
#include "vmm.h"

static inline uint64_t vt_free_frames(void)
{
    struct pmm_stats s;
    pmm_get_stats(&s);
    return s.free;
}

static inline volatile uint64_t *vt_q(uintptr_t va)
{
    return (volatile uint64_t *)va;
}

/* The frame and flags mapping @va in @s (0 when none). */
static inline paddr_t vt_frame(const struct vmm_space *s, uintptr_t va)
{
    paddr_t pa = 0;
    vmm_translate(s, va, &pa, NULL, NULL);
    return pa & ~(PAGE_SIZE - 1);
}

static inline uint64_t vt_flags(const struct vmm_space *s, uintptr_t va)
{
    uint64_t f = 0;
    vmm_translate(s, va, NULL, &f, NULL);
    return f;
}

/* Probe @va with @how ('r', 'w', 'x'); expect a #PF whose unresolved
 * reason, as reports print it, reads @reason and whose error code has @err_bits. */
static inline void vt_expect_fault(uintptr_t va, char how, const char *reason, uint64_t err_bits)
{
    struct probe_fault pf = { 0 };
    bool ok = how == 'r' ? probe_read64(va, NULL, &pf)
            : how == 'w' ? probe_write64(va, 0x99, &pf)
                         : probe_exec(va, &pf);
    EXPECT_FALSE(ok);
    EXPECT_EQ(pf.vector, 14);
    EXPECT_EQ(pf.cr2, va);
    EXPECT_EQ(pf.error_code & err_bits, err_bits);
    char why[160];
    EXPECT_STREQ(vmm_fault_reason_text(vmm_fault_last_unresolved(), why, sizeof(why)), reason);
    EXPECT_EQ(vmm_fault_last_unresolved()->va, va);
}

#endif
