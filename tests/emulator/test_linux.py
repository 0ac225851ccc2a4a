#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot Debian's Linux kernel on kite and wait for its first messages,
"Linux version" and "Command line:" (with the -append text), on COM1.

Modes (argv[1]):
  pvh      the kernel ELF is taken out of the bzImage on the host (xz) and
           booted through its PVH note: tens of seconds here.
  bzimage  the bzImage itself through the 64-bit boot protocol: its
           decompressor runs in guest ring 0, which this development host
           emulates, so it takes far too long here; it only runs when
           KITE_SLOW_TESTS=1.
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
            if 'Linux version' in text and 'Command line:' in text:
                line = [l for l in text.splitlines() if 'Command line:' in l][0]
                if 'kite-marker' not in line:
                    print(f'FAIL: command line not passed: {line!r}')
                    sys.exit(1)
                print(f'ok: Linux ({mode}) printed its banner after '
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
