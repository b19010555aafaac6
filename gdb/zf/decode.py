"""Pure decoders for the Zeroframe GDB helpers: page-table entries, walks,
mapping runs, #PF error codes, frame-allocator words, exception vectors.

Nothing here imports gdb: every function takes plain integers and callables
that read memory, so `python3 -m unittest discover gdb/tests` checks them on
recorded page tables without a target.  The encodings are the hardware's
(Intel SDM vol. 3A 4.5) and Zeroframe's own (include/paging.h: PTE_COW in
bit 9, PTE_PROTNONE in bit 8 (G's place) of a not-present leaf; kernel/mm/pmm.c: the metadata word); the kernel's structures are read
by the gdb side (zf/target.py) by name, never by offset.
"""

PTE_P, PTE_W, PTE_U = 1 << 0, 1 << 1, 1 << 2
PTE_PS, PTE_COW, PTE_NX = 1 << 7, 1 << 9, 1 << 63
# A 4 KiB leaf of a region without rights: not present, frame still held;
# the mark is G's bit, which only means "global" with P set.
PTE_PROTNONE = 1 << 8
ADDR_MASK = 0x000FFFFFFFFFF000
MASK64 = (1 << 64) - 1

# Same names and order as the kernel's vmm_pte_flags_str().
PTE_BITS = [(0, "P"), (1, "W"), (2, "U"), (3, "PWT"), (4, "PCD"), (5, "A"), (6, "D"),
            (7, "PS"), (8, "G"), (9, "COW"), (63, "NX")]
LEVEL_NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}
LEVEL_SIZE = {4: 1 << 39, 3: 1 << 30, 2: 1 << 21, 1: 1 << 12}
RECURSIVE_SLOT = 510  # include/paging.h PML4_SLOT_SELF: every PML4 maps itself here


class DecodeError(Exception):
    """A one-line reason the input cannot be decoded."""


def index(va, level):
    return (va >> (12 + 9 * (level - 1))) & 511


def canonical(va):
    top = va >> 47
    return top in (0, 0x1FFFF)


def sign_extend(va):
    return va | 0xFFFF000000000000 if va & (1 << 47) else va


def pte_flags(e, level):
    """Flag names of entry @e at @level (1 = PT .. 4 = PML4)."""
    if not e & PTE_P:
        if e & PTE_PROTNONE:
            return ["not present, PROTNONE (frame held)"]
        return ["not present (stray bits)"] if e else ["not present"]
    # Bit 7 is PAT, not PS, in a 4 KiB leaf.
    return [n for b, n in PTE_BITS if e & (1 << b) and not (b == 7 and level == 1)]


def pte_str(e, level):
    return " ".join(pte_flags(e, level))


def pf_error_str(err):
    """A #PF error code in words, as the kernel's report says it."""
    words = ["protection violation on a present page" if err & 1 else "page not present",
             "write" if err & 2 else "read",
             "user mode" if err & 4 else "kernel mode"]
    for bit, word in ((3, "reserved bit set in a paging entry"), (4, "instruction fetch"),
                      (5, "protection key"), (6, "shadow stack"), (15, "SGX")):
        if err & (1 << bit):
            words.append(word)
    return ", ".join(words)


def pf_access(err):
    """'kernel write', 'user instruction fetch', ..."""
    who = "user" if err & 4 else "kernel"
    if err & 16:
        return who + " instruction fetch"
    return who + (" write" if err & 2 else " read")


def rights_str(eff):
    """Effective rights (W and U AND-ed, NX OR-ed over the levels) in words."""
    return "%s %s %s" % ("write" if eff & PTE_W else "read-only",
                         "user" if eff & PTE_U else "kernel",
                         "no-exec" if eff & PTE_NX else "exec")


def rwx(eff):
    return "r" + ("w" if eff & PTE_W else "-") + ("-" if eff & PTE_NX else "x")


class Walk:
    """One walk: steps [(level, index, entry address, value)], how it ended,
    the physical address, the effective rights."""

    def __init__(self, va, cr3):
        self.va, self.cr3 = va, cr3
        self.steps = []
        self.end = None        # "leaf", "huge", "not-present"
        self.phys = None       # byte address, when mapped
        self.frame = None      # frame (page) base, when mapped
        self.page_size = None
        self.eff = PTE_W | PTE_U


def walk(read_u64, cr3, va):
    """Walk the 4-level tables rooted at physical @cr3 for @va.
    @read_u64(pa) reads a physical quadword."""
    if not canonical(va):
        raise DecodeError("%#x is not canonical (bits 63..47 differ)" % va)
    w = Walk(va, cr3)
    table = cr3 & ADDR_MASK
    for level in (4, 3, 2, 1):
        i = index(va, level)
        addr = table + 8 * i
        e = read_u64(addr)
        w.steps.append((level, i, addr, e))
        if not e & PTE_P:
            w.end = "not-present"
            return w
        w.eff &= e | ~(PTE_W | PTE_U)
        w.eff |= e & PTE_NX
        if level == 1 or (level in (3, 2) and e & PTE_PS):
            size = LEVEL_SIZE[level]
            w.end = "leaf" if level == 1 else "huge"
            w.page_size = size
            w.frame = e & ADDR_MASK & ~(size - 1)
            w.phys = w.frame | (va & (size - 1))
            return w
        table = e & ADDR_MASK
    raise AssertionError("unreachable")


def format_walk(w, zero_frame=None):
    lines = ["walk of %#x (CR3 %#x):" % (w.va, w.cr3)]
    last = len(w.steps) - 1
    for k, (level, i, addr, e) in enumerate(w.steps):
        lines.append("  %-4s[%3d] @ %#-12x = %016x  %s%s" % (
            LEVEL_NAMES[level], i, addr, e, pte_str(e, level),
            "   <- walk ended here" if k == last else ""))
    if w.end == "not-present":
        level, e = w.steps[-1][0], w.steps[-1][3]
        if level == 1 and e & PTE_PROTNONE:
            lines.append("  -> not present: a page of a region without rights (PROT_NONE), "
                         "frame %#x held" % (e & ADDR_MASK))
            return lines
        lines.append("  -> not mapped: the %s entry is not present" % LEVEL_NAMES[level])
        return lines
    what = {1 << 12: "4 KiB page", 1 << 21: "2 MiB page", 1 << 30: "1 GiB page"}[w.page_size]
    label = " (the zero frame)" if zero_frame and w.frame == zero_frame else ""
    cow = ", copy-on-write" if w.steps[-1][3] & PTE_COW else ""
    lines.append("  -> physical %#x in a %s at %#x%s; effective rights: %s%s" % (
        w.phys, what, w.frame, label, rights_str(w.eff), cow))
    return lines


# ---------------------------------------------------------------- mappings

MAX_TABLES = 20000  # 40 GiB of 4 KiB mappings; beyond, CR3 is likely wrong


def leaves(read_table, cr3, skip=None, max_tables=MAX_TABLES):
    """Every leaf holding a frame under the tables rooted at @cr3, in address
    order: (va, size, frame, eff, entry, level); a PTE_PROTNONE leaf (not
    present) has neither W nor X in eff.  @read_table(pa) returns the 512
    entries of the table at physical @pa.  @skip(slot, entry) -> str or None:
    a PML4 slot to report instead of expanding (the recursive slot).
    DecodeError past @max_tables tables (a wrong CR3 reads garbage)."""
    out = []
    skipped = []
    count = [0]

    def visit(table, level, base, eff):
        count[0] += 1
        if count[0] > max_tables:
            raise DecodeError("more than %d page tables under CR3 %#x: is it a PML4?" % (
                max_tables, cr3))
        entries = read_table(table)
        for i, e in enumerate(entries):
            if level == 1 and not e & PTE_P and e & PTE_PROTNONE:
                # Held, but no access gets through: keep U to say whose it is.
                va = sign_extend(base | (i << 12))
                none_eff = (eff & (e | ~PTE_U) & ~PTE_W) | PTE_NX
                out.append((va, LEVEL_SIZE[1], e & ADDR_MASK, none_eff, e, level))
                continue
            if not e & PTE_P:
                continue
            va = sign_extend(base | (i << (12 + 9 * (level - 1))))
            if level == 4 and skip:
                why = skip(i, e)
                if why:
                    skipped.append((va, LEVEL_SIZE[4], why))
                    continue
            e_eff = (eff & (e | ~(PTE_W | PTE_U))) | (e & PTE_NX)
            if level == 1 or (level in (3, 2) and e & PTE_PS):
                size = LEVEL_SIZE[level]
                out.append((va, size, e & ADDR_MASK & ~(size - 1), e_eff, e, level))
            elif level > 1:
                visit(e & ADDR_MASK, level - 1, base | (i << (12 + 9 * (level - 1))), e_eff)

    visit(cr3 & ADDR_MASK, 4, 0, PTE_W | PTE_U)
    return out, skipped


class Run:
    """Contiguous virtual pages with the same rights and markers: either
    contiguous frames, or all on the zero frame."""

    def __init__(self, va, size, frame, eff, cow, zero, protnone=False):
        self.start, self.end, self.frame = va, va + size, frame
        self.eff, self.cow, self.zero = eff, cow, zero
        self.protnone = protnone  # not present, frames held (PTE_PROTNONE)
        self.pages = 1

    def markers(self):
        m = []
        if self.protnone:
            m.append("PROTNONE")
        if self.cow:
            m.append("COW")
        if self.zero:
            m.append("zero-frame")
        return m


def merge_runs(leaf_list, zero_frame=None):
    runs = []
    for va, size, frame, eff, e, level in leaf_list:
        cow = bool(e & PTE_COW)
        zero = zero_frame is not None and frame == zero_frame and level == 1
        none = not e & PTE_P
        rights = eff & (PTE_W | PTE_U | PTE_NX)
        if runs:
            r = runs[-1]
            same = (r.end == va and r.eff == rights and r.cow == cow and r.zero == zero and
                    r.protnone == none)
            if same and (zero or r.frame + (r.end - r.start) == frame):
                r.end += size
                r.pages += 1
                continue
        runs.append(Run(va, size, frame, rights, cow, zero, none))
    return runs


def size_str(n):
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d%s" % (n >> shift, unit)
        if n >= 16 << shift:
            return "%.1f%s" % (n / (1 << shift), unit)
    return "%d" % n


FILTERS = {
    "w": lambda r: r.eff & PTE_W, "writable": lambda r: r.eff & PTE_W,
    "x": lambda r: not r.eff & PTE_NX, "exec": lambda r: not r.eff & PTE_NX,
    "u": lambda r: r.eff & PTE_U, "user": lambda r: r.eff & PTE_U,
    "k": lambda r: not r.eff & PTE_U, "kernel": lambda r: not r.eff & PTE_U,
    "cow": lambda r: r.cow, "zero": lambda r: r.zero, "protnone": lambda r: r.protnone,
}


def parse_filters(words):
    bad = [w for w in words if w.lower() not in FILTERS]
    if bad:
        raise DecodeError("unknown filter %r (filters: w x u k cow zero protnone)" % bad[0])
    return [FILTERS[w.lower()] for w in words]


def format_run(r, note=""):
    frame = "zero frame %#x" % r.frame if r.zero else "%#x" % r.frame
    who = "user" if r.eff & PTE_U else "kern"
    return ("  %016x-%016x %6s  %s %s  -> %-18s %s%s" % (
        r.start, r.end, size_str(r.end - r.start), "---" if r.protnone else rwx(r.eff), who, frame,
        " ".join(r.markers()), note)).rstrip()


def mappers(leaf_list, pa):
    """Virtual addresses mapping the frame of physical @pa."""
    frame = pa & ~0xFFF
    out = []
    for va, size, base, eff, e, level in leaf_list:
        if base <= frame < base + size:
            out.append((va + (frame - base), eff, e, level))
    return out


# ---------------------------------------------------------------- frames

# kernel/mm/pmm.c: one 32-bit word per frame of a READY chunk.
META_FREE, META_RESERVED = 0x80000000, 0x7FFFFFFF


def meta_word_str(word):
    if word == 0:
        return "not RAM (a hole in the memory map)"
    if word == META_RESERVED:
        return "reserved (kernel image, boot data, allocator metadata, ...)"
    if word & META_FREE:
        nxt = word & ~META_FREE
        return "free (next free frame of its chunk: %s)" % (
            "none" if nxt == META_END else "index %d" % nxt)
    return "allocated, reference count %d" % word


META_END = 0x7FFFFFFF


def in_ranges(ranges, pa):
    return any(a <= pa < b for a, b in ranges)


def frame_state(pa, chunk, nchunks, meta_word, usable, avail, chunk_shift=30):
    """The allocator's view of frame @pa, mirroring classify() in pmm.c.
    @chunk: dict of the chunk's fields (state, nframes) or None;
    @meta_word(): reads the frame's metadata word; @usable/@avail: lists of
    (start, end) ranges.  Returns (kind, words)."""
    ci = pa >> chunk_shift
    if ci >= nchunks:
        return "not-ram", "not RAM (beyond the last chunk the allocator manages)"
    li = (pa >> 12) & ((1 << (chunk_shift - 12)) - 1)
    state = chunk["state"]
    if state == "PMM_CHUNK_READY" and li < chunk["nframes"]:
        w = meta_word()
        kind = ("not-ram" if w == 0 else "reserved" if w == META_RESERVED
                else "free" if w & META_FREE else "allocated")
        return kind, meta_word_str(w) + " [chunk %d, word %#010x]" % (ci, w)
    if state == "PMM_CHUNK_DEAD" and in_ranges(usable, pa):
        return "reserved", "reserved (its chunk %d has no metadata: DEAD)" % ci
    if in_ranges(avail, pa):
        return "free", "free, never handed out (chunk %d not initialised this far: %s)" % (
            ci, state)
    if in_ranges(usable, pa):
        return "reserved", "reserved (kernel image, boot data or allocator metadata)"
    return "not-ram", "not RAM (a hole in the memory map)"


# ---------------------------------------------------------------- vectors

EXCEPTIONS = {
    0: ("#DE", "divide error"), 1: ("#DB", "debug"), 2: ("NMI", "non-maskable interrupt"),
    3: ("#BP", "breakpoint"), 4: ("#OF", "overflow"), 5: ("#BR", "bound range exceeded"),
    6: ("#UD", "invalid opcode"), 7: ("#NM", "device not available"),
    8: ("#DF", "double fault"), 10: ("#TS", "invalid TSS"), 11: ("#NP", "segment not present"),
    12: ("#SS", "stack-segment fault"), 13: ("#GP", "general protection fault"),
    14: ("#PF", "page fault"), 16: ("#MF", "x87 floating-point error"),
    17: ("#AC", "alignment check"), 18: ("#MC", "machine check"),
    19: ("#XM", "SIMD floating-point error"), 20: ("#VE", "virtualization exception"),
    21: ("#CP", "control protection"),
}


def vector_str(v):
    if v in EXCEPTIONS:
        return "%s %s (vector %d)" % (EXCEPTIONS[v][0], EXCEPTIONS[v][1], v)
    if 32 <= v < 48:
        return "IRQ %d (vector %d)" % (v - 32, v)
    return "vector %d" % v


RFLAGS_BITS = [(0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"),
               (10, "DF"), (11, "OF"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"),
               (21, "ID")]


def rflags_str(f):
    names = [n for b, n in RFLAGS_BITS if f & (1 << b)]
    names.append("IOPL=%d" % ((f >> 12) & 3))
    return " ".join(names)


def split_args(text):
    """Words of a command line, split at blanks outside quotes and brackets,
    quotes kept: each word is a GDB expression as typed ('file.c'::var,
    f(a, b)).  gdb.string_to_argv would strip the quotes."""
    words, cur, depth, quote = [], "", 0, None
    for c in text:
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            cur += c
        elif c in "([":
            depth += 1
            cur += c
        elif c in ")]":
            depth -= 1
            cur += c
        elif c.isspace() and depth <= 0:
            if cur:
                words.append(cur)
            cur = ""
        else:
            cur += c
    if quote:
        raise DecodeError("unbalanced %s quote in %r" % (quote, text.strip()))
    if cur:
        words.append(cur)
    return words


def parse_int(text):
    """A plain integer literal (decimal or 0x...), else DecodeError."""
    try:
        return int(text, 0) & MASK64
    except ValueError:
        raise DecodeError("%r is not a number" % text) from None


# ---------------------------------------------------------------- regions

# include/region.h: #defines, absent from the debug info.
REGION_R, REGION_W, REGION_X, REGION_U = 0x1, 0x2, 0x4, 0x8
REGION_SHARED, REGION_GUARD = 0x100, 0x200

# enum vmobj_kind's enumerators in the kernel's words (vmobj_kind_str).
OBJ_KIND_WORDS = {"VMOBJ_ANON": "anonymous", "VMOBJ_PAGED": "paged", "VMOBJ_PHYS": "physical"}


def region_mode(prot, flags):
    """'rw-u private', 'r-xu shared' or 'guard', as region_prot_str() says."""
    if flags & REGION_GUARD:
        return "guard"
    return "%s%s%s%s %s" % ("r" if prot & REGION_R else "-", "w" if prot & REGION_W else "-",
                            "x" if prot & REGION_X else "-", "u" if prot & REGION_U else "-",
                            "shared" if flags & REGION_SHARED else "private")


def avl_inorder(root, children, limit):
    """The nodes of the AVL tree at @root (0: empty) in order.
    @children(node) -> (left, right); more than @limit nodes or a node seen
    twice (a corrupt or changing tree) is a DecodeError, never a hang."""
    out, seen, stack = [], set(), []
    node = root
    while stack or node:
        while node:
            if node in seen:
                raise DecodeError("region tree node %#x reached twice: the tree is corrupt "
                                  "(or changing)" % node)
            if len(seen) >= limit:
                raise DecodeError("more than %d nodes in the region tree: corrupt?" % limit)
            seen.add(node)
            stack.append(node)
            node = children(node)[0]
        node = stack.pop()
        out.append(node)
        node = children(node)[1]
    return out


RADIX_BITS = 6  # kernel/mm/vmobj.c: 64-way page-cache nodes
RADIX_SLOTS = 1 << RADIX_BITS


def radix_pages(read_slots, root, levels, limit=1 << 20):
    """Every (page index, frame) of an object's page cache: a radix tree of
    @levels levels of 64-slot nodes at @root; the last level holds frames.
    @read_slots(node) -> the node's 64 slots."""
    out = []
    if not root or levels < 1:
        return out
    if levels > 11:
        raise DecodeError("page cache with %d levels: corrupt object?" % levels)
    visited = [0]

    def visit(node, level, base):
        visited[0] += 1
        if visited[0] > limit:
            raise DecodeError("more than %d page-cache nodes: corrupt object?" % limit)
        for i, v in enumerate(read_slots(node)):
            if not v:
                continue
            index = base | (i << (RADIX_BITS * (level - 1)))
            if level == 1:
                out.append((index, v))
            else:
                visit(v, level - 1, index)

    visit(root, levels, 0)
    return out


def split_runs(runs, bounds):
    """@runs cut at every region boundary in @bounds (sorted (start, end)
    pairs), so that each piece lies in one region or in none.  Runs of huge
    pages are left whole."""
    out = []
    edges = sorted({a for a, _ in bounds} | {b for _, b in bounds})
    for r in runs:
        if r.end - r.start != r.pages << 12:
            out.append(r)
            continue
        cuts = [e for e in edges if r.start < e < r.end]
        start = r.start
        for end in cuts + [r.end]:
            frame = r.frame if r.zero else r.frame + (start - r.start)
            piece = Run(start, end - start, frame, r.eff, r.cow, r.zero, r.protnone)
            piece.pages = (end - start) >> 12
            out.append(piece)
            start = end
    return out


def region_at(bounds, va):
    """Index of the (start, end) pair of sorted @bounds holding @va, or None."""
    lo, hi = 0, len(bounds)
    while lo < hi:
        mid = (lo + hi) // 2
        a, b = bounds[mid]
        if va < a:
            hi = mid
        elif va >= b:
            lo = mid + 1
        else:
            return mid
    return None
