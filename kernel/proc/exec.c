/* execve: a new address space with the program's segments (elf_load), a
 * stack region with a guard region below it holding argv, envp and the
 * auxiliary vector laid out as Linux does (System V x86-64 ABI, 3.4.1),
 * and the thread's frame set to enter the program.  The new space is built
 * aside and only replaces the old one when everything worked. */
#include "arch/x86_64/cpu.h"
#include "errno.h"
#include "exec.h"
#include "file.h"
#include "fpu.h"
#include "gdt.h"
#include "irq.h"
#include "kmap.h"
#include "kprintf.h"
#include "kstring.h"
#include "proc.h"

#define USER_STACK_TOP 0x00007ffffffff000ull
#define USER_STACK_SIZE (8ull << 20)
#define EXEC_ARG_MAX (128ull << 10) /* strings and pointers together */

/* Auxiliary vector types (Linux, elf.h). */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

/* Write @n bytes at @va of @s (not necessarily live), faulting pages in as
 * a user write would. */
static bool space_write(struct vmm_space *s, uintptr_t va, const void *buf, size_t n)
{
    const uint8_t *in = buf;
    while (n) {
        struct vmm_fault f;
        paddr_t pa;
        uint64_t flags = 0;
        if (vmm_translate(s, va, &pa, &flags, NULL) != VMM_OK || !(flags & PTE_W)) {
            if (vmm_fault_resolve(s, va, PF_ERR_W | PF_ERR_U | ((flags & PTE_P) ? PF_ERR_P : 0),
                                  &f) != VMM_FAULT_RESOLVED ||
                vmm_translate(s, va, &pa, NULL, NULL) != VMM_OK)
                return false;
        }
        size_t in_page = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        size_t chunk = n < in_page ? n : in_page;
        uint8_t *p = kmap_push(pa & ~(PAGE_SIZE - 1), true, NULL);
        if (!p)
            return false;
        memcpy(p + (va & (PAGE_SIZE - 1)), in, chunk);
        kmap_pop(p);
        in += chunk;
        va += chunk;
        n -= chunk;
    }
    return true;
}

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* The stack and its guard region, then the initial stack contents; the
 * initial RSP in *@sp. */
static int build_stack(struct vmm_space *s, const char *path, const char *const *argv,
                       const char *const *envp, const struct exec_image *img, uintptr_t *sp)
{
    struct vmobj *o = vmobj_create_anon(USER_STACK_SIZE / PAGE_SIZE, "[stack]");
    struct region_req stack = { .addr = USER_STACK_TOP - USER_STACK_SIZE, .len = USER_STACK_SIZE,
                                .prot = REGION_R | REGION_W | REGION_U, .flags = REGION_FIXED,
                                .obj = o, .name = "[stack]" };
    struct region_req guard = { .addr = stack.addr - PAGE_SIZE, .len = PAGE_SIZE,
                                .flags = REGION_FIXED | REGION_GUARD, .name = "[stack guard]" };
    enum vmm_status st = o ? region_map(s, &stack, NULL) : VMM_ERR_NOMEM;
    if (o)
        vmobj_put(o);
    if (st == VMM_OK)
        st = region_map(s, &guard, NULL);
    if (st != VMM_OK)
        return st == VMM_ERR_NOMEM ? -ENOMEM : -ENOEXEC; /* the program's segments are in the way */

    size_t argc = count(argv), envc = count(envp), strings = strlen(path) + 1;
    for (size_t i = 0; i < argc; i++)
        strings += strlen(argv[i]) + 1;
    for (size_t i = 0; i < envc; i++)
        strings += strlen(envp[i]) + 1;
    const size_t nauxv = 17;
    size_t ptrs = (1 + argc + 1 + envc + 1 + 2 * nauxv) * 8;
    if (strings + 16 + ptrs + 16 > EXEC_ARG_MAX)
        return -E2BIG;

    /* Strings from the top down, then 16 random bytes, then the vectors. */
    uintptr_t at = USER_STACK_TOP;
    uintptr_t execfn = at -= strlen(path) + 1;
    if (!space_write(s, execfn, path, strlen(path) + 1))
        return -ENOMEM;
    /* argc, argv, envp and auxv, in order: built here, then written at once
     * (too large for a kernel stack). */
    uint64_t *vec = vmm_arena_alloc(ptrs / PAGE_SIZE + 1, "exec vectors");
    if (!vec)
        return -ENOMEM;
    size_t k = 0;
    vec[k++] = argc;
    for (size_t pass = 0; pass < 2; pass++) {
        const char *const *v = pass ? envp : argv;
        size_t c = pass ? envc : argc;
        /* Strings from the last down, so argv[0]'s is the lowest. */
        for (size_t i = c; i-- > 0;) {
            size_t len = strlen(v[i]) + 1;
            at -= len;
            if (!space_write(s, at, v[i], len)) {
                vmm_arena_free(vec);
                return -ENOMEM;
            }
            vec[k + i] = at;
        }
        k += c;
        vec[k++] = 0;
    }
    uint64_t rnd[2] = { rdtsc() * 0x9e3779b97f4a7c15ull, rdtsc() ^ 0xd1b54a32d192ed03ull };
    at = (at - 16) & ~15ull;
    uintptr_t random = at;
    const uint64_t aux[][2] = {
        { AT_PHDR, img->phdr },     { AT_PHENT, img->phentsize }, { AT_PHNUM, img->phnum },
        { AT_PAGESZ, PAGE_SIZE },   { AT_BASE, 0 },               { AT_FLAGS, 0 },
        { AT_ENTRY, img->entry },   { AT_UID, 0 },                { AT_EUID, 0 },
        { AT_GID, 0 },              { AT_EGID, 0 },               { AT_HWCAP, 0 },
        { AT_CLKTCK, SCHED_HZ },    { AT_SECURE, 0 },             { AT_RANDOM, random },
        { AT_EXECFN, execfn },      { AT_NULL, 0 },
    };
    _Static_assert(sizeof(aux) / sizeof(aux[0]) == 17, "nauxv");
    for (size_t i = 0; i < nauxv; i++) {
        vec[k++] = aux[i][0];
        vec[k++] = aux[i][1];
    }
    /* RSP points at argc and is 16-byte aligned (the ABI's entry state). */
    uintptr_t top = (at - k * 8) & ~15ull;
    bool ok = space_write(s, random, rnd, sizeof(rnd)) && space_write(s, top, vec, k * 8);
    vmm_arena_free(vec);
    if (!ok)
        return -ENOMEM;
    *sp = top;
    return 0;
}

int proc_execve_into(struct proc *p, const char *path, const char *const *argv,
                     const char *const *envp, struct irq_frame *frame)
{
    struct vmobj *file;
    uint64_t size;
    if (!modfs_lookup(path, &file, &size))
        return -ENOENT;
    return proc_exec_object(p, path, file, size, argv, envp, frame);
}

int proc_exec_object(struct proc *p, const char *path, struct vmobj *file, uint64_t size,
                     const char *const *argv, const char *const *envp, struct irq_frame *frame)
{
    struct vmm_space *ns = proc_space_new();
    if (!ns)
        return -ENOMEM;
    struct exec_image img;
    const char *why = NULL;
    uintptr_t sp = 0;
    int st = 0;
    if (!elf_load(ns, file, size, &img, &why)) {
        kprintf("execve: %s: %s\n", path, why);
        st = -ENOEXEC;
    } else {
        st = build_stack(ns, path, argv, envp, &img, &sp);
    }
    if (st < 0) {
        proc_space_free(ns);
        return st;
    }
    struct vmm_space *old = p->space;
    p->space = ns;
    if (old == vmm_space_active())
        vmm_space_activate(ns);
    proc_space_free(old);
    p->brk_start = p->brk = img.load_end;
    vmobj_get(file);
    if (p->exe)
        vmobj_put(p->exe);
    p->exe = file;
    p->exe_size = size;
    proc_set_name(p, path);
    if (p->thread) {
        p->thread->fs_base = 0;
        p->thread->fpu = *fpu_initial();
        if (p->thread == sched_current())
            fpu_restore(fpu_initial()); /* a clean slate for the new program */
    }
    memset(frame, 0, sizeof(*frame));
    frame->rip = frame->rcx = img.entry;
    frame->rflags = frame->r11 = 0x202; /* IF */
    frame->rsp = sp;
    frame->cs = GDT_USER_CODE;
    frame->ss = GDT_USER_DATA;
    return 0;
}
