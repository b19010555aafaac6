#!/usr/bin/env python3
"""Writes the hand-made inputs of tests/fuzz/vmm-corpus (the fuzzer adds
its own finds there too).  Each is a machine size byte, then 6-byte
operations; `fuzz_vmm --replay FILE -v` prints them decoded.  Run from the
repository root: tests/fuzz/vmm/seeds.py"""
import os

# opcodes (fuzz_vmm.c, enum op)
CREATE, DESTROY, SWITCH, MAP, UNMAP, PROTECT, CLONE, READ, WRITE, FETCH, \
    INJECT, DISCARD, POPULATE, OBJECT, PAGE, RESERVE, PROVIDE, UFFD, FILL, WAKE, \
    UACCESS, HUGE = range(22)
R, W, X, U = 1, 2, 4, 8
PRIV, SHARED, GUARD, PRIV_OBJ, SHARED_OBJ = 0, 1, 2, 3, 4
USER, ARENA, KSLOT, NULL = 0, 1, 2, 3
MEM = {12: 0, 16: 1, 24: 2, 32: 3, 48: 4, 64: 5, 128: 6, 256: 7}


def op(code, *a):
    a = list(a) + [0] * (5 - len(a))
    return bytes([code] + [x & 0xff for x in a])


def create(slot): return op(CREATE, slot - 1)
def destroy(slot): return op(DESTROY, slot - 1)
def switch(sp): return op(SWITCH, sp)
def arena(sp): return 4 if sp == 0 else sp
def map_(sp, page, n, prot, mode=PRIV, obj=0, off=0, in_arena=False, hint=False):
    return op(MAP, (4 if in_arena else 0) | (8 if hint else 0) | sp, page, n - 1,
              prot | mode << 4, obj | off << 3)
def unmap(sp, page, n, in_arena=False): return op(UNMAP, (4 if in_arena else 0) | sp, page, n - 1)
def protect(sp, page, n, prot, in_arena=False):
    return op(PROTECT, (4 if in_arena else 0) | sp, page, n - 1, prot)
def discard(sp, page, n): return op(DISCARD, sp, page, n - 1)
def populate(sp, page, n, in_arena=False): return op(POPULATE, (4 if in_arena else 0) | sp, page, n - 1)
def clone(src, dst): return op(CLONE, src - 1, dst - 1)
def read(area, page, pos=0, user=False): return op(READ, area | (4 if user else 0), page, pos)
def write(area, page, pos=0, user=False, v=0x42):
    return op(WRITE, area | (4 if user else 0), page, pos, v >> 8, v)
def fetch(area, page, user=False): return op(FETCH, area | (4 if user else 0), page)
def inject(n=None): return op(INJECT, 0) if n is None else op(INJECT, 1, n)
def obj_new(h, pages, paged=False, fail_page=None, later=None):
    # later: "even" or "odd" pages answered "later" by the pager
    flags = (1 if paged else 0) | {None: 0, "even": 2, "odd": 6}[later]
    return op(OBJECT, 0, h, flags, pages - 1, 0 if fail_page is None else 0x80 | fail_page)
def obj_put(h): return op(OBJECT, 1, h)
def obj_phys(h, first, n): return op(OBJECT, 0x40, h, 0, n - 1, first)  # unmanaged frames
def page_map(sp, q, flags): return op(PAGE, 0, sp, q, flags)
def page_unmap(sp, q): return op(PAGE, 1, sp, q)
def page_protect(sp, q, flags): return op(PAGE, 2, sp, q, flags)
def reserve(): return op(RESERVE)
PW, PNX, PG, PU = 1, 2, 4, 8
# pagers
def provide(h, page): return op(PROVIDE, h, page)
MISSING, WP = 1, 2
def uffd_register(sp, page, n, mode, ctx=1):
    return op(UFFD, 0 | (ctx - 1) << 2, sp - 1, page, n - 1, mode - 1)
def uffd_unregister(sp, page, n, ctx=1): return op(UFFD, 1 | (ctx - 1) << 2, sp - 1, page, n - 1)
def uffd_wp(sp, page, n, on, ctx=1):
    return op(UFFD, 2 | (ctx - 1) << 2, sp - 1, page, n - 1, 1 if on else 0)
def uffd_release(sp, ctx=1): return op(UFFD, 3 | (ctx - 1) << 2, sp - 1)
def uffd_copy(sp, page, wp=False, ctx=1): return op(FILL, (2 if wp else 0) | (ctx - 1) << 2, sp - 1, page)
def uffd_zeropage(sp, page, ctx=1): return op(FILL, 1 | (ctx - 1) << 2, sp - 1, page)
def wake(i=0): return op(WAKE, i)
# 2 MiB PTE_NOREF pages over physical address 0 (target 0: the kernel
# slot through space `via`; 1..3: that user space's user half)
HW, HNX, HG, HU, HNOREF = 1, 2, 4, 8, 16
def huge_map(target, flags, via=0): return op(HUGE, 0, target | via << 2, flags)
def huge_unmap(target, via=0): return op(HUGE, 1, target | via << 2)
def huge_protect(target, flags, via=0): return op(HUGE, 2, target | via << 2, flags)
def huge_access(kernel_slot, kind, frame, pos=0, user=False):  # kind 0 read 1 write 2 fetch
    b = next(b for b in range(256) if b % 3 == kind and bool(b & 4) == user)
    return op(HUGE, 3, 0 if kernel_slot else 1, b, frame, pos)
# processes: a system call's copy to / from n user pages of the live space
def copy_to_user(page, n=1, pos=0, v=0x77): return op(UACCESS, 1 | (n - 1) << 1, page, pos, v >> 8, v)
def copy_from_user(page, n=1, pos=0): return op(UACCESS, (n - 1) << 1, page, pos)


def machine(frames, *ops):
    return bytes([MEM[frames]]) + b"".join(ops)


SEEDS = {
    # Regression of fba2b76: an arena page changed through the kernel space
    # while a user space is live must not stay writable in the TLB.
    "regress-fba2b76-kernel-half-stale-tlb": machine(
        256, create(1), switch(1), map_(0, 0, 2, R | W, in_arena=True),
        write(ARENA, 0), write(ARENA, 1), protect(0, 0, 1, R, in_arena=True),
        write(ARENA, 0), read(ARENA, 0), unmap(0, 1, 1, in_arena=True), read(ARENA, 1)),
    # The same through page-level maps: a global kernel page cached while
    # the kernel space is live, changed through a non-live user space.
    "regress-fba2b76-global-page": machine(
        256, reserve(), create(1), page_map(0, 0, PW | PG), write(KSLOT, 0),
        switch(1), write(KSLOT, 0, 1), switch(0), page_protect(1, 0, PG),
        write(KSLOT, 0, 2), read(KSLOT, 0), page_unmap(1, 0), read(KSLOT, 0)),
    # Page-level unmap and protect of a kernel page whose table stays (no
    # pruning to hide a missing invlpg).
    "page-level-unmap": machine(
        256, reserve(), page_map(0, 0, PW), page_map(0, 1, PW | PNX), write(KSLOT, 0),
        read(KSLOT, 1), page_unmap(0, 0), read(KSLOT, 0), page_protect(0, 1, PNX), write(KSLOT, 1),
        fetch(KSLOT, 1), page_protect(0, 1, PW), fetch(KSLOT, 1), write(KSLOT, 1, 3, v=0x31),
        read(KSLOT, 1, 3, True)),
    # Regression of dfdfa2f: a kernel-half mapping in a PML4 slot the kernel
    # space lacks is refused (it used to create tables private to the space,
    # leaked when it was destroyed).
    "regress-dfdfa2f-kernel-half-private-slot": machine(
        256, create(1), page_map(1, 0, PW), page_map(0, 1, PW), destroy(1),
        create(2), page_map(2, 3, PW | PNX), destroy(2)),
    # fork: private pages CoW in both, shared pages shared, a second fork.
    "fork-cow": machine(
        256, create(1), switch(1), map_(1, 2, 4, R | W | U), write(USER, 2, 0, True, 0x1111),
        write(USER, 3, 1, True, 0x2222), read(USER, 4, 2, True),
        obj_new(0, 4), map_(1, 10, 4, R | W | U, SHARED_OBJ, 0, 0),
        write(USER, 10, 3, True, 0x3333), clone(1, 2), write(USER, 2, 0, True, 0x4444),
        switch(2), read(USER, 2), read(USER, 3, 1), write(USER, 3, 1, True, 0x5555),
        write(USER, 10, 3, True, 0x6666), clone(2, 3), write(USER, 2, 0, True, 0x7777),
        switch(3), read(USER, 2), read(USER, 10, 3), write(USER, 2, 2, True, 0x8888),
        switch(1), read(USER, 3, 1), read(USER, 10, 3), destroy(2), write(USER, 3, 1),
        obj_put(0), destroy(3), destroy(1)),
    # fork, then protect the CoW pages in one space: still CoW, not shared
    # writable; and the zero frame behind a read page stays read-only.
    "fork-then-protect": machine(
        256, create(1), switch(1), map_(1, 0, 4, R | W | U), write(USER, 0), write(USER, 1),
        read(USER, 2), clone(1, 2), protect(1, 0, 4, R | U), protect(1, 0, 4, R | W | U),
        protect(2, 0, 3, R | W | X | U), write(USER, 0, 1, v=0x1234), write(USER, 2, 1, v=0x77),
        switch(2), read(USER, 0, 1), write(USER, 1, 2, v=0x4321), read(USER, 2, 1),
        switch(1), read(USER, 1, 2)),
    # A fault that runs out of memory half-way through making tables.
    "oom-in-table-walk": machine(
        256, create(1), switch(1), map_(1, 0, 1, R | W | U), map_(1, 40, 2, R | W | U),
        inject(1), write(USER, 40), inject(2), write(USER, 40), inject(3), write(USER, 40),
        inject(), write(USER, 40), inject(0), read(USER, 41), inject(1), read(USER, 41),
        inject(2), read(USER, 41), inject(), read(USER, 41)),
    # Private and shared views of one object, a paged object with a page
    # the pager refuses, discard and populate.
    "objects-and-pager": machine(
        256, create(1), switch(1), obj_new(1, 8), map_(1, 0, 4, R | W | U, PRIV_OBJ, 1, 0),
        map_(1, 8, 4, R | W | U, SHARED_OBJ, 1, 0), read(USER, 1, 1), write(USER, 9, 1, v=0x99),
        read(USER, 1, 1), read(USER, 0), write(USER, 8, 0, v=0x77), read(USER, 0),
        write(USER, 2, 2, v=0x55), read(USER, 10, 2), discard(1, 0, 4), read(USER, 2, 2),
        obj_new(2, 6, paged=True, fail_page=3), map_(1, 20, 6, R | W | X | U, PRIV_OBJ, 2, 0),
        read(USER, 20, 1), fetch(USER, 21, True), write(USER, 22), read(USER, 23),
        populate(1, 20, 6), map_(1, 30, 6, R | U, SHARED_OBJ, 2, 0), read(USER, 31),
        read(USER, 33), populate(1, 30, 2), protect(1, 20, 6, R | U), write(USER, 22, 1),
        protect(1, 20, 2, R | W | U), write(USER, 20, 3), unmap(1, 0, 40), obj_put(1), obj_put(2)),
    # Guards, holes, no-user and no-exec regions, the null page.
    "rights": machine(
        64, create(1), switch(1), map_(1, 0, 3, R | W | U), map_(1, 3, 1, 0, GUARD),
        map_(1, 4, 2, R), map_(1, 6, 2, R | X | U), write(USER, 0, 0, True), write(USER, 3),
        read(USER, 4, 0, True), write(USER, 4), fetch(USER, 0, True), fetch(USER, 6, True),
        write(USER, 6), read(USER, 9), read(NULL, 0), protect(1, 2, 3, R), protect(1, 8, 1, R),
        map_(1, 1, 2, R, hint=True), map_(1, 0, 1, R), map_(0, 0, 1, R | U, in_arena=True),
        protect(1, 0, 1, R | W | U), write(USER, 0, 1, True), write(ARENA, 0, 0, True)),
    # Tiny memory, fault injection: every failure must change nothing.
    "out-of-memory": machine(
        24, create(1), switch(1), map_(1, 0, 8, R | W | U), write(USER, 0), write(USER, 1),
        clone(1, 2), switch(2), write(USER, 0), write(USER, 2), write(USER, 3), write(USER, 4),
        inject(1), write(USER, 5), map_(1, 30, 4, R | W), populate(1, 0, 8), clone(2, 3),
        inject(0), write(USER, 6), inject(3), map_(2, 33, 2, R | W | U, SHARED),
        write(USER, 33), write(USER, 34), unmap(2, 0, 64), inject(), write(USER, 33)),
    "out-of-memory-tiny": machine(
        12, map_(0, 0, 8, R | W, in_arena=True), write(ARENA, 0), write(ARENA, 1),
        write(ARENA, 2), write(ARENA, 3), create(1), create(2), populate(0, 0, 8, in_arena=True),
        unmap(0, 0, 8, in_arena=True)),
    # Tables made and pruned across the 512 GiB boundary of the window.
    "tables-across-boundaries": machine(
        128, create(1), switch(1), map_(1, 28, 8, R | W | U), write(USER, 30), write(USER, 33),
        write(USER, 35), unmap(1, 31, 2), read(USER, 30), read(USER, 33), unmap(1, 28, 8),
        map_(1, 31, 2, R | W | U), write(USER, 31), write(USER, 32), destroy(1)),
    # The in-kernel pager answers "later": the fault waits on the object's
    # page (read, write, shared and private, populate stops there) until
    # vmobj_page_provide, then the waiters retry and see the page; a page
    # past the end and a second provide are refused.
    "pager-later-provide": machine(
        256, create(1), switch(1), obj_new(0, 6, paged=True, fail_page=5, later="even"),
        map_(1, 0, 6, R | W | U, PRIV_OBJ, 0, 0), map_(1, 8, 6, R | W | U, SHARED_OBJ, 0, 0),
        read(USER, 0, 1, True), write(USER, 2, 2, True, 0x2222), read(USER, 1, 0, True),
        read(USER, 9), read(USER, 8, 3), populate(1, 0, 4), read(USER, 5), provide(0, 0),
        provide(0, 0), provide(0, 16), wake(), wake(), read(USER, 8, 3), read(USER, 10),
        provide(0, 2), wake(), read(USER, 2, 2), read(USER, 10, 2), write(USER, 10, 1, v=0x1010),
        read(USER, 2, 1), populate(1, 0, 4), provide(0, 4), populate(1, 0, 5), read(USER, 12),
        copy_from_user(0, 4), obj_put(0), unmap(1, 0, 20)),
    # userfaultfd MISSING ranges: faults wait for the context, COPY and
    # ZEROPAGE provide private and shared pages, a second provide and a
    # page outside the range are refused, another context cannot register
    # over it, waiters retry.
    "uffd-missing-copy-zeropage": machine(
        256, create(1), switch(1), map_(1, 0, 8, R | W | U), map_(1, 10, 4, R | W | U, SHARED),
        map_(1, 16, 2, R | W | U, GUARD), map_(1, 20, 2, R), uffd_register(1, 0, 8, MISSING, 1),
        uffd_register(1, 10, 4, MISSING | WP), uffd_register(1, 10, 4, MISSING),
        uffd_register(1, 2, 2, MISSING, 2), uffd_register(1, 16, 2, MISSING),
        uffd_register(1, 20, 1, MISSING), uffd_register(1, 8, 4, MISSING),
        read(USER, 0, 0, True), write(USER, 1, 1, True, 0x1111), read(USER, 10), write(USER, 11),
        uffd_copy(1, 0), uffd_copy(1, 0), uffd_zeropage(1, 1), uffd_copy(1, 10), uffd_zeropage(1, 11),
        uffd_zeropage(1, 11), uffd_copy(1, 30), uffd_copy(1, 2, ctx=2), wake(), wake(), wake(), wake(),
        read(USER, 0, 1), read(USER, 1, 1), write(USER, 1, 1, v=0x4444), read(USER, 10, 2),
        read(USER, 11), write(USER, 0, 2, v=0x5555), read(USER, 12), uffd_release(1),
        wake(), read(USER, 12), read(USER, 3), unmap(1, 0, 32)),
    # userfaultfd write protection: COPY with WP, write-protect present
    # pages, writes wait, reads do not; release (CoW reuse / copy after a
    # fork), protect keeps the bit, unregister with a waiter: ordinary memory.
    "uffd-wp": machine(
        256, create(1), switch(1), map_(1, 0, 6, R | W | U), write(USER, 0, 0, True, 0x1010),
        read(USER, 1), uffd_register(1, 0, 6, MISSING | WP), uffd_copy(1, 2, wp=True),
        uffd_wp(1, 0, 3, True), uffd_wp(1, 0, 8, True), read(USER, 0), write(USER, 0, 1, v=0x2020),
        write(USER, 1, 1), write(USER, 2, 1), protect(1, 0, 3, R | U), protect(1, 0, 3, R | W | U),
        write(USER, 2, 2), clone(1, 2), uffd_wp(1, 0, 1, False), wake(), read(USER, 0, 1),
        switch(2), write(USER, 1, 1, v=0x3030), write(USER, 2, 2), read(USER, 0, 1), switch(1),
        uffd_copy(1, 3, wp=True), write(USER, 3, 3, True, 0x4040), uffd_unregister(1, 0, 6),
        wake(), wake(), wake(), read(USER, 1, 1), read(USER, 3, 3), uffd_wp(1, 0, 2, True),
        destroy(1), wake(), destroy(2)),
    # fork and exit in either order with system calls' copies to and from
    # user memory: CoW and zero fill through a kernel-mode access, -EFAULT
    # at a guard, a hole and a read-only page, a copy that waits for a
    # userfaultfd the child does not inherit.
    "fork-exit-uaccess": machine(
        256, create(1), switch(1), map_(1, 0, 4, R | W | U), map_(1, 4, 1, 0, GUARD),
        map_(1, 6, 2, R | U), copy_to_user(0, 2, 1, 0x1111), copy_from_user(1, 4), clone(1, 2),
        copy_to_user(0, 4, 2, 0x2222), copy_to_user(6, 2), copy_from_user(6, 3),
        switch(2), copy_from_user(0, 2, 2), copy_to_user(1, 3, 3, 0x3333), switch(1), destroy(1),
        switch(2), copy_from_user(0, 2, 1), clone(2, 3), uffd_register(2, 0, 4, MISSING),
        copy_to_user(2, 2, 1, 0x4444), discard(2, 0, 4), copy_to_user(0, 2), uffd_zeropage(2, 0),
        wake(), wake(), switch(3), copy_to_user(0, 4, 0, 0x5555), destroy(3), switch(2),
        copy_from_user(0, 4), destroy(2)),
    # Physical objects (PTE_NOREF: frames nobody counts) mapped shared and
    # private: shared writes reach the frame, private ones copy (no
    # reference dropped on the frame), fork copies the entries as they
    # are, exit of either side in any order; a provide to a physical
    # object and a userfaultfd range over one are refused.
    "phys-shared-private": machine(
        64, create(1), switch(1), obj_phys(0, 1, 3), obj_phys(1, 2, 2),
        map_(1, 0, 3, R | W | U, SHARED_OBJ, 0, 0), map_(1, 4, 3, R | W | X | U, PRIV_OBJ, 0, 0),
        read(USER, 0), write(USER, 1, 1, True, 0x1111), read(USER, 5, 1), fetch(USER, 6, True),
        populate(1, 0, 3), clone(1, 2), write(USER, 4, 2, v=0x2222), write(USER, 5, 3, v=0x3333),
        provide(0, 1), provide(0, 3), uffd_register(1, 0, 3, MISSING), switch(2),
        write(USER, 2, 0, True, 0x4444), read(USER, 5, 1), write(USER, 5, 1, v=0x5555),
        copy_from_user(0, 3, 1), destroy(1), read(USER, 1, 1), obj_put(0), protect(2, 0, 3, R | U),
        read(USER, 2), clone(2, 3), destroy(2), switch(3), read(USER, 2), write(USER, 4),
        unmap(3, 0, 8), destroy(3)),
    # 2 MiB pages: refused writable or owning over the zero frame, global
    # in the user half, in a kernel slot not reserved, twice; mapped in the
    # kernel slot through a user space and read through another, protected,
    # unmapped; in a user half: read, write refused (no region), the space
    # cloned (regions only) and destroyed with it mapped.
    "huge-pages": machine(
        32, create(1), switch(1), huge_map(0, HNOREF, 1), huge_access(True, 0, 0), destroy(1),
        reserve(), create(1), create(2), switch(1), huge_map(0, HNOREF | HW), huge_map(0, HG),
        huge_map(0, HNOREF | HG | HNX, 1), huge_map(0, HNOREF, 2), huge_access(True, 0, 1, 1),
        switch(2), huge_access(True, 0, 1, 1), huge_access(True, 1, 2), huge_access(True, 2, 0),
        huge_access(True, 0, 3, 2, True), huge_protect(0, HG, 2), huge_access(True, 2, 3, 3),
        huge_protect(0, HW), huge_access(True, 0, 2, 4), obj_phys(0, 1, 1),
        map_(2, 0, 1, R | W | U, SHARED_OBJ, 0, 0), write(USER, 0, 1, True, 0x1234),
        huge_access(True, 0, 1, 1), huge_unmap(0, 1), huge_unmap(0), huge_access(True, 0, 1),
        huge_map(1, HNOREF | HG), huge_map(2, HNOREF | HU | HNX), huge_access(False, 0, 1, 1, True),
        huge_access(False, 1, 1, 1), huge_access(False, 2, 0, 0, True), huge_protect(2, HU),
        huge_access(False, 2, 0, 0, True), clone(2, 3), switch(3), huge_access(False, 0, 0),
        switch(2), huge_map(2, HNOREF), destroy(2), create(2), huge_unmap(2)),
    # Found (fixed in uffd_range.c): registering a write-protected range
    # again without WP kept the pages' PTE_UFFD_WP, unregister then left it
    # behind (uffd.h: pages become ordinary memory), so a write would wait
    # for a pager registered later that never write-protected anything.
    "found-uffd-reregister-keeps-wp": machine(
        64, create(1), switch(1), map_(1, 0, 2, R | W | U), write(USER, 0),
        uffd_register(1, 0, 2, WP), uffd_wp(1, 0, 2, True), uffd_register(1, 0, 2, MISSING),
        uffd_unregister(1, 0, 2), uffd_register(1, 0, 2, WP, ctx=2), write(USER, 0, 1)),
    # Found (fixed in uffd_range.c): COPY into a range whose region lost
    # its user right after registration (here PROT_NONE) mapped the page
    # user-accessible anyway (PTE_U always set).
    "found-uffd-copy-ignores-region-rights": machine(
        64, create(1), switch(1), map_(1, 0, 1, R | W | U), uffd_register(1, 0, 1, MISSING),
        protect(1, 0, 1, 0), uffd_copy(1, 0), read(USER, 0, 0, True)),
    # Found (fixed in uffd_range.c): COPY with write protection into a range
    # registered without WP set PTE_UFFD_WP where no unregister clears it
    # (Linux refuses it: EINVAL).
    "found-uffd-copy-wp-outside-wp-range": machine(
        64, create(1), switch(1), map_(1, 0, 1, R | W | U), uffd_register(1, 0, 1, MISSING),
        uffd_copy(1, 0, wp=True), uffd_unregister(1, 0, 1), write(USER, 0)),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vmm-corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds written to {os.path.normpath(out)}")
