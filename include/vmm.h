/* Virtual memory: address spaces, the page-table walker, map / unmap /
 * protect / translate, lazily zero-filled memory, copy-on-write sharing and
 * the page-fault decision logic.
 *
 * All functions work on any address space, active or not.  They return
 * small status codes and never panic; the caller decides policy.
 *
 * Order of checks, the same in every operation: the address (canonical,
 * then outside the reserved windows -- page tables, allocator metadata,
 * kmap -- then aligned), then the arguments (flags, physical address), then
 * the tables (not mapped / already mapped / huge page in the way / kernel
 * slot; for unmap and protect, alignment to a huge page's own size, which
 * only the tables tell).  vmm_translate takes any byte address but refuses
 * the reserved windows too.
 *
 * Ownership, for 4 KiB and 2 MiB leaves alike: a leaf owns one reference to
 * every 4 KiB frame it covers.  vmm_map / vmm_map_2m take over references
 * the caller holds (pmm_alloc / pmm_alloc_contig give one per frame);
 * vmm_space_destroy and region unmaps drop them; vmm_unmap hands them back.
 * Two kinds of leaves own nothing: leaves onto the zero frame (never
 * counted), and leaves with PTE_NOREF, for frames the VMM must not count
 * (device memory, the kernel image, frames owned elsewhere).  A leaf of a
 * region without rights is kept not present (PTE_PROTNONE) and owns what
 * it owned before (vmm_entry_held).  The page-level calls (vmm_unmap,
 * vmm_protect, vmm_translate) see present leaves only; vmm_map refuses to
 * replace a held one (VMM_ERR_EXISTS).
 *
 * The kernel half is exactly the PML4 entries the kernel space has (set up
 * by vmm_init: the arena, slot 511, the windows); every space holds copies
 * of them, so everything below them is shared.  A mapping that would need
 * a new kernel-half PML4 entry is refused with VMM_ERR_KERNEL_SLOT. */
#ifndef ZF_VMM_H
#define ZF_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avl.h"
#include "paging.h"
#include "pmm.h"
#include "region_index.h"
#include "spinlock.h"

enum vmm_status {
    VMM_OK = 0,
    VMM_ERR_UNALIGNED,     /* address not aligned to the page size */
    VMM_ERR_NONCANONICAL,  /* virtual address is not canonical */
    VMM_ERR_RESERVED_VA,   /* inside the page-table or temporary-mapping windows */
    VMM_ERR_EXISTS,        /* already mapped */
    VMM_ERR_NOT_MAPPED,    /* nothing mapped there */
    VMM_ERR_HUGE,          /* a 2 MiB / 1 GiB page is in the way */
    VMM_ERR_NOMEM,         /* no frame for a page table (nothing was changed) */
    VMM_ERR_BAD_FLAGS,     /* flags outside PTE_LEAF_FLAGS, or CoW with W */
    VMM_ERR_ZERO_FRAME,    /* refused: the reserved zero frame may never be writable */
    VMM_ERR_RANGE,         /* zero pages, or a range that wraps or leaves mappable space */
    VMM_ERR_REFCOUNT,      /* a frame's reference count would overflow */
    VMM_ERR_OVERLAP,       /* a fixed region request overlaps an existing region */
    VMM_ERR_NO_REGION,     /* part of the range is covered by no region */
    VMM_ERR_GUARD,         /* the range holds a guard region, which has no rights to change */
    VMM_ERR_NO_SPACE,      /* no gap large enough for the region */
    VMM_ERR_NOT_LIVE,      /* neither space is the live one */
    VMM_ERR_KERNEL_SLOT,   /* kernel half, in a PML4 slot the kernel space does not have */
};

const char *vmm_status_str(enum vmm_status st);

struct region;

/* An address space: its page tables and the regions that say what they
 * should hold (region.h).  Lock point: @lock covers both. */
struct vmm_space {
    paddr_t pml4; /* physical address of the top-level table */
    struct avl_tree regions;
    struct region_index index; /* the same regions, for lookup (region_index.h) */
    struct region *hint;   /* the region of the last lookup */
    uint64_t nregions;
    struct spinlock lock;
    struct vmm_space *next_space, *prev_space; /* every live space */
    bool allocated;        /* by vmm_space_new: destroy frees it too */
};

/* Every space between create and destroy (the consistency checker). */
struct vmm_space *vmm_space_first(void);

/* The kernel's address space (the boot PML4, refined by vmm_init). */
extern struct vmm_space vmm_kernel_space;

/* ---- the walker --------------------------------------------------------
 * One walk from the PML4 down towards @target_level (1: 4 KiB, 2: 2 MiB).
 * It stops early at a huge page (PS set) or at a non-present entry. */
enum vmm_walk_end {
    WALK_LEAF,        /* reached target_level; *entry may or may not be present */
    WALK_HUGE,        /* stopped at a present PS entry above target_level */
    WALK_NOT_PRESENT, /* stopped at a non-present entry above target_level */
};

struct vmm_walk {
    uintptr_t va;
    enum vmm_walk_end end;
    int level;             /* level of *entry */
    uint64_t *entry;       /* the entry where the walk stopped */
    uint64_t *slot[5];     /* the entry visited at each level, [4] .. [level] */
    uint64_t seen[5];      /* its value when visited */
    uint64_t eff;          /* effective rights: PTE_W/PTE_U AND-ed, PTE_NX OR-ed over
                            * the present entries visited */
    unsigned created;      /* internal: bit L set when a level-L entry was filled */
    /* The fault path's walk went straight to the leaf through its cached
     * level-1 table: level, entry, end and eff are set (eff only as far
     * as a present leaf needs), seen[] is not (the levels above were
     * present tables; a reported fault is walked again in full). */
    bool leaf_only;
};

/* Walk without changing anything. */
void vmm_walk(const struct vmm_space *s, uintptr_t va, int target_level, struct vmm_walk *w);

/* Whether entry @e holds what it points to: present, or a leaf kept not
 * present under a region without rights (PTE_PROTNONE), which still holds
 * its frame and reference.  Whatever counts, copies or drops leaves asks
 * this, not PTE_P. */
static inline bool vmm_entry_held(uint64_t e)
{
    return e & (PTE_P | PTE_PROTNONE);
}

/* Whether @e is such a held, not-present leaf (PTE_PROTNONE is G's bit,
 * which means "global" in a present entry). */
static inline bool vmm_entry_protnone(uint64_t e)
{
    return (e & (PTE_P | PTE_PROTNONE)) == PTE_PROTNONE;
}

/* Enumerate the mappings in [start, last] (inclusive), skipping the
 * page-table windows: @leaf gets every leaf that holds a frame (present or
 * PTE_PROTNONE; 4 KiB or huge, with its level); @table_done, if set, every
 * lower-level table after its contents (for teardown).  Both may modify the
 * entry they are given. */
struct vmm_visitor {
    void (*leaf)(void *ctx, uintptr_t va, uint64_t *entry, int level);
    void (*table_done)(void *ctx, uintptr_t va, uint64_t *entry, int level);
    void *ctx;
};
void vmm_visit(const struct vmm_space *s, uintptr_t start, uintptr_t last,
               const struct vmm_visitor *v);

/* ---- address spaces ------------------------------------------------------
 * A new space shares the kernel half (PML4 entries 256..511) with the
 * kernel space; its user half starts empty. */
enum vmm_status vmm_space_create(struct vmm_space *s);
/* The same in memory the VMM allocates (and vmm_space_destroy frees): for
 * every space whose owner may vanish without destroying it (a process, a
 * self-test that fails half-way), so that the list of live spaces never
 * points into a dead stack.  NULL when out of memory. */
struct vmm_space *vmm_space_new(void);
/* A space with an empty kernel half (host tests build their "kernel space"
 * with it; the real kernel space is the boot PML4, adopted by vmm_init). */
enum vmm_status vmm_space_create_root(struct vmm_space *s);
/* Give the kernel space PML4 entry @slot (256..511, not a window) its own
 * PDPT, making the slot part of the shared kernel half.  Only spaces created
 * afterwards see it, so vmm_init does it before any other space exists.
 * VMM_OK if the slot is already there. */
enum vmm_status vmm_kernel_slot_reserve(unsigned slot);
/* Unmap every region and the rest of the user half (dropping the
 * references its leaves own) and free every table and the PML4.  The kernel
 * half is shared and left alone. */
void vmm_space_destroy(struct vmm_space *s);

/* ---- mapping ------------------------------------------------------------ */
/* Map one 4 KiB page (or 2 MiB page) at @va to @pa with @flags (a subset of
 * PTE_LEAF_FLAGS, plus PTE_NOREF for a mapping that owns nothing; PTE_P is
 * implied; PTE_G only in the kernel half).  Without PTE_NOREF the mapping
 * takes over one reference per frame from the caller (none for the zero
 * frame; a 2 MiB page covering the zero frame must be PTE_NOREF).
 * Intermediate tables are allocated as needed; on failure none stays behind
 * and the references stay with the caller. */
enum vmm_status vmm_map(struct vmm_space *s, uintptr_t va, paddr_t pa, uint64_t flags);
enum vmm_status vmm_map_2m(struct vmm_space *s, uintptr_t va, paddr_t pa, uint64_t flags);
/* Unmap the page at @va (4 KiB or huge, @va aligned to its size).
 * *@pa_out gets the first frame of an owning leaf, whose references (one
 * per frame) now belong to the caller, or 0 for a leaf that owned nothing
 * (the zero frame, PTE_NOREF).  Page tables that become empty are freed. */
enum vmm_status vmm_unmap(struct vmm_space *s, uintptr_t va, paddr_t *pa_out);
/* Give the page at @va exactly the rights @flags (PTE_LEAF_FLAGS, PTE_COW),
 * keeping its frame, ownership and A/D bits.  Nothing is inferred: shared
 * frames stay writable if asked.  Refused: PTE_COW with PTE_W, PTE_COW on a
 * huge or PTE_NOREF page (BAD_FLAGS), PTE_G in the user half (BAD_FLAGS),
 * PTE_W on (a huge page covering) the zero frame (ZERO_FRAME). */
enum vmm_status vmm_protect(struct vmm_space *s, uintptr_t va, uint64_t flags);
/* VA -> PA (byte-exact, huge pages included), leaf flags and level. */
enum vmm_status vmm_translate(const struct vmm_space *s, uintptr_t va, paddr_t *pa,
                              uint64_t *flags, int *level);

/* ---- lazy memory and copy-on-write --------------------------------------- */
/* The reserved all-zero frame (valid after vmm_zero_frame_init). */
extern paddr_t vmm_zero_frame;
enum vmm_status vmm_zero_frame_init(void);
/* True while every byte of the zero frame is still zero (read through its
 * own window page: no temporary-mapping slot needed, never a false alarm). */
bool vmm_zero_frame_intact(void);

/* ---- page faults ------------------------------------------------------- */
enum vmm_fault_result {
    VMM_FAULT_RESOLVED = 0, /* retry the instruction (0: #PF's entry tests it) */
    VMM_FAULT_FATAL,    /* an illegal access: see reason */
    VMM_FAULT_OOM,      /* legal, but no frame to resolve it; nothing changed */
    VMM_FAULT_WAIT,     /* legal; the pager will provide the page later: block the
                         * faulting thread on (wait_obj, wait_index), or on the
                         * user-space pager wait_uffd, then retry */
};

enum vmm_fault_reason {
    FAULT_NONE = 0,
    FAULT_ZERO_FILL,      /* resolved: first write to lazy memory */
    FAULT_COW_COPY,       /* resolved: write to a shared CoW page, copied */
    FAULT_COW_REUSE,      /* resolved: write to a CoW page we alone hold */
    FAULT_SPURIOUS,       /* resolved: the entry already allowed the access */
    FAULT_NULL_DEREF,
    FAULT_NONCANONICAL,
    FAULT_NOT_PRESENT,
    FAULT_WRITE_READONLY,
    FAULT_EXEC_NX,
    FAULT_RESERVED_BIT,
    FAULT_USER_SUPERVISOR,
    FAULT_STACK_GUARD,
    FAULT_ZERO_FRAME_WRITE,
    FAULT_OOM,
    FAULT_KMAP_MISUSE,    /* internal error: temporary mappings exhausted */
    FAULT_MAP_ZERO,       /* resolved: read of untouched anonymous memory: zero frame mapped */
    FAULT_MAP_PAGE,       /* resolved: an object's page mapped */
    FAULT_PAGE_IN,        /* resolved: the pager provided the page, then mapped */
    FAULT_PRIVATE_COPY,   /* resolved: write to a private region: own copy of the object's page */
    FAULT_NO_REGION,
    FAULT_GUARD_REGION,
    FAULT_REGION_NO_READ,
    FAULT_REGION_NO_WRITE,
    FAULT_REGION_NO_EXEC,
    FAULT_REGION_NO_USER,
    FAULT_PAGER_FAILED,
    FAULT_PAGER_WAIT,     /* the pager answered "later" */
    FAULT_ENTRY_MISMATCH, /* a present entry disagrees with its region: a VMM bug */
    FAULT_REFCOUNT,       /* a frame's reference count would overflow */
    FAULT_UFFD_MISSING,   /* wait: a user-space pager (userfaultfd) provides this page */
    FAULT_UFFD_WP,        /* wait: a user-space pager must release this write-protected page */
};

struct vmobj;
struct uffd_ctx;

struct vmm_fault {
    uintptr_t va;
    uint64_t error;            /* #PF error code */
    enum vmm_fault_result result;
    enum vmm_fault_reason reason;
    struct vmm_walk walk;      /* the walk the decision was made on */
    /* The region the decision was made on (a copy: the region may change
     * after the fault), when one holds the address and the fault was not
     * resolved (see region_skipped). */
    bool has_region;
    /* The region fields are left unset: the fault was resolved (a CoW
     * write decided from its entry alone looks no region up at all).  Its
     * region is the one holding va; only reported and waiting faults
     * record it (has_region). */
    bool region_skipped;
    uintptr_t region_start, region_end;
    unsigned region_prot, region_flags;
    uint32_t object_id;        /* 0: none */
    int object_kind;           /* enum vmobj_kind */
    const char *region_name;
    uint64_t region_offset;    /* the object's page at region_start */
    uint64_t page_index;       /* page of the object at va */
    const char *pager_why;     /* FAULT_PAGER_FAILED: the pager's reason */
    struct vmobj *wait_obj;    /* VMM_FAULT_WAIT: what to wait for */
    uint64_t wait_index;
    struct uffd_ctx *wait_uffd; /* VMM_FAULT_WAIT: or the userfaultfd whose pager decides */
};

/* Decide and, where legal, resolve a page fault at @va with #PF @error in
 * @s (the live space when the CPU faulted).  Fills *@f (always);
 * vmm_fault_handle (below) also counts the fault, vmm_fault_resolve does
 * not (region_populate). */
enum vmm_fault_result vmm_fault_resolve(struct vmm_space *s, uintptr_t va, uint64_t error,
                                        struct vmm_fault *f);

const char *vmm_fault_reason_str(enum vmm_fault_reason r);
/* The reason with its particulars, as reports print it: for a pager's
 * failure "pager failed to provide page N of object #X: <the pager's
 * reason>"; otherwise vmm_fault_reason_str().  Returns @buf. */
const char *vmm_fault_reason_text(const struct vmm_fault *f, char *buf, size_t n);

/* Kernel only (kernel/arch/x86_64/page_fault.c): route #PF to
 * vmm_fault_handle; the last fault it could not resolve (for probes and
 * tests: the reason a probe's access was refused). */
void vmm_fault_entry_install(void);
const struct vmm_fault *vmm_fault_last_unresolved(void);

/* Kernel only: bring-up (kernel/mm/vmm_init.c) and CR3 (arch/x86_64/mmu.c). */
void vmm_init(void);
void vmm_space_activate(struct vmm_space *s);
struct vmm_space *vmm_space_active(void);

struct vmm_fault_counters {
    uint64_t faults, zero_fills, copies, reuses, spurious, fatal, oom;
    uint64_t zero_maps;   /* reads of untouched anonymous memory (zero frame mapped) */
    uint64_t page_maps;   /* an object's page mapped (shared, or read of a private region) */
    uint64_t page_ins;    /* pages the pager provided */
    uint64_t waits;       /* faults that must wait for a pager */
    uint64_t uffd_waits;  /* of those, waits for a user-space pager (userfaultfd) */
};
extern struct vmm_fault_counters vmm_counters;
static inline enum vmm_fault_result vmm_fault_handle(struct vmm_space *s, uintptr_t va,
                                                     uint64_t error, struct vmm_fault *f)
{
    vmm_counters.faults++;
    return vmm_fault_resolve(s, va, error, f);
}
/* A copy of the counters.  Use this after an access that may fault: the
 * fault handler changes them behind the compiler's back, and the call keeps
 * the compiler from reusing a value it read before the access. */
struct vmm_fault_counters vmm_counters_get(void);

/* Print the report of an unresolved fault: access, reason, the walk with
 * each level's index, entry and decoded flags. */
void vmm_fault_report(const struct vmm_fault *f);
/* "P W U NX COW ..." for an entry; returns @buf. */
const char *vmm_pte_flags_str(uint64_t pte, int level, char *buf, size_t n);

#endif
