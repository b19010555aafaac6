/* Processes in ring 3 with hand-assembled programs (user_blobs.asm): exit
 * status, a system call that writes, fork + wait4, faults that kill the
 * process and not the kernel, a non-canonical sysret return address, and
 * preemption of a process that never yields.  Every test leaves no frame,
 * object or process behind (the guards check the first two). */
#include "arch/x86_64/cpu.h"
#include "boot.h"
#include "errno.h"
#include "file.h"
#include "irq.h"
#include "kstring.h"
#include "percpu.h"
#include "pic.h"
#include "proc.h"
#include "region.h"
#include "timer.h"
#include "vm_util.h"
#include "vmobj.h"

#define BLOB(name) extern const char user_blob_##name[], user_blob_##name##_end[]
BLOB(exit42);
BLOB(write);
BLOB(null);
BLOB(fork);
BLOB(loop);
BLOB(sysret);
BLOB(ud2);
BLOB(kread);

/* Run a blob to completion: its wait status, or -1.  The blob's object is
 * the test's own and goes with it. */
static int run_blob(const char *name, const char *start, const char *end)
{
    struct vmobj *o = vmobj_create_module((uintptr_t)start - KERNEL_VMA, (uint64_t)(end - start), name);
    if (!o)
        return -1;
    const char *argv[] = { name, NULL };
    const char *envp[] = { NULL };
    /* These tests expect faults to kill, whatever fault= says. */
    enum fault_policy policy = proc_fault_policy;
    proc_fault_policy = FAULT_POLICY_KILL;
    int pid = proc_spawn_object(name, o, (uint64_t)(end - start), argv, envp);
    vmobj_put(o); /* the process's regions hold it now */
    int status = -1;
    if (pid <= 0 || proc_wait(pid, &status, false) != pid)
        status = -1;
    proc_fault_policy = policy;
    return status;
}
#define RUN(name) run_blob("/test/" #name, user_blob_##name, user_blob_##name##_end)

TEST(proc, exit_status_reaches_wait)
{
    EXPECT_EQ(RUN(exit42), WAIT_EXITED(42));
    const char *argv[] = { "/test/none", NULL };
    EXPECT_EQ(proc_spawn("/test/none", argv, argv + 1), -ENOENT);
}

TEST(proc, write_system_call_returns_its_count)
{
    EXPECT_EQ(RUN(write), WAIT_EXITED(6));
}

TEST(proc, fork_and_wait4)
{
    EXPECT_EQ(RUN(fork), WAIT_EXITED(8));
}

TEST(proc, faults_kill_the_process_not_the_kernel)
{
    uint64_t fatal = vmm_counters_get().fatal;
    EXPECT_EQ(RUN(null), WAIT_SIGNALED(SIGSEGV));
    EXPECT_EQ(vmm_counters_get().fatal - fatal, 1);
    EXPECT_EQ(RUN(ud2), WAIT_SIGNALED(SIGILL));
    /* And the kernel goes on to run the next one. */
    EXPECT_EQ(RUN(exit42), WAIT_EXITED(42));
}

/* Each user-mode exception's signal, Linux's choice; and alignment checking
 * is on for ring 3 (QEMU's TCG never raises #AC, so this is the check of
 * that path that runs here; test_traps checks it on a real CPU). */
TEST(proc, exceptions_map_to_linux_signals)
{
    EXPECT_EQ(proc_signal_for(IRQ_DE), SIGFPE);
    EXPECT_EQ(proc_signal_for(IRQ_UD), SIGILL);
    EXPECT_EQ(proc_signal_for(IRQ_GP), SIGSEGV);
    EXPECT_EQ(proc_signal_for(IRQ_PF), SIGSEGV);
    EXPECT_EQ(proc_signal_for(IRQ_AC), SIGBUS);
    EXPECT_EQ(proc_signal_for(IRQ_SS), SIGBUS);
    EXPECT_EQ(proc_signal_for(IRQ_NP), SIGBUS);
    EXPECT_EQ(proc_signal_for(IRQ_MF), SIGFPE);
    EXPECT_EQ(proc_signal_for(IRQ_XM), SIGFPE);
    EXPECT_EQ(proc_signal_for(IRQ_BP), SIGTRAP);
    EXPECT_TRUE(read_cr0() & CR0_AM);
}

/* A return to user mode whose iretq faults (here a stack selector past
 * the GDT, planted in the new process's first frame) kills the process
 * with SIGSEGV; GS is swapped back and the kernel goes on. */
TEST(proc, faulting_iretq_kills_the_process_not_the_kernel)
{
    struct vmobj *o = vmobj_create_module((uintptr_t)user_blob_exit42 - KERNEL_VMA,
                                          (uint64_t)(user_blob_exit42_end - user_blob_exit42), "bad-ss");
    ASSERT_NE((uintptr_t)o, 0);
    const char *argv[] = { "/test/bad-ss", NULL };
    const char *envp[] = { NULL };
    int pid = proc_spawn_object("/test/bad-ss", o, (uint64_t)(user_blob_exit42_end - user_blob_exit42),
                                argv, envp);
    vmobj_put(o);
    ASSERT_GT(pid, 0);
    struct proc *p = proc_find(pid);
    ASSERT_NE((uintptr_t)p, 0);
    sched_user_frame(p->thread)->ss = 0x38 | 3; /* past the GDT's last entry */
    int status = 0;
    EXPECT_EQ(proc_wait(pid, &status, false), pid);
    EXPECT_EQ(status, WAIT_SIGNALED(SIGSEGV));
    /* GS is the kernel's again, the user's (0) waits in KERNEL_GS_BASE. */
    EXPECT_EQ(rdmsr(MSR_GS_BASE), (uintptr_t)this_cpu());
    EXPECT_EQ(rdmsr(MSR_KERNEL_GS_BASE), 0);
    EXPECT_EQ(RUN(exit42), WAIT_EXITED(42));
}

TEST(proc, non_canonical_sysret_return_is_refused)
{
    EXPECT_EQ(RUN(sysret), WAIT_SIGNALED(SIGSEGV));
}

TEST(proc, a_looping_process_is_preempted_and_killed)
{
    const char *argv[] = { "/test/loop", NULL };
    const char *envp[] = { NULL };
    struct vmobj *o = vmobj_create_module((uintptr_t)user_blob_loop - KERNEL_VMA,
                                          (uint64_t)(user_blob_loop_end - user_blob_loop), "loop");
    ASSERT_NE((uintptr_t)o, 0);
    timer_init(); /* preemption for this test only */
    int loop = proc_spawn_object("/test/loop", o, (uint64_t)(user_blob_loop_end - user_blob_loop),
                                 argv, envp);
    vmobj_put(o);
    ASSERT_GT(loop, 0);
    /* The looping process gets the CPU, and still this one finishes. */
    EXPECT_EQ(RUN(exit42), WAIT_EXITED(42));
    EXPECT_EQ(proc_kill(loop, SIGKILL), 0);
    int status = 0;
    EXPECT_EQ(proc_wait(loop, &status, false), loop);
    EXPECT_EQ(status, WAIT_SIGNALED(SIGKILL));
    pic_mask(0);
    EXPECT_EQ(proc_kill(loop, SIGKILL), -ESRCH);
}

/* A ring-3 read of kernel memory that a region holds, kernel-only: the
 * region lookup finds it and the permission check names what it lacks
 * (user_blobs.asm reads KREAD_VA). */
TEST(proc, user_read_of_a_kernel_region_is_refused_for_its_missing_user_permission)
{
    const uintptr_t kread_va = 0xffff807000000000ull;
    struct vmobj *o = vmobj_create_anon(1, "kernel only");
    ASSERT_NE((uintptr_t)o, 0);
    struct region_req req = { .addr = kread_va, .len = PAGE_SIZE, .prot = REGION_R | REGION_W,
                              .flags = REGION_FIXED, .obj = o, .name = "kernel only" };
    enum vmm_status st = region_map(&vmm_kernel_space, &req, NULL);
    vmobj_put(o);
    ASSERT_EQ(st, VMM_OK);
    *(volatile uint64_t *)kread_va = 0x5ec2e7; /* present and readable for the kernel */
    EXPECT_EQ(RUN(kread), WAIT_SIGNALED(SIGSEGV));
    const struct vmm_fault *f = vmm_fault_last_unresolved();
    char why[160];
    EXPECT_EQ(f->va, kread_va);
    EXPECT_EQ(f->error & (PF_ERR_U | PF_ERR_W | PF_ERR_I), PF_ERR_U);
    EXPECT_STREQ(vmm_fault_reason_text(f, why, sizeof(why)),
                 "user-mode access to a region without user permission");
    EXPECT_EQ(region_unmap(&vmm_kernel_space, kread_va, PAGE_SIZE), VMM_OK);
}
