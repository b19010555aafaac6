# Zeroframe GDB helpers (loaded by gdb/zeroframe.gdb).
#
#   zf-walk ADDR      walk the live page tables for ADDR, level by level
#   zf-pte VALUE [L]  decode a page-table entry (L: level, 1 = PT .. 4 = PML4)
#   zf-pf ERRCODE     decode a page-fault error code
#
# The walk reads the tables through the recursive slot (PML4[510]), so it
# works whenever the kernel's paging is on; GDB needs no physical access.
import gdb

SELF = 510
BITS = [(0, "P"), (1, "W"), (2, "U"), (3, "PWT"), (4, "PCD"), (5, "A"), (6, "D"),
        (7, "PS"), (8, "G"), (9, "COW"), (63, "NX")]
NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}


def sext(va):
    return va | 0xffff000000000000 if va & (1 << 47) else va


def table_va(level, va):
    i4, i3, i2 = (va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511
    r = SELF
    x = {4: (r << 30) | (r << 21) | (r << 12),
         3: (r << 30) | (r << 21) | (i4 << 12),
         2: (r << 30) | (i4 << 21) | (i3 << 12),
         1: (i4 << 30) | (i3 << 21) | (i2 << 12)}[level]
    return sext((r << 39) | x)


def pte_str(e, level):
    if not e & 1:
        return "not present" if e == 0 else "not present (stray bits %#x)" % e
    names = [n for b, n in BITS if e & (1 << b) and not (b == 7 and level == 1)]
    return "frame %#x  %s" % (e & 0x000ffffffffff000, " ".join(names))


def to_int(expr):
    """An address or number from a GDB expression: 0x..., $reg, a symbol."""
    v = gdb.parse_and_eval(expr)
    if v.type.strip_typedefs().code == gdb.TYPE_CODE_FUNC:
        v = v.address
    try:
        return int(v) & 0xffffffffffffffff
    except gdb.error:
        return int(v.address) & 0xffffffffffffffff


def read_u64(addr):
    inferior = gdb.selected_inferior()
    return int.from_bytes(bytes(inferior.read_memory(addr, 8)), "little")


class Walk(gdb.Command):
    """zf-walk ADDR: walk the live page tables for a virtual address."""

    def __init__(self):
        super().__init__("zf-walk", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        va = to_int(arg)
        top = va >> 47
        if top not in (0, 0x1ffff):
            print("%#x: non-canonical address" % va)
            return
        try:
            cr3 = " (CR3 %#x)" % int(gdb.parse_and_eval("$cr3"))
        except gdb.error:
            cr3 = ""
        print("walk of %#x%s:" % (va, cr3))
        for level in (4, 3, 2, 1):
            idx = (va >> (12 + 9 * (level - 1))) & 511
            e = read_u64(table_va(level, va) + idx * 8)
            print("  %-4s[%3d] = %016x  %s" % (NAMES[level], idx, e, pte_str(e, level)))
            if not e & 1:
                print("  -> not mapped")
                return
            if level in (3, 2) and e & (1 << 7):
                size = 1 << (12 + 9 * (level - 1))
                print("  -> %s page: physical %#x" % ("1 GiB" if level == 3 else "2 MiB",
                      (e & 0x000ffffffffff000 & ~(size - 1)) | (va & (size - 1))))
                return
        print("  -> physical %#x" % ((e & 0x000ffffffffff000) | (va & 0xfff)))


class Pte(gdb.Command):
    """zf-pte VALUE [LEVEL]: decode a page-table entry."""

    def __init__(self):
        super().__init__("zf-pte", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        e = to_int(args[0])
        level = int(args[1]) if len(args) > 1 else 1
        print(pte_str(e, level))


class Pf(gdb.Command):
    """zf-pf ERRCODE: decode a #PF error code."""

    def __init__(self):
        super().__init__("zf-pf", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        err = to_int(arg)
        words = ["protection violation" if err & 1 else "page not present",
                 "write" if err & 2 else "read",
                 "user mode" if err & 4 else "kernel mode"]
        for bit, word in ((3, "reserved bit set"), (4, "instruction fetch"),
                          (5, "protection key"), (6, "shadow stack")):
            if err & (1 << bit):
                words.append(word)
        print(", ".join(words))


Walk()
Pte()
Pf()
