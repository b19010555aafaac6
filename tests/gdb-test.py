#!/usr/bin/env python3
"""End-to-end GDB test: `make debug`'s own script (scripts/debug.sh) in
batch mode, on a free port, under a pseudo-terminal so that the interrupt is
a real Ctrl-C typed at GDB's terminal.

  tests/gdb-test.py [--elf build/zeroframe.elf] [SCENARIO...]

Scenarios (GDB scripts in tests/gdb/), after "judge", a self-test of the
judging on bad samples:
  debuginfo  no target: line lookups at every 4th address of .boot and .text
         must not make GDB warn (tests/gdb/debuginfo.py).
  cow    break in cow_zero_fill during the self-test gdb.cow_zero_fill_watched:
         $cr2 is the test's address, zf-walk shows COW on the zero frame, bt
         reaches the test function through the exception frame; after the
         fault: a writable private frame, zf-frame agrees, zf-fault decodes
         it; zf-maps has no W+X run; Ctrl-C while the kernel runs returns to
         the prompt with QEMU alive.
  fatal  zf-break-fatal stops before the report of irq_panic.page_fault, the
         helpers explain the fault; Ctrl-C after the halt works; every helper
         answers bad arguments with one line.
  procs  user programs (test_mem, echoargs as modules), fault=stop: at a
         zombie (PID 2 just exited) and at a stopped child (PID 3 wrote to a
         read-only page) zf-ps lists every process with parent, name and
         state, zf-regions the regions of PID 1, PID 3 and the kernel (the
         ELF's PT_LOAD segments, [heap], shared and private anonymous and
         file mappings, [stack] and its guard; module views, kernel
         stacks), zf-maps annotates each user run with a region allowing
         its rights, zf-frame finds a shared frame in its object's page
         cache and a text frame in both spaces, zf-fault shows the region;
         once nothing is runnable, PID 1 waits in wait4.
  interactive  `make debug` itself at GDB's prompt on a terminal: Ctrl-C
         while the kernel runs and at the stopped prompt, QEMU alive until
         `quit`, then gone.

Fails on any mismatch, anything GDB writes to stderr (errors, warnings,
Python exceptions), or a timeout.  Prints PASS/FAIL lines.
"""
import argparse
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = int(os.environ.get("GDB_TEST_TIMEOUT", "240"))
CTRL_C = b"\x03"


class Failure(Exception):
    pass


def run_gdb(name, elf, cmdline, script, log, modules=(), env_extra=None):
    """Run debug.sh on an ISO with @cmdline and @modules (mkiso.sh's
    FILE=NAME) under a pty; type Ctrl-C each time a section "interrupt-now"
    has printed "Continuing.".  Returns (stdout, stderr, serial path)."""
    iso = os.path.join(HERE, "build", "gdb-test", name + ".iso")
    subprocess.run([os.path.join(HERE, "scripts", "mkiso.sh"), elf, cmdline, iso] + list(modules),
                   check=True)
    master, slave = os.openpty()
    env = dict(os.environ, GDB_PORT="auto", GDB_BATCH=os.path.join(HERE, "tests", "gdb", script),
               **(env_extra or {}))

    def make_ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([os.path.join(HERE, "scripts", "debug.sh"), elf, iso], cwd=HERE, env=env,
                         stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                         preexec_fn=make_ctty)
    os.close(slave)
    out, err = b"", b""
    deadline = time.monotonic() + TIMEOUT
    interrupts_sent = resends = 0
    armed_at = None
    qemu_pid = None
    try:
        open_fds = {master, p.stderr.fileno()}
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("timeout after %d s (GDB or QEMU hung); output so far:\n%s" %
                              (TIMEOUT, out.decode(errors="replace")[-3000:]))
            ready, _, _ = select.select(list(open_fds), [], [], min(left, 0.5))
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the pty's other side is gone
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                elif fd == master:
                    out += chunk
                else:
                    err += chunk
            m = re.search(rb"QEMU pid (\d+)", out)
            if m:
                qemu_pid = int(m.group(1))
            # Ctrl-C once per "interrupt-now" section (its next command is
            # `continue`; batch GDB prints no "Continuing."), a moment later;
            # again if GDB has not stopped 10 s later (a Ctrl-C typed before
            # the resume may be absorbed).
            wanted = out.count(b"@@ interrupt-now")
            after = out.rsplit(b"@@ interrupt-now", 1)[-1] if wanted else b""
            now = time.monotonic()
            if wanted > interrupts_sent:
                armed_at = armed_at or now
                if now - armed_at > 2.0:
                    os.write(master, CTRL_C)
                    interrupts_sent, armed_at, resends = wanted, now, 0
            elif wanted and wanted == interrupts_sent and b"SIGINT" not in after \
                    and now - armed_at > 10 and resends < 3:
                os.write(master, CTRL_C)
                armed_at, resends = now, resends + 1
        p.wait(timeout=max(1, deadline - time.monotonic()))
    except (Failure, subprocess.TimeoutExpired) as e:
        os.killpg(p.pid, signal.SIGKILL)
        if qemu_pid:
            try:
                os.kill(qemu_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise Failure(str(e)) from None
    finally:
        os.close(master)
        with open(log, "wb") as f:
            f.write(out + b"\n---- stderr ----\n" + err)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    m = re.search(r"serial console: (\S+)", text)
    serial = m.group(1) if m else None
    if p.returncode != 0:
        raise Failure("debug.sh exited with status %d; GDB's stderr: %s" % (
            p.returncode, err.decode(errors="replace").strip()[-500:] or "(empty)"))
    if qemu_pid and os.path.exists("/proc/%d" % qemu_pid):
        state = open("/proc/%d/stat" % qemu_pid).read().split()[2]
        if state != "Z":
            raise Failure("QEMU (pid %d) outlived debug.sh" % qemu_pid)
    return text, err.decode(errors="replace"), serial


def sections(text):
    """{name: text} for the "@@ name" sections of the output."""
    out = {}
    name = "start"
    for line in text.split("\n"):
        m = re.match(r"^@@ (\S+)$", line)
        if m:
            name = m.group(1)
            out[name] = ""
            continue
        out[name] = out.get(name, "") + line + "\n"
    return out


BAD_OUTPUT = [r"^warning:", r"Traceback", r"Python Exception", r"^Error", r"error:",
              r"Cannot access memory", r"Remote connection closed", r"No symbol ",
              r"Backtrace stopped", r"^#\d+\s+0x0+ in", r"^#\d+ .*\?\? \(\)"]


def common_checks(text, err):
    if err.strip():
        raise Failure("GDB wrote to stderr (error or warning):\n" + err.strip()[:2000])
    for line in text.split("\n"):
        if line.startswith("BADARG "):
            continue
        for pat in BAD_OUTPUT:
            if re.search(pat, line):
                raise Failure("GDB output has /%s/: %s" % (pat, line))


def need(sec, name, pattern, why):
    body = sec.get(name)
    if body is None:
        raise Failure("section %s missing (the script stopped early?)" % name)
    m = re.search(pattern, body, re.M)
    if not m:
        raise Failure("%s: %s\n  expected /%s/ in:\n%s" % (name, why, pattern, body.rstrip()))
    return m


def refuse(sec, name, pattern, why):
    if re.search(pattern, sec.get(name, ""), re.M):
        raise Failure("%s: %s (found /%s/):\n%s" % (name, why, pattern, sec[name].rstrip()))


ENTRIES = ("irq_common", "pf_entry")


def frames_in_order(bt, names, interrupted):
    """Every name appears in a later frame than the one before, and the frame
    right below an exception entry (irq_common, pf_entry) is @interrupted
    (nothing bogus in between)."""
    frames = re.findall(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+)", bt, re.M)
    pos = 0
    for want in names:
        while pos < len(frames) and not frames[pos][1].startswith(want):
            pos += 1
        if pos == len(frames):
            raise Failure("bt: frame %s missing or out of order:\n%s" % (want, bt.rstrip()))
        if want in ENTRIES and (pos + 1 == len(frames) or
                                not frames[pos + 1][1].startswith(interrupted)):
            raise Failure("bt: the frame below %s is not %s:\n%s" % (want, interrupted, bt.rstrip()))
        pos += 1
    return frames


def check_interrupt(sec):
    need(sec, "interrupt-now", r"Program received signal SIGINT",
         "Ctrl-C did not return to the prompt")
    refuse(sec, "interrupt-now", r"exited|terminating on signal|Remote connection closed",
           "Ctrl-C killed QEMU")


def scenario_cow(elf, log):
    text, err, serial = run_gdb("cow", elf, "test=gdb.cow_zero_fill_watched", "cow.gdb", log)
    common_checks(text, err)
    sec = sections(text)
    need(sec, "start", r"Breakpoint \d+, cow_zero_fill \(", "no stop in cow_zero_fill")
    m = need(sec, "cr2", r"cr2=(0x[0-9a-f]+) target=(0x[0-9a-f]+)", "no $cr2 line")
    if m.group(1) != m.group(2):
        raise Failure("cr2: $cr2 %s is not the test's address %s" % m.groups())
    target = int(m.group(1), 16)
    page = target & ~0xFFF
    zero = int(need(sec, "zero", r"zero=(0x[0-9a-f]+)", "no zero frame").group(1), 16)
    need(sec, "walk-before", r"^  PT  \[\s*\d+\] @ \S+\s+= [0-9a-f]{16}  P (A )?COW NX   <- walk ended here",
         "the PT entry is not a read-only CoW entry")
    need(sec, "walk-before", r"-> physical %#x in a 4 KiB page at %#x \(the zero frame\)" %
         (zero | (target & 0xFFF), zero), "the page is not on the zero frame")
    need(sec, "frame-zero-before", r"this is the zero frame", "zf-frame did not name the zero frame")
    need(sec, "frame-zero-before", r"^    %016x  r-- kern  P .*COW" % page,
         "the zero frame's mappings lack the test page")
    frames_in_order(sec["bt"], ["cow_zero_fill", "vmm_fault_handle", "page_fault_lean",
                                "pf_entry", "ktest_fn_gdb_cow_zero_fill_watched",
                                "ktest_run", "kernel_main", "long_mode_high"],
                    "ktest_fn_gdb_cow_zero_fill_watched")
    need(sec, "fault-deciding", r"page fault #\d+ being decided now \(you are inside its handler\): kernel write at %#x" % target,
         "zf-fault does not show the fault in progress")
    need(sec, "frame-regs", r"#PF page fault \(vector 14\)", "not a #PF frame")
    need(sec, "frame-regs", r"#PF's lean entry: rbx, rbp and r12-r15 are not in the frame; shown as "
         r"GDB unwinds them to the entry", "the lean #PF frame's callee-saved registers not from GDB")
    need(sec, "frame-regs", r"error code 0x3: protection violation on a present page, write",
         "wrong error code")
    need(sec, "frame-regs", r"RIP=[0-9a-f]{16} ktest_fn_gdb_cow_zero_fill_watched\+0x",
         "RIP is not in the test")
    need(sec, "frame-regs", r"^    #0  [0-9a-f]{16} ktest_fn_gdb_cow_zero_fill_watched\+0x[\s\S]*"
         r"^    #\d+ +[0-9a-f]{16} ktest_run\+0x[\s\S]*^    #\d+ +[0-9a-f]{16} kernel_main\+0x",
         "the frame-pointer chain does not reach ktest_run and kernel_main")
    need(sec, "interrupted", r"^#\d+\s+0x[0-9a-f]+ in ktest_fn_gdb_cow_zero_fill_watched",
         "zf-interrupted did not select the test function")
    need(sec, "interrupted", r"Temporary breakpoint \d+, (0x[0-9a-f]+ in )?"
         r"ktest_fn_gdb_cow_zero_fill_watched", "did not come back to the retried write")
    m = need(sec, "walk-after", r"^  PT  \[\s*\d+\] @ \S+\s+= [0-9a-f]{16}  P W A D NX   <- walk ended here",
             "the entry is not writable (and CoW-free) after the fault")
    refuse(sec, "walk-after", r"zero frame", "still on the zero frame")
    m = need(sec, "walk-after", r"-> physical (0x[0-9a-f]+) in a 4 KiB page at (0x[0-9a-f]+);"
             r" effective rights: write kernel no-exec$", "no physical address / rights")
    new = int(m.group(2), 16)
    if new == zero:
        raise Failure("walk-after: the frame is still the zero frame")
    need(sec, "frame-new", r"frame %#x: allocated, reference count 1" % new,
         "the new frame is not allocated once")
    need(sec, "frame-new", r"^    %016x  rw- kern  P W A D NX" % page, "the new frame's mapping")
    need(sec, "frame-zero-after", r"this is the zero frame", "zf-frame lost the zero frame")
    refuse(sec, "frame-zero-after", r"^    %016x " % page, "the zero frame still maps the test page")
    need(sec, "fault-after", r"last page fault \(#\d+\): kernel write at %#x" % target,
         "zf-fault: wrong last fault")
    need(sec, "fault-after", r"result: VMM_FAULT_RESOLVED", "zf-fault: not resolved")
    need(sec, "fault-after", r"reason: first write to lazily allocated memory \(zero-filled\)",
         "zf-fault: not the kernel's zero-fill words")
    need(sec, "fault-after", r"fault counters: faults [1-9]\d*, zero_fills [1-9]", "zf-fault: counters")
    need(sec, "fault-after", r"^  region: \[%#x, %#x\) rw-- private, anonymous object #\d+ 'gdb-test' "
         r"from page 0 \(fault in page 0\)$" % (page, page + 8192), "zf-fault: not the test's arena region")
    # The watched write went straight to its leaf through the walk cache:
    # zf-fault walks it again, and shows the entry as it is now.
    need(sec, "fault-after", r"^    \(walked now: the fault's walk went straight to its leaf through the "
         r"walk cache and recorded no levels\)$", "zf-fault: the walk-cache hit not said")
    need(sec, "fault-after", r"^    PT   = [0-9a-f]{16}  P W A D NX   <- walk ended here$",
         "zf-fault: the walk walked now does not show the written entry")
    need(sec, "fault-after", r"^    effective rights: write kernel no-exec$", "zf-fault: rights")
    runs = re.findall(r"^  [0-9a-f]{16}-[0-9a-f]{16}\s+\S+  (r[w-][x-]) (kern|user)", sec["maps"], re.M)
    if not any(r == "r-x" for r, _ in runs) or not any(r == "rw-" for r, _ in runs):
        raise Failure("maps: no kernel text (r-x) or data (rw-) run:\n" + sec["maps"])
    wx = [r for r, _ in runs if r == "rwx"]
    if wx:
        raise Failure("maps: %d writable+executable run(s):\n%s" % (len(wx), sec["maps"]))
    need(sec, "maps-wx", r"^  no mappings match$", "zf-maps w x lists something")
    need(sec, "maps", r"^  %016x-%016x +4K  rw- kern  -> 0x[0-9a-f]+ +\[region rw-- private, "
         r"anonymous object #\d+ 'gdb-test', offset page 0\]$" % (page, page + 4096),
         "zf-maps: the test's page is not annotated with its arena region")
    # Filters: every run listed has what was asked, and the test page is
    # among the CoW and zero-frame runs before the write, not after it.
    def filtered(name, what, marker):
        need(sec, name, r"^mappings of the space with CR3 0x[0-9a-f]+ matching %s:$" % what,
             "zf-maps %s: no header" % what)
        runs = re.findall(r"^  ([0-9a-f]{16})-([0-9a-f]{16}) .*$", sec[name], re.M)
        lines = re.findall(r"^  [0-9a-f]{16}-[0-9a-f]{16} .*$", sec[name], re.M)
        bad = [l for l in lines if not re.search(marker, l)]
        if bad:
            raise Failure("zf-maps %s lists a run without /%s/: %s" % (what, marker, bad[0]))
        return [(int(a, 16), int(b, 16)) for a, b in runs]
    for name, what, marker in (("maps-cow-before", "cow", r"  -> .* COW( |$)"),
                               ("maps-zero-before", "zero", r"  -> zero frame 0x[0-9a-f]+ .*zero-frame")):
        if not any(a <= page < b for a, b in filtered(name, what, marker)):
            raise Failure("%s: the test page %#x is not listed:\n%s" % (name, page, sec[name]))
    if any(a <= page < b for a, b in filtered("maps-cow-after", "cow", r"  -> .* COW( |$)")):
        raise Failure("maps-cow-after: the test page is still CoW:\n" + sec["maps-cow-after"])
    filtered("maps-user", "u", r"^  \S+ +\S+  r[w-][x-] user  ")
    need(sec, "maps-user", r"^  no mappings match$", "zf-maps u: the kernel space maps user pages")
    check_interrupt(sec)
    need(sec, "after-interrupt", r"^pc=0xffffffff8", "no PC after the interrupt")
    need(sec, "after-interrupt", r"-> physical 0x", "zf-walk $pc failed after the interrupt")
    log = open(serial, errors="replace").read() if serial else ""
    if "ok 1 gdb.cow_zero_fill_watched" not in log or "1 passed, 0 failed" not in log:
        raise Failure("the self-test did not pass under GDB (serial log %s)" % serial)
    return "CoW fault watched from cow_zero_fill to the retried write (zero frame %#x -> %#x)" % (
        zero, new)


def scenario_fatal(elf, log):
    text, err, serial = run_gdb("fatal", elf, "test=irq_panic.page_fault", "fatal.gdb", log)
    common_checks(text, err)
    sec = sections(text)
    for name in ("badargs-nopaging", "badargs-paging"):
        lines = [l for l in sec.get(name, "").split("\n") if l.startswith("BADARG ")]
        if len(lines) < 15:
            raise Failure("%s: only %d bad-argument answers" % (name, len(lines)))
        for l in lines:
            m = re.match(r"^BADARG (zf-[a-z-]+).*? => (.*)$", l)
            if not m or not m.group(2).startswith(m.group(1) + ": ") or "\\n" in m.group(2) \
                    or "accepted" in m.group(2) or "Error occurred in Python" in m.group(2):
                raise Failure("%s: not a one-line error from the helper: %s" % (name, l))
    need(sec, "badargs-nopaging", r"zf-walk 0x0000800000000000 => zf-walk: paging is off",
         "zf-walk before paging")
    need(sec, "badargs-paging", r"zf-walk 0x0000800000000000 => zf-walk: 0x800000000000 is not "
         r"canonical", "zf-walk of a non-canonical address")
    need(sec, "break-fatal", r"breakpoints on irq_report_fatal, panic", "zf-break-fatal")
    need(sec, "break-fatal", r"zf-break-fatal: stopped in irq_report_fatal", "no stop before the report")
    need(sec, "serial-before-report", r"^0$", "the report was printed before the breakpoint")
    need(sec, "fault", r"kernel write at 0xffff800000000000", "zf-fault: address/access")
    need(sec, "fault", r"result: VMM_FAULT_FATAL", "zf-fault: result")
    reason = need(sec, "fault", r"^  reason: (.+)$", "zf-fault: no reason").group(1)
    need(sec, "fault", r"PDPT = 0000000000000000  not present   <- walk ended here", "zf-fault: walk")
    need(sec, "frame-regs", r"RIP=[0-9a-f]{16} ktest_fn_irq_panic_page_fault\+0x", "zf-frame-regs RIP")
    need(sec, "frame-regs", r"^    #1  [0-9a-f]{16} ktest_run\+0x[0-9a-f]+  \(\? return address at RSP: "
         r"no frame record\)\n    #2  [0-9a-f]{16} kernel_main\+0x", "zf-frame-regs chain of a leaf")
    need(sec, "walk", r"-> not mapped: the PDPT entry is not present", "zf-walk $cr2")
    frames_in_order(sec["bt"], ["irq_report_fatal", "irq_dispatch", "irq_common",
                                "ktest_fn_irq_panic_page_fault", "ktest_run", "kernel_main"],
                    "ktest_fn_irq_panic_page_fault")
    check_interrupt(sec)
    m = need(sec, "after-interrupt", r"^(\d+)$", "no report count")
    if int(m.group(1)) < 1:
        raise Failure("after-interrupt: the report was not printed after continuing")
    # zf-fault speaks the kernel's words: its reason is the report's.
    report = open(serial, errors="replace").read().replace("\r", "") if serial else ""
    m = re.search(r"^  reason: (.+)$", report, re.M)
    if not m or m.group(1) != reason:
        raise Failure("zf-fault's reason %r is not the kernel report's %r" % (
            reason, m.group(1) if m else None))
    return "fatal #PF caught before its report by zf-break-fatal; bad arguments answered in one line"


def scenario_interactive(elf, log):
    """`make debug` as a user runs it: GDB's prompt on a terminal, `continue`,
    Ctrl-C while the kernel runs, Ctrl-C at the stopped prompt, helpers,
    `quit`; QEMU must survive the interrupts and end with the session."""
    master, slave = os.openpty()
    # -nx: the user's ~/.gdbinit (pwndbg, gef, ...) is not under test.
    env = dict(os.environ, GDB_PORT="auto", TERM="dumb", GDB_EXTRA="-nx")

    def make_ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(["make", "--no-print-directory", "-s", "debug"], cwd=HERE, env=env,
                         stdin=slave, stdout=slave, stderr=slave, preexec_fn=make_ctty)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + TIMEOUT

    def expect(pattern, what):
        nonlocal out
        start = len(out)
        while not re.search(pattern, out[start:]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("timeout waiting for %s; output so far:\n%s" % (
                    what, out.decode(errors="replace")[-2000:]))
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise Failure("make debug ended while waiting for %s:\n%s" % (
                        what, out.decode(errors="replace")[-2000:]))
                out += chunk
        return out[start:].decode(errors="replace")

    qemu_pid = None
    try:
        banner = expect(rb"zf-help[\s\S]*\(gdb\) ", "the first prompt")
        m = re.search(r"QEMU pid (\d+)", out.decode(errors="replace"))
        qemu_pid = int(m.group(1)) if m else None
        if "_start () at boot/boot.asm" not in banner or "zf-walk VA [CR3]" not in banner:
            raise Failure("no stop at _start with the helpers' banner:\n" + banner)
        os.write(master, b"continue\n")
        expect(rb"Continuing\.", "Continuing.")
        time.sleep(2)  # let the kernel run (not a time assertion)
        os.write(master, CTRL_C)
        got = expect(rb"\(gdb\) ", "the prompt after Ctrl-C while running")
        if "SIGINT" not in got:
            raise Failure("Ctrl-C while running did not stop the guest:\n" + got)
        os.write(master, CTRL_C)  # at the stopped prompt: GDB says Quit, QEMU lives on
        expect(rb"Quit[\s\S]*\(gdb\) ", "Quit at the stopped prompt")
        os.write(master, b"zf-walk $pc\n")
        got = expect(rb"\(gdb\) ", "zf-walk after the interrupts")
        if "-> physical 0x" not in got:
            raise Failure("zf-walk $pc failed after the interrupts:\n" + got)
        if qemu_pid is None or not os.path.exists("/proc/%d" % qemu_pid):
            raise Failure("QEMU is gone after the interrupts")
        os.write(master, b"quit\n")
        p.wait(timeout=max(1, deadline - time.monotonic()))
    except (Failure, subprocess.TimeoutExpired) as e:
        os.killpg(p.pid, signal.SIGKILL)
        if qemu_pid:
            try:
                os.kill(qemu_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise Failure(str(e)) from None
    finally:
        try:
            while select.select([master], [], [], 0.2)[0]:
                chunk = os.read(master, 65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        os.close(master)
        with open(log, "wb") as f:
            f.write(out)
    text = out.decode(errors="replace")
    for pat in (r"warning:", r"Traceback", r"Python Exception", r"terminating on signal 2",
                r"Remote connection closed"):
        if re.search(pat, text):
            raise Failure("make debug output has /%s/" % pat)
    if qemu_pid and os.path.exists("/proc/%d" % qemu_pid) and \
            open("/proc/%d/stat" % qemu_pid).read().split()[2] != "Z":
        raise Failure("QEMU (pid %d) outlived the GDB session" % qemu_pid)
    return "make debug: Ctrl-C while running and at the prompt, QEMU alive until quit"


def judge_selftest():
    """The judging itself must fail on what the issue names: a GDB warning or
    error, stderr output, a bogus frame, a broken unwind, a missed Ctrl-C."""
    good_bt = ("#0  cow_zero_fill () at f.c:1\n#1  0x1 in irq_common () at e.asm:62\n"
               "#2  0x2 in ktest_fn_x () at t.c:3\n#3  0x3 in kernel_main () at m.c:1\n")
    frames_in_order(good_bt, ["cow_zero_fill", "irq_common", "ktest_fn_x", "kernel_main"],
                    "ktest_fn_x")
    lean_bt = good_bt.replace("irq_common () at e.asm:62", "pf_entry () at e.asm:140")
    frames_in_order(lean_bt, ["cow_zero_fill", "pf_entry", "ktest_fn_x", "kernel_main"], "ktest_fn_x")
    common_checks("Breakpoint 1, _start () at boot/boot.asm:53\n" + good_bt, "")
    bad = [
        lambda: common_checks("warning: (Internal error: pc 0x1 in read in CU, but not in symtab.)", ""),
        lambda: common_checks("ok", "zf-walk: something\n"),
        lambda: common_checks("Python Exception <class 'IndexError'>: list index", ""),
        lambda: common_checks("#9  0x0000000000000000 in ?? ()", ""),
        lambda: common_checks("#7  0xffffffff801e4e20 in ?? ()", ""),
        lambda: frames_in_order(good_bt.replace("#2  0x2 in ktest_fn_x",
                                                "#2  0x2 in boot_stack_bottom () \n#3  0x2 in ktest_fn_x"),
                                ["irq_common", "ktest_fn_x"], "ktest_fn_x"),
        lambda: frames_in_order(good_bt, ["kernel_main", "ktest_fn_x"], "ktest_fn_x"),
        lambda: frames_in_order(lean_bt.replace("#2  0x2 in ktest_fn_x",
                                                "#2  0x2 in boot_stack_bottom () \n#3  0x2 in ktest_fn_x"),
                                ["pf_entry", "ktest_fn_x"], "ktest_fn_x"),
        lambda: check_interrupt({"interrupt-now": "qemu-system-x86_64: terminating on signal 2\n"}),
        lambda: need({"a": "x"}, "b", "x", "missing section"),
    ]
    for i, case in enumerate(bad):
        try:
            case()
        except Failure:
            continue
        raise Failure("judge self-test: bad case %d was accepted" % i)
    return "the judge rejects warnings, stderr, Python exceptions, bogus frames, a killed QEMU"


def scenario_debuginfo(elf, log):
    r = subprocess.run(["gdb", "-batch", "-nx", "-ex", "set architecture i386:x86-64", elf,
                        "-x", os.path.join(HERE, "tests", "gdb", "debuginfo.py")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    with open(log, "w") as f:
        f.write(r.stdout + "\n---- stderr ----\n" + r.stderr)
    if r.returncode != 0 or r.stderr.strip():
        raise Failure("GDB complained reading the debug info:\n" + r.stderr.strip()[:1500])
    m = re.search(r"looked up (\d+) addresses", r.stdout)
    if not m or int(m.group(1)) < 1000:
        raise Failure("the lookup did not cover the kernel's code:\n" + r.stdout[-500:])
    return "line lookups at %s code addresses (.boot, .text), no warning" % m.group(1)


REQUIRED_HELPERS = {"zf-walk", "zf-maps", "zf-frame", "zf-fault", "zf-frame-regs", "zf-regions",
                    "zf-ps", "zf-break-fatal", "zf-interrupted", "zf-help"}


def scenario_help(elf, log):
    """No target: every zf-* command GDB knows is in zf-help's list, has a
    `help` text (a summary sentence, "Usage: " as zf-help gives it, then at
    least one line more), and has a bad-argument case in badargs.py."""
    r = subprocess.run(["gdb", "-batch", "-nx", "-x", os.path.join(HERE, "gdb", "zeroframe.py"), elf,
                        "-ex", "help user-defined", "-ex", "echo @@ zf-help\\n", "-ex", "zf-help"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    known = sorted(set(re.findall(r"^(zf-[a-z-]+) -- ", r.stdout, re.M)))
    listed = dict(re.findall(r"^  (zf-[a-z-]+)((?: \S+)*?)  +\S", r.stdout.split("@@ zf-help", 1)[-1], re.M))
    out = r.stdout
    args = ["gdb", "-batch", "-nx", "-x", os.path.join(HERE, "gdb", "zeroframe.py"), elf]
    for name in known:
        args += ["-ex", "echo @@ help %s\\n" % name, "-ex", "help " + name]
    h = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    out += h.stdout
    with open(log, "w") as f:
        f.write(out + "\n---- stderr ----\n" + r.stderr + h.stderr)
    if r.returncode or h.returncode or (r.stderr + h.stderr).strip():
        raise Failure("GDB complained:\n" + (r.stderr + h.stderr).strip()[:1500])
    missing = REQUIRED_HELPERS - set(known)
    if missing:
        raise Failure("helpers missing: %s" % ", ".join(sorted(missing)))
    if sorted(listed) != known:
        raise Failure("zf-help lists %s, GDB knows %s" % (sorted(listed), known))
    bad_cases = open(os.path.join(HERE, "tests", "gdb", "badargs.py")).read()
    for name in known:
        text = h.stdout.split("@@ help %s\n" % name, 1)[-1].split("@@ help ", 1)[0].rstrip("\n")
        summary, _, rest = text.partition("\n\n")
        body = rest.split("\n")
        usage = name + listed[name]
        if not summary.endswith(".") or body[0] != "Usage: " + usage or len(body) < 2 or \
                not body[1].strip():
            raise Failure("help %s: not a summary, a blank line, 'Usage: %s' and a description:\n%s" % (
                name, usage, "\n".join(body)))
        if not re.search(r'"%s(?: [^"]*)?"' % re.escape(name), bad_cases):
            raise Failure("%s has no bad-argument case in tests/gdb/badargs.py" % name)
    return "%d helpers, each in zf-help with its usage, a help text and a bad-argument case" % len(known)


def elf_entry(path):
    """e_entry of a 64-bit ELF file."""
    with open(path, "rb") as f:
        head = f.read(32)
    if head[:5] != b"\x7fELF\x02":
        raise Failure("%s is not a 64-bit ELF file (make user?)" % path)
    return struct.unpack_from("<Q", head, 24)[0]


def elf_segments(path):
    """The regions the kernel's loader makes of the PT_LOAD segments of a
    64-bit ELF file: (start, end, 'rwxu private'), pages rounded outwards."""
    data = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    out = []
    for i in range(phnum):
        ptype, flags, _off, vaddr, _pa, _filesz, memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if ptype == 1:  # PT_LOAD
            mode = "r" + ("w" if flags & 2 else "-") + ("x" if flags & 1 else "-") + "u private"
            out.append((vaddr & ~0xFFF, (vaddr + memsz + 0xFFF) & ~0xFFF, mode))
    return out


def scenario_procs(elf, log):
    progs = [os.path.join(HERE, "build", "user", p) for p in ("test_mem", "echoargs")]
    for prog in progs:
        if not os.path.exists(prog):
            raise Failure("%s is missing (make user)" % prog)
    entry = elf_entry(progs[0])
    text, err, serial = run_gdb("procs", elf, "test=gdb.cow_zero_fill_watched fault=stop "
                                "init=/bin/test_mem", "procs.gdb", log,
                                modules=["%s=/bin/%s" % (p, os.path.basename(p)) for p in progs],
                                env_extra={"ZF_TEST_ENTRY": "%#x" % entry})
    common_checks(text, err)
    sec = sections(text)
    # A zombie: PID 2 has just exited (current), PID 1 woken to reap it,
    # the kernel (PID 0) waiting for PID 1.
    ps = ps_table(sec, "ps-zombie")
    expect_ps(ps, "ps-zombie", {0: (None, "blocked (wait4)", "kernel", False),
                                1: (0, "runnable", "test_mem", False),
                                2: (1, "zombie", "test_mem", True)})
    if ps[2]["pml4"] != "-" or ps[1]["pml4"] == "-":
        raise Failure("ps-zombie: a zombie has no space, a live process has one:\n" + sec["ps-zombie"])
    regs = regions_table(sec, "regions-1", "PID 1 (test_mem)")
    if int(ps[1]["regions"]) != len(regs):
        raise Failure("zf-ps says PID 1 has %s regions, zf-regions lists %d" % (
            ps[1]["regions"], len(regs)))
    segs = elf_segments(progs[0])
    for a, b, mode in segs:
        if not any((r["start"], r["end"], r["mode"]) == (a, b, mode) for r in regs):
            raise Failure("regions-1: no %s region [%#x, %#x) for an ELF segment:\n%s" % (
                mode, a, b, sec["regions-1"]))
    want = [(mode, "paged", "/bin/test_mem") for _, _, mode in segs] + [
            ("rw-u private", "anonymous", "[heap]"),
            ("rw-u shared", "anonymous", ""), ("rw-u private", "anonymous", ""),
            ("guard", None, "[stack guard]"), ("rw-u private", "anonymous", "[stack]")]
    expect_regions(regs, want, "regions-1")
    need(sec, "zombie-regions", r"^BADARG zf-regions \(zombie\) => zf-regions: PID 2 \(test_mem\) "
         r"has no address space \(it is zombie\)$", "zf-regions of a zombie")
    shared = [r for r in regs if r["mode"] == "rw-u shared"][0]
    need(sec, "shared", r"^shared=%#x$" % shared["start"], "the script found another shared region")
    frame = int(need(sec, "shared", r"-> physical 0x[0-9a-f]+ in a 4 KiB page at (0x[0-9a-f]+); "
                     r"effective rights: write user no-exec$", "the shared page is not mapped "
                     "writable").group(1), 16)
    need(sec, "frame-shared", r"^frame %#x: allocated, reference count 2 " % frame,
         "the shared frame is not held by the object's cache and PID 1's mapping")
    need(sec, "frame-shared", r"^  in the page cache of anonymous object #%s as page 0$" %
         shared["obj_id"], "zf-frame does not find the frame in the shared object's cache")
    need(sec, "frame-shared", r"^  mapped 1 time\(s\) in PID 1 \(test_mem\) \(PML4 0x[0-9a-f]+\):\n"
         r"    %016x  rw- user  P W U" % shared["start"], "zf-frame: PID 1's mapping")
    # Stopped: PID 3 wrote to its read-only page; fault=stop keeps it.
    # PID 1 is runnable or already blocked: the child may run first.
    ps = ps_table(sec, "ps-stopped")
    state1 = ps.get(1, {}).get("state")
    if state1 not in ("runnable", "blocked (wait4)"):
        raise Failure("ps-stopped: PID 1 is %r:\n%s" % (state1, sec["ps-stopped"]))
    expect_ps(ps, "ps-stopped", {0: (None, "blocked (wait4)", "kernel", False),
                                 1: (0, state1, "test_mem", False),
                                 3: (1, "stopped", "test_mem", True)})
    # Idle: nothing runnable; PID 1 certainly waits for PID 3.
    ps = ps_table(sec, "ps-idle")
    cur = int(need(sec, "ps-idle", r"^current=(\d+)$", "no current PID").group(1))
    expect_ps(ps, "ps-idle", {0: (None, "blocked (wait4)", "kernel", False),
                              1: (0, "blocked (wait4)", "test_mem", cur == 1),
                              3: (1, "stopped", "test_mem", cur == 3)})
    regs = regions_table(sec, "regions-live", "the live space (PID 3 (test_mem))")
    if int(ps[3]["regions"]) != len(regs):
        raise Failure("zf-ps says PID 3 has %s regions, zf-regions lists %d" % (
            ps[3]["regions"], len(regs)))
    n = len(segs) + 3
    want[n:n] = [("rw-u private", "paged", "/bin/echoargs"), ("r--u private", "anonymous", "")]
    expect_regions(regs, want, "regions-live")
    ro = [r for r in regs if r["mode"] == "r--u private" and r["kind"] == "anonymous"][0]
    kregs = regions_table(sec, "regions-kernel", "the kernel space")
    for mode, kind, name in [("r--- private", "physical", "/bin/test_mem"),
                             ("r--- private", "physical", "/bin/echoargs"),
                             ("guard", None, "kernel stack guard"),
                             ("rw-- private", "anonymous", "kernel stack")]:
        if not any((r["mode"], r["kind"], r["name"]) == (mode, kind, name) for r in kregs):
            raise Failure("regions-kernel: no %s %s region %r:\n%s" % (
                mode, kind, name, sec["regions-kernel"]))
    if any(not r["start"] >> 47 for r in kregs):
        raise Failure("regions-kernel: a kernel region in the user half:\n" + sec["regions-kernel"])
    # Every user mapping lies in a region that allows its rights.
    kern = re.findall(r"^  [0-9a-f]{16}-[0-9a-f]{16}\s+\S+  r[w-][x-] kern .*$", sec["maps-user"], re.M)
    if kern or "matching u:" not in sec["maps-user"]:
        raise Failure("maps-user: zf-maps u lists kernel runs: %s" % (kern[:1] or sec["maps-user"][:200]))
    runs = re.findall(r"^  ([0-9a-f]{16})-([0-9a-f]{16})\s+\S+  (r[w-][x-]) user .*?(?:  \[region "
                      r"(\S+) .*\])?$", sec["maps-user"], re.M)
    if len(runs) < 8:
        raise Failure("maps-user: fewer than 8 user runs:\n" + sec["maps-user"])
    for start, end, rights, region in runs:
        r = [x for x in regs if x["start"] <= int(start, 16) and int(end, 16) <= x["end"]]
        if not region or not r or not r[0]["mode"].startswith(region):
            raise Failure("maps-user: run %s-%s is not annotated with its region (%s):\n%s" % (
                start, end, r[0]["mode"] if r else "none", sec["maps-user"]))
        if (rights[1] == "w" and region[1] != "w") or (rights[2] == "x" and region[2] != "x"):
            raise Failure("maps-user: run %s-%s is %s in a %s region" % (start, end, rights, region))
    text_frame = int(need(sec, "entry", r"-> physical 0x[0-9a-f]+ in a 4 KiB page at (0x[0-9a-f]+); "
                          r"effective rights: read-only user exec$", "the entry page").group(1), 16)
    page = entry & ~0xFFF
    need(sec, "frame-text", r"^frame %#x: allocated" % text_frame, "the text frame's state")
    need(sec, "frame-text", r"^  in the page cache of paged object #\d+ '/bin/test_mem' as page %d$" %
         ((page - 0x401000) // 4096 + 1), "the text frame is not in the program's page cache")
    for who in (r"PID 3 \(test_mem\), live", r"PID 1 \(test_mem\)"):
        need(sec, "frame-text", r"^  mapped 1 time\(s\) in %s \(PML4 0x[0-9a-f]+\):\n    %016x  r-x user"
             % (who, page), "the text frame is not shared by PID 1 and PID 3 (every space searched)")
    need(sec, "fault", r"^last page fault \(#\d+\): user write at %#x$" % ro["start"],
         "zf-fault: not the write to the read-only page")
    need(sec, "fault", r"^  result: VMM_FAULT_FATAL$", "zf-fault: result")
    need(sec, "fault", r"^  reason: write to a region without write permission$", "zf-fault: reason")
    need(sec, "fault", r"^  region: \[%#x, %#x\) r--u private, anonymous object #%s from page 0 \(fault in page 0\)$" % (
        ro["start"], ro["end"], ro["obj_id"]), "zf-fault: the region line")
    lines = [l for l in sec.get("badargs", "").split("\n") if l.startswith("BADARG ")]
    if len(lines) != 6:
        raise Failure("badargs: %d answers, 6 expected:\n%s" % (len(lines), sec.get("badargs")))
    for l in lines:
        m = re.match(r"^BADARG (zf-[a-z-]+).*? => (.*)$", l)
        if not m or not m.group(2).startswith(m.group(1) + ": ") or "accepted" in m.group(2):
            raise Failure("badargs: not a one-line error from the helper: %s" % l)
    log = open(serial, errors="replace").read() if serial else ""
    if not re.search(r"^PID 3 \[test_mem\] data write fault at %#x: write to a region without write "
                     r"permission$" % ro["start"], log, re.M):
        raise Failure("the kernel's report of PID 3's fault (serial log %s) is not zf-fault's" % serial)
    return "zf-ps: zombie, blocked, runnable, stopped; zf-regions of PID 1, PID 3 and the kernel; " \
        "zf-frame found a shared frame in a page cache and a text frame in two spaces"


PS_LINE = re.compile(r"^([* ]) +(\d+) +(-|\d+)  (.+?) +(0x[0-9a-f]+|-) +(\d+|-)  (\S+)$")


def ps_table(sec, name):
    """{pid: row} from zf-ps; every line must parse."""
    body = sec.get(name)
    if body is None:
        raise Failure("section %s missing (the script stopped early?)" % name)
    lines = body.rstrip("\n").split("\n")
    ends = [i for i, l in enumerate(lines) if re.match(r"^\d+ process\(es\)", l)]
    lines = lines[:ends[0] + 1] if ends else lines
    if not lines[0].split() == ["PID", "PPID", "STATE", "PML4", "REGIONS", "NAME"]:
        raise Failure("%s: no zf-ps header:\n%s" % (name, body))
    rows = {}
    for l in lines[1:-1]:
        m = PS_LINE.match(l)
        if not m:
            raise Failure("%s: cannot parse %r" % (name, l))
        rows[int(m.group(2))] = {"current": m.group(1) == "*", "ppid": None if m.group(3) == "-"
                                 else int(m.group(3)), "state": m.group(4), "pml4": m.group(5),
                                 "regions": m.group(6), "name": m.group(7)}
    if lines[-1] != "%d process(es); * = current" % len(rows):
        raise Failure("%s: wrong count line %r" % (name, lines[-1]))
    return rows


def expect_ps(rows, name, want):
    for pid, (ppid, state, pname, current) in want.items():
        r = rows.get(pid)
        got = r and (r["ppid"], r["state"], r["name"], r["current"])
        if got != (ppid, state, pname, current):
            raise Failure("%s: PID %d is %s, expected %s" % (name, pid, got, (ppid, state, pname, current)))
    if len(rows) != len(want):
        raise Failure("%s: %d processes, %d expected: %s" % (name, len(rows), len(want), rows))


REGION_LINE = re.compile(r"^  ([0-9a-f]{16})-([0-9a-f]{16}) +\S+  (guard|[r-][w-][x-][u-] (?:private|shared))"
                         r"(?:, (anonymous|paged|physical) object #(\d+)(?: '([^']*)')?, offset page (\d+))?"
                         r"(?:  (.+))?$")


def regions_table(sec, name, owner):
    """zf-regions' lines as dicts; every line must parse, in address order,
    disjoint, with the right count."""
    body = sec.get(name)
    if body is None:
        raise Failure("section %s missing (the script stopped early?)" % name)
    lines = body.rstrip("\n").split("\n")
    if not lines[0].startswith("regions of %s, PML4 0x" % owner):
        raise Failure("%s: not the regions of %s:\n%s" % (name, owner, body))
    out = []
    for l in lines[1:-1]:
        m = REGION_LINE.match(l)
        if not m:
            raise Failure("%s: cannot parse %r" % (name, l))
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        if end <= start or (out and start < out[-1]["end"]):
            raise Failure("%s: regions out of order or overlapping at %r" % (name, l))
        out.append({"start": start, "end": end, "mode": m.group(3), "kind": m.group(4),
                    "obj_id": m.group(5), "name": m.group(8) or m.group(6) or ""})
    if lines[-1] != "%d region(s)" % len(out):
        raise Failure("%s: wrong count line %r" % (name, lines[-1]))
    return out


def expect_regions(regs, want, name):
    """@regs are exactly @want ((mode, object kind, name)) in order."""
    got = [(r["mode"], r["kind"], r["name"]) for r in regs]
    if got != want:
        raise Failure("%s: regions\n  %s\nexpected\n  %s" % (
            name, "\n  ".join(map(str, got)), "\n  ".join(map(str, want))))


SCENARIOS = {"judge": lambda elf, log: judge_selftest(), "debuginfo": scenario_debuginfo,
             "help": scenario_help,
             "cow": scenario_cow, "procs": scenario_procs,
             "fatal": scenario_fatal, "interactive": scenario_interactive}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", default=os.path.join(HERE, "build", "zeroframe.elf"))
    ap.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = ap.parse_args()
    os.makedirs(os.path.join(HERE, "build", "gdb-test"), exist_ok=True)
    failed = 0
    for name in args.scenarios:
        log = os.path.join(HERE, "build", "gdb-test", name + ".log")
        try:
            what = SCENARIOS[name](os.path.abspath(args.elf), log)
            print("PASS gdb-test %s: %s" % (name, what))
        except Failure as e:
            failed += 1
            print("FAIL gdb-test %s: %s\n  (full GDB output: %s)" % (name, e, log))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
