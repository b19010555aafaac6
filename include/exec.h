/* Loading programs: static ELF64 x86-64 executables mapped as regions over
 * the file's memory object (kernel/proc/elf_load.c), and the initial user
 * stack (argv, envp, auxiliary vector) laid out as Linux does. */
#ifndef ZF_EXEC_H
#define ZF_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "region.h"

struct exec_image {
    uintptr_t entry;
    uintptr_t phdr;       /* where the program headers are mapped (AT_PHDR) */
    uint16_t phnum;       /* AT_PHNUM */
    uint16_t phentsize;   /* AT_PHENT */
    uintptr_t load_end;   /* first page above every segment: the heap starts here */
};

/* Limits against absurd files. */
#define ELF_MAX_PHNUM 64
#define ELF_MAX_SEGMENT (1ull << 32)

/* Map the PT_LOAD segments of @file (@size bytes) into @s, whose user half
 * must be empty: file-backed parts as private regions over @file (text
 * read+execute, read-only data read-only, data copy-on-write), the zero
 * tail of the last file page cleared, the rest of each segment's memory
 * anonymous.  Every header is checked before anything is mapped.  False
 * with a one-line reason in *@why for a malformed or unsupported file, or
 * when out of memory; @s may then hold part of the image (the caller
 * destroys it: execve builds the new space aside). */
bool elf_load(struct vmm_space *s, struct vmobj *file, uint64_t size, struct exec_image *img,
              const char **why);

/* The function symbol of @file (@size bytes) holding @addr, from its
 * .symtab: true with the name in @name and the offset in *@off.  Every
 * table is bounds-checked; a stripped or malformed file gives false. */
bool elf_symbolize(struct vmobj *file, uint64_t size, uint64_t addr, char *name, size_t n,
                   uint64_t *off);

#endif
