# GDB setup for Zeroframe (loaded by `make debug`).
# The architecture must be set before connecting: QEMU's gdbstub reports
# 64-bit registers, and GDB would otherwise assume i386 and reject them.
set architecture i386:x86-64
set disassembly-flavor intel
set pagination off
set confirm off

