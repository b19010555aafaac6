"""Unwinding through the exception entry (kernel/irq/entry.asm).

irq_common saves the interrupted registers as a struct irq_frame, pushes a
frame record {interrupted rbp, rip + 1} and calls irq_dispatch.  NASM emits
no call-frame information, so GDB alone would take the frame record for an
ordinary frame and then misread the irq_frame as return addresses.  This
unwinder recognises the frame whose PC is irq_common's return address from
irq_dispatch and gives GDB the interrupted registers read from the
irq_frame (by field name), so `bt` in a handler continues into the
interrupted code with its real registers, and `frame N` / `info registers`
there show the interrupted context.

A frame filter also ends backtraces at long_mode_high, the kernel's first
frame (the boot code calls kernel_main with rbp = 0; there is no caller).
"""
import gdb
from gdb.unwinder import Unwinder

# Registers an exception leaves as they were (control, segment bases, ...):
# the interrupted frame shows the current values, not "<not saved>".
PASS_THROUGH = ["cr0", "cr2", "cr3", "cr4", "cr8", "efer", "ds", "es", "fs", "gs",
                "fs_base", "gs_base", "k_gs_base"]

# General registers restored from struct irq_frame (same names in GDB).
GPRS = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "rsp", "cs", "ss"]


class _Sites:
    """Addresses found once per loaded kernel: irq_common, its return address
    after `call irq_dispatch`, long_mode_high."""

    def __init__(self):
        self.reset()

    def reset(self, *_):
        self.irq_common = self.ret = self.frame_type = None
        self.failed = False

    def _addr(self, name):
        v = gdb.parse_and_eval("&" + name)
        return int(v.cast(gdb.lookup_type("unsigned long"))) & ((1 << 64) - 1)

    def resolve(self):
        """True when the return address is known (needs the kernel's text
        readable: paging on).  Failures are retried at the next stop."""
        if self.ret is not None:
            return True
        if self.failed:
            return False
        try:
            common = self._addr("irq_common")
            dispatch = self._addr("irq_dispatch")
            code = bytes(gdb.selected_inferior().read_memory(common, 256))
            self.frame_type = gdb.lookup_type("struct irq_frame")
        except (gdb.error, gdb.MemoryError, RuntimeError):
            self.failed = True
            return False
        # The call: e8 rel32, target = next instruction + rel32.
        for i in range(len(code) - 5):
            if code[i] != 0xE8:
                continue
            rel = int.from_bytes(code[i + 1:i + 5], "little", signed=True)
            if common + i + 5 + rel == dispatch:
                self.irq_common, self.ret = common, common + i + 5
                return True
        self.failed = True
        return False


SITES = _Sites()


def irq_frame_at_return(rsp):
    """The irq_frame address for the irq_common frame whose rsp is @rsp:
    the frame record (16 bytes) sits at rsp, the irq_frame right above."""
    return rsp + 16


class IrqFrameUnwinder(Unwinder):
    def __init__(self):
        super().__init__("zeroframe-irq-frame")

    def __call__(self, pending):
        if not SITES.resolve():
            return None
        pc = int(pending.read_register("rip")) & ((1 << 64) - 1)
        if pc != SITES.ret:
            return None
        rsp = int(pending.read_register("rsp")) & ((1 << 64) - 1)
        addr = irq_frame_at_return(rsp)
        try:
            f = gdb.Value(addr).cast(SITES.frame_type.pointer()).dereference()
            saved = {r: int(f[r]) for r in GPRS}
            saved["eflags"] = int(f["rflags"])
        except (gdb.error, gdb.MemoryError):
            return None
        cfa = addr + SITES.frame_type.sizeof
        ptr = gdb.lookup_type("void").pointer()
        info = pending.create_unwind_info(_FrameId(_value(cfa, ptr), _value(SITES.irq_common, ptr)))
        for name in PASS_THROUGH:
            try:
                info.add_saved_register(name, pending.read_register(name))
            except (ValueError, gdb.error):
                pass  # not in this target's register set
        for name, val in saved.items():
            # From bytes: eflags is a flags type, cs/ss 32-bit, rip a code pointer.
            t = pending.read_register(name).type
            info.add_saved_register(name, _value(val, t))
        return info


def _value(n, t):
    """A gdb.Value of type @t holding the low bytes of @n (from bytes: any
    integer-like type, whatever its signedness)."""
    return gdb.Value((n & ((1 << (8 * t.sizeof)) - 1)).to_bytes(t.sizeof, "little"), t)


class _FrameId:
    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


def irq_frames():
    """(gdb frame of irq_common, irq_frame address) for every exception
    entry on the selected thread's stack, innermost first."""
    out = []
    if not SITES.resolve():
        return out
    try:
        f = gdb.newest_frame()
    except gdb.error:
        return out
    while f is not None:
        try:
            if f.pc() == SITES.ret:
                out.append((f, irq_frame_at_return(int(f.read_register("rsp")) & ((1 << 64) - 1))))
            f = f.older()
        except gdb.error:
            break
    return out


class StopAtBootEntry:
    """Frame filter: nothing is older than long_mode_high."""

    def __init__(self):
        self.name = "zeroframe-boot-entry"
        self.priority = 100
        self.enabled = True

    def filter(self, frames):
        for fd in frames:
            yield fd
            fn = fd.function()
            # The return address into long_mode_high may be named by a local
            # label after it (long_mode_high.hang).
            if isinstance(fn, str) and fn.startswith("long_mode_high"):
                return


def install():
    gdb.unwinder.register_unwinder(None, IrqFrameUnwinder(), replace=True)
    gdb.frame_filters["zeroframe-boot-entry"] = StopAtBootEntry()
    gdb.events.new_objfile.connect(SITES.reset)
    gdb.events.stop.connect(lambda _e: SITES.failed and SITES.reset())
