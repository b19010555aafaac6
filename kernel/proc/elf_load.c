/* The ELF loader (include/exec.h).  Two passes over the program headers:
 * the first checks every header against the file and the user half and
 * refuses with the first reason it finds; the second maps.  The file is
 * never copied: its pages come from its memory object on first touch. */
#include "elf.h"
#include "exec.h"
#include "kmap.h"
#include "kstring.h"

static uint64_t page_down(uint64_t v)
{
    return v & ~(PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t v)
{
    return (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

static bool check_header(const struct elf64_ehdr *h, uint64_t size, const char **why)
{
    static const unsigned char magic[4] = { 0x7f, 'E', 'L', 'F' };
    if (memcmp(h->e_ident, magic, 4) != 0)
        *why = "not an ELF file (bad magic)";
    else if (h->e_ident[4] != ELFCLASS64)
        *why = "not a 64-bit ELF file";
    else if (h->e_ident[5] != ELFDATA2LSB)
        *why = "not a little-endian ELF file";
    else if (h->e_ident[6] != EV_CURRENT || h->e_version != EV_CURRENT)
        *why = "unknown ELF version";
    else if (h->e_machine != EM_X86_64)
        *why = "not an x86-64 executable";
    else if (h->e_type != ET_EXEC)
        *why = "not a static executable (ELF type is not EXEC; build with -static)";
    else if (h->e_phentsize != sizeof(struct elf64_phdr))
        *why = "program header size is not 56";
    else if (h->e_phnum == 0 || h->e_phnum > ELF_MAX_PHNUM)
        *why = "absurd number of program headers";
    else if (h->e_phoff > size || (uint64_t)h->e_phnum * sizeof(struct elf64_phdr) > size - h->e_phoff)
        *why = "program headers lie past the end of the file";
    else
        return true;
    return false;
}

static bool check_segment(const struct elf64_phdr *p, uint64_t size, uint64_t prev_end,
                          const char **why)
{
    if (p->p_filesz > p->p_memsz)
        *why = "segment's file size exceeds its memory size";
    else if (p->p_offset > size || p->p_filesz > size - p->p_offset)
        *why = "segment lies past the end of the file";
    else if ((p->p_vaddr & (PAGE_SIZE - 1)) != (p->p_offset & (PAGE_SIZE - 1)))
        *why = "segment's address and file offset disagree modulo the page size";
    else if (p->p_memsz > ELF_MAX_SEGMENT)
        *why = "absurd segment size";
    else if (p->p_vaddr < REGION_USER_MIN || p->p_vaddr >= REGION_USER_END ||
             p->p_memsz > REGION_USER_END - p->p_vaddr)
        *why = "segment outside the user half";
    else if (page_down(p->p_vaddr) < prev_end)
        *why = "segments overlap or are not in address order";
    else
        return true;
    return false;
}

static unsigned prot_of(uint32_t flags)
{
    return REGION_U | (flags & PF_R ? REGION_R : 0) | (flags & PF_W ? REGION_W : 0) |
           (flags & PF_X ? REGION_X : 0);
}

/* Zero [from, page end) of the page holding @from in @s: the bytes of the
 * file past the segment's end are not part of it (Linux: padzero). */
static bool zero_tail(struct vmm_space *s, uintptr_t from, unsigned prot, const char **why)
{
    uintptr_t page = page_down(from);
    /* The page must be this region's own copy, which a write fault gives. */
    if (!(prot & REGION_W) && region_protect(s, page, PAGE_SIZE, prot | REGION_W) != VMM_OK)
        goto nomem;
    if (region_populate(s, page, PAGE_SIZE) != VMM_OK)
        goto nomem;
    paddr_t pa;
    if (vmm_translate(s, page, &pa, NULL, NULL) != VMM_OK)
        goto nomem;
    uint8_t *p = kmap_push(pa & ~(PAGE_SIZE - 1), true, NULL);
    if (!p)
        goto nomem;
    memset(p + (from - page), 0, PAGE_SIZE - (from - page));
    kmap_pop(p);
    if (!(prot & REGION_W) && region_protect(s, page, PAGE_SIZE, prot) != VMM_OK)
        goto nomem;
    return true;
nomem:
    *why = "out of memory while loading";
    return false;
}

static bool map_segment(struct vmm_space *s, struct vmobj *file, const struct elf64_phdr *p,
                        const char **why)
{
    unsigned prot = prot_of(p->p_flags);
    uintptr_t start = page_down(p->p_vaddr);
    uintptr_t file_end = p->p_vaddr + p->p_filesz, mem_end = p->p_vaddr + p->p_memsz;
    uintptr_t file_pages_end = p->p_filesz ? page_up(file_end) : start;
    if (p->p_filesz) {
        struct region_req req = { .addr = start, .len = file_pages_end - start, .prot = prot,
                                  .flags = REGION_FIXED, .obj = file,
                                  .offset = page_down(p->p_offset) / PAGE_SIZE };
        if (region_map(s, &req, NULL) != VMM_OK) {
            *why = "cannot map a segment (out of memory, or past the file's object)";
            return false;
        }
        if (mem_end > file_end && (file_end & (PAGE_SIZE - 1)) && !zero_tail(s, file_end, prot, why))
            return false;
    }
    if (page_up(mem_end) > file_pages_end) {
        struct vmobj *bss = vmobj_create_anon((page_up(mem_end) - file_pages_end) / PAGE_SIZE, "bss");
        struct region_req req = { .addr = file_pages_end, .len = page_up(mem_end) - file_pages_end,
                                  .prot = prot, .flags = REGION_FIXED, .obj = bss };
        enum vmm_status st = bss ? region_map(s, &req, NULL) : VMM_ERR_NOMEM;
        if (bss)
            vmobj_put(bss);
        if (st != VMM_OK) {
            *why = "out of memory while loading";
            return false;
        }
    }
    return true;
}

bool elf_load(struct vmm_space *s, struct vmobj *file, uint64_t size, struct exec_image *img,
              const char **why)
{
    struct elf64_ehdr h;
    struct elf64_phdr ph[ELF_MAX_PHNUM];
    if (size < sizeof(h) || size > file->npages * PAGE_SIZE) {
        *why = size < sizeof(h) ? "file too short for an ELF header" : "file larger than its object";
        return false;
    }
    if (vmobj_read(file, 0, &h, sizeof(h), why) != VMOBJ_GOT || !check_header(&h, size, why))
        return false;
    if (vmobj_read(file, h.e_phoff, ph, h.e_phnum * sizeof(ph[0]), why) != VMOBJ_GOT)
        return false;

    /* Pass 1: every header, before anything is mapped. */
    uint64_t prev_end = 0, loads = 0;
    img->phdr = 0;
    for (unsigned i = 0; i < h.e_phnum; i++) {
        const struct elf64_phdr *p = &ph[i];
        if (p->p_type == PT_INTERP) {
            *why = "needs a dynamic loader (PT_INTERP): build with -static";
            return false;
        }
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        if (!check_segment(p, size, prev_end, why))
            return false;
        prev_end = page_up(p->p_vaddr + p->p_memsz);
        loads++;
        uint64_t phsize = (uint64_t)h.e_phnum * sizeof(ph[0]);
        if (h.e_phoff >= p->p_offset && h.e_phoff - p->p_offset + phsize <= p->p_filesz)
            img->phdr = p->p_vaddr + (h.e_phoff - p->p_offset);
    }
    if (!loads) {
        *why = "no loadable segment";
        return false;
    }
    if (!img->phdr) {
        *why = "program headers are not inside a loaded segment";
        return false;
    }
    bool entry_ok = false;
    for (unsigned i = 0; i < h.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && h.e_entry >= ph[i].p_vaddr &&
            h.e_entry - ph[i].p_vaddr < ph[i].p_memsz)
            entry_ok = true;
    if (!entry_ok) {
        *why = "entry point is not inside an executable segment";
        return false;
    }

    /* Pass 2: map. */
    for (unsigned i = 0; i < h.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_memsz && !map_segment(s, file, &ph[i], why))
            return false;
    img->entry = h.e_entry;
    img->phnum = h.e_phnum;
    img->phentsize = h.e_phentsize;
    img->load_end = prev_end;
    return true;
}
