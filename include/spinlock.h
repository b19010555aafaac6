/* Spinlocks: the one lock point of each shared structure.  Zeroframe runs on
 * one CPU today, with interrupts off in the kernel, so a lock is never
 * contended; taking it anyway marks where SMP will need it, and a lock found
 * already held can only be a recursion bug, which spins (and ends the test
 * run by its timeout) rather than corrupting the structure.  No inline
 * assembly: the compiler's atomic builtins, so mm code stays host-testable. */
#ifndef ZF_SPINLOCK_H
#define ZF_SPINLOCK_H

#include <stdbool.h>

struct spinlock {
    bool held;
    const char *name;
};

#define SPINLOCK_INIT(n) { false, (n) }

static inline void spin_lock(struct spinlock *l)
{
    while (__atomic_test_and_set(&l->held, __ATOMIC_ACQUIRE))
        ;
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_clear(&l->held, __ATOMIC_RELEASE);
}

static inline bool spin_is_held(const struct spinlock *l)
{
    return __atomic_load_n(&l->held, __ATOMIC_RELAXED);
}

#endif
