#!/usr/bin/env python3
"""Read the VGA text screen of a running QEMU through its monitor socket.

  tests/vga-screen.py MONITOR_SOCKET OUT_FILE

Asks the monitor to save the 80x25 text buffer (physical 0xb8000, two bytes
a cell: character, attribute) and prints it as 25 lines of 80 characters.
A cell holding a control character (below 0x20) is printed as ^ and its
letter (CR: ^M, LF: ^J), so a message that drew CR and LF as glyphs shows
them.  Exits 1 with a reason when the monitor does not answer."""
import os
import socket
import sys
import time

COLS, ROWS = 80, 25


def main():
    sock_path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(out)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sock_path)
        s.sendall(b'pmemsave 0xb8000 %d "%s"\n' % (COLS * ROWS * 2, out.encode()))
        # The monitor answers with its next prompt once the file is written.
        got, deadline = b"", time.monotonic() + 10
        while got.count(b"(qemu)") < 2 and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        sys.exit("vga-screen: the QEMU monitor at %s did not answer: %s" % (sock_path, e))
    finally:
        s.close()
    try:
        data = open(out, "rb").read()
    except OSError as e:
        sys.exit("vga-screen: QEMU saved no screen: %s" % e)
    if len(data) != COLS * ROWS * 2:
        sys.exit("vga-screen: QEMU saved %d bytes, not %d" % (len(data), COLS * ROWS * 2))
    for row in range(ROWS):
        line = ""
        for col in range(COLS):
            c = data[(row * COLS + col) * 2]
            line += "^" + chr(c + 0x40) if c < 0x20 else chr(c) if c < 0x7F else "?"
        print(line)


if __name__ == "__main__":
    main()
