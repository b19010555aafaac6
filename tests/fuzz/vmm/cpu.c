/* The simulated CPU: one core, 4-level paging with CR0.WP, EFER.NXE and
 * CR4.PGE on, no PCIDs, no SMEP/SMAP (as Zeroframe runs).  Architectural
 * facts (Intel SDM vol. 3A 4.10):
 *   - the TLB caches translations of the live space, tagged with it, and
 *     global ones (G set in the leaf), which survive CR3 loads;
 *   - paging-structure caches hold upper-level entries (PML4E, PDPTE, PDE)
 *     with the rights accumulated so far, and a walk may start from them;
 *   - invlpg drops the address's TLB entries and every paging-structure
 *     cache entry (4.10.4.1); a CR3 load drops every non-global entry and
 *     the paging-structure caches; a #PF drops the faulting address's
 *     entries (4.10.4.2);
 *   - a fault may be raised from a cached entry without a walk, so stale
 *     entries that allow less than the tables cause spurious faults;
 *   - the CPU sets accessed bits on the entries it walks and the dirty bit
 *     on a leaf it writes through.
 * Nothing else ever forgets a translation: eviction happens only when a
 * table is full (round robin), the one freedom hardware has on top. */
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "mm_cpu.h"
#include "sim.h"

#define TLB_SIZE 48
#define PSC_SIZE 8 /* per level */

struct tlb_entry {
    bool valid, global, dirty;
    uint64_t vpn;      /* va >> 12 */
    paddr_t frame;     /* 4 KiB frame (a huge page is cached page by page) */
    uint64_t page_mask; /* ~(size - 1) of the page it came from: invlpg of any
                         * address in a huge page drops all of it */
    uint64_t rights;   /* PTE_W / PTE_U allowed, PTE_NX if no fetch */
    paddr_t space;     /* CR3 at fill */
};

struct psc_entry {
    bool valid;
    uint64_t prefix;   /* va >> (12 + 9 * (level - 1)) */
    paddr_t table;     /* the next level's table */
    uint64_t rights;
    paddr_t space;
};

static struct tlb_entry tlb[TLB_SIZE];
static struct psc_entry psc[5][PSC_SIZE]; /* [2] PDE, [3] PDPTE, [4] PML4E */
static unsigned tlb_next, psc_next[5];
static paddr_t cr3;
static uint64_t hits;

static void psc_flush(void)
{
    memset(psc, 0, sizeof(psc));
}

static void cpu_invlpg(uintptr_t va)
{
    for (unsigned i = 0; i < TLB_SIZE; i++)
        if (tlb[i].valid && ((tlb[i].vpn << 12 ^ va) & tlb[i].page_mask & ((1ull << 48) - 1)) == 0)
            tlb[i].valid = false;
    psc_flush();
}

void cpu_reset(struct vmm_space *s)
{
    memset(tlb, 0, sizeof(tlb));
    psc_flush();
    tlb_next = 0;
    memset(psc_next, 0, sizeof(psc_next));
    hits = 0;
    sim_tlb_invlpg = cpu_invlpg;
    sim_live_tracking = true;
    cr3 = s->pml4;
    sim_mm_cpu.active_pml4 = s->pml4;
    sim_mm_cpu.walk.space = NULL; /* as vmm_space_activate */
    sim_mm_cpu.active_space = s;
}

void cpu_load_cr3(struct vmm_space *s)
{
    for (unsigned i = 0; i < TLB_SIZE; i++)
        if (!tlb[i].global)
            tlb[i].valid = false;
    psc_flush();
    cr3 = s->pml4;
    sim_mm_cpu.active_pml4 = s->pml4;
    sim_mm_cpu.walk.space = NULL; /* as vmm_space_activate */
    sim_mm_cpu.active_space = s;
}

struct vmm_space *cpu_live(void)
{
    return sim_mm_cpu.active_space;
}

uint64_t cpu_tlb_hits(void)
{
    return hits;
}

static uint64_t *entry_at(paddr_t table, uintptr_t va, int level)
{
    return (uint64_t *)sim_phys(table) + pt_index(va, level);
}

struct hw_walk {
    bool present;      /* every entry present, no reserved bit: a translation */
    bool rsvd;
    int level;         /* where it stopped */
    uint64_t *entry;
    paddr_t frame;     /* 4 KiB frame of va */
    uint64_t rights;   /* accumulated: PTE_W, PTE_U AND-ed, PTE_NX OR-ed */
    bool global;
};

/* Walk from CR3 down to @stop (1: the leaf); with @cpu, as the processor
 * does: start from the deepest paging-structure cache hit, fill the caches
 * and set accessed bits.  Without, a pure look at the tables (the check). */
static void walk(uintptr_t va, int stop, bool cpu, struct hw_walk *w)
{
    paddr_t table = cr3;
    int level = 4;
    uint64_t allw = PTE_W | PTE_U, nx = 0;
    if (cpu) {
        for (int l = 2; l <= 4 && level == 4; l++) {
            uint64_t prefix = va >> (12 + 9 * (l - 1));
            for (unsigned i = 0; i < PSC_SIZE; i++) {
                struct psc_entry *p = &psc[l][i];
                if (p->valid && p->prefix == prefix && p->space == cr3) {
                    table = p->table;
                    level = l - 1;
                    allw = p->rights & (PTE_W | PTE_U);
                    nx = p->rights & PTE_NX;
                    break;
                }
            }
        }
    }
    memset(w, 0, sizeof(*w));
    for (;; level--) {
        uint64_t *e = entry_at(table, va, level);
        uint64_t v = *e;
        w->level = level;
        w->entry = e;
        if (!(v & PTE_P))
            return;
        /* PS is reserved in a PML4 entry; MAXPHYADDR is 52 (paging.h). */
        if (level == 4 && (v & PTE_PS)) {
            w->rsvd = true;
            return;
        }
        allw &= v;
        nx |= v & PTE_NX;
        if (cpu && !(v & PTE_A))
            *e = v | PTE_A;
        bool leaf = level == 1 || (v & PTE_PS);
        if (leaf || level == stop) {
            uint64_t size = level_page_size(level);
            w->present = true;
            w->rights = (allw & (PTE_W | PTE_U)) | nx;
            w->frame = ((v & PTE_ADDR_MASK) & ~(size - 1)) | (va & (size - 1) & ~0xfffull);
            w->global = leaf && (v & PTE_G);
            if (!leaf)
                w->frame = v & PTE_ADDR_MASK;
            return;
        }
        if (cpu) {
            struct psc_entry *p = &psc[level][psc_next[level]++ % PSC_SIZE];
            *p = (struct psc_entry){ .valid = true, .prefix = va >> (12 + 9 * (level - 1)),
                                     .table = v & PTE_ADDR_MASK,
                                     .rights = (allw & (PTE_W | PTE_U)) | nx, .space = cr3 };
        }
        table = v & PTE_ADDR_MASK;
    }
}

static bool rights_allow(uint64_t rights, enum cpu_access kind, bool user)
{
    if (user && !(rights & PTE_U))
        return false;
    if (kind == CPU_WRITE && !(rights & PTE_W))
        return false; /* CR0.WP: supervisor writes obey W too */
    if (kind == CPU_FETCH && (rights & PTE_NX))
        return false;
    return true;
}

static uint64_t error_code(bool present, bool rsvd, enum cpu_access kind, bool user)
{
    return (present ? PF_ERR_P : 0) | (rsvd ? PF_ERR_RSVD | PF_ERR_P : 0) |
           (kind == CPU_WRITE ? PF_ERR_W : 0) | (user ? PF_ERR_U : 0) |
           (kind == CPU_FETCH ? PF_ERR_I : 0);
}

static struct tlb_entry *tlb_find(uint64_t vpn)
{
    for (unsigned i = 0; i < TLB_SIZE; i++)
        if (tlb[i].valid && tlb[i].vpn == vpn && (tlb[i].global || tlb[i].space == cr3))
            return &tlb[i];
    return NULL;
}

static void data_access(paddr_t frame, uintptr_t va, enum cpu_access kind, uint64_t *val)
{
    uint8_t *p = (uint8_t *)sim_phys(frame) + (va & 0xfff);
    if (kind == CPU_WRITE)
        memcpy(p, val, 8);
    else
        memcpy(val, p, 8);
}

void cpu_access(uintptr_t va, enum cpu_access kind, bool user, uint64_t *val,
                struct cpu_result *r)
{
    memset(r, 0, sizeof(*r));
    for (unsigned tries = 0; tries < 6; tries++) {
        uint64_t err;
        struct tlb_entry *t = tlb_find(va >> 12);
        if (t && rights_allow(t->rights, kind, user) && (kind != CPU_WRITE || t->dirty)) {
            hits++;
            data_access(t->frame, va, kind, val);
            r->done = true;
            return;
        }
        if (t && !rights_allow(t->rights, kind, user)) {
            err = error_code(true, false, kind, user); /* from the cached entry */
        } else {
            struct hw_walk w;
            walk(va, 1, true, &w);
            if (w.present && rights_allow(w.rights, kind, user)) {
                if (kind == CPU_WRITE)
                    *w.entry |= PTE_D;
                if (t) { /* a clean entry written through: refreshed */
                    t->valid = false;
                }
                struct tlb_entry *n = &tlb[tlb_next++ % TLB_SIZE];
                *n = (struct tlb_entry){ .valid = true, .global = w.global,
                                         .dirty = kind == CPU_WRITE || (*w.entry & PTE_D),
                                         .vpn = va >> 12, .frame = w.frame, .rights = w.rights,
                                         .page_mask = ~(level_page_size(w.level) - 1),
                                         .space = cr3 };
                data_access(w.frame, va, kind, val);
                r->done = true;
                return;
            }
            err = error_code(w.present, w.rsvd, kind, user);
        }
        cpu_invlpg(va); /* a #PF drops what it would have used */
        r->faults++;
        r->last_error = err;
        struct vmm_fault f;
        enum vmm_fault_result res = vmm_fault_handle(cpu_live(), va, err, &f);
        r->result = res;
        r->reason = f.reason;
        /* What it waits on: set only when it waits. */
        bool waits = res == VMM_FAULT_WAIT;
        r->wait_obj = waits ? f.wait_obj : NULL;
        r->wait_index = waits ? f.wait_index : 0;
        r->wait_uffd = waits ? f.wait_uffd : NULL;
        if (res != VMM_FAULT_RESOLVED) {
            /* As the kernel's #PF entry: the report must name the reason. */
            char want[240], why[200];
            sim_console_len = 0;
            sim_console[0] = '\0';
            vmm_fault_report(&f);
            snprintf(want, sizeof(want), "reason: %s\n", vmm_fault_reason_text(&f, why, sizeof(why)));
            if (!strstr(sim_console, want))
                snprintf(r->why, sizeof(r->why), "the fault report lacks \"%s\"", want);
            return;
        }
    }
    snprintf(r->why, sizeof(r->why), "%#lx: still faulting after %u resolved faults (last error %#llx, %s)",
             (unsigned long)va, r->faults, (unsigned long long)r->last_error,
             vmm_fault_reason_str(r->reason));
}

static bool more(uint64_t cached, uint64_t now)
{
    return ((cached & PTE_W) && !(now & PTE_W)) || ((cached & PTE_U) && !(now & PTE_U)) ||
           (!(cached & PTE_NX) && (now & PTE_NX));
}

bool cpu_tlb_check(char *why, size_t n)
{
    for (unsigned i = 0; i < TLB_SIZE; i++) {
        const struct tlb_entry *t = &tlb[i];
        if (!t->valid)
            continue;
        uintptr_t va = (uintptr_t)((int64_t)(t->vpn << 28) >> 16);
        if (!t->global && t->space != cr3) {
            snprintf(why, n, "TLB entry for %#lx of a space not in CR3", (unsigned long)va);
            return false;
        }
        struct hw_walk w;
        walk(va, 1, false, &w);
        if (!w.present || w.frame != t->frame || more(t->rights, w.rights)) {
            snprintf(why, n,
                     "stale TLB entry: %#lx -> frame %#llx rights %s%s%s%s, but the tables now %s "
                     "(frame %#llx rights %s%s%s)",
                     (unsigned long)va, (unsigned long long)t->frame, t->rights & PTE_W ? "W" : "R",
                     t->rights & PTE_U ? "U" : "", t->rights & PTE_NX ? "" : "X",
                     t->global ? " global" : "", w.present ? "map it" : "map nothing",
                     (unsigned long long)w.frame, w.rights & PTE_W ? "W" : "R",
                     w.rights & PTE_U ? "U" : "", w.rights & PTE_NX ? "" : "X");
            return false;
        }
    }
    for (int l = 2; l <= 4; l++) {
        for (unsigned i = 0; i < PSC_SIZE; i++) {
            const struct psc_entry *p = &psc[l][i];
            if (!p->valid)
                continue;
            uintptr_t va = (uintptr_t)((int64_t)(p->prefix << (12 + 9 * (l - 1) + 16)) >> 16);
            struct hw_walk w;
            walk(va, l, false, &w);
            if (p->space != cr3 || !w.present || w.level != l || w.frame != p->table ||
                more(p->rights, w.rights)) {
                snprintf(why, n,
                         "stale paging-structure cache entry: level %d for %#lx -> table %#llx, "
                         "but the tables now %s",
                         l, (unsigned long)va, (unsigned long long)p->table,
                         w.present && w.level == l ? "point elsewhere or allow less" : "have no such table");
                return false;
            }
        }
    }
    return true;
}
