"""The zf-* GDB commands.  Each reads memory only (never calls a kernel
function, so they work on a halted or broken kernel), has `help zf-...`, and
answers a bad argument with one line (a gdb.GdbError, no traceback)."""
import struct

import gdb

from . import decode, kstate, target, unwind
from .target import ZfError

COMMANDS = []


class ZfCommand(gdb.Command):
    """Base: one-line errors, registration in the zf-help list."""
    name = ""
    usage = ""
    summary = ""

    def __init__(self):
        super().__init__(self.name, gdb.COMMAND_USER)
        COMMANDS.append(self)

    def invoke(self, arg, from_tty):
        self.raw = arg.strip()  # for an expression argument: GDB's quoting intact
        try:
            self.run(decode.split_args(arg))
        except (ZfError, decode.DecodeError) as e:
            raise gdb.GdbError("%s: %s" % (self.name, e)) from None
        except gdb.MemoryError as e:
            raise gdb.GdbError("%s: memory not readable: %s" % (self.name, e)) from None
        except gdb.error as e:
            raise gdb.GdbError("%s: %s" % (self.name, e)) from None
        except KeyError as e:
            raise gdb.GdbError("%s: the kernel's structure has no field %s (helpers out of date?)"
                               % (self.name, e)) from None
        except gdb.GdbError:
            raise
        except Exception as e:  # still one line, never a traceback
            raise gdb.GdbError("%s: internal error (%s: %s); please report" % (
                self.name, type(e).__name__, e)) from None

    def bad_usage(self, why):
        raise ZfError("%s (usage: %s)" % (why, self.usage))

    def run(self, argv):
        raise NotImplementedError


def _space_root(argv, pos, cmd):
    """CR3 from argv[pos] if given, else the live one."""
    if len(argv) > pos:
        return target.eval_int(argv[pos]) & decode.ADDR_MASK
    target.need_target()
    if not target.paging_on():
        raise ZfError("paging is off (CR0.PG = 0): addresses are physical, there is nothing "
                      "to walk yet")
    return target.cr3()


class Walk(ZfCommand):
    """Walk the page tables for a virtual address.

Usage: zf-walk VA [CR3]
Shows each level's index, the entry's physical address, its raw value and
flags (COW is the software copy-on-write bit 9), where the walk stopped,
the physical address, the effective rights over all levels, and "(the zero
frame)" when the page is the shared zero frame.  CR3 defaults to the live
one; tables are read physically (QEMU's PhyMemMode), so any space works.
Sets $zf_phys and $zf_frame (-1 when unmapped) for scripts."""
    name = "zf-walk"
    usage = "zf-walk VA [CR3]"
    summary = "page-table walk of VA: entries, flags, rights, zero frame"

    def run(self, argv):
        if not 1 <= len(argv) <= 2:
            self.bad_usage("expects 1 or 2 arguments")
        va = target.eval_int(argv[0])
        root = _space_root(argv, 1, self)
        zero = target.zero_frame()
        with target.phys() as p:
            w = decode.walk(p.u64, root, va)
        for line in decode.format_walk(w, zero):
            print(line)
        # For scripts: $zf_phys / $zf_frame (-1 when not mapped), like $_ after x.
        gdb.set_convenience_variable("zf_phys", -1 if w.phys is None else w.phys)
        gdb.set_convenience_variable("zf_frame", -1 if w.frame is None else w.frame)


def _space_arg(arg):
    """(struct vmm_space * value, words) for zf-regions' argument: none (the
live space), `kernel`, a PID, a struct proc * or a struct vmm_space *."""
    target.need_target()
    if arg is None:
        s = kstate.live_space()
        return s, "the live space (%s)" % kstate.space_owner_words(s)
    if arg == "kernel":
        return kstate.kernel_space(), "the kernel space"
    try:
        v = gdb.parse_and_eval(arg)
    except gdb.error as e:
        raise ZfError("cannot evaluate %r: %s" % (arg, e)) from None
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT:
        if v.address is None:
            raise ZfError("%r is a struct without an address" % arg)
        v, t = v.address, v.address.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        tag = t.target().strip_typedefs().tag
        if tag == "proc":
            return _pid_space(int(v.dereference()["pid"]))
        if tag and tag != "vmm_space":
            raise ZfError("%r is a struct %s, not a space or a process" % (arg, tag))
    n = target.value_int(v)
    if n < 1 << 31:
        return _pid_space(n)
    for s in kstate.all_spaces():
        if int(s) & decode.MASK64 == n:
            return s, "the space at %#x (%s)" % (n, kstate.space_owner_words(s))
    raise ZfError("%#x is not a live address space (not the kernel's, not in the space list)" % n)


def _pid_space(pid):
    for p in kstate.processes():
        if p["pid"] == pid:
            if not p["space_ptr"]:
                raise ZfError("PID %d (%s) has no address space (it is %s)" % (
                    pid, p["name"], p["state"]))
            return p["space"], "PID %d (%s)" % (pid, p["name"])
    raise ZfError("no process with PID %d (zf-ps lists them)" % pid)


class Regions(ZfCommand):
    """The regions of an address space, in address order.

Usage: zf-regions [PID|kernel|SPACE]
Default: the live space (cpu0.mm.active_space).  PID: that process's space;
`kernel`: vmm_kernel_space, whose regions are the kernel arena; SPACE: a
struct vmm_space * or struct proc * expression.  Each line: start-end, size,
rights (r w x, u: user access) and private/shared, or guard; the memory
object (kind, #id, name) and the region's first page in it; the region's
name.  Read from the space's AVL tree (struct vmm_space.regions) in order."""
    name = "zf-regions"
    usage = "zf-regions [PID|kernel|SPACE]"
    summary = "regions of a space: bounds, rights, object, name"

    def run(self, argv):
        # One argument, an expression that may contain spaces and quotes
        # ('file.c'::var): taken as typed.
        space, words = _space_arg(self.raw or None)
        rs = kstate.regions(space)
        sp = space.dereference()
        print("regions of %s, PML4 %#x:" % (words, int(sp["pml4"])))
        for r in rs:
            print("  %016x-%016x %6s  %s" % (r["start"], r["end"],
                                            decode.size_str(r["end"] - r["start"]),
                                            kstate.region_words(r)))
        count = int(sp["nregions"])
        print("%d region(s)%s" % (len(rs), "" if count == len(rs) else
                                  " (but nregions says %d: corrupt or changing)" % count))


class Ps(ZfCommand):
    """Every process, from the process table.

Usage: zf-ps
PID, parent PID, state (runnable, blocked and on what, stopped, zombie,
with a pending signal), the address space's PML4 and number of regions,
the name; `*` marks the current process (cpu0.current)."""
    name = "zf-ps"
    usage = "zf-ps"
    summary = "processes: PID, parent, state, PML4, regions, name, current"

    def run(self, argv):
        if argv:
            self.bad_usage("takes no arguments")
        target.need_target()
        procs = kstate.processes()
        print("  %5s %5s  %-26s %-12s %7s  %s" % ("PID", "PPID", "STATE", "PML4", "REGIONS",
                                                  "NAME"))
        for p in procs:
            if p["space_ptr"]:
                sp = p["space"].dereference()
                pml4, nreg = "%#x" % int(sp["pml4"]), "%d" % int(sp["nregions"])
            else:
                pml4, nreg = "-", "-"
            print("%s %5d %5s  %-26s %-12s %7s  %s" % (
                "*" if p["current"] else " ", p["pid"],
                "-" if p["ppid"] is None else p["ppid"], p["state"], pml4, nreg, p["name"]))
        print("%d process(es); * = current" % len(procs))


def _space_of_root(root):
    """The struct vmm_space * whose PML4 is @root, or None."""
    try:
        for s in kstate.all_spaces():
            if int(s.dereference()["pml4"]) & decode.ADDR_MASK == root:
                return s
    except (ZfError, gdb.error):
        pass
    return None


def region_notes(root, runs):
    """@runs cut at region boundaries, each with its note: the region of the
    space at @root (the user half) or of the kernel space (the arena), as
    zf-regions words it ('region rw-u private, anonymous object #7 ...');
    '' outside every region."""
    space = _space_of_root(root)
    if space is None:
        return [(r, "") for r in runs]
    try:
        regs = kstate.regions(space)
        kspace = kstate.kernel_space()
        if int(space) != int(kspace):
            regs += kstate.regions(kspace)
    except (ZfError, decode.DecodeError, gdb.error) as e:
        # The mappings are still worth seeing when the regions are broken.
        print("  (no region notes: %s)" % e)
        return [(r, "") for r in runs]
    regs.sort(key=lambda r: r["start"])
    bounds = [(r["start"], r["end"]) for r in regs]
    out = []
    for run in decode.split_runs(runs, bounds):
        i = decode.region_at(bounds, run.start)
        out.append((run, "" if i is None else "region %s" % kstate.region_words(regs[i])))
    return out


def space_leaves(root):
    """Every leaf of the space at @root; the recursive slot is reported, not
    expanded."""
    def skip(slot, e):
        if slot == decode.RECURSIVE_SLOT and (e & decode.ADDR_MASK) == root:
            return "page tables of this space (recursive slot 510), not expanded"
        return None
    with target.phys() as p:
        return decode.leaves(p.table, root, skip)


class Maps(ZfCommand):
    """List every mapping of an address space, contiguous runs merged.

Usage: zf-maps [FILTER...] [cr3=EXPR]
Each line: start-end, size, effective rights over all levels (rwx, user or
kernel), the first physical frame (or "zero frame"), and markers COW
(copy-on-write), zero-frame and PROTNONE (a region without rights: not
present, shown as ---, the frames still held).  Runs merge pages with contiguous frames
(or all on the zero frame) and the same rights and markers.
Runs are cut at region boundaries and each is annotated with its region
(user half: the space's own; kernel arena: the kernel space's) and mode,
as zf-regions prints it; no note: no region (kernel image, windows).
Filters (all must hold): w/writable, x/exec, u/user, k/kernel, cow, zero,
protnone.
Example: `zf-maps w x` lists W+X mappings (there should be none)."""
    name = "zf-maps"
    usage = "zf-maps [FILTER...] [cr3=EXPR]"
    summary = "every mapping, runs merged, rights, region; filters w x u k cow zero protnone"

    def run(self, argv):
        root_expr = [a[4:] for a in argv if a.startswith("cr3=")]
        words = [a for a in argv if not a.startswith("cr3=")]
        if len(root_expr) > 1:
            self.bad_usage("cr3= given twice")
        filters = decode.parse_filters(words)
        root = _space_root(root_expr, 0, self)
        zero = target.zero_frame()
        leaves, skipped = space_leaves(root)
        runs = region_notes(root, decode.merge_runs(leaves, zero))
        shown = [(r, n) for r, n in runs if all(f(r) for f in filters)]
        print("mappings of the space with CR3 %#x%s:" % (
            root, " matching " + " ".join(words) if words else ""))
        for va, size, why in skipped:
            if not filters:
                print("  %016x-%016x %6s  %s" % (va, va + size, decode.size_str(size), why))
        for r, note in shown:
            print(decode.format_run(r, "  [%s]" % note if note else ""))
        if not shown:
            print("  no mappings" + (" match" if filters else ""))
        print("%d run(s), %d page(s) shown; %d run(s) in all" % (
            len(shown), sum(r.pages for r, _ in shown), len(runs)))


def _ranges(rs):
    """(start, end) pairs of a struct range_set value."""
    n = int(rs["n"])
    return [(int(rs["r"][i]["start"]), int(rs["r"][i]["end"])) for i in range(n)]


class Frame(ZfCommand):
    """The frame allocator's view of a physical frame, and who maps it.

Usage: zf-frame PA
Reads the allocator's own metadata (kernel/mm/pmm.c: the chunk table, the
chunk's metadata word for the frame, read physically): not RAM, reserved,
free, or allocated with its reference count; says when it is the zero
frame and which memory objects hold it in their page cache (and as which
page); then every virtual address mapping it, in every live space: the
kernel space, then each process's user half (the live one marked)."""
    name = "zf-frame"
    usage = "zf-frame PA"
    summary = "allocator state of a frame (refcount, zero frame), page caches, mappings in every space"

    def run(self, argv):
        if len(argv) != 1:
            self.bad_usage("expects 1 argument")
        pa = target.eval_int(argv[0])
        frame = pa & ~0xFFF
        target.need_target()
        nchunks = int(target.sym("nchunks", "pmm.c"))
        chunks = target.sym("pmm_chunks", "pmm.c")
        usable = _ranges(target.sym("usable", "pmm.c"))
        avail = _ranges(target.sym("avail", "pmm.c"))
        shift = 30  # PMM_CHUNK_SHIFT (include/pmm.h): a #define, absent from the debug info
        ci = frame >> shift
        chunk = None
        if ci < nchunks:
            c = chunks[ci]
            chunk = {"state": str(c["state"].cast(gdb.lookup_type("enum pmm_chunk_state"))),
                     "nframes": int(c["nframes"]), "meta_frame": int(c["meta_frame"])}

        def meta_word():
            li = (frame >> 12) & ((1 << (shift - 12)) - 1)
            with target.phys() as p:
                return p.u32((chunk["meta_frame"] << 12) + 4 * li)

        kind, words = decode.frame_state(frame, chunk, nchunks, meta_word, usable, avail, shift)
        zero = target.zero_frame()
        print("frame %#x: %s" % (frame, words))
        if zero is not None and frame == zero:
            print("  this is the zero frame: shared read-only by every lazily zero-filled page")
        if not target.paging_on():
            return
        self.cache_holders(frame)
        for root, words, maps in self.mappings(frame):
            print("  mapped %d time(s) in %s (PML4 %#x)%s" % (
                len(maps), words, root, ":" if maps else ""))
            for va, eff, e, level in maps[:32]:
                print("    %016x  %s %s  %s" % (va, decode.rwx(eff), "user" if eff & decode.PTE_U
                                               else "kern", decode.pte_str(e, level)))
            if len(maps) > 32:
                print("    ... and %d more" % (len(maps) - 32))

    @staticmethod
    def mappings(frame):
        """(root, words, mappers) for every live space: the kernel space
        whole, the others' user half only (their kernel half is the kernel
        space's).  Before the VMM keeps spaces: the live CR3."""
        root = target.cr3()
        try:
            spaces = kstate.all_spaces()
            procs = kstate.processes()
        except (ZfError, gdb.error):
            spaces = []
        if not spaces or not int(spaces[0].dereference()["pml4"]):
            leaves, _ = space_leaves(root)
            return [(root, "the space with CR3 %#x" % root, decode.mappers(leaves, frame))]
        out, seen = [], set()
        for k, s in enumerate(spaces):
            pml4 = int(s.dereference()["pml4"]) & decode.ADDR_MASK
            if not pml4 or pml4 in seen:
                continue
            seen.add(pml4)
            if k == 0:
                leaves, _ = space_leaves(pml4)
            else:
                with target.phys() as p:
                    leaves, _ = decode.leaves(p.table, pml4,
                                              lambda slot, e: "kernel half" if slot >= 256 else None)
            words = kstate.space_owner_words(s, procs)
            if pml4 == root:
                words += ", live"
            out.append((pml4, words, decode.mappers(leaves, frame)))
        return out

    @staticmethod
    def cache_holders(frame):
        """Say which objects hold @frame in their page cache."""
        try:
            objs = kstate.all_objects()
        except ZfError:
            return
        for o in objs:
            hits = [i for i, f in kstate.cache_pages(o) if f & ~0xFFF == frame]
            if hits:
                info = kstate.obj_info(o)
                print("  in the page cache of %s object #%d%s as page %s" % (
                    info["kind"], info["id"], " '%s'" % info["name"] if info["name"] else "",
                    ", ".join("%d" % i for i in hits)))


def _walk_lines(w, va):
    """The walk recorded in a struct vmm_walk value, as the report prints it.
    A walk that went straight to its leaf through the walk cache recorded
    no levels (leaf_only): @va is walked now, in the live space, instead."""
    lines = []
    try:
        level = int(w["level"])
        leaf_only = "leaf_only" in {f.name for f in w.type.strip_typedefs().fields()} and \
            bool(w["leaf_only"])
    except gdb.error:
        return lines
    if not 1 <= level <= 4:
        return ["    (no walk: the address is not canonical)"]
    if leaf_only:
        try:
            with target.phys() as p:
                now = decode.walk(p.u64, target.cr3(), va)
        except (ZfError, decode.DecodeError, gdb.error) as e:
            return ["    (not recorded: the fault's walk went straight to its leaf through the "
                    "walk cache; walking it now failed: %s)" % e]
        lines = ["    (walked now: the fault's walk went straight to its leaf through the walk "
                 "cache and recorded no levels)"]
        for lv, _i, _addr, e in now.steps:
            lines.append("    %-4s = %016x  %s%s" % (
                decode.LEVEL_NAMES[lv], e, decode.pte_str(e, lv),
                "   <- walk ended here" if lv == now.steps[-1][0] else ""))
        if now.phys is not None:
            lines.append("    effective rights: %s" % decode.rights_str(now.eff & decode.MASK64))
        return lines
    for lv in range(4, level - 1, -1):
        e = int(w["seen"][lv]) & decode.MASK64
        lines.append("    %-4s = %016x  %s%s" % (decode.LEVEL_NAMES[lv], e, decode.pte_str(e, lv),
                                                "   <- walk ended here" if lv == level else ""))
    if int(w["seen"][level]) & decode.PTE_P:
        lines.append("    effective rights: %s" % decode.rights_str(int(w["eff"]) & decode.MASK64))
    return lines


KNOWN_FAULT_FIELDS = {"va", "error", "result", "reason", "walk"}
# Shown as one region line when has_region is set (and omitted when not).
REGION_FAULT_FIELDS = {"has_region", "region_start", "region_end", "region_prot", "region_flags",
                       "object_id", "object_kind", "region_name", "region_offset", "page_index",
                       "region_skipped"}
KERNEL_HALF_START = 0xFFFF800000000000


def _object_name(oid):
    """" 'name'" of the live object #@oid, '' when unnamed or gone."""
    try:
        for o in kstate.all_objects():
            info = kstate.obj_info(o)
            if info["id"] == oid:
                return " '%s'" % info["name"] if info["name"] else ""
    except (ZfError, gdb.error):
        pass
    return ""


def _fault_region_line(f):
    """The region a fault was decided on, in region_describe()'s words, or
    None when the fault had none (or the kernel records no region)."""
    names = {fld.name for fld in f.type.strip_typedefs().fields()}
    if not REGION_FAULT_FIELDS <= names:
        return None
    if "region_skipped" in names and bool(f["region_skipped"]):
        return _skipped_region_line(int(f["va"]) & decode.MASK64)
    if not bool(f["has_region"]):
        return "  region: none holds the address"
    prot, flags = int(f["region_prot"]), int(f["region_flags"])
    start, end = int(f["region_start"]) & decode.MASK64, int(f["region_end"]) & decode.MASK64
    line = "  region: [%#x, %#x) %s" % (start, end, decode.region_mode(prot, flags))
    oid = int(f["object_id"])
    oname = ""
    if oid:
        kind = int(f["object_kind"])
        try:
            kind_word = str(gdb.Value(kind).cast(gdb.lookup_type("enum vmobj_kind")))
        except gdb.error:
            kind_word = str(kind)
        oname = _object_name(oid)
        line += ", %s object #%d%s from page %d (fault in page %d)" % (
            decode.OBJ_KIND_WORDS.get(kind_word, kind_word), oid, oname,
            int(f["region_offset"]), int(f["page_index"]))
    name = f["region_name"]
    if int(name):
        try:
            if " '%s'" % name.string() != oname:  # not twice the same name
                line += "  %s" % name.string()
        except (gdb.error, gdb.MemoryError):
            line += "  (name not readable)"
    return line


def _skipped_region_line(va):
    """A resolved fault records no region (region_skipped): the one holding
    @va now, looked up here the way the kernel's lookup would (the kernel
    half's regions are the kernel space's)."""
    note = "\n  (region looked up now: a resolved fault does not record it)"
    try:
        space = kstate.kernel_space() if va >= KERNEL_HALF_START else kstate.live_space()
        found = [r for r in kstate.regions(space) if r["start"] <= va < r["end"]]
    except (ZfError, gdb.error, gdb.MemoryError):
        return "  region: not recorded (the fault was resolved), and not readable now"
    if not found:
        return "  region: none holds the address now (the fault was resolved; its region is gone)"
    r = found[0]
    line = "  region: [%#x, %#x) %s" % (r["start"], r["end"], r["mode"])
    o = r["obj"]
    oname = ""
    if o is not None:
        oname = " '%s'" % o["name"] if o["name"] else ""
        line += ", %s object #%d%s from page %d (fault in page %d)" % (
            o["kind"], o["id"], oname, r["offset"], r["offset"] + (va - r["start"]) // 4096)
    if r["name"] and " '%s'" % r["name"] != oname:
        line += "  %s" % r["name"]
    return line + note


# Fields the VMM sets only with one outcome (struct vmm_fault): left over
# from an earlier fault otherwise.
OUTCOME_FIELDS = {"pager_why": ("reason", "FAULT_PAGER_FAILED"),
                  "wait_obj": ("result", "VMM_FAULT_WAIT"),
                  "wait_index": ("result", "VMM_FAULT_WAIT"),
                  "wait_uffd": ("result", "VMM_FAULT_WAIT")}


def _outcome_sets(f, name):
    if name not in OUTCOME_FIELDS:
        return True
    field, value = OUTCOME_FIELDS[name]
    try:
        return str(f[field]) == value
    except gdb.error:
        return True


def _extra_fields(f):
    """Fields of struct vmm_fault beyond the five above (the region a
    decision was made on, ...), by name from the debug info, so that what
    the VMM adds shows up without changing the helper."""
    lines = []
    region = _fault_region_line(f)
    if region is not None:
        lines.append(region)
    for fld in f.type.strip_typedefs().fields():
        if fld.name in KNOWN_FAULT_FIELDS or fld.name is None:
            continue
        if region is not None and fld.name in REGION_FAULT_FIELDS:
            continue
        if not _outcome_sets(f, fld.name):
            continue
        v = f[fld.name]
        t = v.type.strip_typedefs()
        try:
            if t.code == gdb.TYPE_CODE_PTR and t.target().strip_typedefs().sizeof == 1:
                text = v.string() if int(v) else "(none)"
            elif t.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM,
                            gdb.TYPE_CODE_PTR):
                text = str(v) if t.code in (gdb.TYPE_CODE_BOOL, gdb.TYPE_CODE_ENUM) \
                    else "%#x" % (int(v) & decode.MASK64)
            else:
                continue
        except (gdb.error, gdb.MemoryError):
            text = "(not readable)"
        lines.append("  %s: %s" % (fld.name, text))
    return lines


def _reason_words(reason):
    r = int(reason)
    words = target.sym_or_none("vmm_fault_reason_words")
    if words is not None and 0 <= r < words.type.range()[1] + 1:
        p = words[r]
        if int(p):
            try:
                return p.string()
            except (gdb.error, gdb.MemoryError):
                pass
    return str(reason)  # the enumerator's name, from the debug info


class Fault(ZfCommand):
    """The last page fault the kernel saw, in the kernel's words.

Usage: zf-fault
Address, access, RIP, result, the reason (the VMM's own text), the region
it was decided on (bounds, rights, object and page, name) or that none holds
the address, any further field of struct vmm_fault, and the walk the
decision was made on; while a fault is being decided (you stopped inside
the handler), that fault with "not decided yet".  Then the fault
counters (vmm_counters).
Read from pf_last / pf_deciding (kernel/arch/x86_64/page_fault.c)."""
    name = "zf-fault"
    usage = "zf-fault"
    summary = "last page fault decoded (address, access, reason, region, walk) + counters"

    def run(self, argv):
        if argv:
            self.bad_usage("takes no arguments")
        target.need_target()
        deciding = target.sym("pf_deciding")
        rec = target.sym("pf_last")
        seq = int(rec["seq"])
        last = rec["fault"]
        if int(deciding):
            f = deciding.dereference()
            va, err = int(f["va"]) & decode.MASK64, int(f["error"])
            inner = int(deciding) != int(last.address)
            print("page fault %sbeing decided now (you are inside its handler): %s at %#x" % (
                "nested in #%d, " % seq if inner else "#%d " % seq, decode.pf_access(err), va))
            print("  error code %#x: %s" % (err, decode.pf_error_str(err)))
            if not inner:
                self.rip(rec)
            print("  result and reason: not decided yet")
            if not inner:
                return self.counters()
        if seq == 0:
            print("no page fault yet")
        else:
            va, err = int(last["va"]) & decode.MASK64, int(last["error"])
            print("last page fault (#%d): %s at %#x" % (seq, decode.pf_access(err), va))
            print("  error code %#x: %s" % (err, decode.pf_error_str(err)))
            self.rip(rec)
            print("  result: %s" % str(last["result"]))
            print("  reason: %s" % _reason_words(last["reason"]))
            for line in _extra_fields(last):
                print(line)
            print("  walk:")
            for line in _walk_lines(last["walk"], va):
                print(line)
        self.counters()

    @staticmethod
    def rip(rec):
        rip = int(rec["rip"]) & decode.MASK64
        where = target.symbolize(rip)
        print("  at RIP %#x%s" % (rip, " " + where if where else ""))

    @staticmethod
    def counters():
        counters = target.sym("vmm_counters")
        print("fault counters: " + ", ".join("%s %d" % nv for nv in target.fields(counters)))


def _irq_frame_value(addr):
    t = gdb.lookup_type("struct irq_frame")
    return gdb.Value(addr).cast(t.pointer()).dereference()


def _find_irq_frame():
    """(address, GDB frame of its entry or None) of the innermost exception
    frame on the stack."""
    frames = unwind.irq_frames()
    if frames:
        return frames[0][1], frames[0][0]
    # No irq_common frame found (e.g. GDB could not unwind that far): the
    # first struct irq_frame * argument of a function on the stack.
    try:
        want = gdb.lookup_type("struct irq_frame").pointer()
        f = gdb.selected_frame()
        while f is not None:
            try:
                block = f.block()
            except RuntimeError:
                block = None
            while block is not None and block.function is None:
                block = block.superblock
            for s in (block or []):
                if s.is_argument and s.type.strip_typedefs().unqualified() == want:
                    return int(s.value(f)) & decode.MASK64, None
            f = f.older()
    except (gdb.error, ValueError):
        pass
    raise ZfError("no exception frame on this stack (give its address: zf-frame-regs ADDR)")


class FrameRegs(ZfCommand):
    """The registers saved by the exception entry (struct irq_frame).

Usage: zf-frame-regs [ADDR]
ADDR: a struct irq_frame address; default: the innermost exception entry on
the stack.  Prints the vector, the error code in words, RIP (symbolised),
CS, RFLAGS, RSP, SS, every general register, and the frame-pointer chain
of the interrupted code (read from memory, like the kernel's report; it
also works where GDB's bt stops, after a switch from an IST stack).  To
make that interrupted context GDB's current frame (bt, info registers,
up/down from there), use zf-interrupted."""
    name = "zf-frame-regs"
    usage = "zf-frame-regs [ADDR]"
    summary = "registers saved in an exception frame (struct irq_frame)"

    def run(self, argv):
        if len(argv) > 1:
            self.bad_usage("expects at most 1 argument")
        target.need_target()
        addr, entry = (target.eval_int(argv[0]), None) if argv else _find_irq_frame()
        f = _irq_frame_value(addr)
        regs = dict(target.fields(f))
        v, err = regs.get("vector", 0), regs.get("error_code", 0)
        lean = v == unwind.PF_LEAN_FRAME
        if lean:
            v = 14
        print("exception frame at %#x: %s" % (addr, decode.vector_str(v)))
        unsaved = []
        if lean:
            # pf_entry saved only what a call may clobber: the others are
            # the interrupted code's as GDB unwinds them to the entry.
            for n in unwind.CALLEE_SAVED:
                try:
                    regs[n] = int(entry.read_register(n)) & decode.MASK64
                except (AttributeError, gdb.error):
                    regs.pop(n, None)
                    unsaved.append(n.upper())
            print("  (#PF's lean entry: rbx, rbp and r12-r15 are not in the frame; %s)" % (
                "from its address alone they are not known: run zf-frame-regs without one"
                if unsaved else "shown as GDB unwinds them to the entry: the interrupted code's"))
        if v == 14:
            print("  error code %#x: %s" % (err, decode.pf_error_str(err)))
        else:
            print("  error code %#x" % err)
        rip = regs["rip"]
        print("  RIP=%016x %s CS=%04x" % (rip, target.symbolize(rip), regs["cs"]))
        print("  RSP=%016x SS=%04x RFLAGS=%016x [%s]" % (
            regs["rsp"], regs["ss"], regs["rflags"], decode.rflags_str(regs["rflags"])))
        names = [n for n in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
                             "r11", "r12", "r13", "r14", "r15") if n in regs]
        for i in range(0, len(names), 4):
            print("  " + " ".join("%-3s=%016x" % (n.upper(), regs[n]) for n in names[i:i + 4]))
        # The kernel keeps frame pointers everywhere: the interrupted stack's
        # chain, as the kernel's own report prints it (GDB's bt cannot follow
        # a switch from an IST stack down to a lower stack).
        print("  frame-pointer chain of the interrupted code:")
        print("    #0  %016x %s" % (rip, target.symbolize(rip)))
        chain, rbp = [], regs.get("rbp", 0)
        while len(chain) < 32 and rbp >= 0xFFFF800000000000 and rbp % 8 == 0:
            try:
                nxt, ret = struct.unpack("<QQ", target.read_virt(rbp, 16))
            except ZfError:
                break
            if ret == 0:
                break
            chain.append(ret)
            if nxt <= rbp:
                break
            rbp = nxt
        n = 1
        # A leaf built without a frame record still has its return address at
        # RSP: shown, marked, when the chain lacks it (as the kernel does).
        top = self.word_at(regs.get("rsp", 0))
        lo, hi = self.text_range()
        if top is not None and lo <= top < hi and top != rip and (not chain or chain[0] != top):
            print("    #%-2d %016x %s  (? return address at RSP: no frame record)" % (
                n, top - 1, target.symbolize(top - 1)))
            n += 1
        for ret in chain:
            print("    #%-2d %016x %s" % (n, ret - 1, target.symbolize(ret - 1)))
            n += 1

    @staticmethod
    def word_at(addr):
        try:
            return struct.unpack("<Q", target.read_virt(addr, 8))[0]
        except ZfError:
            return None

    @staticmethod
    def text_range():
        try:
            return (target.eval_int("&kernel_text_start"), target.eval_int("&kernel_text_end"))
        except ZfError:
            return (0, 0)


class Interrupted(ZfCommand):
    """Select the interrupted context of the innermost exception as GDB's
current frame.

Usage: zf-interrupted
After it, `info registers`, `bt`, `up`/`down`, `x/i $pc` and locals show the
code that took the exception, with the registers from its irq_frame (the
zeroframe unwinder supplies them)."""
    name = "zf-interrupted"
    usage = "zf-interrupted"
    summary = "make the interrupted context (below the exception entry) the current frame"

    def run(self, argv):
        if argv:
            self.bad_usage("takes no arguments")
        target.need_target()
        frames = unwind.irq_frames()
        if not frames:
            raise ZfError("no exception entry on this stack")
        older = frames[0][0].older()
        if older is None:
            raise ZfError("GDB could not unwind past the exception entry")
        older.select()
        gdb.execute("frame")


class FatalBreakpoint(gdb.Breakpoint):
    def __init__(self, spec):
        super().__init__(spec, internal=False)
        self.spec = spec

    def stop(self):
        print("zf-break-fatal: stopped in %s, before the report and the halt; the faulting "
              "state is intact.  Try: zf-fault, zf-frame-regs, zf-interrupted, bt" % self.spec)
        return True


FATAL_SITES = ["irq_report_fatal", "panic"]


class BreakFatal(ZfCommand):
    """Stop on the fatal-fault path, before the report is printed and the
kernel halts.

Usage: zf-break-fatal [off]
Breakpoints on irq_report_fatal (an exception nobody resolved: the frame
argument holds the registers) and panic (an explicit kernel panic).  Then
zf-fault, zf-frame-regs, zf-interrupted and bt explain the fault.  `off`
deletes them."""
    name = "zf-break-fatal"
    usage = "zf-break-fatal [off]"
    summary = "breakpoints before the fatal report (irq_report_fatal, panic)"
    bps = []

    def run(self, argv):
        if argv not in ([], ["off"]):
            self.bad_usage("the only argument is 'off'")
        for b in self.bps:
            if b.is_valid():
                b.delete()
        BreakFatal.bps = []
        if argv == ["off"]:
            print("zf-break-fatal: off")
            return
        for s in FATAL_SITES:
            BreakFatal.bps.append(FatalBreakpoint(s))
        print("zf-break-fatal: breakpoints on %s" % ", ".join(FATAL_SITES))


class Pte(ZfCommand):
    """Decode a page-table entry value.

Usage: zf-pte VALUE [LEVEL]
LEVEL: 1 = PT (default) .. 4 = PML4 (bit 7 is PS above level 1, PAT in a PT)."""
    name = "zf-pte"
    usage = "zf-pte VALUE [LEVEL]"
    summary = "decode a page-table entry value"

    def run(self, argv):
        if not 1 <= len(argv) <= 2:
            self.bad_usage("expects 1 or 2 arguments")
        e = target.eval_int(argv[0])
        level = decode.parse_int(argv[1]) if len(argv) > 1 else 1
        if level not in (1, 2, 3, 4):
            self.bad_usage("LEVEL must be 1..4")
        if e & decode.PTE_P or (level == 1 and e & decode.PTE_PROTNONE):
            print("frame %#x  %s" % (e & decode.ADDR_MASK, decode.pte_str(e, level)))
        else:
            print(decode.pte_str(e, level))


class Pf(ZfCommand):
    """Decode a page-fault error code.

Usage: zf-pf ERRCODE
Each bit of the error code the CPU pushes for a #PF, in the words of the
kernel's report: present or not, read or write, kernel or user mode, then
reserved bit, instruction fetch, protection key, shadow stack, SGX."""
    name = "zf-pf"
    usage = "zf-pf ERRCODE"
    summary = "decode a #PF error code"

    def run(self, argv):
        if len(argv) != 1:
            self.bad_usage("expects 1 argument")
        print(decode.pf_error_str(target.eval_int(argv[0])))


class Help(ZfCommand):
    """List the Zeroframe helpers.

Usage: zf-help
One line each: its usage and what it shows.  `help zf-NAME` gives the
details of one."""
    name = "zf-help"
    usage = "zf-help"
    summary = "this list"

    def run(self, argv):
        if argv:
            self.bad_usage("takes no arguments")
        print("Zeroframe helpers (help zf-NAME for details; all read-only):")
        width = max(len(c.usage) for c in COMMANDS) + 2  # at least two spaces before the summary
        for c in COMMANDS:
            print("  %-*s%s" % (width, c.usage, c.summary))
        print("Ctrl-C interrupts the guest at any time; `make debug` logs the serial "
              "console to build/debug/last/serial.log")


def install():
    for cls in (Walk, Maps, Regions, Ps, Frame, Fault, FrameRegs, Interrupted, BreakFatal, Pte, Pf,
                Help):
        cls()
