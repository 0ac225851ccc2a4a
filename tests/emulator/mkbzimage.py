#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a tiny Linux-boot-protocol kernel (a "bzImage") for kite's tests.

Debian's real bzImage cannot be used to check kite's Linux boot protocol on
the development host: its decompressor runs in guest ring 0, which the
nested KVM there emulates so slowly that the first console line would take
hours (see test_linux.py). This image has the same shape a boot loader
sees -- setup sectors with the "HdrS" header (protocol 2.15, XLF_KERNEL_64,
cmdline_size, initrd_addr_max, init_size) and a protected-mode part whose
64-bit entry is at +0x200 -- and its 64-bit code reports on COM1 what the
loader handed over, straight from the zero page in %rsi:

    BZ64 hdrs=ok loader=0xff
    E820 <count>
    E820 <addr> <size> <type>          (one line per entry)
    CMDLINE <the command line>
    INITRD <addr> <size> <byte sum>
    RSDP <"ok" when "RSD PTR " is at boot_params.acpi_rsdp_addr>
    BZ64 done

then leaves through isa-debug-exit (0xf4) with code 0. The 64-bit code is
assembled with GNU as (binutils, part of build-essential).
"""
import os
import struct
import subprocess
import sys
import tempfile

SETUP_SECTS = 4

ASM = r"""
    .code64
    .text
    .globl _start
_start:
    /* the 64-bit boot protocol gives no stack: make one */
    lea stack_top(%rip), %rsp
    mov %rsi, %r12
    lea banner(%rip), %rdi
    call puts
    cmpl $0x53726448, 0x202(%r12)          /* "HdrS" copied into the zero page */
    jne 1f
    lea ok(%rip), %rdi
    jmp 2f
1:  lea bad(%rip), %rdi
2:  call puts
    lea loader(%rip), %rdi
    call puts
    movzbq 0x210(%r12), %rax                /* type_of_loader */
    call puthex
    call newline

    lea e820(%rip), %rdi
    call puts
    movzbq 0x1e8(%r12), %r13                /* e820_entries */
    mov %r13, %rax
    call puthex
    call newline
    lea 0x2d0(%r12), %r14                   /* e820_table */
3:  test %r13, %r13
    jz 4f
    lea e820(%rip), %rdi
    call puts
    mov 0(%r14), %rax
    call puthex
    call space
    mov 8(%r14), %rax
    call puthex
    call space
    mov 16(%r14), %eax
    call puthex
    call newline
    add $20, %r14
    dec %r13
    jmp 3b

4:  lea cmdline(%rip), %rdi
    call puts
    mov 0x228(%r12), %edi                   /* cmd_line_ptr */
    call puts
    call newline

    lea initrd(%rip), %rdi
    call puts
    mov 0x218(%r12), %r13d                  /* ramdisk_image */
    mov 0x21c(%r12), %r14d                  /* ramdisk_size */
    mov %r13, %rax
    call puthex
    call space
    mov %r14, %rax
    call puthex
    call space
    xor %eax, %eax
    xor %ecx, %ecx
5:  cmp %r14, %rcx
    jae 6f
    movzbl (%r13,%rcx), %edx
    add %edx, %eax
    inc %rcx
    jmp 5b
6:  call puthex
    call newline

    lea rsdp(%rip), %rdi
    call puts
    mov 0x70(%r12), %rax                    /* acpi_rsdp_addr */
    test %rax, %rax
    jz 7f
    movabs $0x2052545020445352, %rdx        /* "RSD PTR " */
    cmp %rdx, (%rax)
    jne 7f
    lea ok(%rip), %rdi
    jmp 8f
7:  lea bad(%rip), %rdi
8:  call puts
    call newline
    lea done(%rip), %rdi
    call puts
    call newline
    mov $0xf4, %dx
    xor %eax, %eax
    out %al, %dx
9:  hlt
    jmp 9b

/* print the NUL-terminated string at %rdi */
puts:
    mov $0x3f8, %dx
1:  movzbl (%rdi), %eax
    test %al, %al
    jz 2f
    out %al, %dx
    inc %rdi
    jmp 1b
2:  ret

/* print %rax as 0x%x (no leading zeros) */
puthex:
    mov %rax, %r8
    mov $0x3f8, %dx
    mov $'0', %al
    out %al, %dx
    mov $'x', %al
    out %al, %dx
    mov $60, %cl
    xor %r9d, %r9d                          /* a digit was printed */
1:  mov %r8, %rax
    shr %cl, %rax
    and $15, %eax
    test %cl, %cl
    jz 2f
    test %eax, %eax
    jnz 2f
    test %r9d, %r9d
    jz 3f
2:  mov $1, %r9d
    cmp $10, %al
    jb 4f
    add $('a' - 10 - '0'), %al
4:  add $'0', %al
    out %al, %dx
3:  sub $4, %cl
    jns 1b
    ret

space:
    mov $0x3f8, %dx
    mov $' ', %al
    out %al, %dx
    ret

newline:
    mov $0x3f8, %dx
    mov $'\n', %al
    out %al, %dx
    ret

banner:  .asciz "BZ64 hdrs="
ok:      .asciz "ok"
bad:     .asciz "bad"
loader:  .asciz " loader="
e820:    .asciz "E820 "
cmdline: .asciz "CMDLINE "
initrd:  .asciz "INITRD "
rsdp:    .asciz "RSDP "
done:    .asciz "BZ64 done"
    .balign 16
    .skip 4096
stack_top:
"""


def assemble():
    with tempfile.TemporaryDirectory() as d:
        src, obj, raw = (os.path.join(d, n) for n in ("k.S", "k.o", "k.bin"))
        with open(src, "w") as f:
            f.write(ASM)
        subprocess.run(["as", "--64", "-o", obj, src], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", obj, raw], check=True)
        with open(raw, "rb") as f:
            return f.read()


def image(code64, version=0x20F, xloadflags=0x1):
    setup = bytearray(512 * (SETUP_SECTS + 1))
    setup[0x1F1] = SETUP_SECTS
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    # jmp over the header: its length tells the loader where the header ends
    setup[0x200] = 0xEB
    setup[0x201] = 0x266 - 0x202
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    struct.pack_into("<I", setup, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", setup, 0x22C, 0x37FFFFFF)  # initrd_addr_max
    setup[0x234] = 1  # relocatable_kernel
    struct.pack_into("<H", setup, 0x236, xloadflags)
    struct.pack_into("<I", setup, 0x238, 2047)  # cmdline_size
    # protected-mode part: the 32-bit entry at +0 is never used (hlt), the
    # 64-bit entry at +0x200
    pm = bytearray(b"\xf4" * 0x200) + code64
    struct.pack_into("<I", setup, 0x260, len(pm) + 0x10000)  # init_size
    setup[0x1F4:0x1F8] = struct.pack("<I", (len(pm) + 15) // 16)  # syssize
    return bytes(setup) + bytes(pm)


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--version", type=lambda s: int(s, 0), default=0x20F,
                    help="boot protocol version (e.g. 0x205 for a too-old one)")
    ap.add_argument("--no-64bit", action="store_true", help="clear XLF_KERNEL_64")
    a = ap.parse_args()
    img = image(assemble(), a.version, 0 if a.no_64bit else 1)
    with open(a.output, "wb") as f:
        f.write(img)


if __name__ == "__main__":
    sys.exit(main())
