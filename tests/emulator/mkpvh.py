#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a tiny PVH ELF kernel for kite's tests (no toolchain needed).

The kernel checks that %ebx points at a hvm_start_info (magic 0x336ec578),
prints its message on COM1 (0x3f8), then the kernel command line when
--echo-cmdline is given, and writes the exit code to isa-debug-exit (0xf4).
Variants for malformed-ELF tests: --bad-segment (PT_LOAD beyond RAM),
--no-note (no PVH note), --truncated (program headers cut off).
--reset prints the message and resets the machine through the i8042;
--poweroff enters ACPI S5; --wait-power-button (with --poweroff) first
waits until the ACPI power button is pressed (system_powerdown).
"""
import argparse
import struct

LOAD = 0x100000


def code(msg: bytes, exit_code: int, echo_cmdline: bool) -> bytes:
    c = bytearray()
    # cmp dword [ebx], 0x336ec578 ; jne bad
    c += b"\x81\x3b" + struct.pack("<I", 0x336EC578)
    jne_at = len(c)
    c += b"\x75\x00"
    # mov esi, msg ; call print
    def print_esi(addr_patch_list):
        c.extend(b"\xbe")
        addr_patch_list.append(len(c))
        c.extend(b"\x00\x00\x00\x00")
        # mov dx, 0x3f8 ; lodsb ; test al,al ; jz +3 ; out dx,al ; jmp -6
        c.extend(b"\x66\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8")
    patches = []
    print_esi(patches)
    if echo_cmdline:
        # mov esi, [ebx+24] (cmdline_paddr, low 32 bits) ; print it
        c.extend(b"\x8b\x73\x18")
        c.extend(b"\x66\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8")
        # print "\n"
        print_esi(patches)
    # mov al, code ; out 0xf4, al ; hlt ; jmp $-1
    c += b"\xb0" + bytes([exit_code]) + b"\xe6\xf4"
    c += b"\xf4\xeb\xfd"
    bad = len(c)
    # bad start_info: exit with 0x7f
    c += b"\xb0\x7f\xe6\xf4\xf4\xeb\xfd"
    c[jne_at + 1] = bad - (jne_at + 2)
    strings = [msg, b"\n"]
    for i, off in enumerate(patches):
        addr = LOAD + len(c)
        struct.pack_into("<I", c, off, addr)
        c += strings[i] + b"\0"
    return bytes(c)


def poweroff_code(msg: bytes, wait_button: bool = False) -> bytes:
    """Print msg, then enter ACPI S5 through PM1a_CNT (0x604, SLP_EN); with
    wait_button, only once PM1a_STS (0x600) shows the power button."""
    c = bytearray(b"\xbe\x00\x00\x00\x00")
    c += b"\x66\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8"
    if wait_button:
        # mov dx,0x600; in ax,dx; test ax,0x100 (PWRBTN_STS); pause; jz back
        c += b"\x66\xba\x00\x06\x66\xed\x66\xa9\x00\x01\xf3\x90\x74\xf2"
    c += b"\x66\xba\x04\x06\x66\xb8\x00\x20\x66\xef"  # mov dx,0x604; mov ax,0x2000; out dx,ax
    c += b"\xf4\xeb\xfd"
    struct.pack_into("<I", c, 1, LOAD + len(c))
    c += msg + b"\0"
    return bytes(c)


def reset_code(msg: bytes) -> bytes:
    """Print msg, then ask the i8042 to pulse the reset line."""
    c = bytearray(b"\xbe\x00\x00\x00\x00")
    c += b"\x66\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8"
    c += b"\xb0\xfe\xe6\x64"   # mov al, 0xfe; out 0x64, al
    c += b"\xf4\xeb\xfd"        # hlt; jmp $-1
    struct.pack_into("<I", c, 1, LOAD + len(c))
    c += msg + b"\0"
    return bytes(c)


def elf(body: bytes, note: bool, bad_segment: bool, truncated: bool) -> bytes:
    ehsize, phentsize = 52, 32
    phnum = 2 if note else 1
    notedata = b""
    if note:
        desc = struct.pack("<I", LOAD)
        notedata = struct.pack("<III", 4, len(desc), 18) + b"Xen\0" + desc
    phoff = ehsize
    data_off = phoff + phnum * phentsize
    note_off = data_off
    code_off = (note_off + len(notedata) + 15) & ~15
    out = bytearray(code_off + len(body))
    struct.pack_into("<16sHHIIIIIHHHHHH", out, 0,
                     b"\x7fELF\x01\x01\x01" + b"\0" * 9, 2, 3, 1, LOAD, phoff, 0, 0,
                     ehsize, phentsize, phnum, 40, 0, 0)
    paddr = 0x7FF00000 if bad_segment else LOAD
    struct.pack_into("<8I", out, phoff, 1, code_off, paddr, paddr, len(body), len(body) + 4096, 7, 16)
    if note:
        struct.pack_into("<8I", out, phoff + phentsize, 4, note_off, 0, 0, len(notedata),
                         len(notedata), 4, 4)
        out[note_off:note_off + len(notedata)] = notedata
    out[code_off:] = body
    if truncated:
        return bytes(out[:phoff + 10])
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--message", default="KTEST hello PASS tiny-pvh")
    ap.add_argument("--exit-code", type=int, default=0)
    ap.add_argument("--echo-cmdline", action="store_true")
    ap.add_argument("--no-note", action="store_true")
    ap.add_argument("--bad-segment", action="store_true")
    ap.add_argument("--truncated", action="store_true")
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--poweroff", action="store_true")
    ap.add_argument("--wait-power-button", action="store_true")
    a = ap.parse_args()
    if a.poweroff:
        body = poweroff_code(a.message.encode() + b"\n", a.wait_power_button)
    elif a.reset:
        body = reset_code(a.message.encode() + b"\n")
    else:
        body = code(a.message.encode() + b"\n", a.exit_code, a.echo_cmdline)
    with open(a.output, "wb") as f:
        f.write(elf(body, not a.no_note, a.bad_segment, a.truncated))


if __name__ == "__main__":
    main()
