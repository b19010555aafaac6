; Copies that may fault on user memory.  Their faulting instructions are in
; the exception-fixup table (section .fixup, kernel/irq/fixup.c): after the
; page-fault handler declined a fault, the copy resumes at its fixup and
; returns what it had left to do.
bits 64
section .text

global uaccess_copy, uaccess_strncpy

; size_t uaccess_copy(void *dst [rdi], const void *src [rsi], size_t n [rdx])
; Returns the number of bytes NOT copied (0 on success).
uaccess_copy:
    mov rcx, rdx
.access:
    rep movsb
    xor eax, eax
    ret
.fixup:
    mov rax, rcx                        ; rep movsb leaves the count of bytes to go
    ret

; long uaccess_strncpy(char *dst [rdi], const char *src [rsi], size_t max [rdx])
; Copies up to and including a NUL: returns its length, -1 when no NUL came
; within max bytes, -2 after a fault.
uaccess_strncpy:
    xor ecx, ecx
.loop:
    cmp rcx, rdx
    je .toolong
.access:
    mov al, [rsi + rcx]
    mov [rdi + rcx], al
    test al, al
    jz .done
    inc rcx
    jmp .loop
.done:
    mov rax, rcx
    ret
.toolong:
    mov rax, -1
    ret
.fixup:
    mov rax, -2
    ret

section .fixup
align 8
    dq uaccess_copy.access, uaccess_copy.fixup
    dq uaccess_strncpy.access, uaccess_strncpy.fixup
