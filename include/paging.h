/* x86-64 4-level paging: entry bits, index arithmetic, the virtual layout.
 * Facts from the Intel SDM vol. 3A ch. 4.5; names are Zeroframe's. */
#ifndef ZF_PAGING_H
#define ZF_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PTE_P (1ull << 0)    /* present */
#define PTE_W (1ull << 1)    /* writable */
#define PTE_U (1ull << 2)    /* user-accessible */
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)    /* accessed (set by the CPU) */
#define PTE_D (1ull << 6)    /* dirty (set by the CPU, leaf only) */
#define PTE_PS (1ull << 7)   /* page size: 1 GiB in a PDPT entry, 2 MiB in a PD entry */
#define PTE_G (1ull << 8)    /* global */
/* Software copy-on-write bit, in bit 9, which the CPU ignores.  It is never
 * set together with PTE_W: a CoW page is read-only until its first write
 * fault decides between zero-fill, copy and reuse. */
#define PTE_COW (1ull << 9)
/* Software bit 10: this leaf holds no reference to its frame(s) (a physical
 * mapping: device memory, the kernel image, frames someone else owns).
 * Every other leaf owns one reference per 4 KiB frame it covers, except
 * leaves onto the zero frame (see "Ownership" in vmm.h). */
#define PTE_NOREF (1ull << 10)
/* Software bit 11: write-protected for a userfaultfd pager (MODE_WP).  Never
 * set together with PTE_W: a write faults and waits for the pager to release
 * the page; a page that was writable carries PTE_COW as well, so the write
 * after the release decides copy or reuse as any CoW write does. */
#define PTE_UFFD_WP (1ull << 11)
/* A leaf of a region without rights (PROT_NONE).  x86 cannot say "present
 * but unreadable", so such a leaf is kept NOT present, and then no access,
 * the kernel's included, gets through; it still holds its frame and the
 * reference it owns, with its other bits, until the region gets rights
 * back.  The mark is bit 8, G's place, as Linux's _PAGE_PROTNONE: with P
 * clear the CPU ignores every bit, and region leaves are never global, so
 * G is free there, and "holds a frame" is one test of two low bits
 * (vmm_entry_held).  Only ever on a 4 KiB leaf, and only with P clear:
 * read it through vmm_entry_protnone (vmm.h), never alone. */
#define PTE_PROTNONE PTE_G
#define PTE_NX (1ull << 63)  /* no-execute (needs EFER.NXE) */

#define PTE_ADDR_MASK 0x000ffffffffff000ull  /* bits 12..51 */
#define PTE_ADDR_2M_MASK 0x000fffffffe00000ull
#define PTE_ADDR_1G_MASK 0x000fffffc0000000ull
/* Bits that must be zero in a leaf (MAXPHYADDR 52 assumed by the mask;
 * bits above the CPU's real MAXPHYADDR are reserved and fault). */
#define PTE_SOFT_MASK (PTE_COW | PTE_NOREF | PTE_UFFD_WP)
/* Flags a caller may ask for on a leaf mapping. */
#define PTE_LEAF_FLAGS (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

#define PAGE_4K (1ull << 12)
#define PAGE_2M (1ull << 21)
#define PAGE_1G (1ull << 30)

/* Level numbers: 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
static inline unsigned pt_index(uintptr_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static inline uint64_t level_page_size(int level)
{
    return 1ull << (12 + 9 * (level - 1));
}

/* Canonical: bits 63..47 all equal (48-bit virtual addresses). */
static inline int va_is_canonical(uintptr_t va)
{
    uint64_t top = (uint64_t)va >> 47;
    return top == 0 || top == 0x1ffff;
}

/* #PF error code bits. */
#define PF_ERR_P (1u << 0)    /* 0: not present, 1: protection violation */
#define PF_ERR_W (1u << 1)    /* write access */
#define PF_ERR_U (1u << 2)    /* user-mode access */
#define PF_ERR_RSVD (1u << 3) /* reserved bit set in a paging entry */
#define PF_ERR_I (1u << 4)    /* instruction fetch */
#define PF_ERR_PK (1u << 5)   /* protection key */
#define PF_ERR_SS (1u << 6)   /* shadow stack */

/* Virtual layout, by PML4 slot (see README, "Virtual memory map"). */
#define VA_SLOT_BASE(slot) ((uintptr_t)(0xffff000000000000ull | ((uint64_t)(slot) << 39)))
#define PML4_SLOT_KERNEL_ARENA 256 /* 0xffff800000000000: lazily backed kernel memory */
#define PML4_SLOT_FOREIGN 508      /* 0xfffffe0000000000: another space's tables */
#define PML4_SLOT_PMM 509          /* 0xfffffe8000000000: frame allocator metadata */
#define PML4_SLOT_SELF 510         /* 0xffff ff00 0000 0000: this space's tables */
#define PML4_SLOT_KERNEL 511       /* kernel image, boot window, kmap window */

/* The kernel half: PML4 slots 256..511, shared by every space. */
#define KERNEL_HALF_START 0xffff800000000000ull

#define KERNEL_ARENA_BASE VA_SLOT_BASE(PML4_SLOT_KERNEL_ARENA)
#define KERNEL_ARENA_SIZE (1ull << 39)
/* The kmem window: while frame pa is a slab of the kernel object allocator
 * (kmem.h) it appears at KMEM_BASE + pa; 32 slots cover 16 TiB (PMM_MAX_PHYS).
 * Only the slots that cover RAM get their PDPT, at vmm_init. */
#define PML4_SLOT_KMEM 288
#define KMEM_BASE VA_SLOT_BASE(PML4_SLOT_KMEM)
#define KMEM_SIZE (1ull << 44)
/* The temporary-mapping window: the top 2 MiB of the address space. */
#define KMAP_BASE 0xffffffffffe00000ull

#endif
