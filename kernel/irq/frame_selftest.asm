; Self-test fixture for the entry stubs (tests/kernel/test_irq.c): load
; every general register with a known value, trap with int3, and check that
; each register comes back as the handler left it in struct irq_frame.
;
; uint64_t irq_selftest_int3_regs(uint64_t seed [rdi], uint64_t mask [rsi])
;   before int3: rax = seed + 0, rbx = seed + 1, rcx = seed + 2, rdx = seed + 3,
;                rsi = seed + 4, rdi = seed + 5, rbp = seed + 6, r8..r15 =
;                seed + 7 .. seed + 14
;   after:       each must equal (seed + i) ^ mask (the test's #BP handler
;                XORs every frame register with mask)
; Returns a bit mask of the registers (bit i as above) that did not.
bits 64
section .text
global irq_selftest_int3_regs, irq_selftest_int3_site

irq_selftest_int3_regs:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rsi                            ; [rsp + 8]: mask
    push rdi                            ; [rsp]: seed
    lea rax, [rdi + 0]
    lea rbx, [rdi + 1]
    lea rcx, [rdi + 2]
    lea rdx, [rdi + 3]
    lea rsi, [rdi + 4]
    lea rbp, [rdi + 6]
    lea r8, [rdi + 7]
    lea r9, [rdi + 8]
    lea r10, [rdi + 9]
    lea r11, [rdi + 10]
    lea r12, [rdi + 11]
    lea r13, [rdi + 12]
    lea r14, [rdi + 13]
    lea r15, [rdi + 14]
    lea rdi, [rdi + 5]
    int3
irq_selftest_int3_site:                 ; the RIP the #BP frame must show
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15                            ; register i is at [rsp + 8 * (14 - i)]
    mov r8, [rsp + 15 * 8]              ; seed
    mov r9, [rsp + 16 * 8]              ; mask
    xor eax, eax
    xor ecx, ecx
.check:
    lea rdx, [r8 + rcx]
    xor rdx, r9
    mov r10, 14
    sub r10, rcx
    cmp rdx, [rsp + r10 * 8]
    je .same
    bts rax, rcx
.same:
    inc rcx
    cmp rcx, 15
    jne .check
    add rsp, 17 * 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
