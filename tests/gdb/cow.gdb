# GDB test, scenario "cow" (tests/gdb-test.py judges the output; lines
# starting with "@@ " name the sections it checks).  The kernel runs the
# self-test gdb.cow_zero_fill_watched (tests/kernel/test_gdb.c).
break cow_zero_fill
continue
echo @@ cr2\n
printf "cr2=%#lx target=%#lx\n", $cr2, gdb_test_cow_va
echo @@ walk-before\n
zf-walk $cr2
echo @@ zero\n
printf "zero=%#lx\n", vmm_zero_frame
echo @@ frame-zero-before\n
zf-frame vmm_zero_frame
echo @@ maps-cow-before\n
zf-maps cow
echo @@ maps-zero-before\n
zf-maps zero
echo @@ bt\n
bt
echo @@ fault-deciding\n
zf-fault
echo @@ frame-regs\n
zf-frame-regs
echo @@ interrupted\n
zf-interrupted
# Stop here (an error ends the script) rather than wait for a breakpoint
# that a wrong frame would never hit.
python
if not (gdb.selected_frame().name() or "").startswith("ktest_fn_gdb_cow_zero_fill_watched"):
    raise gdb.GdbError("zf-interrupted selected %s, not the test" % gdb.selected_frame().name())
end
tbreak *$pc
delete 1
continue
echo @@ walk-after\n
zf-walk gdb_test_cow_va
echo @@ frame-new\n
zf-frame $zf_frame
echo @@ frame-zero-after\n
zf-frame vmm_zero_frame
echo @@ fault-after\n
zf-fault
echo @@ maps\n
zf-maps
echo @@ maps-wx\n
zf-maps w x
echo @@ maps-cow-after\n
zf-maps cow
echo @@ maps-user\n
zf-maps u
echo @@ interrupt-now\n
continue
echo @@ after-interrupt\n
printf "pc=%#lx\n", $pc
info symbol $pc
zf-walk $pc
echo @@ end\n
