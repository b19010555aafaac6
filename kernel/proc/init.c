/* From the boot self-tests to user mode: register the modules as files,
 * start the first program, and wait for it.  Kernel command line:
 *   init=PATH        the first program (default /bin/init)
 *   fault=kill|stop  what a fatal user fault does to its process
 *   -- ARGS...       everything after " -- " is the first program's argv[1..] */
#include "boot.h"
#include "cmdline.h"
#include "console.h"
#include "file.h"
#include "irq.h"
#include "kprintf.h"
#include "kstring.h"
#include "region.h"
#include "percpu.h"
#include "proc.h"
#include "timer.h"

#define INIT_ARGS_MAX 32

/* Every module with a path name becomes a file (a paged object over its
 * frames); the others are only mapped for the kernel. */
static void register_modules(void)
{
    vmm_map_modules();
    unsigned files = 0;
    for (unsigned i = 0; i < boot_module_count(); i++) {
        const struct boot_module *m = boot_module_get(i);
        if (m->name[0] != '/')
            continue;
        if (modfs_add(m->name, m->start, m->end - m->start))
            files++;
        else
            kprintf("modules: %s: cannot add it as a file (path too long, or out of memory)\n",
                    m->name);
    }
    if (files)
        kprintf("modules: %u files\n", files);
}

void proc_boot_init(void)
{
    proc_init();
    register_modules();
    irq_set_user_fault_handler(proc_user_fault);
    char policy[8];
    if (cmdline_get(boot_info.cmdline, "fault", policy, sizeof(policy))) {
        if (strcmp(policy, "stop") == 0)
            proc_fault_policy = FAULT_POLICY_STOP;
        else if (strcmp(policy, "kill") != 0)
            kprintf("boot: unknown fault=%s, using fault=kill\n", policy);
    }
}

int proc_run_init(void)
{
    static char path[128] = "/bin/init";
    static char args[512];
    static const char *argv[INIT_ARGS_MAX + 2];
    static const char *const envp[] = { "PATH=/bin", "HOME=/", "TERM=dumb", NULL };
    bool named = cmdline_get(boot_info.cmdline, "init", path, sizeof(path));
    struct vmobj *o;
    uint64_t size;
    if (!modfs_lookup(path, &o, &size)) {
        /* Only a program asked for by name is missed out loud. */
        if (named) {
            kprintf("init: no program %s among the modules\n", path);
            return 1 << 8;
        }
        return -1;
    }
    int argc = 0;
    argv[argc++] = path;
    const char *rest = strstr(boot_info.cmdline, " -- ");
    if (rest) {
        size_t n = strlen(rest + 4);
        if (n >= sizeof(args))
            n = sizeof(args) - 1;
        memcpy(args, rest + 4, n);
        args[n] = '\0';
        for (char *c = args; *c && argc < INIT_ARGS_MAX;) {
            while (*c == ' ')
                *c++ = '\0';
            if (!*c)
                break;
            argv[argc++] = c;
            while (*c && *c != ' ')
                c++;
        }
    }
    argv[argc] = NULL;
    /* Preemption from here on: the self-tests ran with every PIC line
     * masked, as some of them check. */
    timer_init();
    console_input_start(proc_console_interrupt);
    int pid = proc_spawn(path, argv, envp);
    if (pid < 0) {
        kprintf("init: cannot start %s: error %d\n", path, -pid);
        return -1;
    }
    kprintf("init: started %s as PID %d\n", path, pid);
    int status = 0;
    proc_wait(pid, &status, false);
    if ((status & 0x7f) == 0)
        kprintf("init: %s exited with status %d\n", path, (status >> 8) & 0xff);
    else
        kprintf("init: %s was killed by signal %d\n", path, status & 0x7f);
    return status;
}
