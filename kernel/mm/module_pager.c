/* The in-kernel pager: serves the bytes of a multiboot2 module (or any run
 * of physical memory) page by page, reading the source through temporary
 * mappings, so the module's frames need no mapping of their own. */
#include "kmap.h"
#include "kstring.h"
#include "mmu_hooks.h"
#include "vmobj.h"

/* Copy @n bytes from physical @pa (any alignment) to @dst. */
static bool copy_from_phys(uint8_t *dst, paddr_t pa, uint64_t n)
{
    while (n) {
        uint64_t in = pa & (PAGE_SIZE - 1);
        uint64_t chunk = PAGE_SIZE - in < n ? PAGE_SIZE - in : n;
        const uint8_t *src = kmap_push(pa - in, false, NULL);
        if (!src)
            return false;
        memcpy(dst, src + in, chunk);
        kmap_pop((void *)src);
        dst += chunk;
        pa += chunk;
        n -= chunk;
    }
    return true;
}

static enum pager_result module_provide(struct vmobj *o, uint64_t index, paddr_t frame,
                                        const char **why)
{
    paddr_t src = o->pager_arg[0];
    uint64_t size = o->pager_arg[1], off = index * PAGE_SIZE;
    if (index >= o->npages) {
        *why = "page past the end of the module";
        return PAGER_FAIL;
    }
    uint8_t *dst = kmap_push(frame, true, NULL);
    if (!dst) {
        *why = "no temporary mapping slot";
        return PAGER_FAIL;
    }
    uint64_t n = size - off < PAGE_SIZE ? size - off : PAGE_SIZE;
    bool ok = copy_from_phys(dst, src + off, n);
    memset(dst + n, 0, PAGE_SIZE - n);
    kmap_pop(dst);
    if (!ok) {
        *why = "no temporary mapping slot for the module's frame";
        return PAGER_FAIL;
    }
    return PAGER_OK;
}

static const struct vmobj_pager module_pager = { "module", module_provide };

struct vmobj *vmobj_create_module(paddr_t pa, uint64_t size, const char *name)
{
    uint64_t npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
    if (pa + size < pa)
        return NULL;
    /* An empty module is one page of zeros: every object has a page. */
    struct vmobj *o = vmobj_create_paged(npages ? npages : 1, &module_pager, name);
    if (o) {
        o->pager_arg[0] = pa;
        o->pager_arg[1] = size;
    }
    return o;
}
