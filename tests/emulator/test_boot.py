#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Booting kernels on kite (KVM): PVH start-up, serial output, exit status
through isa-debug-exit, SMP, reset and -no-reboot."""
import os
import shutil
import subprocess
import sys
import time

from kitetest import (EXIT_FAIL, EXIT_PASS, GUEST_ELF, QMP, base_args, check, main, make_pvh,
                      run, tmpdir, wait_for_path)


def tiny_hello():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--echo-cmdline', '--message', 'KTEST hello PASS tiny')
    r = run(base_args(k, '-serial', 'stdio', '-append', 'console=ttyS0 a=b,c'))
    check(r.returncode == EXIT_PASS, f'exit {r.returncode}, stderr {r.stderr!r}')
    lines = r.stdout.splitlines()
    check(lines[:2] == ['KTEST hello PASS tiny', 'console=ttyS0 a=b,c'],
          f'serial output {r.stdout!r}')


MKBZIMAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mkbzimage.py')


def bzimage_protocol():
    """The Linux boot protocol as a bzImage's 64-bit entry sees it (a
    synthetic kernel, mkbzimage.py: Debian's decompressor is far too slow in
    this host's emulated ring 0): the zero page in %rsi with the setup
    header copied, type_of_loader, kite's e820 map, the command line, the
    initrd (its bytes summed by the guest) and the ACPI RSDP; then the
    protocol checks on bad images."""
    d = tmpdir()
    k = os.path.join(d, 'bz.img')
    subprocess.run([sys.executable, MKBZIMAGE, k], check=True)
    initrd = os.path.join(d, 'initrd')
    data = os.urandom(100000)
    with open(initrd, 'wb') as f:
        f.write(data)
    r = run(base_args(k, '-m', '128', '-serial', 'stdio', '-append', 'console=ttyS0 kite-bz a=b',
                      '-initrd', initrd))
    check(r.returncode == EXIT_PASS, f'exit {r.returncode}, stderr {r.stderr!r}')
    lines = r.stdout.splitlines()
    check(lines[0] == 'BZ64 hdrs=ok loader=0xff', f'zero page: {lines[:1]}')
    # kite's map for -m 128 (emulator/boot.c e820_build)
    e820 = [l for l in lines if l.startswith('E820 0x') and len(l.split()) == 4]
    check(e820 == ['E820 0x0 0x9fc00 0x1', 'E820 0x9fc00 0x400 0x2', 'E820 0xe0000 0x20000 0x2',
                   'E820 0x100000 0x7f00000 0x1', 'E820 0xfeffc000 0x4000 0x2'],
          f'e820 in the zero page: {e820}')
    check('E820 0x5' in lines, f'e820_entries: {lines}')
    check('CMDLINE console=ttyS0 kite-bz a=b' in lines, f'cmd_line_ptr: {lines}')
    ird = [l.split() for l in lines if l.startswith('INITRD ')][0]
    addr, size, total = (int(x, 16) for x in ird[1:])
    check(size == len(data) and total == sum(data),
          f'initrd: size {size:#x} sum {total:#x}, expected {len(data):#x} {sum(data):#x}')
    check(addr % 4096 == 0 and addr + size <= 128 << 20 and addr >= 16 << 20,
          f'initrd placed at {addr:#x}')
    check('RSDP ok' in lines and lines[-1] == 'BZ64 done', f'acpi_rsdp_addr: {lines}')

    old = os.path.join(d, 'old.img')
    subprocess.run([sys.executable, MKBZIMAGE, old, '--version', '0x205'], check=True)
    r = run(base_args(old))
    check(r.returncode == 1 and 'boot protocol 2.05 is too old' in r.stderr, r.stderr)
    no64 = os.path.join(d, 'no64.img')
    subprocess.run([sys.executable, MKBZIMAGE, no64, '--no-64bit'], check=True)
    r = run(base_args(no64))
    check(r.returncode == 1 and 'no 64-bit entry point' in r.stderr, r.stderr)


def tiny_fail_status():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--exit-code', '1', '--message', 'KTEST x FAIL')
    r = run(base_args(k, '-serial', 'stdio'))
    check(r.returncode == EXIT_FAIL, f'exit {r.returncode} (want {EXIT_FAIL})')
    k = make_pvh(os.path.join(d, 'k2.elf'), '--exit-code', '42')
    r = run(base_args(k, '-serial', 'stdio'))
    check(r.returncode == (0x2a << 1 | 1), f'exit {r.returncode} (want {0x2a << 1 | 1})')


def guest_run(scenario, *extra):
    check(GUEST_ELF and os.path.exists(GUEST_ELF), f'test guest not built: {GUEST_ELF!r}')
    return run(base_args(GUEST_ELF, '-m', '128', '-serial', 'stdio', '-append', scenario,
                         *extra), timeout=120)


def guest_hello():
    r = guest_run('hello')
    check('KTEST hello PASS' in r.stdout, f'no PASS line in {r.stdout!r}')
    check(r.returncode == EXIT_PASS, f'exit {r.returncode}')


def guest_hello_smp2():
    r = guest_run('hello', '-smp', '2')
    check('KTEST hello PASS' in r.stdout, f'no PASS line in {r.stdout!r}')
    check(r.returncode == EXIT_PASS, f'exit {r.returncode}')


def guest_unknown_scenario():
    r = guest_run('no-such-scenario')
    check(r.returncode == EXIT_FAIL, f'exit {r.returncode} for an unknown scenario')


def reset_no_reboot():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--reset', '--message', 'BOOTING')
    r = run(base_args(k, '-serial', 'stdio', '-no-reboot'))
    check(r.returncode == 0, f'-no-reboot reset: exit {r.returncode} {r.stderr!r}')
    check(r.stdout.count('BOOTING') == 1, f'booted more than once: {r.stdout!r}')


def reset_reboots():
    """Without -no-reboot the kernel is reloaded and boots again, with a
    RESET event each time."""
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--reset', '--message', 'BOOTING')
    sock = os.path.join(d, 'qmp')
    out = os.path.join(d, 'serial.txt')
    p = subprocess.Popen([os.environ.get('KITE', 'kite'),
                          *base_args(k, '-serial', f'file:{out}', '-qmp',
                                     f'unix:{sock},server=on,wait=off', '-S')],
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for_path(sock, p)
        q = QMP(sock)
        check(q.cmd('qmp_capabilities') == {'return': {}}, 'capabilities')
        q.cmd('cont')
        for _ in range(3):
            ev = q.wait_event('RESET')
            check(ev['data'] == {'guest': True, 'reason': 'guest-reset'}, f'RESET data {ev}')
        q.cmd('quit')
        check(p.wait(timeout=20) == 0, f'exit {p.returncode}')
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(out) as f:
        boots = f.read().count('BOOTING')
    check(boots >= 3, f'only {boots} boots after 3 resets')


MSI_DELIVERIES = 7  # interrupts msi_code() in mkpvh.py expects


def msi_run(no_irqfd):
    """Boot mkpvh.py's --msi-test kernel against kite-testdev, under strace
    when there is one so the test also sees how the MSIs reached KVM."""
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--msi-test', '--message', 'KTEST msi PASS')
    args = base_args(k, '-serial', 'stdio', '-device', 'kite-testdev,addr=5')
    env = dict(os.environ)
    env.pop('KITE_NO_IRQFD', None)
    if no_irqfd:
        env['KITE_NO_IRQFD'] = '1'
    trace = os.path.join(d, 'strace.txt')
    strace = shutil.which('strace')
    cmd = [os.environ.get('KITE', 'kite'), *args]
    if strace:
        cmd = [strace, '-f', '-qq', '-o', trace, '-e', 'trace=ioctl,write,eventfd2', *cmd]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors='replace', timeout=60, env=env)
    check(r.returncode == EXIT_PASS and 'KTEST msi PASS' in r.stdout,
          f'exit {r.returncode} (failed step = exit >> 1), stdout {r.stdout!r}, '
          f'stderr {r.stderr!r}')
    if not strace:
        print('# strace not installed: delivery path not checked')
        return None
    with open(trace) as f:
        return f.read().splitlines()


def msi_irqfd():
    """MSI and MSI-X reach the guest (masking, pending bits, retargeting)
    as writes to eventfds bound with KVM_IRQFD, not KVM_SIGNAL_MSI."""
    lines = msi_run(no_irqfd=False)
    if lines is None:
        return
    check(not any('KVM_SIGNAL_MSI' in l for l in lines), 'KVM_SIGNAL_MSI used despite irqfd')
    check(any('KVM_SET_GSI_ROUTING' in l for l in lines), 'no KVM_SET_GSI_ROUTING')
    fds = set()
    for l in lines:
        # "<pid> eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = N"
        if 'eventfd2(' in l and '= ' in l:
            fds.add(l.rsplit('= ', 1)[1].strip())
    writes = [l for l in lines
              if ' write(' in l and l.split(' write(', 1)[1].split(',', 1)[0] in fds]
    bound = [l for l in lines if 'KVM_IRQFD' in l and l.endswith('= 0')]
    check(bound, 'no eventfd bound with KVM_IRQFD')
    # every bind is matched by an unbind: the routes of disabled/masked
    # vectors are released
    check(len(bound) % 2 == 0, f'{len(bound)} KVM_IRQFD calls, binds and unbinds do not pair')
    check(len(writes) >= MSI_DELIVERIES, f'{len(writes)} eventfd writes for '
          f'{MSI_DELIVERIES} interrupts')


def msi_signal_fallback():
    """Without irqfd (KITE_NO_IRQFD, as on hosts lacking KVM_CAP_IRQFD or
    KVM_CAP_IRQ_ROUTING) the same interrupts go through KVM_SIGNAL_MSI."""
    lines = msi_run(no_irqfd=True)
    if lines is None:
        return
    check(not any('KVM_IRQFD' in l or 'KVM_SET_GSI_ROUTING' in l for l in lines),
          'irqfd used although disabled')
    n = sum('KVM_SIGNAL_MSI' in l for l in lines)
    check(n == MSI_DELIVERIES, f'{n} KVM_SIGNAL_MSI calls, want {MSI_DELIVERIES}')


def eventfds(pid):
    n = 0
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            n += os.readlink(f'/proc/{pid}/fd/{fd}') == 'anon_inode:[eventfd]'
        except OSError:
            pass
    return n


def msi_reset_releases_routes():
    """system_reset drops the route and eventfd of a live MSI-X vector, and
    the rebooted guest, which enables the same vector again, leaves kite
    with as many eventfds as the first boot did."""
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--msi-test', '--msi-stay', '--message', 'MSI LIVE')
    sock = os.path.join(d, 'qmp')
    out = os.path.join(d, 'serial.txt')
    env = dict(os.environ)
    env.pop('KITE_NO_IRQFD', None)
    p = subprocess.Popen([os.environ.get('KITE', 'kite'),
                          *base_args(k, '-serial', f'file:{out}', '-device', 'kite-testdev,addr=5',
                                     '-qmp', f'unix:{sock},server=on,wait=off')],
                         stderr=subprocess.PIPE, text=True, env=env)

    def wait_boots(n):
        for _ in range(600):
            with open(out) as f:
                if f.read().count('MSI LIVE') >= n:
                    return
            if p.poll() is not None:
                check(False, f'kite exited {p.returncode}: {p.stderr.read()!r}')
            time.sleep(0.05)
        check(False, f'guest did not reach boot {n}')

    try:
        wait_for_path(sock, p)
        q = QMP(sock)
        check(q.cmd('qmp_capabilities') == {'return': {}}, 'capabilities')
        wait_boots(1)
        first = eventfds(p.pid)
        for boot in (2, 3):
            # stopped, so the guest cannot re-enable the vector meanwhile
            check('return' in q.cmd('stop'), 'stop')
            check('return' in q.cmd('system_reset'), 'system_reset')
            q.wait_event('RESET')
            # the reset runs on kite's main loop; give it time (hang guard)
            for _ in range(100):
                now = eventfds(p.pid)
                if now == first - 1:
                    break
                time.sleep(0.05)
            check(now == first - 1, f'{now} eventfds right after reset {boot - 1}, '
                  f'{first} with the vector live')
            check('return' in q.cmd('cont'), 'cont')
            wait_boots(boot)
            now = eventfds(p.pid)
            check(now == first, f'{now} eventfds after reboot {boot - 1}, {first} before')
        q.cmd('quit')
        check(p.wait(timeout=20) == 0, f'exit {p.returncode}')
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


TESTS = {
    'msi_reset_releases_routes': msi_reset_releases_routes,
    'msi_irqfd': msi_irqfd,
    'msi_signal_fallback': msi_signal_fallback,
    'tiny_hello': tiny_hello,
    'bzimage_protocol': bzimage_protocol,
    'tiny_fail_status': tiny_fail_status,
    'guest_hello': guest_hello,
    'guest_hello_smp2': guest_hello_smp2,
    'guest_unknown_scenario': guest_unknown_scenario,
    'reset_no_reboot': reset_no_reboot,
    'reset_reboots': reset_reboots,
}

if __name__ == '__main__':
    main(TESTS)
