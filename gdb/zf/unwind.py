"""Unwinding through the exception entries (kernel/irq/entry.asm).

irq_common saves the interrupted registers as a struct irq_frame, pushes a
frame record {interrupted rbp, rip + 1} and calls irq_dispatch.  #PF has
its own entry, pf_entry: it saves only the registers a call may clobber
into their places in a struct irq_frame (vector slot IRQ_PF_LEAN_FRAME),
pushes no frame record, and calls page_fault_lean; rbx, rbp and r12-r15 are
still the interrupted code's there.  A fault it does not resolve has the
rest of the frame filled in and joins irq_common (then irq_common's frame
is the one on the stack).  NASM emits no call-frame information, so GDB
alone would misread these frames.  This unwinder recognises a frame whose
PC is one of the two return addresses (irq_common's from irq_dispatch,
pf_entry's from page_fault_lean) and gives GDB the interrupted registers:
read from the irq_frame (by field name), and for pf_entry's the callee-saved
ones as GDB unwound them to that frame.  So `bt` in a handler continues
into the interrupted code with its real registers, and `frame N` / `info
registers` there show the interrupted context.

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
# What pf_entry leaves in the CPU rather than in its frame.
CALLEE_SAVED = ["rbx", "rbp", "r12", "r13", "r14", "r15"]
PF_LEAN_FRAME = 0x10E  # IRQ_PF_LEAN_FRAME (include/irq.h)


def _call_return(start, callee, span=256):
    """The address after the first `call callee` (e8 rel32) in the @span
    bytes from @start, or None."""
    code = bytes(gdb.selected_inferior().read_memory(start, span))
    for i in range(len(code) - 5):
        if code[i] != 0xE8:
            continue
        rel = int.from_bytes(code[i + 1:i + 5], "little", signed=True)
        if start + i + 5 + rel == callee:
            return start + i + 5
    return None


class _Sites:
    """Addresses found once per loaded kernel: the two entries and their
    return addresses (irq_common's after `call irq_dispatch`, pf_entry's
    after `call page_fault_lean`)."""

    def __init__(self):
        self.reset()

    def reset(self, *_):
        self.irq_common = self.ret = self.pf_entry = self.pf_ret = self.frame_type = None
        self.failed = False

    def _addr(self, name):
        v = gdb.parse_and_eval("&" + name)
        return int(v.cast(gdb.lookup_type("unsigned long"))) & ((1 << 64) - 1)

    def resolve(self):
        """True when the return addresses are known (needs the kernel's
        text readable: paging on).  Failures are retried at the next stop."""
        if self.ret is not None:
            return True
        if self.failed:
            return False
        try:
            common, pf = self._addr("irq_common"), self._addr("pf_entry")
            ret = _call_return(common, self._addr("irq_dispatch"))
            pf_ret = _call_return(pf, self._addr("page_fault_lean"))
            self.frame_type = gdb.lookup_type("struct irq_frame")
        except (gdb.error, gdb.MemoryError, RuntimeError):
            self.failed = True
            return False
        if ret is None or pf_ret is None:
            self.failed = True
            return False
        self.irq_common, self.ret, self.pf_entry, self.pf_ret = common, ret, pf, pf_ret
        return True


SITES = _Sites()


def irq_frame_at_return(rsp):
    """The irq_frame address for the irq_common frame whose rsp is @rsp:
    the frame record (16 bytes) sits at rsp, the irq_frame right above."""
    return rsp + 16


def entry_frame(pc, rsp):
    """(irq_frame address, entry address, lean) when @pc is an entry's
    return address (the frame of irq_common or pf_entry, with @rsp), else
    None.  lean: pf_entry's frame, whose callee-saved slots are unwritten."""
    if not SITES.resolve():
        return None
    if pc == SITES.ret:
        return irq_frame_at_return(rsp), SITES.irq_common, False
    if pc == SITES.pf_ret:
        return rsp, SITES.pf_entry, True
    return None


class IrqFrameUnwinder(Unwinder):
    def __init__(self):
        super().__init__("zeroframe-irq-frame")

    def __call__(self, pending):
        pc = int(pending.read_register("rip")) & ((1 << 64) - 1)
        rsp = int(pending.read_register("rsp")) & ((1 << 64) - 1)
        found = entry_frame(pc, rsp)
        if found is None:
            return None
        addr, entry, lean = found
        try:
            f = gdb.Value(addr).cast(SITES.frame_type.pointer()).dereference()
            saved = {r: int(f[r]) for r in GPRS if not (lean and r in CALLEE_SAVED)}
            saved["eflags"] = int(f["rflags"])
        except (gdb.error, gdb.MemoryError):
            return None
        cfa = addr + SITES.frame_type.sizeof
        ptr = gdb.lookup_type("void").pointer()
        info = pending.create_unwind_info(_FrameId(_value(cfa, ptr), _value(entry, ptr)))
        # The callee-saved registers of a lean frame, and the control
        # registers of any, are the interrupted code's as they stand.
        for name in PASS_THROUGH + (CALLEE_SAVED if lean else []):
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
    """(gdb frame of the entry, irq_frame address, lean) for every exception
    entry on the selected thread's stack, innermost first (lean: pf_entry's,
    see entry_frame)."""
    out = []
    if not SITES.resolve():
        return out
    try:
        f = gdb.newest_frame()
    except gdb.error:
        return out
    while f is not None:
        try:
            found = entry_frame(f.pc(), int(f.read_register("rsp")) & ((1 << 64) - 1))
            if found is not None:
                out.append((f, found[0], found[2]))
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
