; Tiny static ELF64 executables, hand-assembled, for the process self-tests
; (tests/kernel/test_proc.c): they need no toolchain but NASM, and each
; checks one thing of ring 3, the system-call path or the fault path.  The
; test registers each as a module file through its physical address.
bits 64
section .rodata

; ELF header + one PT_LOAD (R+X) covering the whole blob at %2; code follows.
%macro elf_begin 3 ; label, load address, entry offset label
    align 16
global %1, %1_end
%1:
    db 0x7f, 'E', 'L', 'F', 2, 1, 1, 0
    times 8 db 0
    dw 2                                ; ET_EXEC
    dw 62                               ; EM_X86_64
    dd 1
    dq %2 + (%3 - %1)                   ; entry
    dq 64                               ; program headers right after this header
    dq 0
    dd 0
    dw 64, 56, 1, 0, 0, 0
    dd 1, 5                             ; PT_LOAD, R+X
    dq 0, %2, %2                        ; offset, vaddr, paddr
    dq %1_end - %1, %1_end - %1         ; filesz, memsz
    dq 0x1000
%endmacro

; exit_group(42)
elf_begin user_blob_exit42, 0x400000, .code
.code:
    mov edi, 42
    mov eax, 231
    syscall
    ud2
user_blob_exit42_end:

; write(1, msg, 6) then exit_group(the write's return value)
elf_begin user_blob_write, 0x400000, .code
.code:
    mov edi, 1
    lea rsi, [rel .msg]
    mov edx, 6
    mov eax, 1
    syscall
    mov edi, eax
    mov eax, 231
    syscall
.msg: db "hello", 10
user_blob_write_end:

; A read of the null page: killed by SIGSEGV.
elf_begin user_blob_null, 0x400000, .code
.code:
    mov rax, [0x10]
    mov edi, 1
    mov eax, 231
    syscall
user_blob_null_end:

; fork: the child exits 7; the parent waits for it and exits with the
; child's status plus 1 (8 when fork and wait4 both work).
elf_begin user_blob_fork, 0x400000, .code
.code:
    mov eax, 57                         ; fork
    syscall
    test eax, eax
    jz .child
    js .fail
    mov edi, eax                        ; wait4(pid, &status, 0, NULL)
    lea rsi, [rsp - 16]
    xor edx, edx
    xor r10d, r10d
    mov eax, 61
    syscall
    mov edi, [rsp - 16]
    shr edi, 8
    add edi, 1
    mov eax, 231
    syscall
.child:
    mov edi, 7
    mov eax, 231
    syscall
.fail:
    mov edi, 99
    mov eax, 231
    syscall
user_blob_fork_end:

; Loops forever: only the timer and a kill end it.
elf_begin user_blob_loop, 0x400000, .code
.code:
    jmp .code
user_blob_loop_end:

; A syscall in the last two bytes of the user half: its return address
; (0x800000000000) is not canonical; sysret must not be used (it would fault
; in ring 0 on Intel CPUs).  The process is killed; the kernel goes on.
%define TOP_PAGE 0x7ffffffff000
elf_begin user_blob_sysret, TOP_PAGE, .code
.code:
    times 4096 - 7 - (.code - user_blob_sysret) nop
    mov eax, 39                         ; getpid, at TOP_PAGE + 4096 - 7
    syscall                             ; the page's last two bytes
user_blob_sysret_end:

; ud2: killed by SIGILL.
elf_begin user_blob_ud2, 0x400000, .code
.code:
    ud2
user_blob_ud2_end:

; A read of kernel memory that a region holds (the test maps one at
; KREAD_VA, kernel-only): refused for the region's missing user permission.
%define KREAD_VA 0xffff807000000000
elf_begin user_blob_kread, 0x400000, .code
.code:
    mov rax, [abs qword KREAD_VA]
    mov edi, 1
    mov eax, 231
    syscall
user_blob_kread_end:
