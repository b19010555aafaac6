# GDB test, scenario "debuginfo" (no target): look up the line of every
# 4th address of the kernel's code sections (.boot and .text), as a
# backtrace does.  GDB must say nothing on stderr: no "pc ... in read in CU,
# but not in symtab" or any other warning.  Prints "looked up N addresses".
import re

import gdb

n = 0
for name in (".boot", ".text"):
    out = gdb.execute("maint info sections %s" % name, to_string=True)
    m = re.search(r"\[\d+\]\s+0x([0-9a-f]+)->0x([0-9a-f]+)", out)
    if not m:
        raise gdb.GdbError("section %s not found in: %s" % (name, out))
    for pc in range(int(m.group(1), 16), int(m.group(2), 16), 4):
        gdb.find_pc_line(pc)
        n += 1
print("looked up %d addresses" % n)
