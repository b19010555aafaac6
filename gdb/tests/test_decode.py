"""Unit tests of the GDB helpers' decoders (gdb/zf/decode.py) on page tables
recorded from a live kernel (data/cow-break.json: the kernel space at the
break in cow_zero_fill of tests/gdb/cow.gdb, read with QEMU's PhyMemMode,
by a kernel that still had its boot window: those 2 MiB pages are what the
huge-page cases walk) and on single recorded entries.  Run: python3 -m unittest discover gdb/tests
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from zf import decode  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "cow-break.json")
KERNEL_VMA = 0xFFFFFFFF80000000


class Recorded:
    def __init__(self):
        d = json.load(open(DATA))
        self.cr3 = int(d["cr3"], 0)
        self.zero = int(d["zero_frame"], 0)
        self.cow_va = int(d["cow_va"], 0)
        self.text = int(d["text"], 0)
        self.tables = {int(pa, 0): {int(i): int(e, 0) for i, e in t.items()}
                       for pa, t in d["tables"].items()}

    def table(self, pa):
        t = self.tables[pa]  # a KeyError here: a walk went somewhere unrecorded
        return [t.get(i, 0) for i in range(512)]

    def u64(self, pa):
        base = pa & ~0xFFF
        return self.tables[base].get((pa & 0xFFF) // 8, 0)

    def skip(self, slot, e):
        return "recursive" if slot == decode.RECURSIVE_SLOT else None


REC = Recorded()


class TestEntries(unittest.TestCase):
    def test_flags_like_the_kernel_report(self):
        self.assertEqual(decode.pte_str(0x8000000000289201, 1), "P COW NX")
        self.assertEqual(decode.pte_str(0x800000000028D063, 1), "P W A D NX")
        self.assertEqual(decode.pte_str(0x00000000001DB063, 3), "P W A D")
        self.assertEqual(decode.pte_str(0x0000000000A000E3, 2), "P W A D PS")
        self.assertEqual(decode.pte_str(0x0000000000A000E3, 1), "P W A D")  # bit 7 is PAT in a PT
        self.assertEqual(decode.pte_str(0, 1), "not present")
        self.assertEqual(decode.pte_str(0x200, 1), "not present (stray bits)")

    def test_pf_error_codes(self):
        self.assertEqual(decode.pf_error_str(0x3),
                         "protection violation on a present page, write, kernel mode")
        self.assertEqual(decode.pf_error_str(0x2), "page not present, write, kernel mode")
        self.assertEqual(decode.pf_error_str(0x15), "protection violation on a present page, "
                         "read, user mode, instruction fetch")
        self.assertEqual(decode.pf_access(0x3), "kernel write")
        self.assertEqual(decode.pf_access(0x14), "user instruction fetch")
        self.assertEqual(decode.pf_access(0x0), "kernel read")

    def test_rflags_and_vectors(self):
        self.assertEqual(decode.rflags_str(0x46), "PF ZF IOPL=0")  # as the kernel report
        self.assertEqual(decode.rflags_str(0x3202), "IF IOPL=3")
        self.assertEqual(decode.vector_str(14), "#PF page fault (vector 14)")
        self.assertEqual(decode.vector_str(33), "IRQ 1 (vector 33)")
        self.assertEqual(decode.vector_str(255), "vector 255")

    def test_numbers(self):
        self.assertEqual(decode.parse_int("0x10"), 16)
        self.assertEqual(decode.parse_int("-1"), (1 << 64) - 1)
        with self.assertRaises(decode.DecodeError):
            decode.parse_int("ten")


class TestWalk(unittest.TestCase):
    def test_cow_entry_on_the_zero_frame(self):
        w = decode.walk(REC.u64, REC.cr3, REC.cow_va)
        self.assertEqual(w.end, "leaf")
        self.assertEqual([s[0] for s in w.steps], [4, 3, 2, 1])
        self.assertEqual([s[1] for s in w.steps], [decode.index(REC.cow_va, lv) for lv in (4, 3, 2, 1)])
        pt = w.steps[-1][3]
        self.assertTrue(pt & decode.PTE_COW)
        self.assertFalse(pt & decode.PTE_W)
        self.assertEqual(w.frame, REC.zero)
        self.assertEqual(w.phys, REC.zero | (REC.cow_va & 0xFFF))
        self.assertEqual(decode.rights_str(w.eff), "read-only kernel no-exec")
        text = "\n".join(decode.format_walk(w, REC.zero))
        self.assertIn("P COW NX   <- walk ended here", text)
        self.assertIn("(the zero frame); effective rights: read-only kernel no-exec, copy-on-write",
                      text)
        # Entry addresses are the table's physical address + 8 * index.
        self.assertEqual(w.steps[0][2], REC.cr3 + 8 * decode.index(REC.cow_va, 4))

    def test_kernel_text(self):
        w = decode.walk(REC.u64, REC.cr3, REC.text)
        self.assertEqual(w.phys, REC.text - KERNEL_VMA)
        self.assertEqual(decode.rights_str(w.eff), "read-only kernel exec")
        self.assertNotIn("zero frame", "\n".join(decode.format_walk(w, REC.zero)))

    def test_huge_page_in_the_boot_window(self):
        va = KERNEL_VMA + 0x800000 + 0x1234
        w = decode.walk(REC.u64, REC.cr3, va)
        self.assertEqual((w.end, w.page_size, w.phys), ("huge", 1 << 21, 0x801234))
        self.assertEqual(len(w.steps), 3)

    def test_not_present_and_noncanonical(self):
        w = decode.walk(REC.u64, REC.cr3, 0x1000)
        self.assertEqual(w.end, "not-present")
        self.assertIsNone(w.phys)
        self.assertIn("not mapped: the PML4 entry is not present", decode.format_walk(w)[-1])
        with self.assertRaises(decode.DecodeError):
            decode.walk(REC.u64, REC.cr3, 0x0000800000000000)


class TestMaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.leaves, cls.skipped = decode.leaves(REC.table, REC.cr3, REC.skip)
        cls.runs = decode.merge_runs(cls.leaves, REC.zero)

    def test_recursive_slot_reported_not_expanded(self):
        self.assertEqual([(va, why) for va, _, why in self.skipped],
                         [(0xFFFFFF0000000000, "recursive")])
        self.assertFalse(any(0xFFFFFF0000000000 <= va < 0xFFFFFF8000000000
                             for va, *_ in self.leaves))

    def test_runs_cover_every_leaf_in_order(self):
        self.assertEqual(sum(r.pages for r in self.runs), len(self.leaves))
        self.assertEqual(sum(r.end - r.start for r in self.runs),
                         sum(size for _, size, *_ in self.leaves))
        for a, b in zip(self.runs, self.runs[1:]):
            self.assertLessEqual(a.end, b.start)

    def test_w_xor_x_and_the_cow_page(self):
        self.assertEqual([r for r in self.runs if decode.rwx(r.eff) == "rwx"], [])
        wx = decode.parse_filters(["w", "x"])
        self.assertEqual([r for r in self.runs if all(f(r) for f in wx)], [])
        page = REC.cow_va & ~0xFFF
        cow = [r for r in self.runs if r.start <= page < r.end]
        self.assertEqual(len(cow), 1)
        self.assertEqual((cow[0].cow, cow[0].zero, decode.rwx(cow[0].eff)), (True, True, "r--"))
        self.assertIn("COW zero-frame", decode.format_run(cow[0]))
        only_cow = decode.parse_filters(["cow"])
        self.assertEqual([r for r in self.runs if all(f(r) for f in only_cow)], cow)
        text = [r for r in self.runs if r.start <= REC.text < r.end][0]
        self.assertEqual(decode.rwx(text.eff), "r-x")

    def test_zero_frame_mappers(self):
        va = [m[0] for m in decode.mappers(self.leaves, REC.zero)]
        self.assertIn(REC.cow_va & ~0xFFF, va)
        self.assertIn(KERNEL_VMA + REC.zero, va)  # its boot-window alias

    def test_sizes(self):
        self.assertEqual([decode.size_str(n) for n in (4096, 1 << 21, 1 << 39, 1028 << 10,
                                                       (1 << 30) - (2580 << 12))],
                         ["4K", "2M", "512G", "1028K", "1013.9M"])

    def test_table_budget(self):
        with self.assertRaises(decode.DecodeError):
            decode.leaves(REC.table, REC.cr3, REC.skip, max_tables=5)

    def test_bad_filter(self):
        with self.assertRaises(decode.DecodeError):
            decode.parse_filters(["rw"])


class TestProtNone(unittest.TestCase):
    """A page of a region without rights (PROT_NONE): not present, its frame
    still held (PTE_PROTNONE), on a small hand-made user half."""
    PN = (1 << 8) | (1 << 63) | decode.PTE_U  # PROTNONE, NX, U; not present

    def setUp(self):
        self.tables = {
            0x1000: {0: 0x2000 | 7}, 0x2000: {0: 0x3000 | 7}, 0x3000: {2: 0x4000 | 7},
            0x4000: {0: 0x5000 | 0x67 | (1 << 63), 1: 0x6000 | self.PN, 2: 0x7000 | self.PN,
                     3: 0x200},
        }

    def table(self, pa):
        return [self.tables[pa].get(i, 0) for i in range(512)]

    def u64(self, pa):
        return self.tables[pa & ~0xFFF].get((pa & 0xFFF) // 8, 0)

    def test_entry_and_walk(self):
        self.assertEqual(decode.pte_str(0x6000 | self.PN, 1), "not present, PROTNONE (frame held)")
        w = decode.walk(self.u64, 0x1000, 0x401000)
        self.assertEqual((w.end, w.phys), ("not-present", None))
        self.assertIn("region without rights (PROT_NONE), frame 0x6000 held",
                      decode.format_walk(w)[-1])

    def test_held_pages_listed_without_rights(self):
        leaves, _ = decode.leaves(self.table, 0x1000)
        self.assertEqual([(va, frame) for va, _, frame, *_ in leaves],
                         [(0x400000, 0x5000), (0x401000, 0x6000), (0x402000, 0x7000)])
        runs = decode.merge_runs(leaves)
        self.assertEqual([(r.start, r.end, r.protnone) for r in runs],
                         [(0x400000, 0x401000, False), (0x401000, 0x403000, True)])
        line = decode.format_run(runs[1])
        self.assertIn("--- user", line)
        self.assertTrue(line.endswith("PROTNONE"))
        none = decode.parse_filters(["protnone"])
        self.assertEqual([r for r in runs if all(f(r) for f in none)], runs[1:])
        wx = decode.parse_filters(["w"])
        self.assertEqual([r.start for r in runs if all(f(r) for f in wx)], [0x400000])
        self.assertEqual(decode.mappers(leaves, 0x7123)[0][0], 0x402000)


class TestFrames(unittest.TestCase):
    READY = {"state": "PMM_CHUNK_READY", "nframes": 32768}
    USABLE = [(0x100000, 0x7FE0000)]
    AVAIL = [(0x300000, 0x7FE0000)]

    def state(self, pa, word, chunk=READY, nchunks=1):
        return decode.frame_state(pa, chunk, nchunks, lambda: word, self.USABLE, self.AVAIL)

    def test_words(self):
        self.assertEqual(self.state(0x289000, 1)[0], "allocated")
        self.assertIn("reference count 3", self.state(0x289000, 3)[1])
        self.assertEqual(self.state(0x289000, 0x7FFFFFFF)[0], "reserved")
        self.assertEqual(self.state(0x289000, 0x80000000 | 17)[0], "free")
        self.assertIn("index 17", self.state(0x289000, 0x80000000 | 17)[1])
        self.assertIn("none", decode.meta_word_str(0x80000000 | 0x7FFFFFFF))
        self.assertEqual(self.state(0x9F000, 0)[0], "not-ram")

    def test_outside_the_initialised_words(self):
        lazy = {"state": "PMM_CHUNK_LAZY", "nframes": 0}
        self.assertEqual(self.state(0x400000, None, lazy)[0], "free")
        self.assertEqual(self.state(0x200000, None, lazy)[0], "reserved")
        self.assertEqual(self.state(0x9000000, None, lazy)[0], "not-ram")
        self.assertEqual(self.state(0x40000000, None, None, nchunks=1)[0], "not-ram")
        dead = {"state": "PMM_CHUNK_DEAD", "nframes": 0}
        self.assertEqual(self.state(0x400000, None, dead)[0], "reserved")


if __name__ == "__main__":
    unittest.main()


class TestRegions(unittest.TestCase):
    """Regions, their tree and page caches (the values are those of
    tests/gdb/procs.gdb's PID 1: ELF segments, [heap], a shared page)."""

    def test_rights_like_region_prot_str(self):
        self.assertEqual(decode.region_mode(0x9, 0), "r--u private")
        self.assertEqual(decode.region_mode(0xd, 0), "r-xu private")
        self.assertEqual(decode.region_mode(0xb, 0), "rw-u private")
        self.assertEqual(decode.region_mode(0xb, 0x100), "rw-u shared")
        self.assertEqual(decode.region_mode(0x3, 0), "rw-- private")
        self.assertEqual(decode.region_mode(0x0, 0x200), "guard")
        self.assertEqual(decode.region_mode(0xb, 0x300), "guard")

    # An AVL tree of 6 regions as the kernel links them: node -> (left, right).
    TREE = {0x40: (0x20, 0x60), 0x20: (0x10, 0x30), 0x60: (0, 0x70),
            0x10: (0, 0), 0x30: (0, 0), 0x70: (0, 0)}

    def test_avl_in_order(self):
        order = decode.avl_inorder(0x40, lambda n: self.TREE[n], 100)
        self.assertEqual(order, [0x10, 0x20, 0x30, 0x40, 0x60, 0x70])
        self.assertEqual(decode.avl_inorder(0, lambda n: self.TREE[n], 100), [])

    def test_avl_corrupt_tree_is_an_error_not_a_hang(self):
        loop = dict(self.TREE)
        loop[0x70] = (0x40, 0)  # a child pointing back at the root
        with self.assertRaisesRegex(decode.DecodeError, "reached twice"):
            decode.avl_inorder(0x40, lambda n: loop[n], 100)
        with self.assertRaisesRegex(decode.DecodeError, "more than 5 nodes"):
            decode.avl_inorder(0x40, lambda n: self.TREE[n], 5)

    def test_page_cache(self):
        nodes = {0x1000: [0] * 64, 0x2000: [0] * 64, 0x3000: [0] * 64}
        nodes[0x1000][0] = 0x2000
        nodes[0x1000][1] = 0x3000
        nodes[0x2000][0] = 0x40b000
        nodes[0x3000][3] = 0x3ef000
        pages = decode.radix_pages(lambda n: nodes[n], 0x1000, 2)
        self.assertEqual(pages, [(0, 0x40b000), (64 + 3, 0x3ef000)])
        self.assertEqual(decode.radix_pages(lambda n: nodes[n], 0x2000, 1), [(0, 0x40b000)])
        self.assertEqual(decode.radix_pages(lambda n: nodes[n], 0, 1), [])
        with self.assertRaises(decode.DecodeError):
            decode.radix_pages(lambda n: nodes[n], 0x1000, 12)

    def test_runs_cut_at_region_bounds(self):
        text = decode.Run(0x400000, 0x1000, 0x3f8000, decode.PTE_U, False, False)
        text.end, text.pages = 0x404000, 4
        zero = decode.Run(0x7f0000000000, 0x1000, 0x3cc000, decode.PTE_U, True, True)
        zero.end, zero.pages = 0x7f0000002000, 2
        bounds = [(0x400000, 0x401000), (0x401000, 0x408000), (0x7f0000000000, 0x7f0000001000),
                  (0x7f0000001000, 0x7f0000002000)]
        out = decode.split_runs([text, zero], bounds)
        self.assertEqual([(r.start, r.end, r.frame, r.pages) for r in out],
                         [(0x400000, 0x401000, 0x3f8000, 1), (0x401000, 0x404000, 0x3f9000, 3),
                          (0x7f0000000000, 0x7f0000001000, 0x3cc000, 1),
                          (0x7f0000001000, 0x7f0000002000, 0x3cc000, 1)])
        self.assertEqual(decode.region_at(bounds, 0x403fff), 1)
        self.assertEqual(decode.region_at(bounds, 0x7f0000001000), 3)
        self.assertIsNone(decode.region_at(bounds, 0x408000))
        self.assertIsNone(decode.region_at([], 0x408000))

    def test_huge_runs_stay_whole(self):
        huge = decode.Run(0x200000, 1 << 21, 0x200000, 0, False, False)
        self.assertEqual(len(decode.split_runs([huge], [(0x200000, 0x201000)])), 1)


class TestArgs(unittest.TestCase):
    def test_expressions_keep_their_quotes(self):
        self.assertEqual(decode.split_args("'percpu.c'::cpu0.current->proc->pid"),
                         ["'percpu.c'::cpu0.current->proc->pid"])
        self.assertEqual(decode.split_args(" $shared  $pml4 "), ["$shared", "$pml4"])
        self.assertEqual(decode.split_args("f(a, b) x[1 + 2]"), ["f(a, b)", "x[1 + 2]"])
        self.assertEqual(decode.split_args('"a b" c'), ['"a b"', "c"])
        self.assertEqual(decode.split_args(""), [])
        with self.assertRaisesRegex(decode.DecodeError, "unbalanced ' quote"):
            decode.split_args("'unbalanced")
