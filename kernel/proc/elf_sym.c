/* Symbols for user fault reports: the function of a program that holds an
 * address, looked up in the file's own .symtab (section headers, symbol
 * table, string table), read through the file's object.  Runs only on the
 * way to a report, so a linear scan is fine; every offset is checked
 * against the file before it is read. */
#include "elf.h"
#include "exec.h"
#include "kstring.h"

#define SYM_BATCH 32
#define MAX_SYMBOLS (1u << 20)

static bool read_at(struct vmobj *f, uint64_t size, uint64_t off, void *buf, uint64_t n)
{
    const char *why;
    return off <= size && n <= size - off && vmobj_read(f, off, buf, n, &why) == VMOBJ_GOT;
}

bool elf_symbolize(struct vmobj *file, uint64_t size, uint64_t addr, char *name, size_t n,
                   uint64_t *off)
{
    struct elf64_ehdr h;
    if (!n || !read_at(file, size, 0, &h, sizeof(h)) || h.e_shentsize != sizeof(struct elf64_shdr))
        return false;
    for (unsigned i = 0; i < h.e_shnum; i++) {
        struct elf64_shdr sh, strtab;
        if (!read_at(file, size, h.e_shoff + (uint64_t)i * sizeof(sh), &sh, sizeof(sh)))
            return false;
        if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(struct elf64_sym) ||
            sh.sh_link >= h.e_shnum ||
            !read_at(file, size, h.e_shoff + (uint64_t)sh.sh_link * sizeof(strtab), &strtab,
                     sizeof(strtab)))
            continue;
        uint64_t count = sh.sh_size / sizeof(struct elf64_sym);
        if (count > MAX_SYMBOLS)
            count = MAX_SYMBOLS;
        struct elf64_sym best = { 0 };
        bool found = false;
        for (uint64_t k = 0; k < count; k += SYM_BATCH) {
            struct elf64_sym batch[SYM_BATCH];
            uint64_t m = count - k < SYM_BATCH ? count - k : SYM_BATCH;
            if (!read_at(file, size, sh.sh_offset + k * sizeof(batch[0]), batch, m * sizeof(batch[0])))
                return false;
            for (uint64_t j = 0; j < m; j++) {
                const struct elf64_sym *s = &batch[j];
                if ((s->st_info & 0xf) != STT_FUNC || addr < s->st_value ||
                    addr - s->st_value >= (s->st_size ? s->st_size : 1))
                    continue;
                best = *s;
                found = true;
            }
        }
        if (!found || best.st_name >= strtab.sh_size)
            return false;
        uint64_t len = strtab.sh_size - best.st_name;
        if (len > n - 1)
            len = n - 1;
        if (!read_at(file, size, strtab.sh_offset + best.st_name, name, len))
            return false;
        name[len] = '\0';
        name[strnlen(name, len)] = '\0';
        *off = addr - best.st_value;
        return true;
    }
    return false;
}
