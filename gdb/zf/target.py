"""Reading the target for the Zeroframe helpers: registers, kernel
variables by name (GDB's type information, so layout changes are
followed), virtual memory, and physical memory.

Physical memory goes through QEMU's gdbstub extension: the packet
`Qqemu.PhyMemMode:1` makes every memory access of the stub physical until
`Qqemu.PhyMemMode:0`.  phys() switches it on around one batch of reads and
always back off, so it works whatever the kernel maps (before paging, with a
broken recursive slot, for another address space's CR3).  Only reads are
ever done: nothing here writes memory or calls a kernel function.
"""
import struct

import gdb

from . import decode

MASK64 = decode.MASK64


class ZfError(Exception):
    """A one-line reason a helper cannot answer."""


def value_int(v):
    """A gdb.Value as an unsigned 64-bit integer (functions: their address)."""
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_FUNC:
        v = v.address
    elif t.code in (gdb.TYPE_CODE_ARRAY, gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        raise ZfError("%s is not a number or an address (it is a %s)" % (v.type, "struct/array"))
    try:
        return int(v) & MASK64
    except gdb.error as e:
        if v.address is None:
            raise ZfError("%s (not available in this frame?)" % e) from None
        return int(v.address) & MASK64


def eval_int(expr):
    """An address or number from a GDB expression: 0x..., $cr2, a symbol."""
    if not expr.strip():
        raise ZfError("empty expression")
    try:
        return value_int(gdb.parse_and_eval(expr))
    except gdb.error as e:
        raise ZfError("cannot evaluate %r: %s" % (expr, e)) from None


def reg(name):
    try:
        return int(gdb.parse_and_eval("$" + name)) & MASK64
    except gdb.error as e:
        raise ZfError("cannot read $%s: %s (is the target connected and stopped?)" % (name, e)) from None


def need_target():
    try:
        if gdb.selected_inferior().pid == 0 or not gdb.selected_thread():
            raise ZfError("no target: connect first (make debug, or target remote ...)")
    except gdb.error:
        raise ZfError("no target: connect first (make debug, or target remote ...)") from None
    if gdb.selected_thread().is_running():
        raise ZfError("the target is running: interrupt it first (Ctrl-C)")


def paging_on():
    return bool(reg("cr0") & (1 << 31))


def cr3():
    return reg("cr3") & decode.ADDR_MASK


def sym(name, file=None):
    """A kernel variable by name (a file-static one through FILE::name)."""
    tries = (["'%s'::%s" % (file, name)] if file else []) + [name]
    err = None
    for t in tries:
        try:
            return gdb.parse_and_eval(t)
        except gdb.error as e:
            err = e
    raise ZfError("kernel symbol %s not found (%s); is the right ELF loaded?" % (name, err))


def sym_or_none(name, file=None):
    try:
        return sym(name, file)
    except ZfError:
        return None


def read_virt(addr, n):
    try:
        return bytes(gdb.selected_inferior().read_memory(addr, n))
    except gdb.MemoryError:
        raise ZfError("cannot read %d bytes at virtual %#x (not mapped?)" % (n, addr)) from None


def zero_frame():
    """The reserved zero frame's physical address, or None before it exists."""
    v = sym_or_none("vmm_zero_frame")
    if v is None:
        return None
    try:
        pa = int(v)
    except gdb.error:
        return None
    return pa or None


class phys:
    """with phys() as p: p.u64(pa), p.table(pa), p.read(pa, n): physical reads
    through QEMU's PhyMemMode, switched back off on the way out."""

    def __enter__(self):
        self._set(1)
        return self

    def __exit__(self, *exc):
        self._set(0)
        return False

    @staticmethod
    def _set(on):
        try:
            out = gdb.execute("maintenance packet Qqemu.PhyMemMode:%d" % on, to_string=True)
        except gdb.error as e:
            raise ZfError("cannot switch QEMU's physical-memory mode: %s" % e) from None
        if '"OK"' not in out:
            raise ZfError("the gdbstub refused Qqemu.PhyMemMode (QEMU's gdbstub is needed "
                          "for physical reads): %s" % out.strip().splitlines()[-1])

    @staticmethod
    def read(pa, n):
        try:
            return bytes(gdb.selected_inferior().read_memory(pa, n))
        except gdb.MemoryError:
            raise ZfError("cannot read %d bytes at physical %#x (beyond RAM?)" % (n, pa)) from None

    def u64(self, pa):
        return struct.unpack("<Q", self.read(pa, 8))[0]

    def u32(self, pa):
        return struct.unpack("<I", self.read(pa, 4))[0]

    def table(self, pa):
        return list(struct.unpack("<512Q", self.read(pa & decode.ADDR_MASK, 4096)))


def fields(value):
    """(name, int) for every scalar field of a struct value, in order."""
    out = []
    for f in value.type.strip_typedefs().fields():
        v = value[f.name]
        if v.type.strip_typedefs().code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM,
                                            gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_BOOL):
            out.append((f.name, int(v) & MASK64))
    return out


def symbolize(addr):
    """'fn+0x1c' for a code address, or ''."""
    try:
        b = gdb.block_for_pc(addr)
    except RuntimeError:
        b = None
    while b is not None and b.function is None:
        b = b.superblock
    if b is not None and b.function is not None:
        return "%s+%#x" % (b.function.name, addr - b.start)
    try:
        s = gdb.execute("info symbol %#x" % addr, to_string=True).strip()
    except gdb.error:
        return ""
    if s.startswith("No symbol"):
        return ""
    # "name + 12 in section .text"
    name = s.split(" in section")[0]
    if " + " in name:
        n, off = name.split(" + ")
        return "%s+%#x" % (n, int(off))
    return name
