/* The reference model of the VMM model checker: what every page of every
 * address space should be (region kind, rights, contents as four tag words)
 * and what every memory object holds.  Shared by the operations
 * (fuzz_vmm.c) and the checks (check.c). */
#ifndef ZF_FUZZ_VMM_MODEL_H
#define ZF_FUZZ_VMM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "region.h"
#include "vmobj.h"

/* The windows the fuzzer works in, each across table boundaries so that
 * tables are made and pruned at every level:
 *   user   64 pages across the 512 GiB boundary (PML4 entries 0 and 1);
 *   arena  32 pages of the kernel space's arena across a 2 MiB boundary;
 *   kslot  8 pages in PML4 slot 300, page-level vmm_map (unmanaged, and a
 *          slot the kernel space only has after vmm_kernel_slot_reserve). */
#define NU 64
#define NA 32
#define NK 8
#define USER_BASE (0x8000000000ull - 32 * PAGE_SIZE)
#define ARENA_FUZZ (KERNEL_ARENA_BASE + 0x200000 - 16 * PAGE_SIZE)
#define KSLOT 300
#define KSLOT_BASE (VA_SLOT_BASE(KSLOT) + 0x200000 - 4 * PAGE_SIZE)

/* 2 MiB pages (vmm_map_2m, PTE_NOREF over physical address 0: all of the
 * machine's memory, the zero frame included, so never writable): one in
 * the kernel slot, one per user space in its user half outside any region. */
#define HUGE_KVA (VA_SLOT_BASE(KSLOT) + 0x400000)
#define HUGE_UVA 0x40000000ull
#define NSPACE 4 /* 0: the kernel space, 1..3: user spaces */
#define NOBJ 96
#define OBJ_MAXPAGES 16
#define NHANDLE 8
#define NUFFD 2   /* userfaultfd contexts */
#define NWAITER 8 /* accesses waiting for a pager */

/* The tag words of a page: four written positions, and one that must stay
 * zero in every page. */
#define NPOS 4
static const unsigned tag_pos[NPOS + 1] = { 0, 137 * 8, 300 * 8, 511 * 8, 77 * 8 };

enum mkind { MK_NONE, MK_GUARD, MK_PRIV, MK_SHARED };
/* A private page: never accessed since mapped or discarded (UNTOUCHED: no
 * entry), mapped read-only onto the object's page (VIEW: sees the object's
 * later writes), onto the zero frame (ZERO: read of a hole), or its own. */
enum mstate { MS_UNTOUCHED, MS_VIEW, MS_ZERO, MS_OWN };

struct mpage {
    uint8_t kind, prot, pst;
    uint8_t obj;   /* model object */
    /* userfaultfd: the context the page's region is registered with (0:
     * none, else NUFFD's 1..), its REGION_UFFD_* mode, and whether the
     * page's entry carries PTE_UFFD_WP (a private page that is present). */
    uint8_t uffd, umode;
    bool wp;
    uint32_t idx;  /* page of the object */
    uint64_t w[NPOS];
};

struct mobj {
    struct vmobj *o;
    uint32_t id;       /* the object's id (o may be freed and reused) */
    bool paged;
    bool phys;         /* VMOBJ_PHYS over frames the allocator does not manage */
    uint32_t phys_first; /* its first frame number */
    uint32_t npages;
    uint32_t failmask; /* paged: pages the pager refuses */
    uint32_t latermask; /* paged: pages the pager answers "later" for (VMOBJ_LATER) */
    bool cached[OBJ_MAXPAGES];
    uint64_t w[OBJ_MAXPAGES][NPOS];
};

struct hpage {
    bool mapped;
    uint64_t flags; /* PTE_W/NX/G/U/NOREF as mapped or protected */
};

struct mspace {
    struct vmm_space *s; /* NULL: no space in this slot */
    struct mpage up[NU];
    struct hpage huge;   /* at HUGE_UVA */
};

struct kpage {
    bool mapped;
    paddr_t pa;
    uint64_t flags;
    uint64_t w[NPOS];
};

/* An access that got VMM_FAULT_WAIT: the thread blocks until the pager
 * answers, then retries (op "wake"); kept as the operation that made it. */
struct waiter {
    bool used;
    int sp;          /* the space it faulted in */
    uint8_t op, a[5];
};

/* Frames past the allocator's, for physical objects (each used by one
 * object per machine, so that the model's words are the frame's). */
#define NPHYS 4

struct model {
    uint64_t frames;     /* the allocator's frames, then NPHYS unmanaged ones */
    uint8_t phys_used;   /* unmanaged frames an object was made over */
    struct mspace sp[NSPACE];
    struct mpage ap[NA]; /* the arena: the kernel space's */
    struct kpage kp[NK];
    bool kslot;          /* the kernel space has PML4 slot KSLOT */
    struct hpage khuge;  /* at HUGE_KVA */
    struct mobj obj[NOBJ];
    unsigned nobj;
    int handle[NHANDLE]; /* the fuzzer's own object references: model object or -1 */
    bool inject;         /* allocator fault injection armed */
    struct waiter wq[NWAITER];
    int live;
};

extern struct model M;

/* The userfaultfd context @c (1..NUFFD, 0: none) of space @sp. */
struct uffd_ctx *uffd_ctx_of(int sp, unsigned c);

/* The expected contents of a page. */
void model_content(const struct mpage *p, uint64_t out[NPOS]);

/* check.c: every check after an operation; false with *why set. */
bool check_all(char *why, size_t n);
/* A hash of everything a failed operation must leave unchanged: page
 * tables, regions, reference counts, free count, page caches. */
uint64_t state_hash(void);
/* Only tables and regions: a fault that runs out of memory may leave a
 * page it read in or zero-filled in the object's page cache. */
uint64_t state_hash_tables(void);

#endif
