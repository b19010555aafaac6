/* Fatal errors.  panic() prints the message, the registers at the call and a
 * frame-pointer backtrace, then ends the run (test mode: QEMU exits with
 * BOOT_EXIT_PANIC) or halts. */
#ifndef ZF_PANIC_H
#define ZF_PANIC_H

#include <stdint.h>

#include "kprintf.h"

__attribute__((noreturn)) void panic(const char *fmt, ...) KPRINTF_FMT(1, 2);

/* Print "  #N 0x... symbol+0xoff" lines walking saved frame pointers from
 * @rbp, starting with @rip when it is non-zero. */
void backtrace_print(uintptr_t rip, uintptr_t rbp);

/* Walk frames from @rbp, storing up to @max return addresses; returns the
 * count.  Stops at a null, misaligned or non-kernel frame pointer. */
int backtrace_collect(uintptr_t rbp, uintptr_t *out, int max);

#endif
