/* Every instruction that touches the CPU's privileged state or I/O space lives
 * here, as a small inline function.  Nothing outside kernel/arch/ uses inline
 * assembly, so the rest of the kernel also compiles for the host. */
#ifndef ZF_ARCH_X86_64_CPU_H
#define ZF_ARCH_X86_64_CPU_H

#include <stdint.h>

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)             /* RFLAGS.AC checks alignment in ring 3 */
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)

#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u           /* syscall/sysret segment selectors */
#define MSR_LSTAR 0xc0000082u          /* 64-bit syscall entry point */
#define MSR_SFMASK 0xc0000084u         /* RFLAGS bits syscall clears */
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u /* swapped with GS_BASE by swapgs */
#define EFER_SCE (1ull << 0)           /* syscall/sysret enable */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline void write_cr0(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void invlpg(uintptr_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cpu_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void cpu_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void cpu_pause(void) { __asm__ volatile("pause"); }

static inline uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; pop %0" : "=r"(v));
    return v;
}

static inline uintptr_t read_rbp(void)
{
    uintptr_t v;
    __asm__ volatile("mov %%rbp, %0" : "=r"(v));
    return v;
}

static inline uintptr_t read_rsp(void)
{
    uintptr_t v;
    __asm__ volatile("mov %%rsp, %0" : "=r"(v));
    return v;
}

static inline uintptr_t read_rip(void)
{
    uintptr_t v;
    __asm__ volatile("lea 0(%%rip), %0" : "=r"(v));
    return v;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline void cpu_breakpoint(void) { __asm__ volatile("int3" ::: "memory"); }

/* Descriptor-table registers: a 16-bit limit and a 64-bit base. */
struct __attribute__((packed)) cpu_dtr {
    uint16_t limit;
    uint64_t base;
};

static inline void cpu_lgdt(const struct cpu_dtr *d)
{
    __asm__ volatile("lgdt %0" : : "m"(*d) : "memory");
}

static inline void cpu_lidt(const struct cpu_dtr *d)
{
    __asm__ volatile("lidt %0" : : "m"(*d) : "memory");
}

static inline void cpu_sidt(struct cpu_dtr *d)
{
    __asm__ volatile("sidt %0" : "=m"(*d));
}

static inline void cpu_sgdt(struct cpu_dtr *d)
{
    __asm__ volatile("sgdt %0" : "=m"(*d));
}

static inline void cpu_ltr(uint16_t sel)
{
    __asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

static inline uint16_t cpu_str(void)
{
    uint16_t v;
    __asm__ volatile("str %0" : "=r"(v));
    return v;
}

static inline uint16_t read_cs(void)
{
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}

static inline uint16_t read_ss(void)
{
    uint16_t v;
    __asm__ volatile("mov %%ss, %0" : "=r"(v));
    return v;
}

/* Software interrupt to a constant vector (tests: breakpoints, spurious
 * vectors, IST wiring).  A macro because "int" takes an immediate. */
#define cpu_soft_int(vector) __asm__ volatile("int %0" : : "i"(vector) : "memory")

/* Load an IDT with limit 0: any exception after this escalates to a triple
 * fault.  Only the runner's triple-fault test uses it. */
static inline void cpu_load_empty_idt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = { 0, 0 };
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

/* Stop this CPU for good: interrupts off, halt in a loop (an NMI could wake it). */
static inline __attribute__((noreturn)) void cpu_halt_forever(void)
{
    for (;;) {
        cpu_cli();
        cpu_hlt();
    }
}

#endif
