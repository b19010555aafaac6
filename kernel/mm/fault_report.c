/* Human-readable account of a page fault the VMM did not resolve: what was
 * accessed and how, why it is illegal, and the page-table walk. */
#include "kprintf.h"
#include "region.h"
#include "vmm.h"
#include "vmobj.h"

static const char *const level_name[5] = { "", "PT  ", "PD  ", "PDPT", "PML4" };

const char *vmm_pte_flags_str(uint64_t e, int level, char *buf, size_t n)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } bits[] = {
        { PTE_P, "P" },     { PTE_W, "W" },     { PTE_U, "U" },   { PTE_PWT, "PWT" },
        { PTE_PCD, "PCD" }, { PTE_A, "A" },     { PTE_D, "D" },   { PTE_PS, "PS" },
        { PTE_G, "G" },     { PTE_COW, "COW" }, { PTE_UFFD_WP, "UFFD_WP" }, { PTE_NX, "NX" },
    };
    size_t len = 0;
    buf[0] = '\0';
    if (!(e & PTE_P)) {
        ksnprintf(buf, n, e & PTE_PROTNONE ? "not present, PROTNONE (frame held)"
                          : e ? "not present (stray bits)" : "not present");
        return buf;
    }
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        /* Bit 7 is PAT, not PS, in a 4 KiB leaf. */
        if (bits[i].bit == PTE_PS && level == 1)
            continue;
        if ((e & bits[i].bit) && len < n)
            len += (size_t)ksnprintf(buf + len, n - len, "%s%s", len ? " " : "", bits[i].name);
    }
    return buf;
}

static const char *access_str(uint64_t err)
{
    if (err & PF_ERR_I)
        return "instruction fetch";
    return err & PF_ERR_W ? "write" : "read";
}

const char *vmm_fault_reason_text(const struct vmm_fault *f, char *buf, size_t n)
{
    if (f->reason == FAULT_PAGER_FAILED)
        ksnprintf(buf, n, "pager failed to provide page %llu of object #%u: %s",
                  (unsigned long long)f->page_index, f->object_id,
                  f->pager_why ? f->pager_why : "no reason given");
    else if (f->reason == FAULT_PAGER_WAIT)
        ksnprintf(buf, n, "waiting for the pager to provide page %llu of object #%u",
                  (unsigned long long)f->page_index, f->object_id);
    else
        ksnprintf(buf, n, "%s", vmm_fault_reason_str(f->reason));
    return buf;
}

void vmm_fault_report(const struct vmm_fault *f)
{
    char flags[64], why[160];
    kprintf("Page fault: %s %s at %#lx (%s)\n", f->error & PF_ERR_U ? "user" : "kernel",
            access_str(f->error), (unsigned long)f->va,
            f->error & PF_ERR_P ? "protection violation on a present page" : "page not present");
    kprintf("  reason: %s\n", vmm_fault_reason_text(f, why, sizeof(why)));
    if (f->has_region) {
        char p[24];
        region_prot_str(f->region_prot, f->region_flags, p, sizeof(p));
        kprintf("  region: [%#lx, %#lx) %s", (unsigned long)f->region_start,
                (unsigned long)f->region_end, p);
        if (f->object_id)
            kprintf(", %s object #%u from page %llu (fault in page %llu)",
                    vmobj_kind_str((enum vmobj_kind)f->object_kind), f->object_id,
                    (unsigned long long)f->region_offset, (unsigned long long)f->page_index);
        kprintf("%s%s%s\n", f->region_name ? " '" : "", f->region_name ? f->region_name : "",
                f->region_name ? "'" : "");
    } else if (f->reason == FAULT_NO_REGION || f->reason == FAULT_NULL_DEREF) {
        kprintf("  region: none holds this address\n");
    }
    if (f->walk.level > 4) {
        kprintf("  walk: none (the address cannot be translated)\n");
        return;
    }
    kprintf("  walk:\n");
    for (int level = 4; level >= f->walk.level; level--) {
        uint64_t e = f->walk.seen[level];
        kprintf("    %s[%3u] = %016llx  %s%s\n", level_name[level], pt_index(f->va, level),
                (unsigned long long)e, vmm_pte_flags_str(e, level, flags, sizeof(flags)),
                level == f->walk.level ? "   <- walk ended here" : "");
    }
    if (f->walk.seen[f->walk.level] & PTE_P) {
        uint64_t e = f->walk.seen[f->walk.level];
        paddr_t frame = e & PTE_ADDR_MASK & ~(level_page_size(f->walk.level) - 1);
        char owner[40];
        if (frame == vmm_zero_frame)
            ksnprintf(owner, sizeof(owner), "the zero frame");
        else
            ksnprintf(owner, sizeof(owner), "refcount %u", pmm_refcount(frame));
        kprintf("  frame %#llx (%s), effective rights: %s%s%s\n", (unsigned long long)frame, owner,
                f->walk.eff & PTE_W ? "write " : "read-only ",
                f->walk.eff & PTE_U ? "user " : "kernel ", f->walk.eff & PTE_NX ? "no-exec" : "exec");
    }
}
