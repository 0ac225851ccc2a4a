#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot Debian's Linux kernel on kite and wait for its first messages,
"Linux version", "Command line:" (with the -append text) and the e820
memory map kite gave (compared line by line), on COM1.

Modes (argv[1]):
  pvh      the kernel ELF is taken out of the bzImage on the host (xz) and
           booted through its PVH note: tens of seconds here.
  bzimage  the bzImage itself through the 64-bit boot protocol: its
           decompressor runs in guest ring 0, which this development host
           emulates, so it takes far too long here (measured: after 70
           minutes it had written 24 MB of the 66 MB vmlinux, i.e. hours
           before the first console line); it only runs when
           KITE_SLOW_TESTS=1. The boot protocol itself is checked with a
           synthetic bzImage (mkbzimage.py, test_boot.py bzimage_protocol).
The kernel comes from KITE_LINUX_KERNEL (a bzImage) or from the Debian
package linux-image-amd64 (`apt-get download`, cached in KITE_CACHE_DIR).
Without a kernel the test reports itself skipped (exit 77).
"""
import glob
import lzma
import os
import subprocess
import sys
import time

from kitetest import KITE, tmpdir

SKIP = 77


def skip(why):
    print(f'skipped: {why}')
    sys.exit(SKIP)


def fetch_bzimage(cache):
    k = os.environ.get('KITE_LINUX_KERNEL')
    if k:
        return k
    found = glob.glob(os.path.join(cache, 'boot', 'vmlinuz-*'))
    if found:
        return found[0]
    dep = subprocess.run(['apt-cache', 'depends', 'linux-image-amd64'], capture_output=True,
                         text=True).stdout
    pkgs = [l.split()[-1] for l in dep.splitlines()
            if l.strip().startswith('Depends: linux-image-')]
    if not pkgs:
        return None
    os.makedirs(cache, exist_ok=True)
    r = subprocess.run(['apt-get', 'download', pkgs[0]], cwd=cache, capture_output=True,
                       text=True)
    debs = glob.glob(os.path.join(cache, 'linux-image-*.deb'))
    if r.returncode != 0 or not debs:
        return None
    tar = subprocess.Popen(['dpkg-deb', '--fsys-tarfile', debs[0]], stdout=subprocess.PIPE)
    subprocess.run(['tar', '-x', '-C', cache, '--wildcards', './boot/vmlinuz-*'],
                   stdin=tar.stdout, check=True)
    tar.wait()
    os.unlink(debs[0])
    found = glob.glob(os.path.join(cache, 'boot', 'vmlinuz-*'))
    return found[0] if found else None


def extract_elf(bzimage, out):
    """The kernel ELF inside a bzImage whose payload is xz-compressed."""
    with open(bzimage, 'rb') as f:
        data = f.read()
    start = data.find(b'\xfd7zXZ\x00')
    if start < 0:
        return None
    elf = lzma.LZMADecompressor().decompress(data[start:])
    if not elf.startswith(b'\x7fELF'):
        return None
    with open(out, 'wb') as f:
        f.write(elf)
    return out


# kite's map for -m 256 (emulator/boot.c e820_build): low RAM up to the
# EBDA, the EBDA, the BIOS area with kite's ACPI/MP tables, RAM from 1 MiB,
# KVM's TSS/identity-map pages. Linux prints it as "BIOS-e820: [mem A-B] T"
# after its own clean-up: it reserves the ISA hole 0xa0000-0xfffff itself,
# so the EBDA and BIOS area come out as one reserved range.
EXPECTED_E820 = [
    ('0x0000000000000000', '0x000000000009fbff', 'usable'),
    ('0x000000000009fc00', '0x00000000000fffff', 'reserved'),
    ('0x0000000000100000', '0x000000000fffffff', 'usable'),
    ('0x00000000feffc000', '0x00000000feffffff', 'reserved'),
]


def e820_lines(text):
    out = []
    for line in text.splitlines():
        if 'BIOS-e820: [mem ' in line:
            rng, kind = line.split('[mem ', 1)[1].split('] ', 1)
            lo, hi = rng.split('-')
            out.append((lo, hi, kind.strip()))
    return out


def e820_done(text):
    """The whole map is out once a line after the last BIOS-e820 one is."""
    lines = text.splitlines()
    idx = [i for i, l in enumerate(lines) if 'BIOS-e820: [mem ' in l]
    return bool(idx) and idx[-1] + 1 < len(lines)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else 'pvh'
    if mode == 'bzimage' and os.environ.get('KITE_SLOW_TESTS') != '1':
        skip('set KITE_SLOW_TESTS=1 to boot a bzImage (its decompressor takes very long '
             'where KVM emulates guest ring 0)')
    d = tmpdir()
    cache = os.environ.get('KITE_CACHE_DIR', d)
    bz = fetch_bzimage(cache)
    if not bz:
        skip('no Linux kernel (set KITE_LINUX_KERNEL or allow apt-get download)')
    kernel = bz
    if mode == 'pvh':
        kernel = extract_elf(bz, os.path.join(d, 'vmlinux'))
        if not kernel:
            skip(f'{bz}: payload is not an xz-compressed ELF')
    serial = os.path.join(d, 'serial.txt')
    timeout = float(os.environ.get('KITE_LINUX_TIMEOUT', '400'))
    start = time.monotonic()
    p = subprocess.Popen([KITE, '-enable-kvm', '-m', '256', '-nodefaults', '-display', 'none',
                          '-serial', f'file:{serial}', '-no-reboot', '-kernel', kernel,
                          '-append', 'console=ttyS0 earlyprintk=serial panic=-1 kite-marker'])
    text = ''
    try:
        while time.monotonic() - start < timeout:
            time.sleep(1)
            with open(serial, errors='replace') as f:
                text = f.read()
            if 'Linux version' in text and 'Command line:' in text and e820_done(text):
                line = [l for l in text.splitlines() if 'Command line:' in l][0]
                if 'kite-marker' not in line:
                    print(f'FAIL: command line not passed: {line!r}')
                    sys.exit(1)
                got = e820_lines(text)
                if got != EXPECTED_E820:
                    print(f'FAIL: the kernel saw another memory map than kite gives:\n'
                          f'  got      {got}\n  expected {EXPECTED_E820}')
                    sys.exit(1)
                print(f'ok: Linux ({mode}) printed its banner and kite\'s e820 map after '
                      f'{time.monotonic() - start:.1f} s')
                return
            if p.poll() is not None:
                print(f'FAIL: kite exited with {p.returncode}; serial: {text[-2000:]!r}')
                sys.exit(1)
        print(f'FAIL: no Linux banner within {timeout:.0f} s; serial: {text[-2000:]!r}')
        sys.exit(1)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


if __name__ == '__main__':
    main()
