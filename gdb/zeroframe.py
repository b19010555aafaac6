# Zeroframe's GDB setup and helpers: gdb -x gdb/zeroframe.py (make debug
# does this).  Settings first, then the zf-* commands (gdb/zf/commands.py),
# the unwinder through the exception entry (gdb/zf/unwind.py).  `zf-help`
# lists the commands.  Loads build/zeroframe.elf when no file is loaded yet.
import os
import sys

import gdb

# The architecture must be set before connecting: QEMU's gdbstub reports
# 64-bit registers, and GDB would otherwise assume i386 and reject them.
for _cmd in ("set architecture i386:x86-64", "set disassembly-flavor intel",
             "set pagination off", "set confirm off"):
    gdb.execute(_cmd, to_string=True)

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

import zf.commands  # noqa: E402
import zf.unwind  # noqa: E402

zf.commands.install()
zf.unwind.install()

if gdb.current_progspace().filename is None:
    _elf = os.path.join(os.path.dirname(_here), "build", "zeroframe.elf")
    if os.path.exists(_elf):
        gdb.execute("file " + _elf)
