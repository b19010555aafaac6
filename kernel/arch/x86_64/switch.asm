; Kernel context switch: the callee-saved registers of the System V ABI on
; the old thread's kernel stack, its RSP saved, the new one's loaded.
bits 64
section .text
global switch_context

; void switch_context(uint64_t *save_rsp [rdi], uint64_t next_rsp [rsi])
switch_context:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
