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
--msi-test drives kite-testdev (at addr=5) through real interrupts, see
msi_code(); --msi-stay (with it) halts with an MSI-X vector live.
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


class Asm:
    """Just enough of a 32-bit x86 assembler for msi_code(): bytes plus
    labels, resolved by assembling twice."""

    def __init__(self, labels):
        self.c = bytearray()
        self.labels = labels
        self.found = {}

    def here(self):
        return LOAD + len(self.c)

    def label(self, name):
        self.found[name] = self.here()

    def addr(self, name):
        return self.labels.get(name, LOAD)

    def emit(self, *parts):
        for p in parts:
            self.c += p

    def i32(self, v):
        return struct.pack("<I", v & 0xFFFFFFFF)

    def mov_mem_imm(self, addr, val):  # mov dword [addr], val
        self.emit(b"\xc7\x05", self.i32(addr), self.i32(val))

    def mov_esi_disp_imm(self, disp, val):  # mov dword [esi+disp32], val
        self.emit(b"\xc7\x86", self.i32(disp), self.i32(val))

    def mov_ebp_disp_imm(self, disp, val):  # mov dword [ebp+disp8], val
        self.emit(b"\xc7\x45", bytes([disp]), self.i32(val))

    def jcc(self, op, name):  # 0f 8x rel32
        self.emit(bytes([0x0F, op]))
        self.emit(self.i32(self.addr(name) - (self.here() + 4)))

    def jmp(self, name):
        self.emit(b"\xe9")
        self.emit(self.i32(self.addr(name) - (self.here() + 4)))

    def cfg_addr(self, reg):  # point 0xcf8 at testdev's register
        self.emit(b"\xb8", self.i32(0x80000000 | MSI_TEST_DEVFN << 8 | reg),
                  b"\x66\xba\xf8\x0c\xef")  # mov eax; mov dx,0xcf8; out dx,eax

    def cfg_write(self, reg, val):
        self.cfg_addr(reg)
        self.emit(b"\xb8", self.i32(val), b"\x66\xba\xfc\x0c\xef")

    def cfg_read(self, reg):  # -> eax
        self.cfg_addr(reg)
        self.emit(b"\x66\xba\xfc\x0c\xed")

    def fail_unless(self, step, cond_jump_to_fail):
        """Exit with status step when the flags say so."""
        self.emit(b"\xb0", bytes([step]))  # mov al, step (flags untouched)
        self.jcc(cond_jump_to_fail, "fail")

    def expect_count(self, counter, want, step):
        """Spin (bounded) until counter reaches want, then require it to be
        exactly want; exit with status step otherwise."""
        self.emit(b"\xb9", self.i32(1000000))  # mov ecx, limit
        top = self.here()
        self.emit(b"\x83\x3d", self.i32(counter), bytes([want]))  # cmp dword [c], want
        self.emit(b"\x73\x04")  # jae +4 (out of the loop)
        self.emit(b"\xf3\x90")  # pause
        self.emit(b"\xe2", bytes([(top - (self.here() + 2)) & 0xFF]))  # loop top
        self.emit(b"\x83\x3d", self.i32(counter), bytes([want]))
        self.fail_unless(step, 0x85)  # jne fail


MSI_TEST_DEVFN = 5 << 3
MSI_DATA = 0x200000
COUNT_40, COUNT_41 = MSI_DATA, MSI_DATA + 4
GDT, GDTR, IDTR = MSI_DATA + 0x100, MSI_DATA + 0x140, MSI_DATA + 0x148
IDT, STACK_TOP = MSI_DATA + 0x1000, MSI_DATA + 0x10000
MSIX_CAP, MSI_CAP = 0x58, 0x40  # where kite-testdev's capabilities sit


def msi_code(msg: bytes, stay: bool = False) -> bytes:
    """Real interrupts from kite-testdev (MSI-X vector 0 on LAPIC vector
    0x40, then MSI vector 0 on 0x41), counted by interrupt handlers:
    delivery, a masked vector setting its pending bit and being delivered on
    unmask, a rewritten data field taking effect, MSI masking. Any failure
    exits through isa-debug-exit with the number of the failed step;
    an unexpected interrupt or exception exits with 0x7e. With stay, it
    leaves MSI-X vector 0 enabled and unmasked, prints msg and halts
    instead of exiting (for checks of what system_reset releases)."""
    labels = {}
    for _ in range(2):
        a = Asm(labels)
        # own GDT (flat code 0x08, data 0x10): interrupt gates load CS from it
        a.mov_mem_imm(GDT, 0)
        a.mov_mem_imm(GDT + 4, 0)
        a.mov_mem_imm(GDT + 8, 0x0000FFFF)
        a.mov_mem_imm(GDT + 12, 0x00CF9A00)
        a.mov_mem_imm(GDT + 16, 0x0000FFFF)
        a.mov_mem_imm(GDT + 20, 0x00CF9200)
        a.mov_mem_imm(GDTR, 23 | (GDT & 0xFFFF) << 16)
        a.mov_mem_imm(GDTR + 4, GDT >> 16)
        a.emit(b"\x0f\x01\x15", a.i32(GDTR))  # lgdt
        a.emit(b"\xea", a.i32(a.addr("flat")), b"\x08\x00")  # jmp 0x08:flat
        a.label("flat")
        a.emit(b"\x66\xb8\x10\x00\x8e\xd8\x8e\xc0\x8e\xd0")  # ds = es = ss = 0x10
        a.emit(b"\xbc", a.i32(STACK_TOP))  # mov esp
        a.mov_mem_imm(COUNT_40, 0)
        a.mov_mem_imm(COUNT_41, 0)

        # IDT: every vector to "unexpected", then 0x40 and 0x41
        def gate(handler):
            h = a.addr(handler)
            return (0x08 << 16) | (h & 0xFFFF), (h & 0xFFFF0000) | 0x8E00
        lo, hi = gate("unexpected")
        a.emit(b"\xbf", a.i32(IDT), b"\xb9", a.i32(256))  # mov edi, IDT; mov ecx, 256
        a.emit(b"\xb8", a.i32(lo), b"\xba", a.i32(hi))  # mov eax, lo; mov edx, hi
        a.emit(b"\x89\x07\x89\x57\x04\x83\xc7\x08\xe2\xf6")  # fill; loop
        for vec, h in ((0x40, "on_40"), (0x41, "on_41")):
            lo, hi = gate(h)
            a.mov_mem_imm(IDT + vec * 8, lo)
            a.mov_mem_imm(IDT + vec * 8 + 4, hi)
        a.mov_mem_imm(IDTR, 0x7FF | (IDT & 0xFFFF) << 16)
        a.mov_mem_imm(IDTR + 4, IDT >> 16)
        a.emit(b"\x0f\x01\x1d", a.i32(IDTR))  # lidt
        # mask both PICs and LINT0; enable the LAPIC (spurious vector 0xff)
        a.emit(b"\xb0\xff\xe6\x21\xe6\xa1")
        a.mov_mem_imm(0xFEE00350, 0x10000)
        a.mov_mem_imm(0xFEE000F0, 0x1FF)

        # the device: vendor/device 1b36:00fe, MSI-X capability where expected
        a.cfg_read(0)
        a.emit(b"\x3d", a.i32(0x00FE1B36))  # cmp eax
        a.fail_unless(2, 0x85)
        a.cfg_read(MSIX_CAP)
        a.emit(b"\x3c\x11")  # cmp al, 0x11
        a.fail_unless(3, 0x85)
        a.cfg_read(0x10)
        a.emit(b"\x25", a.i32(0xFFFFFFF0), b"\x89\xc5")  # ebp = BAR0
        a.cfg_read(0x18)
        a.emit(b"\x25", a.i32(0xFFFFFFF0), b"\x89\xc6")  # esi = BAR2 (table, PBA +0x2000)
        a.emit(b"\xfb")  # sti

        # MSI-X vector 0 -> LAPIC 0 vector 0x40, unmasked, MSI-X on
        a.mov_esi_disp_imm(0, 0xFEE00000)
        a.mov_esi_disp_imm(4, 0)
        a.mov_esi_disp_imm(8, 0x40)
        a.mov_esi_disp_imm(12, 0)
        a.cfg_write(MSIX_CAP, 0x80000000)
        a.mov_ebp_disp_imm(0x04, 0)  # testdev: notify MSI-X vector 0
        a.expect_count(COUNT_40, 1, 4)
        # masked: no interrupt, the PBA bit is set instead
        a.mov_esi_disp_imm(12, 1)
        a.mov_ebp_disp_imm(0x04, 0)
        a.emit(b"\x8b\x86", a.i32(0x2000), b"\xa8\x01")  # mov eax,[esi+0x2000]; test al,1
        a.fail_unless(5, 0x84)  # jz fail
        a.expect_count(COUNT_40, 1, 6)
        # unmask: the pending interrupt arrives and the PBA bit clears
        a.mov_esi_disp_imm(12, 0)
        a.expect_count(COUNT_40, 2, 7)
        a.emit(b"\x8b\x86", a.i32(0x2000), b"\xa8\x01")
        a.fail_unless(8, 0x85)  # jnz fail
        # rewritten data (while masked, as drivers do): now vector 0x41
        a.mov_esi_disp_imm(12, 1)
        a.mov_esi_disp_imm(8, 0x41)
        a.mov_esi_disp_imm(12, 0)
        a.mov_ebp_disp_imm(0x04, 0)
        a.expect_count(COUNT_41, 1, 9)
        a.expect_count(COUNT_40, 2, 10)
        # function mask, then MSI-X off
        a.cfg_write(MSIX_CAP, 0xC0000000)
        a.mov_ebp_disp_imm(0x04, 0)
        a.expect_count(COUNT_41, 1, 11)
        a.cfg_write(MSIX_CAP, 0x80000000)
        a.expect_count(COUNT_41, 2, 12)
        a.cfg_write(MSIX_CAP, 0)

        # MSI: vector 0 -> 0x40, enabled, one vector
        a.cfg_write(MSI_CAP + 4, 0xFEE00000)
        a.cfg_write(MSI_CAP + 8, 0)
        a.cfg_write(MSI_CAP + 12, 0x40)
        a.cfg_write(MSI_CAP, 0x10000)
        a.mov_ebp_disp_imm(0x10, 0)  # testdev: notify MSI vector 0
        a.expect_count(COUNT_40, 3, 13)
        a.cfg_write(MSI_CAP + 16, 1)  # mask
        a.mov_ebp_disp_imm(0x10, 0)
        a.cfg_read(MSI_CAP + 20)
        a.emit(b"\xa8\x01")
        a.fail_unless(14, 0x84)
        a.expect_count(COUNT_40, 3, 15)
        a.cfg_write(MSI_CAP + 16, 0)  # unmask: the pending one arrives
        a.expect_count(COUNT_40, 4, 16)
        a.cfg_write(MSI_CAP + 12, 0x41)  # retarget while enabled
        a.mov_ebp_disp_imm(0x10, 0)
        a.expect_count(COUNT_41, 3, 17)
        a.cfg_write(MSI_CAP, 0)

        if stay:
            a.cfg_write(MSIX_CAP, 0x80000000)
        # PASS: print msg, exit 0 (or halt with stay)
        a.emit(b"\xfa\xbe", a.i32(a.addr("msg")))
        a.emit(b"\x66\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8")
        if stay:
            a.emit(b"\xf4\xeb\xfd")  # hlt; jmp $-1
        a.emit(b"\xb0\x00")
        a.label("fail")  # al = status
        a.emit(b"\xe6\xf4\xfa\xf4\xeb\xfd")  # out 0xf4, al; cli; hlt; jmp $-1
        a.label("unexpected")
        a.emit(b"\xb0\x7e")
        a.jmp("fail")
        for vec, counter in ((0x40, COUNT_40), (0x41, COUNT_41)):
            a.label(f"on_{vec:x}")
            a.emit(b"\xff\x05", a.i32(counter))  # inc dword [counter]
            a.mov_mem_imm(0xFEE000B0, 0)  # EOI
            # iret by hand: KVM's instruction emulator (all of ring 0 on
            # some nested hosts) cannot emulate a protected-mode iret
            a.emit(b"\xff\x74\x24\x08\x9d")  # push dword [esp+8] (EFLAGS); popfd
            a.emit(b"\xc2\x08\x00")  # ret 8 (drops CS and EFLAGS)
        a.label("msg")
        a.emit(msg + b"\0")
        labels = a.found
    return bytes(a.c)


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
    ap.add_argument("--msi-test", action="store_true")
    ap.add_argument("--msi-stay", action="store_true")
    a = ap.parse_args()
    if a.msi_test:
        body = msi_code(a.message.encode() + b"\n", a.msi_stay)
    elif a.poweroff:
        body = poweroff_code(a.message.encode() + b"\n", a.wait_power_button)
    elif a.reset:
        body = reset_code(a.message.encode() + b"\n")
    else:
        body = code(a.message.encode() + b"\n", a.exit_code, a.echo_cmdline)
    with open(a.output, "wb") as f:
        f.write(elf(body, not a.no_note, a.bad_segment, a.truncated))


if __name__ == "__main__":
    main()
