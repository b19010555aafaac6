/* Exception names and error-code decoders, in words.  Pure functions: no
 * hardware access, so tests can check them against every input. */
#include "irq.h"
#include "kprintf.h"

static const struct {
    const char *mnemonic, *name;
} exceptions[IRQ_EXCEPTIONS] = {
    [0] = { "#DE", "divide error" },
    [1] = { "#DB", "debug" },
    [2] = { "NMI", "non-maskable interrupt" },
    [3] = { "#BP", "breakpoint" },
    [4] = { "#OF", "overflow" },
    [5] = { "#BR", "bound range exceeded" },
    [6] = { "#UD", "invalid opcode" },
    [7] = { "#NM", "device not available" },
    [8] = { "#DF", "double fault" },
    [9] = { "#09", "coprocessor segment overrun" },
    [10] = { "#TS", "invalid TSS" },
    [11] = { "#NP", "segment not present" },
    [12] = { "#SS", "stack-segment fault" },
    [13] = { "#GP", "general protection fault" },
    [14] = { "#PF", "page fault" },
    [15] = { "#15", "reserved" },
    [16] = { "#MF", "x87 floating-point error" },
    [17] = { "#AC", "alignment check" },
    [18] = { "#MC", "machine check" },
    [19] = { "#XM", "SIMD floating-point exception" },
    [20] = { "#VE", "virtualization exception" },
    [21] = { "#CP", "control protection exception" },
    [22] = { "#22", "reserved" },
    [23] = { "#23", "reserved" },
    [24] = { "#24", "reserved" },
    [25] = { "#25", "reserved" },
    [26] = { "#26", "reserved" },
    [27] = { "#27", "reserved" },
    [28] = { "#HV", "hypervisor injection exception" },
    [29] = { "#VC", "VMM communication exception" },
    [30] = { "#SX", "security exception" },
    [31] = { "#31", "reserved" },
};

const char *irq_vector_mnemonic(unsigned vector)
{
    if (vector < IRQ_EXCEPTIONS)
        return exceptions[vector].mnemonic;
    if (vector >= 32 && vector < 48)
        return "IRQ";
    return vector == IRQ_SPURIOUS_VECTOR ? "SPURIOUS" : "INT";
}

const char *irq_vector_name(unsigned vector)
{
    if (vector < IRQ_EXCEPTIONS)
        return exceptions[vector].name;
    if (vector >= 32 && vector < 48)
        return "legacy PIC interrupt";
    return vector == IRQ_SPURIOUS_VECTOR ? "spurious interrupt" : "interrupt";
}

bool irq_vector_has_error_code(unsigned vector)
{
    switch (vector) {
    case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21: case 29: case 30:
        return true;
    }
    return false;
}

/* Append to a bounded buffer, snprintf style: @len counts what the whole
 * text would need, the buffer keeps what fits. */
struct text {
    char *buf;
    size_t n;
    size_t len;
};

static void text_add(struct text *t, const char *s)
{
    for (; *s; s++, t->len++)
        if (t->len + 1 < t->n)
            t->buf[t->len] = *s;
    if (t->n)
        t->buf[t->len < t->n ? t->len : t->n - 1] = '\0';
}

static void text_item(struct text *t, const char *s)
{
    if (t->len)
        text_add(t, ", ");
    text_add(t, s);
}

/* #PF error code bits (Intel SDM vol. 3, "Page-Fault Error Code"). */
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I (1u << 4)
#define PF_PK (1u << 5)
#define PF_SS (1u << 6)
#define PF_SGX (1u << 15)

int irq_pf_error_describe(uint64_t err, char *buf, size_t n)
{
    struct text t = { buf, n, 0 };
    if (n)
        buf[0] = '\0';
    text_item(&t, err & PF_P ? "protection violation on a present page" : "page not present");
    text_item(&t, err & PF_W ? "write" : "read");
    text_item(&t, err & PF_U ? "user mode" : "kernel mode");
    if (err & PF_RSVD)
        text_item(&t, "reserved bit set in a paging entry");
    if (err & PF_I)
        text_item(&t, "instruction fetch");
    if (err & PF_PK)
        text_item(&t, "protection key");
    if (err & PF_SS)
        text_item(&t, "shadow stack");
    if (err & PF_SGX)
        text_item(&t, "SGX");
    uint64_t unknown = err & ~(uint64_t)(PF_P | PF_W | PF_U | PF_RSVD | PF_I | PF_PK | PF_SS |
                                         PF_SGX);
    if (unknown) {
        char more[40];
        ksnprintf(more, sizeof(more), "unknown bits %#lx", (unsigned long)unknown);
        text_item(&t, more);
    }
    return (int)t.len;
}

/* Selector error code (#TS, #NP, #SS, #GP): bit 0 EXT, bit 1 IDT, bit 2 TI
 * (LDT instead of GDT), bits 3-15 the index. */
int irq_selector_error_describe(uint64_t err, char *buf, size_t n)
{
    struct text t = { buf, n, 0 };
    char s[48];
    if (n)
        buf[0] = '\0';
    if (err == 0) {
        text_add(&t, "no selector (error code 0)");
        return (int)t.len;
    }
    unsigned index = (unsigned)(err >> 3) & 0x1fff;
    if (err & 2)
        ksnprintf(s, sizeof(s), "IDT vector %u (%#x)", index, index);
    else
        ksnprintf(s, sizeof(s), "selector %#x: index %u in the %s", (unsigned)(err & 0xfff8),
                  index, err & 4 ? "LDT" : "GDT");
    text_item(&t, s);
    if (err & 1)
        text_item(&t, "external event");
    if (err >> 16) {
        ksnprintf(s, sizeof(s), "unknown bits %#lx", (unsigned long)(err & ~0xffffull));
        text_item(&t, s);
    }
    return (int)t.len;
}

int irq_rflags_describe(uint64_t rflags, char *buf, size_t n)
{
    static const char *const names[22] = {
        [0] = "CF", [2] = "PF", [4] = "AF", [6] = "ZF", [7] = "SF", [8] = "TF",
        [9] = "IF", [10] = "DF", [11] = "OF", [14] = "NT", [16] = "RF", [17] = "VM",
        [18] = "AC", [19] = "VIF", [20] = "VIP", [21] = "ID",
    };
    struct text t = { buf, n, 0 };
    char iopl[8];
    if (n)
        buf[0] = '\0';
    for (unsigned b = 0; b < 22; b++) {
        if ((rflags & (1ull << b)) && names[b]) {
            if (t.len)
                text_add(&t, " ");
            text_add(&t, names[b]);
        }
    }
    ksnprintf(iopl, sizeof(iopl), "IOPL=%u", (unsigned)(rflags >> 12) & 3);
    if (t.len)
        text_add(&t, " ");
    text_add(&t, iopl);
    return (int)t.len;
}
