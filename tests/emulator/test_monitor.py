#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP and HMP sessions against a running kite, and the PCI view of the
guest (pci-list scenario) against `info pci`."""
import os
import re
import subprocess
import time

from kitetest import (EXIT_PASS, GUEST_ELF, KITE, QMP, base_args, check, idle_args, main, make_pvh,
                      tmpdir, unix_connect, wait_for_path)


def start(args, sock):
    p = subprocess.Popen([KITE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE)
    wait_for_path(sock, p)
    return p


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def qmp_session():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'))
    sock = os.path.join(d, 'qmp.sock')
    p = start(idle_args(k, '-chardev', f'socket,id=mon0,path={sock},server=on,wait=off',
                        '-mon', 'chardev=mon0,mode=control', '-name', 'guest=vm7', '-S',
                        '-smp', '2'), sock)
    try:
        q = QMP(sock)
        g = q.greeting['QMP']
        check(list(q.greeting) == ['QMP'] and list(g) == ['version', 'capabilities'], q.greeting)
        check(g['version']['qemu'] == {'micro': 0, 'minor': 2, 'major': 7}, g)
        r = q.cmd('query-status')
        check(r['error']['class'] == 'CommandNotFound', r)
        check(q.cmd('qmp_capabilities', id='a1') == {'return': {}, 'id': 'a1'}, 'capabilities')
        r = q.cmd('qmp_capabilities')
        check(r['error']['class'] == 'CommandNotFound', r)
        check(q.cmd('query-status') == {'return': {'status': 'prelaunch', 'singlestep': False,
                                                   'running': False}}, 'prelaunch status')
        check(q.cmd('query-name') == {'return': {'name': 'vm7'}}, 'query-name')
        v = q.cmd('query-version')['return']
        check(v['qemu']['major'] == 7 and 'package' in v, v)
        r = q.cmd('no-such-command')
        check(r == {'error': {'class': 'CommandNotFound',
                              'desc': 'The command no-such-command has not been found'}}, r)
        r = q.cmd('query-status', {'bogus': 1})
        check(r['error'] == {'class': 'GenericError', 'desc': "Parameter 'bogus' is unexpected"},
              r)
        check(q.cmd('cont') == {'return': {}}, 'cont')
        q.wait_event('RESUME')
        check(q.cmd('query-status')['return']['status'] == 'running', 'running')
        cpus = q.cmd('query-cpus-fast')['return']
        check([c['cpu-index'] for c in cpus] == [0, 1] and all(c['thread-id'] > 0 for c in cpus)
              and len({c['thread-id'] for c in cpus}) == 2, cpus)
        check(q.cmd('stop') == {'return': {}}, 'stop')
        ev = q.wait_event('STOP')
        check(set(ev) == {'timestamp', 'event'} and
              set(ev['timestamp']) == {'seconds', 'microseconds'}, ev)
        check(q.cmd('query-status')['return'] == {'status': 'paused', 'singlestep': False,
                                                  'running': False}, 'paused')
        check(q.cmd('cont') == {'return': {}}, 'cont 2')
        q.wait_event('RESUME')
        r = q.cmd('human-monitor-command', {'command-line': 'info status'})
        check(r == {'return': 'VM status: running\r\n'}, r)
        r = q.cmd('human-monitor-command', {})
        check(r['error']['desc'] == "Parameter 'command-line' is missing", r)
        check(q.cmd('system_powerdown') == {'return': {}}, 'powerdown')
        q.wait_event('POWERDOWN')
        check(q.cmd('system_reset') == {'return': {}}, 'reset')
        ev = q.wait_event('RESET')
        check(ev['data'] == {'guest': False, 'reason': 'host-qmp-system-reset'}, ev)
        pci = q.cmd('query-pci')['return']
        devs = pci[0]['devices']
        check([(x['slot'], x['id']['vendor'], x['id']['device']) for x in devs][:2] ==
              [(0, 0x8086, 0x1237), (1, 0x8086, 0x7000)], devs)
        check(q.cmd('quit') == {'return': {}}, 'quit')
        ev = q.wait_event('SHUTDOWN')
        check(ev['data'] == {'guest': False, 'reason': 'host-qmp-quit'}, ev)
        check(p.wait(timeout=20) == 0, f'exit {p.returncode}')
        check(not os.path.exists(sock), 'socket left behind')
    finally:
        stop(p)


def hmp_read_until_prompt(s, timeout=20):
    buf = b''
    end = time.monotonic() + timeout
    while not buf.endswith(b'(qemu) '):
        check(time.monotonic() < end, f'no prompt: {buf!r}')
        chunk = s.recv(65536)
        check(chunk, f'monitor closed: {buf!r}')
        buf += chunk
    return buf.decode()


def hmp(s, line):
    s.sendall(line.encode() + b'\n')
    out = hmp_read_until_prompt(s)
    # the echo of the command, then the answer, then the prompt
    check(out.startswith(line + '\r\n'), f'no echo: {out!r}')
    return out[len(line) + 2:-len('(qemu) ')]


def parse_info_pci(text):
    devs = {}
    cur = None
    for line in text.replace('\r\n', '\n').splitlines():
        m = re.match(r'  Bus +(\d+), device +(\d+), function (\d+):', line)
        if m:
            cur = '%02x:%02x.%x' % tuple(int(x) for x in m.groups())
            devs[cur] = {'bars': {}}
            continue
        m = re.match(r'    .*: PCI device ([0-9a-f]{4}):([0-9a-f]{4})', line)
        if m:
            devs[cur]['id'] = '%s:%s' % m.groups()
        m = re.match(r'      BAR(\d): (I/O|\d+ bit memory) at 0x([0-9a-f]+) \[0x([0-9a-f]+)\]',
                     line)
        if m:
            bar, kind, start, end = m.groups()
            devs[cur]['bars'][int(bar)] = (int(start, 16), int(end, 16) - int(start, 16) + 1)
    return devs


def parse_guest_pci(text):
    devs = {}
    for line in text.splitlines():
        m = re.match(r'PCI ([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) ([0-9a-f]{4}:[0-9a-f]{4}) class '
                     r'[0-9a-f]{6}(.*)$', line)
        if not m:
            continue
        bars = {}
        for b in re.finditer(r'BAR(\d)=[a-z0-9]+:(?:0x)?([0-9a-f]+)/(?:0x)?([0-9a-f]+)',
                             m.group(3)):
            bars[int(b.group(1))] = (int(b.group(2), 16), int(b.group(3), 16))
        devs[m.group(1)] = {'id': m.group(2), 'bars': bars}
    return devs


def pci_list_matches_info_pci():
    check(GUEST_ELF and os.path.exists(GUEST_ELF), f'test guest not built: {GUEST_ELF!r}')
    d = tmpdir()
    sock = os.path.join(d, 'hmp.sock')
    extra = []
    help_text = subprocess.run([KITE, '-device', 'help'], capture_output=True,
                               text=True).stdout
    for nic in ('e1000', 'virtio-net-pci'):
        if f'name "{nic}"' in help_text:
            extra += ['-device', nic]
    p = subprocess.Popen([KITE, *base_args(GUEST_ELF, '-m', '128', '-serial', 'stdio',
                                           '-monitor', f'unix:{sock},server=on,wait=off',
                                           '-append', 'pci-list hold', *extra)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE)
    try:
        lines = []
        while True:
            line = p.stdout.readline().decode(errors='replace')
            check(line, f'guest output ended: {lines}')
            lines.append(line.rstrip('\n'))
            if line.startswith('PCI-LIST-HOLD'):
                break
        s = unix_connect(sock)
        hmp_read_until_prompt(s)
        info = parse_info_pci(hmp(s, 'info pci'))
        guest = parse_guest_pci('\n'.join(lines))
        check(set(guest) == set(info) and len(info) >= 2, f'guest {guest} vs monitor {info}')
        for bdf, g in guest.items():
            check(g['id'] == info[bdf]['id'], f'{bdf}: {g} vs {info[bdf]}')
            check(g['bars'] == info[bdf]['bars'], f'{bdf} BARs: {g} vs {info[bdf]}')
        p.stdin.write(b'x')
        p.stdin.flush()
        out, _ = p.communicate(timeout=60)
        check(b'KTEST pci-list PASS' in out, out)
        check(p.returncode == EXIT_PASS, f'exit {p.returncode}')
    finally:
        stop(p)


def hmp_session():
    d = tmpdir()
    k = make_pvh(os.path.join(d, 'k.elf'))
    sock = os.path.join(d, 'hmp.sock')
    p = start(idle_args(k, '-monitor', f'unix:{sock},server,nowait', '-S'), sock)
    try:
        s = unix_connect(sock)
        banner = hmp_read_until_prompt(s)
        check(banner == "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ",
              repr(banner))
        check(hmp(s, 'info status') == 'VM status: paused (prelaunch)\r\n', 'prelaunch')
        check(hmp(s, 'cont') == '', 'cont')
        check(hmp(s, 'info status') == 'VM status: running\r\n', 'running')
        check(hmp(s, 'stop') == '', 'stop')
        check(hmp(s, 'info status') == 'VM status: paused\r\n', 'paused')
        check(re.match(r'7\.2\.0', hmp(s, 'info version')), 'version')
        check(hmp(s, 'frob') == "unknown command: 'frob'\r\n", 'unknown')
        h = hmp(s, 'help')
        for c in ('info', 'stop', 'cont', 'quit', 'system_reset', 'system_powerdown'):
            check(re.search(r'^%s\b' % c, h, re.M), f'help lacks {c}: {h!r}')
        qt = hmp(s, 'info qtree')
        check('dev: i8042' in qt and 'dev: mc146818rtc' in qt and 'bus: pci.0' in qt, qt)
        s.sendall(b'quit\n')
        check(p.wait(timeout=20) == 0, f'exit {p.returncode}')
    finally:
        stop(p)


TESTS = {
    'qmp_session': qmp_session,
    'hmp_session': hmp_session,
    'pci_list_matches_info_pci': pci_list_matches_info_pci,
}

if __name__ == '__main__':
    main(TESTS)
