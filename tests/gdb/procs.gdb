# GDB test, scenario "procs" (tests/gdb-test.py judges the output; lines
# starting with "@@ " name the sections it checks).  Boot with fault=stop and
# init=/bin/test_mem (user/test_mem.c): PID 1 maps a shared and a private
# page, forks PID 2, which writes both and exits (a zombie until reaped);
# later a child (PID 3) writes to a read-only mapping and, under fault=stop,
# is stopped instead of killed; PID 1 waits for it (it may block in wait4
# before or after the child runs: the idle section waits for the `hlt` of
# schedule(), reached only once nothing is runnable).
break sched_exit_current
continue
echo @@ ps-zombie\n
zf-ps
echo @@ regions-1\n
zf-regions 1
echo @@ zombie-regions\n
python
try:
    gdb.execute("zf-regions 'percpu.c'::cpu0.current->proc->pid", to_string=True)
    print("BADARG zf-regions (zombie) => accepted")
except gdb.error as e:
    print("BADARG zf-regions (zombie) => %s" % e)
# The shared page's address, from zf-regions' own output.
out = gdb.execute("zf-regions 1", to_string=True)
shared = [l.split()[0].split("-")[0] for l in out.splitlines() if " shared, anonymous " in l]
gdb.set_convenience_variable("shared", int(shared[0], 16) if shared else 0)
gdb.set_convenience_variable("pml4", int(out.split("PML4 ")[1].split(":")[0], 16))
end
echo @@ shared\n
printf "shared=%#lx\n", $shared
zf-walk $shared $pml4
echo @@ frame-shared\n
zf-frame $zf_frame
delete
break proc_user_fault
continue
finish
echo @@ ps-stopped\n
zf-ps
echo @@ regions-live\n
zf-regions
echo @@ regions-kernel\n
zf-regions kernel
echo @@ maps-user\n
zf-maps u
echo @@ entry\n
python
import os
gdb.set_convenience_variable("entry", int(os.environ["ZF_TEST_ENTRY"], 0))
end
zf-walk $entry
echo @@ frame-text\n
zf-frame $zf_frame
echo @@ fault\n
zf-fault
echo @@ badargs\n
python
for cmd in ["zf-regions 1 2", "zf-regions 99", "zf-regions vmm_counters",
            "zf-regions 0x1234567890", "zf-regions no_such_symbol", "zf-ps 1"]:
    try:
        out = gdb.execute(cmd, to_string=True)
        print("BADARG %s => accepted: %r" % (cmd, out))
    except gdb.error as e:
        print("BADARG %s => %s" % (cmd, str(e).replace("\n", "\\n")))
end
delete
python
hlt = [l.split()[0] for l in gdb.execute("disassemble schedule", to_string=True).splitlines()
       if l.split()[-1:] == ["hlt"]]
gdb.execute("break *" + hlt[0])
end
continue
echo @@ ps-idle\n
zf-ps
printf "current=%d\n", 'percpu.c'::cpu0.current->proc->pid
echo @@ end\n
