/* Host tests of the ELF loader (kernel/proc/elf_load.c) on simulated
 * memory, with a real static musl executable (user/hello.c) as the file and
 * malformed copies of it: every refusal names its reason and maps nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elf.h"
#include "exec.h"
#include "kmap.h"
#include "kmem.h"
#include "sim.h"

#define SIM_FRAMES 4096

static uint8_t *file;       /* the executable, as built */
static uint64_t file_size;
static uint8_t *image;      /* what the pager serves: a copy a test may damage */
static struct vmm_space space;

static enum pager_result serve(struct vmobj *o, uint64_t index, paddr_t frame, const char **why)
{
    (void)o;
    (void)why;
    uint8_t *dst = sim_phys(frame);
    uint64_t off = index * PAGE_SIZE, n = off < file_size ? file_size - off : 0;
    if (n > PAGE_SIZE)
        n = PAGE_SIZE;
    memcpy(dst, image + off, n);
    memset(dst + n, 0, PAGE_SIZE - n);
    return PAGER_OK;
}
static const struct vmobj_pager pager = { "test file", serve };

static int setup(void **state)
{
    (void)state;
    assert_true(sim_vmm_up(SIM_FRAMES, &space));
    memcpy(image, file, file_size);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(sim_vmm_down(&space));
    return 0;
}

static bool load(struct exec_image *img, const char **why)
{
    struct vmobj *o = vmobj_create_paged((file_size + PAGE_SIZE - 1) / PAGE_SIZE, &pager, "hello");
    assert_non_null(o);
    bool ok = elf_load(&space, o, file_size, img, why);
    vmobj_put(o);
    return ok;
}

/* Read user memory of the space as a user-mode access would: resolving the
 * fault first, through the real dispatcher. */
static void read_user(uintptr_t va, void *buf, size_t n)
{
    uint8_t *out = buf;
    while (n) {
        struct vmm_fault f;
        paddr_t pa;
        if (vmm_translate(&space, va, &pa, NULL, NULL) != VMM_OK) {
            assert_int_equal(vmm_fault_handle(&space, va, PF_ERR_U, &f), VMM_FAULT_RESOLVED);
            assert_int_equal(vmm_translate(&space, va, &pa, NULL, NULL), VMM_OK);
        }
        size_t chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        if (chunk > n)
            chunk = n;
        memcpy(out, sim_phys(pa), chunk);
        out += chunk;
        va += chunk;
        n -= chunk;
    }
}

static const struct elf64_phdr *phdrs(const uint8_t *f)
{
    return (const struct elf64_phdr *)(f + ((const struct elf64_ehdr *)f)->e_phoff);
}

static void test_loads_a_static_musl_program(void **state)
{
    (void)state;
    struct exec_image img;
    const char *why = NULL;
    assert_true(load(&img, &why));
    const struct elf64_ehdr *h = (const void *)file;
    assert_int_equal(img.entry, h->e_entry);
    assert_int_equal(img.phnum, h->e_phnum);
    /* Every loadable segment: the file's bytes, then zeros to its end. */
    for (unsigned i = 0; i < h->e_phnum; i++) {
        const struct elf64_phdr *p = &phdrs(file)[i];
        if (p->p_type != PT_LOAD)
            continue;
        uint8_t *got = malloc(p->p_memsz);
        read_user(p->p_vaddr, got, p->p_memsz);
        assert_memory_equal(got, file + p->p_offset, p->p_filesz);
        for (uint64_t j = p->p_filesz; j < p->p_memsz; j++)
            assert_int_equal(got[j], 0);
        free(got);
        struct region r;
        assert_true(region_lookup(&space, p->p_vaddr, &r));
        assert_int_equal(!!(r.prot & REGION_W), !!(p->p_flags & PF_W));
        assert_int_equal(!!(r.prot & REGION_X), !!(p->p_flags & PF_X));
        assert_true(r.prot & REGION_U);
        assert_false(r.flags & REGION_SHARED);
        assert_true(img.load_end >= p->p_vaddr + p->p_memsz);
    }
    /* The program headers are visible where AT_PHDR says. */
    struct elf64_phdr first;
    read_user(img.phdr, &first, sizeof(first));
    assert_memory_equal(&first, &phdrs(file)[0], sizeof(first));
    /* Writing data is private: the file's object keeps its bytes. */
    char why2[160];
    assert_true(vmm_check_consistency(why2, sizeof(why2)));
}

/* Damage the image with @patch, load, expect @reason and an empty space. */
static void expect_refused(void (*patch)(uint8_t *f), uint64_t size, const char *reason)
{
    memcpy(image, file, file_size);
    patch(image);
    uint64_t saved = file_size;
    file_size = size;
    struct exec_image img;
    const char *why = NULL;
    struct vmobj *o = vmobj_create_paged((saved + PAGE_SIZE - 1) / PAGE_SIZE, &pager, "bad");
    assert_non_null(o);
    bool ok = elf_load(&space, o, size, &img, &why);
    vmobj_put(o);
    file_size = saved;
    assert_false(ok);
    assert_non_null(why);
    if (strcmp(why, reason) != 0)
        fail_msg("refused with \"%s\", expected \"%s\"", why, reason);
    assert_int_equal(region_count(&space), 0);
}

static struct elf64_ehdr *H(uint8_t *f) { return (struct elf64_ehdr *)f; }
static struct elf64_phdr *P(uint8_t *f, int i)
{
    return (struct elf64_phdr *)(f + H(f)->e_phoff) + i;
}
static int first_load(uint8_t *f, int nth)
{
    for (int i = 0, n = 0; i < H(f)->e_phnum; i++)
        if (P(f, i)->p_type == PT_LOAD && n++ == nth)
            return i;
    return -1;
}

static void nothing(uint8_t *f) { (void)f; }
static void bad_magic(uint8_t *f) { f[1] = 'X'; }
static void class32(uint8_t *f) { f[4] = 1; }
static void big_endian(uint8_t *f) { f[5] = 2; }
static void arm64(uint8_t *f) { H(f)->e_machine = 183; }
static void dyn(uint8_t *f) { H(f)->e_type = 3; }
static void many_phdrs(uint8_t *f) { H(f)->e_phnum = 1000; }
static void phoff_far(uint8_t *f) { H(f)->e_phoff = 1ull << 40; }
static void interp(uint8_t *f) { P(f, H(f)->e_phnum - 1)->p_type = PT_INTERP; }
static void kernel_half(uint8_t *f) { P(f, first_load(f, 1))->p_vaddr = 0xffff800000001000ull; }
static void huge(uint8_t *f) { P(f, first_load(f, 3))->p_memsz = 1ull << 40; }
static void filesz_gt_memsz(uint8_t *f) { P(f, first_load(f, 3))->p_filesz = P(f, first_load(f, 3))->p_memsz + 1; }
static void misaligned(uint8_t *f) { P(f, first_load(f, 1))->p_vaddr += 8; }
static void overlap(uint8_t *f) { P(f, first_load(f, 2))->p_vaddr = P(f, first_load(f, 1))->p_vaddr; P(f, first_load(f, 2))->p_offset = P(f, first_load(f, 1))->p_offset; }
static void past_eof(uint8_t *f) { P(f, first_load(f, 1))->p_filesz = 1ull << 30; P(f, first_load(f, 1))->p_memsz = 1ull << 30; }
static void bad_entry(uint8_t *f) { H(f)->e_entry = 0x10; }
static void no_load(uint8_t *f) { for (int i = 0; i < H(f)->e_phnum; i++) if (P(f, i)->p_type == PT_LOAD) P(f, i)->p_type = PT_NULL; }

static void test_malformed_files_are_refused_with_a_reason(void **state)
{
    (void)state;
    expect_refused(nothing, 40, "file too short for an ELF header");
    expect_refused(bad_magic, file_size, "not an ELF file (bad magic)");
    expect_refused(class32, file_size, "not a 64-bit ELF file");
    expect_refused(big_endian, file_size, "not a little-endian ELF file");
    expect_refused(arm64, file_size, "not an x86-64 executable");
    expect_refused(dyn, file_size, "not a static executable (ELF type is not EXEC; build with -static)");
    expect_refused(many_phdrs, file_size, "absurd number of program headers");
    expect_refused(phoff_far, file_size, "program headers lie past the end of the file");
    expect_refused(nothing, 100, "program headers lie past the end of the file");
    expect_refused(interp, file_size, "needs a dynamic loader (PT_INTERP): build with -static");
    expect_refused(kernel_half, file_size, "segment outside the user half");
    expect_refused(huge, file_size, "absurd segment size");
    expect_refused(filesz_gt_memsz, file_size, "segment's file size exceeds its memory size");
    expect_refused(misaligned, file_size,
                   "segment's address and file offset disagree modulo the page size");
    expect_refused(overlap, file_size, "segments overlap or are not in address order");
    expect_refused(past_eof, file_size, "segment lies past the end of the file");
    expect_refused(bad_entry, file_size, "entry point is not inside an executable segment");
    expect_refused(no_load, file_size, "no loadable segment");
}

int main(void)
{
    FILE *fp = fopen(TEST_ELF_PROGRAM, "rb");
    if (!fp) {
        perror(TEST_ELF_PROGRAM);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    file_size = (uint64_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    file = malloc(file_size);
    image = malloc(file_size);
    if (fread(file, 1, file_size, fp) != file_size)
        return 1;
    fclose(fp);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loads_a_static_musl_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_files_are_refused_with_a_reason, setup, teardown),
    };
    return cmocka_run_group_tests_name("elf loader", tests, NULL, NULL);
}
