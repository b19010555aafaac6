/* The kernel's own 64-bit GDT with a TSS, and the interrupt stacks (IST)
 * that the TSS names.  Code: kernel/arch/x86_64/gdt.c, ist_stacks.asm. */
#ifndef ZF_GDT_H
#define ZF_GDT_H

#include <stdbool.h>
#include <stdint.h>

/* Selectors.  Kernel code/data keep the values boot.asm used, so that the
 * switch to this GDT needs no far jump. */
#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_DATA (0x18 | 3)
#define GDT_USER_CODE (0x20 | 3)
#define GDT_TSS 0x28

/* Interrupt stack table slots (1-based, as in the IDT gate's IST field). */
enum tss_ist {
    TSS_IST_DF = 1,  /* double fault */
    TSS_IST_NMI = 2, /* non-maskable interrupt */
    TSS_IST_MC = 3,  /* machine check */
    TSS_IST_COUNT = 3,
};

/* Each IST stack is 16 KiB with an unmapped 4 KiB guard page below it
 * (listed in .guard_pages, unmapped by boot_unmap_guard_pages()). */
#define TSS_IST_STACK_SIZE 16384
extern char ist_df_guard[], ist_df_bottom[], ist_df_top[];
extern char ist_nmi_guard[], ist_nmi_bottom[], ist_nmi_top[];
extern char ist_mc_guard[], ist_mc_bottom[], ist_mc_top[];

/* Load the GDT and the task register.  Call once, before the IDT. */
void gdt_init(void);

/* The stack the CPU switches to on an interrupt or exception from user
 * mode (TSS.RSP0): the current thread's kernel stack top. */
void tss_set_rsp0(uintptr_t top);

/* Stack bounds of IST slot @ist (1..TSS_IST_COUNT); false for others. */
bool tss_ist_bounds(unsigned ist, uintptr_t *bottom, uintptr_t *top);

/* The IST slot whose stack contains @addr, or 0. */
unsigned tss_ist_containing(uintptr_t addr);

#endif
