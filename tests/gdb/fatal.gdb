# GDB test, scenario "fatal": the self-test irq_panic.page_fault writes to
# an unmapped address; zf-break-fatal stops before the report.
echo @@ badargs-nopaging\n
source tests/gdb/badargs.py
echo @@ break-fatal\n
zf-break-fatal
continue
echo @@ serial-before-report\n
shell grep -c 'FATAL EXCEPTION' "$ZF_DEBUG_RUN/serial.log" || true
echo @@ fault\n
zf-fault
echo @@ frame-regs\n
zf-frame-regs
echo @@ walk\n
zf-walk $cr2
echo @@ bt\n
bt
echo @@ badargs-paging\n
source tests/gdb/badargs.py
echo @@ interrupt-now\n
continue
echo @@ after-interrupt\n
shell grep -c 'FATAL EXCEPTION' "$ZF_DEBUG_RUN/serial.log" || true
info symbol $pc
echo @@ end\n
