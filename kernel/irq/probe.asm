; Probe accessors and their exception-fixup table.
;
; Each entry of the fixup table is {faulting instruction, fixup}.  When an
; exception hits a listed instruction, probe_fixup() (fixup.c) sets the
; frame's RIP to the fixup and hands it the fault in scratch registers:
;   rax = vector, rdi = error code, rsi = CR2
; The fixup stores them into the caller's struct probe_fault (offsets 0, 8,
; 16; checked in fixup.c) and returns false.
bits 64
section .text

global probe_read64, probe_write64, probe_exec
global probe_exec_fault, probe_exec_entry_rsp
global probe_snippet_ret, probe_snippet_ud2, probe_snippet_div0

; Store the fault (rax, rdi, rsi) into the struct probe_fault at %1, if any,
; and return false.
%macro record_fault_and_fail 1
    test %1, %1
    jz %%none
    mov [%1 + 0], eax
    mov [%1 + 8], rdi
    mov [%1 + 16], rsi
%%none:
    xor eax, eax
    ret
%endmacro

; bool probe_read64(uintptr_t addr [rdi], uint64_t *out [rsi], struct probe_fault *f [rdx])
probe_read64:
.access:
    mov rax, [rdi]
    test rsi, rsi                       ; @out may be NULL: "is it readable?"
    jz .done
    mov [rsi], rax
.done:
    mov eax, 1
    ret
.fixup:
    record_fault_and_fail rdx

; bool probe_write64(uintptr_t addr [rdi], uint64_t v [rsi], struct probe_fault *f [rdx])
probe_write64:
.access:
    mov [rdi], rsi
    mov eax, 1
    ret
.fixup:
    record_fault_and_fail rdx

; bool probe_exec(uintptr_t addr [rdi], struct probe_fault *f [rsi])
; The called code may clobber anything, so save the callee-saved registers;
; on a fault probe_fixup() resumes at probe_exec_fault with RSP back at
; probe_exec_entry_rsp + 8 (the call's return address popped).
probe_exec:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rsi                            ; f, also keeps the call 16-byte aligned
    lea rax, [rsp - 8]                  ; RSP on entry to the called code
    mov [probe_exec_entry_rsp], rax
    call rdi
    mov qword [probe_exec_entry_rsp], 0
    mov eax, 1
    jmp probe_exec_fault.out           ; (.out belongs to the label below)
probe_exec_fault:
    mov qword [probe_exec_entry_rsp], 0
    mov rdx, [rsp]                      ; f
    test rdx, rdx
    jz .failed
    mov [rdx + 0], eax
    mov [rdx + 8], rdi
    mov [rdx + 16], rsi
.failed:
    xor eax, eax
.out:
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

probe_snippet_ret:
    ret
probe_snippet_ud2:
    ud2
    ret
probe_snippet_div0:
    xor ecx, ecx
    xor eax, eax
    xor edx, edx
    div rcx
    ret

; Exception-fixup entries: {faulting instruction, fixup}, gathered from every
; file's .fixup section by the linker script (fixup_table_start/end).
section .fixup
align 8
    dq probe_read64.access, probe_read64.fixup
    dq probe_write64.access, probe_write64.fixup

section .bss
align 8
probe_exec_entry_rsp: resq 1            ; 0: no probe_exec in progress
