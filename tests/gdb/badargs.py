# GDB test: every helper answers bad arguments with one line (a GDB error,
# never a Python traceback).  Sourced by fatal.gdb at _start (paging off)
# and again once paging is on; prints "BADARG <command> => <message>" for
# each, which tests/gdb-test.py judges.
import gdb

BAD = ["zf-walk", "zf-walk 1 2 3", "zf-walk no_such_symbol", "zf-walk boot_info",
       "zf-walk 0x0000800000000000", "zf-pte", "zf-pte 0x1 9", "zf-pte 1 2 3", "zf-pf",
       "zf-maps bogus", "zf-maps cr3=1 cr3=2", "zf-frame", "zf-frame 1 2",
       "zf-frame-regs 1 2", "zf-fault extra", "zf-interrupted now", "zf-break-fatal on",
       "zf-help me", "zf-regions 1 2", "zf-regions no_such_symbol", "zf-regions 'unbalanced",
       "zf-ps 1"]
for cmd in BAD:
    try:
        out = gdb.execute(cmd, to_string=True)
        print("BADARG %s => accepted: %r" % (cmd, out))
    except gdb.error as e:
        print("BADARG %s => %s" % (cmd, str(e).replace("\n", "\\n")))
