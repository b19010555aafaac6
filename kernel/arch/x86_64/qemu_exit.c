#include "arch/x86_64/cpu.h"
#include "boot.h"

#define ISA_DEBUG_EXIT_PORT 0xf4

void boot_exit(enum boot_exit_code code)
{
    if (boot_info.mode == BOOT_MODE_TEST)
        outl(ISA_DEBUG_EXIT_PORT, code);
    /* Not in test mode, or no isa-debug-exit device: stay put. */
    cpu_halt_forever();
}
