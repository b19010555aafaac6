; The way into the kernel from user mode by `syscall`, and the ways back to
; user mode.  Both build and consume the same struct irq_frame (irq.h) as
; the interrupt stubs, so fork copies, exec rewrites and signals inspect one
; layout whatever the way in was.
;
; swapgs discipline: GS points at the per-CPU area (percpu.h) whenever
; kernel code runs; every entry from user mode swaps it in first, every
; return to user mode swaps it out last, and the instructions between never
; touch per-CPU data with the user's GS (interrupts are off from `syscall`
; to the stack switch: SFMASK clears IF).
bits 64
%include "kernel/arch/x86_64/irq_frame.inc"
section .text

%define PERCPU_SYSCALL_RSP 8
%define PERCPU_USER_RSP 16
%define USER_CS (0x20 | 3)
%define USER_SS (0x18 | 3)
%define SYSCALL_VECTOR 0x100           ; not a CPU vector: marks a syscall frame

extern syscall_dispatch, user_return_prepare
global syscall_entry, user_return_iret, user_return_iretq, thread_start_user

syscall_entry:
    swapgs
    mov [gs:PERCPU_USER_RSP], rsp
    mov rsp, [gs:PERCPU_SYSCALL_RSP]
    push qword USER_SS
    push qword [gs:PERCPU_USER_RSP]
    push r11                            ; the user's RFLAGS
    push qword USER_CS
    push rcx                            ; the user's RIP (the instruction after syscall)
    push qword 0                        ; error code
    push qword SYSCALL_VECTOR
    push_gprs
    xor ebp, ebp                        ; backtraces stop here
    mov rdi, rsp
    call syscall_dispatch               ; 22 quadwords from a 16-byte aligned top
    mov rdi, rsp
    call user_return_prepare            ; may switch threads; checks the return address
    ; sysret: RIP from RCX, RFLAGS from R11 (the kernel checked RIP is
    ; canonical: a non-canonical RCX would fault here, in ring 0).
    pop_gprs
    add rsp, 16                         ; vector, error code
    mov rcx, [rsp]                      ; RIP
    mov r11, [rsp + 16]                 ; RFLAGS
    mov rsp, [rsp + 24]                 ; the user's RSP
    swapgs
    o64 sysret

; A new user thread's first return to user mode: its kernel stack holds a
; struct irq_frame right where switch_context left RSP.
thread_start_user:
    mov rdi, rsp
    call user_return_prepare
    ; fall through
; Return to user mode through iretq from the struct irq_frame at RSP.
user_return_iret:
    pop_gprs
    add rsp, 16
    swapgs
user_return_iretq:                      ; entry.asm knows a fault here
    iretq
