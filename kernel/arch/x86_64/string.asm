; memcpy / memmove / memset with string instructions: whole quadwords first,
; then the byte tail.  System V ABI: rdi, rsi, rdx; result in rax.
bits 64
section .text

global memcpy
memcpy:
    mov rax, rdi
    mov rcx, rdx
    shr rcx, 3
    rep movsq
    mov rcx, rdx
    and rcx, 7
    rep movsb
    ret

global memmove
memmove:
    mov rax, rdi
    cmp rdi, rsi
    jbe memcpy                          ; forward copy is safe when dst <= src
    lea r8, [rsi + rdx]
    cmp rdi, r8
    jae memcpy                          ; no overlap
    ; Overlapping with dst above src: copy backwards, byte by byte.
    lea rsi, [rsi + rdx - 1]
    lea rdi, [rdi + rdx - 1]
    mov rcx, rdx
    std
    rep movsb
    cld
    ret

global memset
memset:
    mov r9, rdi
    movzx eax, sil
    mov r8, 0x0101010101010101
    imul rax, r8
    mov rcx, rdx
    shr rcx, 3
    rep stosq
    mov rcx, rdx
    and rcx, 7
    rep stosb
    mov rax, r9
    ret
