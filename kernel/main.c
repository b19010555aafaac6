#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "cmdline.h"
#include "kstring.h"
#include "console.h"
#include "irq.h"
#include "kprintf.h"
#include "ktest.h"
#include "percpu.h"
#include "pmm.h"
#include "proc.h"
#include "vmm.h"

void kernel_main(uint32_t magic, uint64_t mbi_phys);

void kernel_main(uint32_t magic, uint64_t mbi_phys)
{
    /* Under -icount shift=0 the TSC counts guest instructions: make bench
     * subtracts this to get the kernel's own share of the boot. */
    uint64_t entry_tsc = rdtsc();
    percpu_init(); /* first: temporary mappings keep their slots per CPU */
    console_init();
    kprintf("Zeroframe: higher-half x86-64 kernel\n");
    kprintf("boot: kernel entry at tsc=%llu\n", (unsigned long long)entry_tsc);
    boot_info_init(magic, mbi_phys);
    console_use_boot_display();
    boot_unmap_guard_pages();
    irq_init();
    pmm_init();
    vmm_init();
    console_attach_framebuffer();
    proc_boot_init();
    kprintf("boot: command line \"%s\", mode %s\n", boot_info.cmdline,
            boot_info.mode == BOOT_MODE_TEST ? "test" : "run");

    struct ktest_totals t = boot_info.test_glob_too_long
        ? ktest_refuse(NULL, "the test= selection is longer than 255 characters; refused "
                             "rather than cut (cutting changes its meaning)")
        : ktest_run(boot_info.test_glob);

    /* Then user mode: the first program (init=, default /bin/init), when
     * the modules hold it. */
    char vmcheck[4] = "on";
    cmdline_get(boot_info.cmdline, "vmcheck", vmcheck, sizeof(vmcheck));
    proc_check_on_reap = boot_info.mode == BOOT_MODE_TEST && strcmp(vmcheck, "off") != 0;
    int init_status = proc_run_init();
    if (proc_check_on_reap)
        kprintf("vmm: consistency checked after each of %u processes: %u failed\n", proc_check_runs,
                proc_check_failures);
    if (boot_info.mode == BOOT_MODE_TEST)
        boot_exit(t.failed || init_status > 0 || proc_check_failures ? BOOT_EXIT_FAIL
                                                                        : BOOT_EXIT_PASS);

    kprintf("vmm: %llu page faults: %llu zero-fills, %llu copies, %llu reuses, %llu spurious, "
            "%llu fatal, %llu out of memory\n",
            (unsigned long long)vmm_counters.faults, (unsigned long long)vmm_counters.zero_fills,
            (unsigned long long)vmm_counters.copies, (unsigned long long)vmm_counters.reuses,
            (unsigned long long)vmm_counters.spurious, (unsigned long long)vmm_counters.fatal,
            (unsigned long long)vmm_counters.oom);
    kprintf("Zeroframe: self-tests done (%d passed, %d failed); idle. "
            "Quit QEMU with Ctrl-A X.\n",
            t.passed, t.failed);
    cpu_halt_forever();
}
