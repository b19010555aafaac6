#!/usr/bin/env python3
"""Boot `make run`'s configuration (mode=run: self-tests, then /bin/init,
which becomes /bin/sh), type commands to the shell over the serial line
and check what comes back: the prompt after the self-tests, help, line
editing, a program with arguments, an unknown name, Ctrl-C of a running
program, ps, maps, the lazy and CoW demos, a fatal fault with the
kernel's reason, and exit.  Exit status 0 only when every step held.

    tests/shell-test.py [--elf build/zeroframe.elf] [--timeout 120]

Serial log: build/boots/shell.serial."""
import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import threading
import time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Serial:
    def __init__(self, cmd, log):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = ""
        self.mark = 0
        self.lock = threading.Lock()
        self.log = open(log, "w")
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            data = self.p.stdout.read1(4096)
            if not data:
                return
            text = data.decode("latin-1").replace("\r", "")
            with self.lock:
                self.buf += text
            self.log.write(text)
            self.log.flush()

    def expect(self, pattern, timeout):
        """Wait for @pattern after the mark; move the mark past it."""
        rx = re.compile(pattern, re.M)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                m = rx.search(self.buf, self.mark)
                if m:
                    self.mark = m.end()
                    return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def send(self, text):
        for ch in text: # one byte at a time, as a person types
            self.p.stdin.write(ch.encode("latin-1"))
            self.p.stdin.flush()
            time.sleep(0.005)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", default="build/zeroframe.elf")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    os.chdir(here)
    out = "build/boots"
    os.makedirs(out, exist_ok=True)
    iso = f"{out}/shell.iso"
    mods = [f"{p}=/bin/{os.path.basename(p)}" for p in sorted(glob.glob("build/user/*"))
            if os.path.isfile(p)]
    if subprocess.call(["scripts/mkiso.sh", a.elf, "", iso] + mods) != 0:
        print("FAIL shell: could not build the ISO")
        return 1
    qargs = shlex.split(subprocess.check_output(["scripts/qemu-args.sh"], text=True))
    cmd = ["qemu-system-x86_64"] + qargs + ["-cdrom", iso, "-serial", "stdio", "-display", "none",
                                           "-monitor", "none"]
    s = Serial(cmd, f"{out}/shell.serial")
    failures = []
    deadline = time.monotonic() + a.timeout

    def left():
        return max(1.0, deadline - time.monotonic())

    def step(what, send, *patterns):
        if send is not None:
            s.send(send)
        for pat in patterns:
            if not s.expect(pat, left()):
                failures.append(f"{what}: no match for {pat!r}")
                print(f"  not ok: {what} (no {pat!r})")
                return False
        print(f"  ok: {what}")
        return True

    try:
        if not step("self-tests, then the prompt", None,
                    r"^\d+ passed, 0 failed", r"^init: hello from user mode, PID \d+; starting /bin/sh$",
                    r"^Zeroframe shell", r"zf\$ $"):
            raise SystemExit
        step("help lists the programs", "help\r", r"^  lazy +demo: a large mmap",
             r"^  test_cowtest +test:", r"zf\$ $")
        step("backspace edits the line; arguments reach the program", "hellx\x7fo one two\r",
             r"^hello from hello: one two \(3 environment strings\)$", r"zf\$ $")
        step("an unknown name", "nosuch\r", r"^sh: nosuch: no such program", r"zf\$ $")
        step("a program that fails says so", "kill\r", r"^\[kill: exit status 2\]$", r"zf\$ $")
        if step("spin runs", "spin\r", r"^spin: PID \d+ spinning until Ctrl-C"):
            time.sleep(0.5)
            step("Ctrl-C kills it, the shell survives", "\x03",
                 r"^\[spin: killed by SIGINT \(2\): ", r"zf\$ $")
        s.send("ps\r")
        m = s.expect(r"^ +(\d+) +0 S \(sleeping\) .* sh \(waits on: wait4\)$", left())
        sh = m.group(1) if m else "1"
        if m:
            step("ps lists the shell (a child of the kernel: init became it) and itself", None,
                 r"^ +\d+ +" + sh + r" R \(running\) .* ps$", r"zf\$ $")
        else:
            failures.append("ps: no line for sh")
        step("maps PID: the shell's regions", f"maps {sh}\r", r"r-xp .* /bin/sh$",
             r"rw-p .* \[stack\]$", r"^total \d+ kB mapped", r"zf\$ $")
        step("lazy: reads map the zero frame, writes cost a frame each", "lazy\r",
             r"zf_zero_maps +\+4096 ", r"zf_zero_fills +\+1024 ", r"nr_free_pages +-1024 ",
             r"zf\$ $")
        step("cow: the child's writes copy, the parent's later writes reuse", "cow\r",
             r"child, counters after its writes \(copies\):\n(.*\n)*? +zf_cow_copies +\+32 ",
             r"no one else maps them: reuses, no copy\):\n(.*\n)*? +zf_cow_reuses +\+64 ",
             r"zf\$ $")
        step("faults readonly: the kernel's reason, then the signal", "faults readonly\r",
             r"^PID \d+ \[faults\] data write fault at 0x[0-9a-f]+: write to a region without "
             r"write permission$",
             r"^faults: readonly: the child was killed by signal 11", r"zf\$ $")
        step("a program killed by a fault: the shell gives the signal and the reason",
             "faults -here readonly\r",
             r"^\[faults: killed by SIGSEGV \(11\): Segmentation fault; data write fault at "
             r"0x[0-9a-f]+: write to a region without write permission\]$", r"zf\$ $")
        step("the same for #DE", "faults -here div0\r",
             r"^\[faults: killed by SIGFPE \(8\): Arithmetic exception; #DE \(divide error\) at "
             r"0x[0-9a-f]+\]$", r"zf\$ $")
        step("exit ends the shell, and init with it", "exit\r",
             r"^init: /bin/init exited with status 0")
    except SystemExit:
        pass
    finally:
        s.close()
    if failures:
        print(f"FAIL shell: {len(failures)} step(s) failed; log {out}/shell.serial")
        return 1
    print("PASS shell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
