#!/usr/bin/env python3
"""Write a damaged copy of a static x86-64 ELF executable, for the execve
refusal tests: make-bad-elf.py SRC KIND OUT.  Each KIND breaks one rule the
loader checks (kernel/proc/elf_load.c); the rest of the file stays valid, so
the refusal names exactly that rule."""
import struct
import sys

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
PT_LOAD = 1


def loads(data):
    h = EHDR.unpack_from(data, 0)
    phoff, phnum = h[5], h[10]
    return [phoff + i * PHDR.size for i in range(phnum)
            if PHDR.unpack_from(data, phoff + i * PHDR.size)[0] == PT_LOAD]


def set_ph(data, at, **fields):
    names = ["type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align"]
    ph = dict(zip(names, PHDR.unpack_from(data, at)))
    ph.update(fields)
    PHDR.pack_into(data, at, *(ph[n] for n in names))


def damage(data, kind):
    seg = loads(data)
    if len(seg) < 2:
        sys.exit("make-bad-elf: need at least two PT_LOAD segments")
    if kind == "class32":
        data[4] = 1                      # ELFCLASS32
    elif kind == "arm64":
        struct.pack_into("<H", data, 18, 183)  # e_machine = EM_AARCH64
    elif kind == "overlap":
        # The second segment starts where the first does.
        first = PHDR.unpack_from(data, seg[0])
        set_ph(data, seg[1], vaddr=first[3], paddr=first[3], offset=first[2])
    elif kind == "kernel-half":
        set_ph(data, seg[-1], vaddr=0xffff800000000000 + (PHDR.unpack_from(data, seg[-1])[3] & 0xfff))
    elif kind == "huge":
        set_ph(data, seg[-1], memsz=1 << 44)   # 16 TiB of bss
    else:
        sys.exit(f"make-bad-elf: unknown kind {kind}")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make-bad-elf.py SRC KIND OUT")
    src, kind, out = sys.argv[1:]
    with open(src, "rb") as f:
        data = bytearray(f.read())
    damage(data, kind)
    with open(out, "wb") as f:
        f.write(data)


main()
