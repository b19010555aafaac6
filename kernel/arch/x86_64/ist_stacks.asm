; Interrupt stacks for the exceptions that must not trust the current stack:
; #DF (the stack may be the thing that overflowed), NMI and #MC (they can
; arrive anywhere, even halfway through a stack switch).  Each has a guard
; page below it, unmapped at boot, so that overflowing an IST stack faults
; into #DF instead of silently corrupting the stack below.
bits 64

%define IST_STACK_SIZE 16384            ; include/gdt.h TSS_IST_STACK_SIZE

%macro ist_stack 1
global ist_%1_guard, ist_%1_bottom, ist_%1_top
align 4096
ist_%1_guard:  resb 4096
ist_%1_bottom: resb IST_STACK_SIZE
ist_%1_top:
%endmacro

section .bss
ist_stack df
ist_stack nmi
ist_stack mc

section .guard_pages
    dq ist_df_guard
    dq ist_nmi_guard
    dq ist_mc_guard
