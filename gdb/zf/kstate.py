"""The kernel's own bookkeeping, read for the helpers: address spaces and
their region trees, memory objects and their page caches, processes.

Everything is found by symbol and field name through GDB's type
information (include/vmm.h, region.h, vmobj.h, proc.h, sched.h,
percpu.h), read from memory only; the pure logic (tree order, cache
layout, rights words) is in decode.py.  The heap and the kernel's statics
are in the kernel half, mapped alike in every space, so virtual reads work
whichever space is live.
"""
import gdb

from . import decode, target
from .target import ZfError

MAX_REGIONS = 1 << 20
MAX_PROCS = 1 << 16


def _type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise ZfError("the kernel has no %s (is the right ELF loaded?)" % name) from None


def _offset(struct_name, field):
    for f in _type(struct_name).fields():
        if f.name == field:
            return f.bitpos // 8
    raise ZfError("%s has no field %s (helpers out of date?)" % (struct_name, field))


def _ptr(v):
    return int(v) & decode.MASK64


def _cstr(v, limit=128):
    """A C string pointer or char array, or None for NULL / unreadable."""
    try:
        if v.type.strip_typedefs().code == gdb.TYPE_CODE_PTR and not _ptr(v):
            return None
        return v.string(errors="replace")[:limit]
    except (gdb.error, gdb.MemoryError):
        return "(unreadable)"


def _enum_word(v, prefix=""):
    s = str(v)
    return s[len(prefix):].lower() if prefix and s.startswith(prefix) else s


# ---------------------------------------------------------------- spaces

def kernel_space():
    return target.sym("vmm_kernel_space").address


def live_space():
    """cpu0.mm.active_space: the space whose tables are in CR3."""
    cpu = target.sym("cpu0", "percpu.c")
    s = cpu["mm"]["active_space"]
    if not _ptr(s):
        raise ZfError("no live space yet (cpu0.mm.active_space is NULL: before vmm_init)")
    return s


def all_spaces():
    """Every live space, the kernel's first (it is not in the list of
    created spaces), then the list in space.c."""
    out = [kernel_space()]
    seen = {_ptr(out[0])}
    s = target.sym("spaces", "space.c")
    while _ptr(s) and len(out) < MAX_PROCS:
        if _ptr(s) in seen:
            break
        seen.add(_ptr(s))
        out.append(s)
        s = s.dereference()["next_space"]
    return out


def space_owner_words(space, procs=None):
    """'the kernel space' / 'PID 3 (sh)' / 'no process' for a space."""
    if _ptr(space) == _ptr(kernel_space()):
        return "the kernel space"
    names = ["PID %d (%s)" % (p["pid"], p["name"]) for p in (procs or processes())
             if p["space_ptr"] == _ptr(space)]
    return ", ".join(names) if names else "no process"


# ---------------------------------------------------------------- objects

def obj_info(o):
    """dict of a struct vmobj * (None for NULL)."""
    if not _ptr(o):
        return None
    d = o.dereference()
    return {"addr": _ptr(o), "kind": decode.OBJ_KIND_WORDS.get(str(d["kind"]), str(d["kind"])),
            "id": int(d["id"]), "name": _cstr(d["name"]), "npages": int(d["npages"]),
            "refs": int(d["refs"]), "cached": int(d["cached"])}


def all_objects():
    out = []
    o = target.sym("objects", "vmobj.c")
    seen = set()
    while _ptr(o) and _ptr(o) not in seen and len(out) < MAX_REGIONS:
        seen.add(_ptr(o))
        out.append(o)
        o = o.dereference()["next_obj"]
    return out


def cache_pages(o):
    """Every (page index, frame) in the page cache of struct vmobj * @o."""
    d = o.dereference()
    root = _ptr(d["cache"])
    slot_t = gdb.lookup_type("uint64_t").array(decode.RADIX_SLOTS - 1)

    def read_slots(node):
        v = gdb.Value(node).cast(slot_t.pointer()).dereference()
        return [int(v[i]) & decode.MASK64 for i in range(decode.RADIX_SLOTS)]

    return decode.radix_pages(read_slots, root, int(d["cache_levels"]))


# ---------------------------------------------------------------- regions

def regions(space):
    """The regions of struct vmm_space * @space in address order: dicts with
    start, end, prot, flags, mode, obj (obj_info or None), offset, name."""
    sp = space.dereference()
    node_t = _type("struct avl_node").pointer()
    region_t = _type("struct region").pointer()
    off = _offset("struct region", "node")

    def children(n):
        v = gdb.Value(n).cast(node_t).dereference()
        return _ptr(v["left"]), _ptr(v["right"])

    nodes = decode.avl_inorder(_ptr(sp["regions"]["root"]), children, MAX_REGIONS)
    out = []
    for n in nodes:
        r = gdb.Value(n - off).cast(region_t).dereference()
        prot, flags = int(r["prot"]), int(r["flags"])
        out.append({"addr": n - off, "start": _ptr(r["start"]), "end": _ptr(r["end"]),
                    "prot": prot, "flags": flags, "mode": decode.region_mode(prot, flags),
                    "obj": obj_info(r["obj"]), "offset": int(r["offset"]),
                    "name": _cstr(r["name"])})
    return out


def region_words(r):
    """"rw-u private, anonymous object #9 '[heap]', offset page 0" (and the
    region's name when it is not the object's): a region without bounds."""
    words = r["mode"]
    o = r["obj"]
    if o is not None:
        words += ", %s object #%d%s, offset page %d" % (
            o["kind"], o["id"], " '%s'" % o["name"] if o["name"] else "", r["offset"])
    if r["name"] and (o is None or r["name"] != o["name"]):
        words += "  %s" % r["name"]
    return words


# ---------------------------------------------------------------- processes

def current_thread():
    t = target.sym("cpu0", "percpu.c")["current"]
    return _ptr(t)


def proc_state(p):
    """The state a user sees, as proc_state_str() decides it, with what a
    blocked thread waits for and a pending signal."""
    if bool(p["zombie"]):
        return "zombie"
    t = p["thread"]
    if not _ptr(t):
        return "dead"
    t = t.dereference()
    state = _enum_word(t["state"], "THREAD_")
    if state == "blocked":
        why = _cstr(t["blocked_why"])
        state += " (%s)" % why if why else ""
    sig = int(p["kill_signal"])
    if sig:
        state += ", signal %d pending" % sig
    return state


def processes():
    """Every process of the table (procs in proc.c), in table order: dicts
    with pid, ppid, name, state, space (gdb.Value), space_ptr, thread."""
    out = []
    cur = current_thread()
    p = target.sym("procs", "proc.c")
    seen = set()
    while _ptr(p):
        if _ptr(p) in seen or len(out) >= MAX_PROCS:
            raise ZfError("the process table loops at %#x: corrupt (or changing)" % _ptr(p))
        seen.add(_ptr(p))
        d = p.dereference()
        parent = d["parent"]
        out.append({"addr": _ptr(p), "pid": int(d["pid"]),
                    "ppid": int(parent.dereference()["pid"]) if _ptr(parent) else None,
                    "name": _cstr(d["name"]) or "", "state": proc_state(d),
                    "space": d["space"], "space_ptr": _ptr(d["space"]),
                    "thread": _ptr(d["thread"]),
                    "current": bool(cur) and _ptr(d["thread"]) == cur})
        p = d["next_proc"]
    return sorted(out, key=lambda q: q["pid"])
