; Zeroframe boot: multiboot2 entry in 32-bit protected mode, CPU checks,
; 4-level boot page tables, long mode, jump to the higher-half C kernel.
;
; Boot page tables (all in the kernel's .bss, reached here by physical address):
;   PML4[0]   -> boot_pdpt_low  [0]   -> boot_pd : identity map
;   PML4[510] -> PML4 itself (recursive slot, used by the VMM)
;   PML4[511] -> boot_pdpt_high [510] -> boot_pd : 0xffffffff80000000 + pa
; boot_pd points at the four page tables boot_pt (physical 0..8 MiB, 4 KiB
; pages), and they map only the kernel image (1 MiB .. kernel_phys_end) and
; the VGA text page 0xb8000: no other frame, in particular none the frame
; allocator may hand out, ever has an alias in the kernel half.  Boot data
; (multiboot2 info, modules) is read through temporary mappings (kmap).
; Once in the higher half the identity map is dropped (the null page faults
; from then on).  The VMM later gives each kernel page its final rights.

%define KERNEL_VMA      0xffffffff80000000
%define MB2_MAGIC       0xe85250d6
%define MB2_BOOT_MAGIC  0x36d76289
%define COM1            0x3f8

%define PTE_P           (1 << 0)
%define PTE_W           (1 << 1)
%define PTE_PS          (1 << 7)
%define BOOT_PT_COUNT   4                   ; 4 KiB-mapped: first 4 * 2 MiB
%define VGA_TEXT        0xb8000

extern kernel_main
extern kernel_phys_start
extern kernel_phys_end
global _start
global boot_pml4
global boot_pdpt_low
global boot_pdpt_high
global boot_pd
global boot_pt
global boot_stack_guard
global boot_stack_bottom
global boot_stack_top

; ---------------------------------------------------------------- header
section .multiboot2
align 8
mb2_header:
    dd MB2_MAGIC
    dd 0                                ; architecture: i386 protected mode
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
    ; end tag
    align 8
    dw 0, 0
    dd 8
mb2_header_end:

; ---------------------------------------------------------------- 32-bit
section .boot.text progbits alloc exec nowrite
bits 32
_start:
    cli
    cld
    mov esp, boot_tmp_stack_top
    mov edi, eax                        ; multiboot2 magic
    mov esi, ebx                        ; multiboot2 info (physical)

    cmp edi, MB2_BOOT_MAGIC
    jne boot_no_multiboot

    ; CPUID present iff EFLAGS.ID can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je boot_no_cpuid

    ; PAE (CPUID.1:EDX bit 6): 4-level paging is built on it.
    mov eax, 1
    cpuid
    test edx, 1 << 6
    jz boot_no_pae

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb boot_no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz boot_no_long_mode
    test edx, 1 << 20
    jz boot_no_nx

    ; Page tables.  The loader zeroes .bss, but clear them anyway: they are
    ; only four pages and a stale entry here would be very hard to debug.
    push edi
    mov edi, boot_pml4 - KERNEL_VMA
    mov ecx, (4 + BOOT_PT_COUNT) * 4096 / 4
    xor eax, eax
    rep stosd
    pop edi

    mov eax, boot_pdpt_low - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pml4 - KERNEL_VMA + 0 * 8], eax
    mov eax, boot_pml4 - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pml4 - KERNEL_VMA + 510 * 8], eax
    mov eax, boot_pdpt_high - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pml4 - KERNEL_VMA + 511 * 8], eax

    mov eax, boot_pd - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pdpt_low - KERNEL_VMA + 0 * 8], eax
    mov [boot_pdpt_high - KERNEL_VMA + 510 * 8], eax

    ; boot_pt: the kernel image's pages, then the VGA text page.
    mov ecx, kernel_phys_start
    shr ecx, 12
    mov edx, kernel_phys_end            ; page aligned (linker.ld)
    shr edx, 12
.fill_pt:
    mov eax, ecx
    shl eax, 12
    or eax, PTE_P | PTE_W
    mov [boot_pt - KERNEL_VMA + ecx * 8], eax
    inc ecx
    cmp ecx, edx
    jb .fill_pt
    mov dword [boot_pt - KERNEL_VMA + (VGA_TEXT >> 12) * 8], VGA_TEXT | PTE_P | PTE_W

    mov ecx, 0
.fill_pd:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pt - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pd - KERNEL_VMA + ecx * 8], eax
    inc ecx
    cmp ecx, BOOT_PT_COUNT
    jne .fill_pd

    mov eax, boot_pml4 - KERNEL_VMA
    mov cr3, eax

    mov eax, cr4
    or eax, 1 << 5                      ; PAE
    mov cr4, eax

    mov ecx, 0xc0000080                 ; EFER
    rdmsr
    or eax, (1 << 8) | (1 << 11)        ; LME, NXE
    wrmsr

    mov eax, cr0
    or eax, (1 << 31) | (1 << 16)       ; PG, WP (so the kernel honours read-only pages)
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    jmp 0x08:long_mode_low

; Print the zero-terminated string at ESI to VGA row 0 and to COM1, then halt.
; CR and LF go to COM1 only (VGA would draw them as glyphs).  Halting (not
; rebooting) keeps the message on screen.
boot_fail:
    mov edi, VGA_TEXT
.next:
    lodsb
    test al, al
    jz .halt
    cmp al, 13
    je .serial
    cmp al, 10
    je .serial
    mov ah, 0x4f                        ; white on red
    mov [edi], ax
    add edi, 2
.serial:
    mov dx, COM1 + 5
.wait:
    push eax
    in al, dx
    test al, 0x20
    pop eax
    jz .wait
    mov dx, COM1
    out dx, al
    jmp .next
.halt:
    cli
    hlt
    jmp .halt

boot_no_multiboot:
    mov esi, msg_no_multiboot
    jmp boot_fail
boot_no_cpuid:
    mov esi, msg_no_cpuid
    jmp boot_fail
boot_no_pae:
    mov esi, msg_no_pae
    jmp boot_fail
boot_no_long_mode:
    mov esi, msg_no_long_mode
    jmp boot_fail
boot_no_nx:
    mov esi, msg_no_nx
    jmp boot_fail

bits 64
long_mode_low:
    ; Still running from the identity map; hop to the higher half.
    mov rax, long_mode_high
    jmp rax

; ---------------------------------------------------------------- data
section .boot.data progbits alloc noexec write
align 16
boot_gdt:
    dq 0
    dq 0x00209a0000000000               ; 0x08: 64-bit code, DPL 0
    dq 0x0000920000000000               ; 0x10: data
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt
align 8
boot_gdt_ptr64:
    dw boot_gdt_end - boot_gdt - 1
    dq boot_gdt + KERNEL_VMA

msg_no_multiboot: db "Zeroframe: not started by a multiboot2 loader (bad magic in EAX); halting.", 13, 10, 0
msg_no_cpuid:     db "Zeroframe: this CPU has no CPUID instruction; halting.", 13, 10, 0
msg_no_pae:       db "Zeroframe: this CPU does not support PAE (physical address extension); halting.", 13, 10, 0
msg_no_long_mode: db "Zeroframe: this CPU does not support 64-bit long mode; halting.", 13, 10, 0
msg_no_nx:        db "Zeroframe: this CPU does not support the NX (no-execute) bit; halting.", 13, 10, 0

section .boot.bss nobits alloc noexec write
align 16
boot_tmp_stack:
    resb 256
boot_tmp_stack_top:

; ---------------------------------------------------------------- 64-bit, higher half
section .text
bits 64
long_mode_high:
    ; Reload the GDT through its higher-half alias, then drop the identity map.
    mov rax, boot_gdt_ptr64
    lgdt [rax]
    mov rax, boot_pml4
    mov qword [rax], 0
    mov rax, cr3
    mov cr3, rax
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax

    mov rsp, boot_stack_top
    xor ebp, ebp                        ; terminates frame-pointer backtraces
    mov edi, edi                        ; upper halves are undefined after the mode switch
    mov esi, esi
    call kernel_main
.hang:
    cli
    hlt
    jmp .hang

section .bss
align 4096
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4096
boot_pt:        resb 4096 * BOOT_PT_COUNT

; The boot (and, until tasks exist, only) kernel stack.  The page below it is
; reserved as a guard: mapped at boot, unmapped by the VMM (vmm_init) so that
; a stack overflow faults instead of silently corrupting .bss.
align 4096
boot_stack_guard:  resb 4096         ; listed in .guard_pages below
boot_stack_bottom: resb 16384
boot_stack_top:

section .guard_pages
    dq boot_stack_guard
