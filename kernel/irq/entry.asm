; Interrupt and exception entry stubs.  Every stub leaves the same frame on
; the stack (struct irq_frame in include/irq.h) and calls irq_dispatch:
;
;   ss, rsp, rflags, cs, rip     pushed by the CPU
;   error code                   pushed by the CPU, or a 0 pushed here
;   vector                       pushed here
;   rax ... r15                  pushed by irq_common
;
; Only vectors 0-47 (exceptions, PIC) and 255 (spurious) get stubs; the
; table below has 0 for the others and their IDT gates stay not-present.
; #PF (14) has its own entry, pf_entry below: it builds the same frame, but
; only its caller-saved part unless the fault needs the rest.
;
; From user mode (the saved CS has RPL 3) the stub swaps GS in first and
; leaves through user_return_prepare and user_return_iret
; (syscall_entry.asm), which swap it back out last: swapgs stays balanced
; on every path.  From kernel mode GS is the kernel's already.
bits 64
%include "kernel/arch/x86_64/irq_frame.inc"
section .text
extern irq_dispatch, user_return_prepare, user_return_iret, user_return_iretq, proc_bad_user_return
extern page_fault_lean

; Exceptions for which the CPU pushes an error code.
%define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)
%define HAS_STUB(v) (((v) < 48 && (v) != 14) || (v) == 255)

%assign v 0
%rep 256
%if HAS_STUB(v)
global irq_stub_ %+ v
irq_stub_ %+ v:
%if !HAS_ERR(v)
    push qword 0                        ; uniform frame: a fake error code
%endif
    push qword v
    jmp irq_common
%endif
%assign v v + 1
%endrep

irq_common:
    test byte [rsp + 24], 3             ; the interrupted CS: from user mode?
    jz .from_kernel
    swapgs
    jmp .saved
.from_kernel:
    ; A #NP, #SS or #GP raised by the iretq that returns to user mode comes
    ; from kernel mode with the user's GS already swapped in: swap it back
    ; and let the process die of it (the frame it tried to return to is
    ; bad); the kernel goes on.  Nothing else runs with the user's GS (the
    ; syscall and sysret windows run with interrupts off, and sysret's one
    ; fault, a non-canonical RCX, is refused before it).  The vector first:
    ; the commonest kernel-mode exception (#PF, 14) is out after two
    ; instructions.
    cmp qword [rsp], 13
    ja .saved
    cmp qword [rsp], 11
    jb .saved
    push rax                            ; the interrupted code's RAX, kept
    mov rax, user_return_iretq
    cmp [rsp + 24], rax                 ; the faulting RIP
    pop rax                             ; (flags unchanged)
    jne .saved
    swapgs
    push_gprs
    mov rdi, rsp
    cld
    call proc_bad_user_return           ; never returns: the process exits
    ud2
.saved:
    push_gprs
.built:                                 ; pf_entry joins here with the frame complete
    mov rdi, rsp                        ; struct irq_frame *
    ; A frame record {interrupted rbp, interrupted rip} so that frame-pointer
    ; backtraces taken inside a handler continue into the interrupted code.
    ; Backtraces print return address - 1 (inside the call); +1 here makes
    ; that the faulting instruction itself.
    mov rax, [rsp + 17 * 8]             ; frame->rip (rax is saved already)
    inc rax
    push rax
    push rbp
    mov rbp, rsp
    cld                                 ; the C ABI wants DF clear
    ; 22 frame quadwords + 2 here from a 16-byte aligned start (the CPU
    ; aligns RSP in 64-bit mode): the call is 16-byte aligned.
    call irq_dispatch
    add rsp, 16
    test byte [rsp + 18 * 8], 3         ; frame->cs: back to user mode?
    jz .to_kernel
    mov rdi, rsp
    call user_return_prepare
    jmp user_return_iret
.to_kernel:
    pop_gprs
    add rsp, 16                         ; vector and error code
    iretq

; The #PF entry.  Every lazy page and every CoW write comes here, and nearly
; all are resolved: so the registers C preserves (rbx, rbp, r12-r15) stay in
; the CPU, and only those a call may clobber go into their places in a
; struct irq_frame, whose callee-saved slots and vector stay unwritten.
; page_fault_lean (kernel/arch/x86_64/page_fault.c) decides; 0
; (VMM_FAULT_RESOLVED) means resolved, and the faulting instruction is
; retried at once.  Anything else (not resolved, or a fault inside a
; decision): the rest of the frame is filled
; in, the callee-saved registers still as the fault found them, and
; irq_common goes on as for any exception (irq_dispatch, the #PF handler,
; the report).  gdb/zf/unwind.py knows both frames.
%define F_R11 (4 * 8)
%define F_R10 (5 * 8)
%define F_R9 (6 * 8)
%define F_R8 (7 * 8)
%define F_RDI (9 * 8)
%define F_RSI (10 * 8)
%define F_RDX (11 * 8)
%define F_RCX (12 * 8)
%define F_RAX (14 * 8)
%define F_VECTOR (15 * 8)
%define PF_LEAN_FRAME 0x10e             ; IRQ_PF_LEAN_FRAME (irq.h)
global pf_entry
pf_entry:
    test byte [rsp + 16], 3             ; the interrupted CS (above the error code)
    jz .kernel
    swapgs
.kernel:
    sub rsp, 16 * 8                     ; the general registers and the vector
    mov qword [rsp + F_VECTOR], PF_LEAN_FRAME ; for debuggers: not all saved
    mov [rsp + F_RAX], rax
    mov [rsp + F_RCX], rcx
    mov [rsp + F_RDX], rdx
    mov [rsp + F_RSI], rsi
    mov [rsp + F_RDI], rdi
    mov [rsp + F_R8], r8
    mov [rsp + F_R9], r9
    mov [rsp + F_R10], r10
    mov [rsp + F_R11], r11
    mov rdi, rsp                        ; struct irq_frame *, half filled
    cld                                 ; the C ABI wants DF clear
    ; 6 + 16 quadwords from a 16-byte aligned start: the call is aligned.
    call page_fault_lean                ; VMM_FAULT_RESOLVED is 0
    test eax, eax
    jnz .full
    ; Resolved.  Nothing is pending for a user thread: interrupts were off
    ; throughout, and whatever was pending before its return to user mode
    ; was handled then (user_return_prepare).
    mov rax, [rsp + F_RAX]
    mov rcx, [rsp + F_RCX]
    mov rdx, [rsp + F_RDX]
    mov rsi, [rsp + F_RSI]
    mov rdi, [rsp + F_RDI]
    mov r8, [rsp + F_R8]
    mov r9, [rsp + F_R9]
    mov r10, [rsp + F_R10]
    mov r11, [rsp + F_R11]
    add rsp, 17 * 8                     ; and the error code
    test byte [rsp + 8], 3              ; the interrupted CS
    jz .iret
    swapgs
.iret:
    iretq
.full:
    mov qword [rsp + F_VECTOR], 14
    mov [rsp + 0 * 8], r15
    mov [rsp + 1 * 8], r14
    mov [rsp + 2 * 8], r13
    mov [rsp + 3 * 8], r12
    mov [rsp + 8 * 8], rbp
    mov [rsp + 13 * 8], rbx
    jmp irq_common.built

section .rodata
global irq_stub_table
align 8
irq_stub_table:
%assign v 0
%rep 256
%if HAS_STUB(v)
    dq irq_stub_ %+ v
%elif v == 14
    dq pf_entry
%else
    dq 0
%endif
%assign v v + 1
%endrep
