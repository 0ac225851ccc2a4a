#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Booting kernels on kite (KVM): PVH start-up, serial output, exit status
through isa-debug-exit, SMP, reset and -no-reboot."""
import os
import subprocess

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


TESTS = {
    'tiny_hello': tiny_hello,
    'tiny_fail_status': tiny_fail_status,
    'guest_hello': guest_hello,
    'guest_hello_smp2': guest_hello_smp2,
    'guest_unknown_scenario': guest_unknown_scenario,
    'reset_no_reboot': reset_no_reboot,
    'reset_reboots': reset_reboots,
}

if __name__ == '__main__':
    main(TESTS)
