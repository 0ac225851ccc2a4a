#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Process behaviour: -daemonize/-pidfile, signals, ACPI power-off and
-no-shutdown, -S."""
import os
import signal
import subprocess
import time

from kitetest import (KITE, QMP, check, idle_args, main, make_pvh, run, tmpdir,
                      wait_for_path)


def daemonize_pidfile_sigterm():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'))
    pidfile = os.path.join(d, 'kite.pid')
    sock = os.path.join(d, 'qmp.sock')
    log = os.path.join(d, 'log')
    r = run(idle_args(k, '-daemonize', '-pidfile', pidfile, '-qmp',
                      f'unix:{sock},server=on,wait=off', '-D', log), timeout=30)
    check(r.returncode == 0, f'parent exit {r.returncode} {r.stderr!r}')
    # the parent returns once the machine is up: pidfile and socket exist
    check(os.path.exists(pidfile) and os.path.exists(sock), 'not ready when parent exited')
    with open(pidfile) as f:
        pid = int(f.read())
    os.kill(pid, 0)
    # a second instance must not take over the pidfile
    r2 = run(idle_args(k, '-pidfile', pidfile), timeout=30)
    check(r2.returncode == 1 and 'Cannot lock pid file' in r2.stderr, r2.stderr)
    check(os.path.exists(pidfile), 'second instance removed the pidfile')
    q = QMP(sock)
    q.cmd('qmp_capabilities')
    os.kill(pid, signal.SIGTERM)
    ev = q.wait_event('SHUTDOWN')
    check(ev['data'] == {'guest': False, 'reason': 'host-signal'}, ev)
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError('daemon still running after SIGTERM')
    check(not os.path.exists(pidfile), 'pidfile left behind')
    check(not os.path.exists(sock), 'QMP socket left behind')


def sigint_message():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'))
    sock = os.path.join(d, 'qmp.sock')
    p = subprocess.Popen([KITE, *idle_args(k, '-qmp', f'unix:{sock},server=on,wait=off')],
                         stderr=subprocess.PIPE, text=True)
    wait_for_path(sock, p)
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=20)
    err = p.stderr.read()
    check(rc == 0, f'exit {rc}')
    check(err.startswith(f'kite: terminating on signal 2 from pid {os.getpid()}'), err)


def acpi_poweroff():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--poweroff', '--message', 'BYE')
    r = run(idle_args(k, '-serial', 'stdio'), timeout=30)
    check(r.returncode == 0 and r.stdout.startswith('BYE'), f'{r.returncode} {r.stdout!r}')


def no_shutdown_stays():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'), '--poweroff', '--message', 'BYE')
    sock = os.path.join(d, 'qmp.sock')
    p = subprocess.Popen([KITE, *idle_args(k, '-no-shutdown', '-S', '-qmp',
                                           f'unix:{sock},server=on,wait=off')])
    try:
        wait_for_path(sock, p)
        q = QMP(sock)
        q.cmd('qmp_capabilities')
        q.cmd('cont')
        ev = q.wait_event('SHUTDOWN')
        check(ev['data'] == {'guest': True, 'reason': 'guest-shutdown'}, ev)
        q.wait_event('STOP')
        check(q.cmd('query-status')['return']['status'] == 'shutdown', 'status')
        r = q.cmd('cont')
        check('error' in r, r)
        q.cmd('quit')
        check(p.wait(timeout=20) == 0, 'quit')
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


TESTS = {
    'daemonize_pidfile_sigterm': daemonize_pidfile_sigterm,
    'sigint_message': sigint_message,
    'acpi_poweroff': acpi_poweroff,
    'no_shutdown_stays': no_shutdown_stays,
}

if __name__ == '__main__':
    main(TESTS)
