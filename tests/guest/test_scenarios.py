#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The test guest's scenarios as test cases, for any emulator.

    test_scenarios.py --guest guest.elf --emulator qemu-tcg [CASE...]
    test_scenarios.py --guest guest.elf --emulator kite --kite build/emulator/kite
    test_scenarios.py --emulator qemu-kvm --list

Without CASE every case applicable to the emulator runs. Under qemu-kvm the
default is a representative subset (each boot costs ~8 s of SeaBIOS here);
--all runs everything. Exit status 0 when all ran cases passed, 77 when all
were skipped, 1 otherwise.
"""

import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SKIP = 77
CASES = []


class Skip(Exception):
    pass


class CaseFailure(Exception):
    pass


def case(name, nics=(None,), kvm=()):
    """Registers a test case per NIC. 'kvm' names the NICs (None for
    NIC-less cases) whose variant is in the KVM subset."""
    def register(fn):
        for nic in nics:
            cid = name if nic is None else f'{name}-{nic}'
            CASES.append((cid, fn, nic, nic in kvm))
        return fn
    return register


def check(cond, what, res=None):
    if not cond:
        raise CaseFailure(what + ('\n' + res.describe() if res else ''))


def expect_pass(res, name):
    check(res.status == 'PASS', f'{name}: expected PASS', res)
    check(res.exit_code == harness.EXIT_PASS,
          f'{name}: expected exit status {harness.EXIT_PASS}', res)
    check(res.name == name, f'KTEST line names {res.name!r}, expected {name!r}', res)


def expect_fail(res, name, detail_re):
    check(res.status == 'FAIL', f'{name}: expected FAIL', res)
    check(res.exit_code == harness.EXIT_FAIL,
          f'{name}: expected exit status {harness.EXIT_FAIL}', res)
    check(re.search(detail_re, res.detail or ''),
          f'{name}: FAIL detail does not match {detail_re!r}', res)


class Ctx:
    def __init__(self, emu, guest):
        self.emu = emu
        self.guest = guest
        self.listed = set()  # the -device models the emulator offers

    def run(self, scenario, **kw):
        return harness.run_scenario(self.emu, self.guest, scenario, **kw)

    def start(self, scenario, **kw):
        return harness.GuestRun(self.emu, self.guest, scenario, **kw)


class TcpService:
    """A one-shot host TCP service on 127.0.0.1: reads one line, answers
    'pong:<line>' and closes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.sock.settimeout(90)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            # A guestfwd chardev connects when the emulator starts, long
            # before the guest sends: serve connections until one has data.
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(90)
                    data = b''
                    while not data.endswith(b'\n'):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        continue
                    line = data.decode('utf-8', 'replace').strip()
                    self.received.append(line)
                    conn.sendall(f'pong:{line}\n'.encode())
                    return
        except OSError as e:
            self.error = e

    def close(self):
        self.sock.close()


# ---- cases that need no network card ----

@case('hello', kvm=(None,))
def t_hello(ctx, nic):
    res = ctx.run(['hello'])
    expect_pass(res, 'hello')
    check(re.search(r'\bcpl=3\b', res.detail), 'scenario did not run in ring 3', res)
    check(res.lines and res.lines[0] == 'KTEST-START hello',
          'first serial line is not KTEST-START hello', res)


@case('spin')
def t_spin(ctx, nic):
    res = ctx.run(['spin', '1000000'])
    expect_pass(res, 'spin')
    m = re.search(r'iterations=(\d+) cycles=(\d+)', res.detail)
    check(m and int(m.group(1)) == 1000000 and int(m.group(2)) > 0,
          'spin did not report its iterations and a cycle count', res)


@case('unknown-scenario')
def t_unknown(ctx, nic):
    res = ctx.run(['no-such-scenario', 'x'])
    expect_fail(res, 'no-such-scenario', r"unknown scenario 'no-such-scenario'")


@case('empty-command-line')
def t_empty(ctx, nic):
    res = ctx.run([])
    expect_fail(res, 'none', r'empty command line')


@case('bad-number')
def t_bad_number(ctx, nic):
    expect_fail(ctx.run(['spin', '12abc']), 'spin', r"bad iteration count '12abc'")


@case('bad-address')
def t_bad_address(ctx, nic):
    expect_fail(ctx.run(['ping', '10.0.2.256']), 'ping', r"bad address '10\.0\.2\.256'")


@case('bad-arg-count')
def t_bad_arg_count(ctx, nic):
    expect_fail(ctx.run(['tcp-connect', '10.0.2.2']), 'tcp-connect',
                r'expected 3\.\.3 arguments, got 1: usage: tcp-connect ADDR PORT DATA')


@case('bad-port')
def t_bad_port(ctx, nic):
    expect_fail(ctx.run(['tcp-echo-server', '70000']), 'tcp-echo-server',
                r"bad port '70000' \(expected 1\.\.65535\)")


@case('bad-sink-count')
def t_bad_sink_count(ctx, nic):
    expect_fail(ctx.run(['udp-sink', '5000', '0']), 'udp-sink',
                r"bad count '0' \(expected 1\.\.100000\)")


FAULTS = {'pf': r'#PF vector 14 .*cr2 0x100000000000', 'ud': r'#UD vector 6',
          'gp': r'#GP vector 13', 'de': r'#DE vector 0'}


def fault_case(kind, kvm):
    @case(f'fault-{kind}', kvm=(None,) if kvm else ())
    def t_fault(ctx, nic):
        res = ctx.run(['fault', kind])
        expect_fail(res, 'fault', r'exception ' + FAULTS[kind])
        check('cpl 3' in res.detail, 'the fault was not taken in ring 3', res)


for _kind in FAULTS:
    fault_case(_kind, _kind == 'gp')


# ---- cases with a network card ----

# virtio-net and the e1000 run every network case; the other models QEMU
# offers run the core set (PCI view, DHCP, ping, TCP both ways, bulk UDP).
NICS = ('virtio', 'e1000')
MORE_NICS = ('e1000e', 'rtl8139', 'pcnet', 'ne2k', 'i82551', 'i82557b', 'i82559er')
ALL_NICS = NICS + MORE_NICS
# The models that report the carrier (the NE2000 and the 8255x in QEMU do
# not: their link reads as always up).
CARRIER_NICS = ('virtio', 'e1000', 'e1000e', 'rtl8139', 'pcnet')
# What the guest reports (netif: MODEL ...) and QEMU's PCI IDs.
NIC_MODEL = {
    'virtio': ('virtio-net', ('1af4:1000', '1af4:1041')),
    'e1000': ('e1000', ('8086:100e',)),
    'e1000e': ('e1000e', ('8086:10d3',)),
    'rtl8139': ('rtl8139', ('10ec:8139',)),
    'pcnet': ('pcnet', ('1022:2000',)),
    'ne2k': ('ne2k', ('10ec:8029',)),
    'i82551': ('i82551', ('8086:1209',)),
    'i82557b': ('i82557', ('8086:1229',)),
    'i82559er': ('i82559er', ('8086:1209',)),
}


def parse_guest_pci(lines):
    devs = {}
    for line in lines:
        m = re.match(r'^PCI (\w\w):(\w\w)\.(\d) (\w{4}):(\w{4}) class (\w{6})(.*)$', line)
        if not m:
            continue
        bars = {}
        for b in re.finditer(r'BAR(\d)=(io|mem|mem64)(pf)?:0x([0-9a-f]+)/0x([0-9a-f]+)',
                             m.group(7)):
            bars[int(b.group(1))] = ('io' if b.group(2) == 'io' else 'mem',
                                     int(b.group(4), 16), int(b.group(5), 16))
        devs[(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3)))] = (
            f'{m.group(4)}:{m.group(5)}', bars)
    return devs


def parse_info_pci(text):
    devs = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r'^\s*Bus\s+(\d+), device\s+(\d+), function (\d+):', line)
        if m:
            cur = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            devs[cur] = [None, {}]
            continue
        if cur is None:
            continue
        m = re.search(r'PCI device ([0-9a-f]{4}):([0-9a-f]{4})', line)
        if m and devs[cur][0] is None:
            devs[cur][0] = f'{m.group(1)}:{m.group(2)}'
        m = re.match(r'^\s*BAR(\d): (?:32|64) bit (?:prefetchable )?memory at '
                     r'(0x[0-9a-f]+) \[(0x[0-9a-f]+)\]', line)
        if m and int(m.group(1)) < 6:
            lo, hi = int(m.group(2), 16), int(m.group(3), 16)
            devs[cur][1][int(m.group(1))] = ('mem', lo, hi - lo + 1)
        m = re.match(r'^\s*BAR(\d): I/O at (0x[0-9a-f]+) \[(0x[0-9a-f]+)\]', line)
        if m:
            lo, hi = int(m.group(2), 16), int(m.group(3), 16)
            devs[cur][1][int(m.group(1))] = ('io', lo, hi - lo + 1)
    return {k: (v[0], v[1]) for k, v in devs.items()}


@case('pci-list', ALL_NICS, kvm=('virtio',))
def t_pci_list(ctx, nic):
    with ctx.start(['pci-list', 'hold'], nic=nic, monitor=True) as run:
        run.wait_for(r'^PCI-LIST-HOLD$')
        info = run.hmp('info pci')
        run.send_serial('\n')
        res = run.result()
    expect_pass(res, 'pci-list')
    guest = parse_guest_pci(res.lines)
    host = parse_info_pci(info)
    check(host, f'could not parse the monitor\'s info pci:\n{info}')
    nic_ids = NIC_MODEL[nic][1]
    check(any(d[0] in nic_ids for d in guest.values()), f'guest did not list the {nic} card', res)
    check(set(guest) == set(host),
          f'functions differ: guest {sorted(guest)} monitor {sorted(host)}', res)
    for addr, (ident, bars) in host.items():
        gident, gbars = guest[addr]
        check(gident == ident, f'{addr}: guest says {gident}, monitor says {ident}', res)
        check(gbars == bars, f'{addr}: BARs differ: guest {gbars} monitor {bars}', res)
    check(re.search(rf'functions={len(host)}\b', res.detail), 'function count wrong', res)


@case('pci-assign', NICS + ('pcnet', 'ne2k'))
def t_pci_assign(ctx, nic):
    # The guest clears every BAR (as on a machine without firmware), assigns
    # them itself, and must still reach the gateway through the card.
    res = ctx.run(['pci-assign'], nic=nic)
    expect_pass(res, 'pci-assign')
    m = re.match(r'cleared=(\d+) gw=10\.0\.2\.2 rtt_us=\d+$', res.detail)
    check(m and int(m.group(1)) > 0, 'no BAR was cleared, or no reply', res)
    devs = parse_guest_pci(res.lines)
    for addr, (ident, bars) in devs.items():
        for kind, base, size in bars.values():
            lo, hi = (0xc000, 0x10000) if kind == 'io' else (0xe0000000, 0xfe000000)
            check(lo <= base and base + size <= hi and base % size == 0,
                  f'{addr} BAR at {base:#x}/{size:#x} outside the guest\'s window', res)


@case('dhcp', ALL_NICS)
def t_dhcp(ctx, nic):
    # A MAC of our own: the driver must read it from the card (EEPROM,
    # NVM, PROM or registers), and slirp must see it in the DHCP request.
    mac = '52:54:00:4b:%02x:%02x' % (len(nic), sum(map(ord, nic)) & 0xff)
    res = ctx.run(['dhcp'], nic=nic, nic_opts=[f'mac={mac}'])
    expect_pass(res, 'dhcp')
    check(res.detail == 'addr=10.0.2.15 gw=10.0.2.2 dns=10.0.2.3',
          'unexpected lease (slirp hands out 10.0.2.15/gw 10.0.2.2/dns 10.0.2.3)', res)
    model = NIC_MODEL[nic][0]
    want = rf'^netif: {re.escape(model)} [0-9a-f]{{2}}:[0-9a-f]{{2}}\.\d mac {mac} link up$'
    check(any(re.match(want, line) for line in res.lines),
          f'no "netif: {model} BDF mac {mac} link up" line', res)


@case('ping', ALL_NICS, kvm=('virtio', 'ne2k'))
def t_ping(ctx, nic):
    res = ctx.run(['ping', '10.0.2.2', '3'], nic=nic)
    expect_pass(res, 'ping')
    check(re.match(r'dst=10\.0\.2\.2 replies=3/3 ', res.detail), 'not every ping answered', res)


@case('ping-unreachable', ('virtio',))
def t_ping_unreachable(ctx, nic):
    # restrict=on: slirp answers nothing outside, so the echo must time out.
    res = ctx.run(['ping', '10.0.2.77', '1'], nic=nic, netdev_opts=['restrict=on'])
    expect_fail(res, 'ping', r'dst=10\.0\.2\.77 replies=0/1')


@case('tcp-echo-server', ALL_NICS, kvm=NICS)
def t_tcp_echo_server(ctx, nic):
    port = harness.free_port()
    fwd = f'hostfwd=tcp:127.0.0.1:{port}-:{port}'
    with ctx.start(['tcp-echo-server', str(port)], nic=nic, netdev_opts=[fwd]) as run:
        run.wait_for(rf'^LISTEN {port}$')
        with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
            s.settimeout(30)
            sent = b'hello kite\nsecond line\n'
            s.sendall(sent)
            got = b''
            while len(got) < len(sent):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            s.sendall(b'quit\n')
            rest = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
        res = run.result()
    check(got == sent, f'echo mismatch: sent {sent!r} got {got!r}', res)
    check(rest == b'quit\n', f'quit line not echoed before close: {rest!r}', res)
    expect_pass(res, 'tcp-echo-server')
    check(res.detail == f'bytes={len(sent) + 5} end=quit', 'unexpected byte count', res)


def tcp_connect_case(ctx, nic, via_guestfwd):
    svc = TcpService()
    try:
        if via_guestfwd:
            opts = [f'guestfwd=tcp:10.0.2.100:8080-tcp:127.0.0.1:{svc.port}']
            target = ['10.0.2.100', '8080']
        else:
            opts = []
            target = ['10.0.2.2', str(svc.port)]
        token = f'from-guest-{nic}'
        res = ctx.run(['tcp-connect'] + target + [token], nic=nic, netdev_opts=opts)
    finally:
        svc.close()
    expect_pass(res, 'tcp-connect')
    check(svc.received == [token], f'host service received {svc.received!r}', res)
    check(res.detail == f'reply=pong:{token}', 'guest did not read the reply', res)


@case('tcp-connect-gw', ALL_NICS, kvm=NICS)
def t_tcp_connect_gw(ctx, nic):
    tcp_connect_case(ctx, nic, via_guestfwd=False)


@case('tcp-connect-guestfwd', NICS)
def t_tcp_connect_guestfwd(ctx, nic):
    tcp_connect_case(ctx, nic, via_guestfwd=True)


@case('tcp-connect-refused', ('virtio',))
def t_tcp_connect_refused(ctx, nic):
    port = harness.free_port()  # nothing listens there
    res = ctx.run(['tcp-connect', '10.0.2.2', str(port), 'x'], nic=nic)
    expect_fail(res, 'tcp-connect', rf'connect to 10\.0\.2\.2:{port} failed')


class Dnsmasq:
    """dnsmasq answering kite.test with 10.9.8.7 and nothing else."""

    def __init__(self, port):
        exe = shutil.which('dnsmasq') or '/usr/sbin/dnsmasq'
        if not os.path.exists(exe):
            raise Skip('dnsmasq is not installed')
        self.proc = subprocess.Popen(
            [exe, '--no-daemon', '--conf-file=/dev/null', f'--port={port}',
             '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
             '--user=root', '--pid-file=', '--address=/kite.test/10.9.8.7'],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Ready once it answers: probe with a query of our own.
        deadline = time.monotonic() + 10
        while not self._answers(port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                out = self.stop()
                raise CaseFailure(f'dnsmasq did not come up: {out}')
            time.sleep(0.05)

    @staticmethod
    def _answers(port):
        query = (b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
                 b'\x04kite\x04test\x00\x00\x01\x00\x01')
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, ('127.0.0.1', port))
                return s.recv(512)[:2] == b'\x12\x34'
            except OSError:
                return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out.decode('utf-8', 'replace')


@case('dns', NICS)
def t_dns(ctx, nic):
    # Our own resolver on a free host port, reached through the gateway.
    port = harness.free_port(socket.SOCK_DGRAM)
    dns = Dnsmasq(port)
    try:
        res = ctx.run(['dns', 'kite.test', f'10.0.2.2:{port}'], nic=nic)
    finally:
        dns.stop()
    expect_pass(res, 'dns')
    check(res.detail == f'name=kite.test addr=10.9.8.7 server=10.0.2.2:{port}',
          'wrong answer', res)


def bind_resolver_to_loopback():
    """Runs inside fresh mount and network namespaces (made by unshare(1)):
    points /etc/resolv.conf at 127.0.0.1, so that slirp's built-in DNS
    proxy (10.0.2.3) forwards to a resolver on 127.0.0.1:53 that nothing
    else on the host can see or collide with."""
    conf = tempfile.NamedTemporaryFile('w', prefix='kite-resolv-', delete=False)
    conf.write('nameserver 127.0.0.1\n')
    conf.close()
    try:
        target = os.path.realpath('/etc/resolv.conf')
        subprocess.run(['mount', '--bind', conf.name, target], check=True)
        subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    finally:
        os.unlink(conf.name)  # the bind mount keeps the file alive


def dns_slirp_proxy_inner(ctx, nic):
    bind_resolver_to_loopback()
    dns = Dnsmasq(53)
    try:
        res = ctx.run(['dns', 'kite.test'], nic=nic)
    finally:
        dns.stop()
    expect_pass(res, 'dns')
    check(res.detail == 'name=kite.test addr=10.9.8.7 server=10.0.2.3:53', 'wrong answer', res)


def run_namespaced(ctx, case_id):
    """Re-runs this script for case_id (a NETNS_INNER case) inside fresh
    mount and network namespaces: whatever it creates there (interfaces,
    bridges, named namespaces, mounts) vanishes with it."""
    if os.geteuid() != 0 or not shutil.which('unshare'):
        raise Skip('needs root and unshare(1) for private namespaces')
    binary = ['--kite' if ctx.emu.kind == 'kite' else '--qemu', ctx.emu.binary]
    cmd = ['unshare', '--mount', '--net', '--', sys.executable, os.path.abspath(__file__),
           '--netns-inner', '--guest', str(ctx.guest), '--emulator', ctx.emu.kind] + binary + [
           case_id]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise CaseFailure('the namespaced run did not finish within 300 s') from None
    out = (p.stdout + p.stderr).decode('utf-8', 'replace')
    if p.returncode == SKIP:
        raise Skip(out.strip())
    check(p.returncode == 0, f'namespaced run failed (exit {p.returncode}):\n{out}')
    print(out.rstrip())


@case('dns-slirp-proxy', ('virtio',))
def t_dns_slirp_proxy(ctx, nic):
    run_namespaced(ctx, f'dns-slirp-proxy-{nic}')


NETNS_INNER = {'dns-slirp-proxy': dns_slirp_proxy_inner}


@case('udp-blast', NICS)
def t_udp_blast(ctx, nic):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    port = sink.getsockname()[1]
    count, size = 500, 512
    got = []
    stop = threading.Event()

    def drain():
        sink.settimeout(0.2)
        while not stop.is_set():
            try:
                got.append(sink.recv(2048))
            except socket.timeout:
                continue
            except OSError:
                return

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        res = ctx.run(['udp-blast', '10.0.2.2', str(port), str(count), str(size)], nic=nic)
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
        sink.close()
    expect_pass(res, 'udp-blast')
    check(re.match(rf'sent={count} size={size} .*frames_per_s=\d+', res.detail),
          'no rate reported', res)
    pattern = bytes(i & 0xff for i in range(size))
    # slirp may drop under load; what arrives must be intact.
    check(got, 'no datagram reached the host', res)
    check(all(d == pattern for d in got), 'a datagram arrived corrupted', res)
    print(f'  host received {len(got)}/{count} datagrams')


BULK_COUNT = 1000
BULK_SIZE = 512
# Datagrams the host keeps in flight towards the guest. Unpaced, QEMU and
# slirp lose datagrams on every card (measured: 5-95 % of 1000 at 512
# bytes): the host's socket towards slirp overflows, and the NE2000,
# PCnet and 8255x models drop what does not fit their rings instead of
# holding it back. A small window keeps every loss a real one.
BULK_WINDOW = 8


def bulk_payload(seq, size):
    head = struct.pack('>I', seq)
    return head + bytes((seq + i) & 0xff for i in range(len(head), size))


@case('bulk-in', ALL_NICS, kvm=('rtl8139',))
def t_bulk_in(ctx, nic):
    """BULK_COUNT datagrams host -> guest through a hostfwd rule; the guest
    checks each and acknowledges the count it has, the host keeps at most
    BULK_WINDOW unacknowledged."""
    port = harness.free_port(socket.SOCK_DGRAM)
    fwd = f'hostfwd=udp:127.0.0.1:{port}-:{port}'
    scenario = ['udp-sink', str(port), str(BULK_COUNT), 'ack']
    with ctx.start(scenario, nic=nic, netdev_opts=[fwd]) as run:
        run.wait_for(rf'^UDP-SINK-READY {port}$')
        acked = sent = 0
        quiet_since = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(('127.0.0.1', port))
            s.settimeout(0.2)
            # Until everything is acknowledged, the guest has its verdict
            # (its last acknowledgement may die with the emulator), or
            # nothing moved for 10 s (the verdict says what is missing).
            while acked < BULK_COUNT and time.monotonic() - quiet_since < 10:
                while sent < BULK_COUNT and sent - acked < BULK_WINDOW:
                    s.send(bulk_payload(sent, BULK_SIZE))
                    sent += 1
                try:
                    ack = s.recv(64)
                except socket.timeout:
                    if run.finished():
                        break
                    continue
                if len(ack) == 4 and struct.unpack('>I', ack)[0] > acked:
                    acked = struct.unpack('>I', ack)[0]
                    quiet_since = time.monotonic()
        res = run.result()
    expect_pass(res, 'udp-sink')
    check(sent == BULK_COUNT, f'the host sent only {sent} datagrams', res)
    check(re.match(rf'received={BULK_COUNT} dups=0 ', res.detail),
          f'the guest did not get all {BULK_COUNT} datagrams exactly once', res)


@case('udp-blast-closed-port', ('virtio',))
def t_udp_blast_closed_port(ctx, nic):
    """A blast to a host port nobody listens on: slirp answers datagrams
    with ICMP port-unreachable to the guest while it sends, so receive and
    transmit run in the same moments. This once caught kite reading the
    tx ring's 16-bit avail index torn in half (a memcpy of two bytes is two
    loads in glibc): the queue broke with the guest "256 ahead", in about
    one run of seven of this length."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    count = 600000
    res = ctx.run(['udp-blast', '10.0.2.2', str(port), str(count), '18'], nic=nic)
    expect_pass(res, 'udp-blast')
    check(re.match(rf'sent={count} size=18 ', res.detail), 'not everything was sent', res)


@case('bulk-out', ALL_NICS)
def t_bulk_out(ctx, nic):
    """BULK_COUNT datagrams guest -> host as fast as the card takes them:
    every one must arrive intact (the host side keeps up).

    On QEMU under TCG, the oracle, a run on a busy host has lost about a
    tenth of the datagrams inside QEMU's libslirp (its non-blocking send
    refused while loopback's backlog waited for a CPU; the sink's buffer
    was far from full): there, and only there, one lost run is tried
    again. Corruption, and any loss on kite, fails at once."""
    tries = 2 if ctx.emu.kind == 'qemu-tcg' else 1
    for attempt in range(tries):
        try:
            return bulk_out_once(ctx, nic)
        except CaseFailure as e:
            lost_only = str(e).startswith('host received ') and ', 0 corrupted' in str(e)
            if attempt + 1 == tries or not lost_only:
                raise


def bulk_out_once(ctx, nic):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    port = sink.getsockname()[1]
    got = []
    done = threading.Event()
    stop = threading.Event()

    def drain():
        sink.settimeout(0.2)
        while not stop.is_set():
            try:
                got.append(sink.recv(2048))
            except socket.timeout:
                continue
            except OSError:
                return
            if len(got) >= BULK_COUNT:
                done.set()

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        res = ctx.run(['udp-blast', '10.0.2.2', str(port), str(BULK_COUNT), str(BULK_SIZE)],
                      nic=nic)
        done.wait(timeout=5)  # what the emulator had queued still arrives
    finally:
        stop.set()
        t.join()
        sink.close()
    expect_pass(res, 'udp-blast')
    pattern = bytes(i & 0xff for i in range(BULK_SIZE))
    bad = sum(1 for d in got if d != pattern)
    check(len(got) == BULK_COUNT and not bad,
          f'host received {len(got)}/{BULK_COUNT} datagrams, {bad} corrupted', res)


def read_to_end(conn, got):
    """Append what a TCP peer sends to got until it closes; then close."""
    with conn:
        conn.settimeout(60)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got.extend(chunk)


def read_pcap(path):
    """The frames of a classic little-endian pcap file (filter-dump's)."""
    with open(path, 'rb') as f:
        data = f.read()
    check(len(data) >= 24 and data[:4] == b'\xd4\xc3\xb2\xa1', f'{path} is not a pcap file')
    frames, pos = [], 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from('<I', data, pos + 8)[0]
        frames.append(data[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return frames


def inet_sum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack(f'>{len(data) // 2}H', data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def tcp_segments_from(frames, src_ip):
    """(frame length, TCP flags, payload length, checksums ok) of every
    IPv4/TCP frame sent by src_ip."""
    out = []
    for f in frames:
        if len(f) < 54 or f[12:14] != b'\x08\x00' or f[23] != 6 or f[26:30] != src_ip:
            continue
        ihl = (f[14] & 0xf) * 4
        total = struct.unpack_from('>H', f, 16)[0]
        ip, tcp = f[14:14 + ihl], f[14 + ihl:14 + total]
        pseudo = f[26:34] + struct.pack('>BBH', 0, 6, len(tcp))
        ok = inet_sum(ip) == 0xffff and inet_sum(pseudo + tcp) == 0xffff
        out.append((len(f), tcp[13], len(tcp) - (tcp[12] >> 4) * 4, ok))
    return out


TSO_BYTES = 65536


@case('offload-tso', ('e1000',))
def t_offload_tso(ctx, nic):
    """64 KiB through the e1000's TCP segmentation offload to a host
    service (as 10.0.2.2): the host must get every byte, and the dump of
    the card's traffic must show MSS-sized segments with good checksums,
    cut by the card from one header template per burst."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    srv.settimeout(60)
    port = srv.getsockname()[1]
    got = bytearray()

    def serve():
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        read_to_end(conn, got)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with tempfile.TemporaryDirectory(prefix='kite-tso-') as tmp:
        dump = os.path.join(tmp, 'n0.pcap')
        try:
            res = ctx.run(['offload-tso', '10.0.2.2', str(port), str(TSO_BYTES)], nic=nic,
                          extra_args=['-object', f'filter-dump,id=d0,netdev=n0,file={dump}'])
            t.join(10)
        finally:
            srv.close()
        frames = read_pcap(dump) if os.path.exists(dump) else []
    expect_pass(res, 'offload-tso')
    check(re.match(rf'bytes={TSO_BYTES} bursts=\d+ ', res.detail), 'no byte count', res)
    want = bytes((i ^ (i >> 8) ^ (i >> 16)) & 0xff for i in range(TSO_BYTES))
    check(bytes(got) == want, f'host received {len(got)} bytes, not the {TSO_BYTES} sent'
          + (' (content differs)' if len(got) == TSO_BYTES else ''), res)
    segs = tcp_segments_from(frames, bytes([10, 0, 2, 15]))
    data_segs = [s for s in segs if s[2]]
    check(segs, 'the traffic dump holds no TCP frame from the guest', res)
    check(all(s[3] for s in segs), 'a TCP frame from the guest has a bad checksum', res)
    check(all(s[0] <= 1514 for s in segs), 'a frame longer than 1514 bytes left the card', res)
    check(sum(s[2] for s in data_segs) >= TSO_BYTES and
          len(data_segs) >= TSO_BYTES // 1460 + 1,
          f'{len(data_segs)} data segments do not carry {TSO_BYTES} bytes', res)
    # The card clears PSH on every segment of a burst but the last.
    bursts = int(re.search(r'bursts=(\d+)', res.detail).group(1))
    pushed = sum(1 for s in data_segs if s[1] & 0x08)
    check(pushed <= bursts < len(data_segs), f'{pushed} pushed segments for {bursts} bursts', res)


@case('offload-tso-refused', ('virtio', 'rtl8139'))
def t_offload_tso_refused(ctx, nic):
    # virtio-net offers the offloads only with a backend that carries the
    # virtio header (QEMU and kite drop them for -netdev user); other cards
    # have none the scenario knows.
    res = ctx.run(['offload-tso', '10.0.2.2', '9', '100'], nic=nic)
    if nic == 'virtio':
        expect_fail(res, 'offload-tso', r'virtio-net offers no TSO \(no VIRTIO_NET_F_HOST_TSO4')
        check(not any(line.startswith('virtio-net: offloads') for line in res.lines),
              'offloads negotiated over -netdev user', res)
    else:
        expect_fail(res, 'offload-tso',
                    r'needs an e1000 card or a virtio-net with TSO \(found rtl8139\)')


# ---- offload-tso on virtio-net behind a tap with vnet_hdr=on ----
#
# Inside private namespaces (run_namespaced): a bridge br0 (10.9.0.1/24,
# dnsmasq serving DHCP) joins a persistent tap, which the emulator opens
# with vnet_hdr=on, and one end of a veth pair whose other end sits in a
# named namespace with the receiver (10.9.0.2:5001, a Python socket). The
# bridge-side veth has checksumming, TSO and GSO off, so the kernel must
# cut the guest's GSO frames into MSS-sized segments and checksum them
# in software on the way to the receiver. tshark records both ends: the
# tap (the frames as the emulator handed them to the kernel) and the
# receiver's veth (the wire).

TAP_IF, VETH_BR, VETH_FAR = 'ktso0', 'ktso-br', 'ktso-far'
FAR_ADDR, FAR_PORT = '10.9.0.2', 5001
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO = 0x17, 0x1f, 0x24


def ethtool_off(ifname, *cmds):
    """ethtool -K IFNAME tx/tso/gso off, through the legacy ioctls (no
    ethtool(8) here)."""
    import ctypes
    import fcntl
    for cmd in cmds:
        val = ctypes.create_string_buffer(struct.pack('=II', cmd, 0))
        ifr = struct.pack('16sP16x', ifname.encode(), ctypes.addressof(val))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            fcntl.ioctl(s, SIOCETHTOOL, ifr)


def die_with_parent():
    """preexec_fn: SIGKILL when the inner script dies, so nothing it
    started outlives it (and holds the namespaces)."""
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def sh(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, f'{" ".join(cmd)} failed: {p.stderr.strip()}')
    return p.stdout


class Capture:
    """tshark writing a classic pcap of one interface (optionally in a
    named namespace), started and ready before the traffic."""

    def __init__(self, path, ifname, netns=None):
        self.path = path
        self.log = path + '.log'
        cmd = ['tshark', '-q', '-n', '-i', ifname, '-F', 'pcap', '-w', path]
        if netns:
            cmd = ['ip', 'netns', 'exec', netns] + cmd
        with open(self.log, 'wb') as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=die_with_parent)
        deadline = time.monotonic() + 30
        while 'Capturing on' not in self.messages():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise CaseFailure(f'tshark on {ifname} did not start: {self.messages()}')
            time.sleep(0.05)

    def messages(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: tshark flushes and exits
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def frames(self):
        return read_pcap(self.path) if os.path.exists(self.path) else []


def in_netns(ns, fn):
    """Runs fn in a thread that joined network namespace ns: the sockets
    it makes live there."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f'/run/netns/{ns}', os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET, this thread only
            raise OSError(ctypes.get_errno(), 'setns')
    finally:
        os.close(fd)
    return fn()


def tap_transfer(ctx, far, tmp, device):
    """One boot of offload-tso towards the receiver in namespace 'far'
    through the tap, with -device 'device'. Returns the result, the bytes
    received and the frames captured on the tap and at the receiver."""
    got, errors, caps = bytearray(), [], []

    def receive():
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((FAR_ADDR, FAR_PORT))
            srv.listen(1)
            srv.settimeout(90)
            conn, _ = srv.accept()
            read_to_end(conn, got)
        except OSError as e:
            errors.append(e)
        finally:
            srv.close()

    listening = threading.Thread(target=in_netns, args=(far, receive), daemon=True)
    listening.start()
    tag = device.split(',')[0]
    try:
        caps.append(Capture(os.path.join(tmp, f'tap-{tag}.pcap'), TAP_IF))
        caps.append(Capture(os.path.join(tmp, f'far-{tag}.pcap'), VETH_FAR, far))
        res = ctx.run(['offload-tso', FAR_ADDR, str(FAR_PORT), str(TSO_BYTES)], extra_args=[
            '-netdev', f'tap,id=n0,ifname={TAP_IF},vnet_hdr=on,script=no,downscript=no',
            '-device', f'{device},netdev=n0'])
        listening.join(10)
        # dumpcap hands over packets a block at a time (a block is
        # retired after at most 250 ms): give the last one time to land.
        time.sleep(1)
    finally:
        for c in caps:
            c.stop()
    check(not errors, f'receiver: {errors}', res)
    return res, bytes(got), caps[0].frames(), caps[1].frames()


def check_far_side(res, got, far_frames, guest_ip, mss):
    """What the receiver got: every byte, in MSS-sized segments with good
    checksums. Returns a summary."""
    want = bytes((i ^ (i >> 8) ^ (i >> 16)) & 0xff for i in range(TSO_BYTES))
    check(got == want, f'the receiver got {len(got)} bytes, not the {TSO_BYTES} sent'
          + (' (content differs)' if len(got) == TSO_BYTES else ''), res)
    check(any(re.search(r'bad checksums in 0$', line) for line in res.lines),
          'the guest saw frames with bad checksums', res)
    segs = tcp_segments_from(far_frames, guest_ip)
    data_segs = [s for s in segs if s[2]]
    check(segs, 'the receiver side capture holds no TCP frame from the guest', res)
    bad = [s for s in segs if not s[3]]
    check(not bad, f'{len(bad)} of {len(segs)} TCP frames from the guest have a bad checksum',
          res)
    check(all(s[0] <= 1514 and s[2] <= mss for s in segs),
          f'a frame longer than one segment reached the receiver: '
          f'{max(s[0] for s in segs)} bytes', res)
    full = sum(1 for s in data_segs if s[2] == mss)
    check(sum(s[2] for s in data_segs) >= TSO_BYTES and full >= TSO_BYTES // mss,
          f'{len(data_segs)} data segments ({full} of {mss} bytes) do not carry '
          f'{TSO_BYTES} bytes', res)
    sizes = {}
    for s in data_segs:
        sizes[s[2]] = sizes.get(s[2], 0) + 1
    return (f'receiver: {len(data_segs)} data segments, payload sizes '
            f'{dict(sorted(sizes.items()))}, all checksums good')


def lease_ip(res):
    m = re.search(r'^dhcp: lease of (\d+\.\d+\.\d+\.\d+) ', res.output, re.M)
    check(m, 'no DHCP lease line', res)
    return socket.inet_aton(m.group(1))


def offload_tso_tap_inner(ctx, nic):
    for tool in ('tshark', 'dnsmasq', 'ip'):
        if not shutil.which(tool):
            raise Skip(f'needs {tool}')
    if not os.path.exists('/dev/net/tun'):
        raise Skip('needs /dev/net/tun')
    far = f'ktso-far-{os.getpid()}'
    procs = []
    tmp = tempfile.TemporaryDirectory(prefix='kite-tso-tap-')
    try:
        # Named namespaces on a tmpfs of this mount namespace: even a
        # killed run leaves no stale /run/netns entry on the host.
        os.makedirs('/run/netns', exist_ok=True)
        sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'kite-netns', '/run/netns')
        sh('ip', 'netns', 'add', far)
        sh('ip', 'link', 'set', 'lo', 'up')
        sh('ip', 'link', 'add', 'br0', 'type', 'bridge')
        sh('ip', 'addr', 'add', '10.9.0.1/24', 'dev', 'br0')
        sh('ip', 'link', 'set', 'br0', 'up')
        # Persistent, so the captures can start before the emulator.
        sh('ip', 'tuntap', 'add', 'dev', TAP_IF, 'mode', 'tap')
        sh('ip', 'link', 'set', TAP_IF, 'master', 'br0', 'up')
        sh('ip', 'link', 'add', VETH_BR, 'type', 'veth', 'peer', 'name', VETH_FAR)
        sh('ip', 'link', 'set', VETH_FAR, 'netns', far)
        sh('ip', 'link', 'set', VETH_BR, 'master', 'br0', 'up')
        ethtool_off(VETH_BR, ETHTOOL_SGSO, ETHTOOL_STSO, ETHTOOL_STXCSUM)
        sh('ip', '-n', far, 'addr', 'add', f'{FAR_ADDR}/24', 'dev', VETH_FAR)
        sh('ip', '-n', far, 'link', 'set', VETH_FAR, 'up')
        sh('ip', '-n', far, 'link', 'set', 'lo', 'up')
        procs.append(subprocess.Popen(
            ['dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--interface=br0',
             '--bind-interfaces', '--port=0', '--leasefile-ro',
             '--dhcp-range=10.9.0.50,10.9.0.99', '--pid-file='],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent))

        # 1. virtio-net: GSO frames through the vnet header.
        res, got, tap_frames, far_frames = tap_transfer(ctx, far, tmp.name, 'virtio-net-pci')
        expect_pass(res, 'offload-tso')
        check('virtio-net: offloads csum host_tso4 guest_csum' in res.lines,
              'the device did not grant csum, host_tso4 and guest_csum', res)
        # GUEST_CSUM reached the tap (TUNSETOFFLOAD): the receiver's ACKs,
        # checksummed by nobody on the way, came flagged NEEDS_CSUM.
        check(any(line.startswith('virtio-net: NEEDS_CSUM frame') for line in res.lines),
              'no received frame was flagged NEEDS_CSUM', res)
        m = re.match(rf'bytes={TSO_BYTES} bursts=(\d+) retransmits=(\d+) mss=(\d+) .*'
                     r'card=virtio-net max_burst=(\d+) gso_frames=(\d+)$', res.detail)
        check(m, 'unexpected PASS detail', res)
        mss, max_burst, gso_frames = (int(m.group(i)) for i in (3, 4, 5))
        check(gso_frames >= 1 and max_burst > mss, 'no GSO frame was sent', res)
        guest_ip = lease_ip(res)
        # At the tap: the GSO frames whole, as the emulator handed them over.
        big = [len(f) for f in tap_frames if len(f) > 1514 and f[26:30] == guest_ip]
        check(big and max(big) == 14 + 20 + 20 + max_burst,
              f'GSO frames on the tap: {big}, expected one of {14 + 40 + max_burst} bytes', res)
        far_summary = check_far_side(res, got, far_frames, guest_ip, mss)
        print(f'  virtio: {res.detail}')
        print(f'  virtio: tap: GSO frames of {sorted(set(big))} bytes; {far_summary}')

        # 2. e1000 on the same (persistent) tap, whose offloads the
        # virtio run turned on: the emulator must turn them off again, or
        # the kernel hands it partial checksums the e1000 cannot flag.
        res, got, tap_frames, far_frames = tap_transfer(ctx, far, tmp.name, 'e1000')
        expect_pass(res, 'offload-tso')
        guest_ip = lease_ip(res)
        m = re.search(r' mss=(\d+) ', res.detail)
        check(m, 'no MSS in the PASS detail', res)
        check(all(len(f) <= 1514 for f in tap_frames), 'the e1000 sent a frame over 1514', res)
        far_summary = check_far_side(res, got, far_frames, guest_ip, int(m.group(1)))
        print(f'  e1000: {res.detail}')
        print(f'  e1000: {far_summary}')
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        subprocess.run(['ip', 'netns', 'del', far], capture_output=True)
        for dev in ('br0', TAP_IF, VETH_BR):
            subprocess.run(['ip', 'link', 'del', dev], capture_output=True)
        tmp.cleanup()


NETNS_INNER['offload-tso-tap'] = offload_tso_tap_inner


@case('offload-tso-tap', ('virtio',))
def t_offload_tso_tap(ctx, nic):
    """64 KiB through virtio-net's TSO (VIRTIO_NET_F_HOST_TSO4) behind a
    tap with vnet_hdr=on, to a receiver the kernel forwards to."""
    run_namespaced(ctx, f'offload-tso-tap-{nic}')


@case('link-watch', CARRIER_NICS)
def t_link_watch(ctx, nic):
    with ctx.start(['link-watch', '60', '2'], nic=nic, monitor=True) as run:
        run.wait_for(r'^LINK-READY up$')
        run.hmp('set_link n0 off')
        run.wait_for(r'^LINK down$', timeout=20)
        run.hmp('set_link n0 on')
        run.wait_for(r'^LINK up$', timeout=20)
        res = run.result()
    expect_pass(res, 'link-watch')
    check(res.detail == 'changes=2 link=up', 'unexpected link history', res)


# ---- PCI hotplug (ACPI, PIIX4 register interface) ----

HOTPLUG_TIMEOUT = 30  # the guest's bound on each wait for the host, seconds
# What an HMP command prints when it did not do what it was told.
HMP_ERROR_RE = re.compile(r'error|failed|not found|unknown command|invalid', re.I)


def hmp_ok(run, command):
    out = run.hmp(command)
    check(not HMP_ERROR_RE.search(out), f'monitor command {command!r} failed: {out.strip()}')
    return out


def info_pci_device_ids(text):
    """{(bus, dev, fn): qdev id} from the monitor's info pci."""
    ids, cur = {}, None
    for line in text.splitlines():
        m = re.match(r'^\s*Bus\s+(\d+), device\s+(\d+), function (\d+):', line)
        if m:
            cur = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            continue
        m = re.match(r'^\s*id "(.*)"', line)
        if m and cur:
            ids[cur] = m.group(1)
    return ids


def hotplug_cycles(ctx, nics):
    """Boots without a card; per cycle: netdev_add + device_add, the guest
    brings the card up (DHCP, ping), device_del, the guest ejects it. The
    host's view is checked at each step: the card where the guest found
    it with the BARs the guest gave it, gone after the eject, its netdev
    removable."""
    for nic in nics:
        if harness.NIC_DEVICES[nic] not in ctx.listed:
            raise Skip(f'{ctx.emu} does not implement -device {harness.NIC_DEVICES[nic]}')
    cycles = len(nics)
    with ctx.start(['hotplug', str(HOTPLUG_TIMEOUT), str(cycles)], monitor=True) as run:
        slots = []
        try:
            run.wait_for(r'^HOTPLUG-READY ')
            for cycle, nic in enumerate(nics, 1):
                hmp_ok(run, 'netdev_add user,id=hp0')
                hmp_ok(run, f'device_add {harness.NIC_DEVICES[nic]},netdev=hp0,id=hpnic')
                up = run.wait_for(rf'^HOTPLUG-UP cycle={cycle} slot=(\d+) model=(\S+) ip=(\S+) ',
                                  timeout=HOTPLUG_TIMEOUT + 30)
                slot, model, ip = int(up.group(1)), up.group(2), up.group(3)
                check(model == NIC_MODEL[nic][0],
                      f'cycle {cycle}: the guest drove {model}, not {NIC_MODEL[nic][0]}')
                check(ip == '10.0.2.15', f'cycle {cycle}: the guest got {ip}, not 10.0.2.15')
                info = run.hmp('info pci')
                where = [a for a, i in info_pci_device_ids(info).items() if i == 'hpnic']
                check(where == [(0, slot, 0)],
                      f'cycle {cycle}: the monitor has hpnic at {where}, the guest found it in '
                      f'slot {slot}:\n{info}')
                host = parse_info_pci(info)[(0, slot, 0)]
                guest = parse_guest_pci(run.lines)[(0, slot, 0)]  # the latest line wins
                check(host[0] in NIC_MODEL[nic][1] and guest == host,
                      f'cycle {cycle}: slot {slot}: guest sees {guest}, monitor {host}')

                hmp_ok(run, 'device_del hpnic')
                run.wait_for(rf'^HOTPLUG-DOWN cycle={cycle} slot={slot} ',
                             timeout=HOTPLUG_TIMEOUT + 10)
                # The eject removed the device: the monitor must agree.
                deadline = time.monotonic() + 5
                while True:
                    info = run.hmp('info pci')
                    ids = info_pci_device_ids(info)
                    if (0, slot, 0) not in ids and 'hpnic' not in ids.values():
                        break
                    check(time.monotonic() < deadline,
                          f'cycle {cycle}: slot {slot} ejected, but the monitor still lists '
                          f'it:\n{info}')
                    time.sleep(0.2)
                hmp_ok(run, 'netdev_del hp0')
                slots.append(slot)
            run.wait_for(r'^HOTPLUG-HOLD$')
            run.send_serial('\n')
        except (harness.HarnessError, CaseFailure) as e:
            raise CaseFailure(f'{e}\n{run.result(timeout=5).describe()}') from None
        res = run.result()
    expect_pass(res, 'hotplug')
    check(res.detail == f'cycles={cycles} slots={",".join(map(str, slots))}',
          'unexpected cycle count or slots', res)


@case('hotplug', ALL_NICS)
def t_hotplug(ctx, nic):
    hotplug_cycles(ctx, [nic])


@case('hotplug-mixed', kvm=(None,))
def t_hotplug_mixed(ctx, nic):
    # Two cards one after the other through the same slot and netdev id.
    hotplug_cycles(ctx, ['e1000', 'virtio'])


@case('hotplug-eject-fixed')
def t_hotplug_eject_fixed(ctx, nic):
    # B0EJ for slots 0 and 1 (host bridge, PIIX3: not hot-pluggable), the
    # first empty slot, slot 31 and no slot at all must change nothing.
    res = ctx.run(['hotplug-eject-fixed'])
    expect_pass(res, 'hotplug-eject-fixed')
    check(re.match(r'slots=0,1,\d+,31,none functions=\d+ rmv=0x[0-9a-f]{8}$', res.detail),
          'unexpected detail', res)


def selected_cases(emulator, run_all):
    for cid, fn, nic, in_kvm in CASES:
        if emulator == 'qemu-kvm' and not run_all and not in_kvm:
            continue
        yield cid, fn, nic


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--emulator', choices=harness.EMULATORS, default='qemu-tcg')
    ap.add_argument('--kite', help='path of the kite binary (with --emulator kite)')
    ap.add_argument('--qemu', help='path of qemu-system-x86_64')
    ap.add_argument('--guest', help='path of guest.elf')
    ap.add_argument('--list', action='store_true', help='print the case names and exit')
    ap.add_argument('--all', action='store_true', help='under qemu-kvm, run every case')
    ap.add_argument('--netns-inner', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('cases', nargs='*')
    args = ap.parse_args()

    selected = list(selected_cases(args.emulator, args.all))
    if args.list:
        for cid, _, _ in selected:
            print(cid)
        return 0
    if not args.guest:
        ap.error('--guest is required')
    if args.netns_inner:
        # The inside of a case that runs in private namespaces.
        selected = []
        for c in args.cases:
            base, _, nic = c.rpartition('-')
            if base not in NETNS_INNER:
                ap.error(f'unknown namespaced case {c!r}')
            selected.append((c, NETNS_INNER[base], nic))
    elif args.cases:
        known = {cid: (cid, fn, nic) for cid, fn, nic, _ in CASES}
        unknown = [c for c in args.cases if c not in known]
        if unknown:
            ap.error(f'unknown case(s): {", ".join(unknown)}')
        selected = [known[c] for c in args.cases]
    if args.emulator == 'kite':
        if not args.kite:
            ap.error('--emulator kite needs --kite PATH')
        binary = args.kite
    else:
        binary = args.qemu or 'qemu-system-x86_64'
    if args.emulator in ('qemu-kvm', 'kite') and not harness.kvm_usable():
        print('SKIP: /dev/kvm is not usable')
        return SKIP
    emu = harness.Emulator(args.emulator, binary)
    ctx = Ctx(emu, os.path.abspath(args.guest))

    # A NIC model the emulator does not list in `-device help` makes its
    # cases SKIP with the reason, so a missing model shows in the summary
    # instead of as a wall of failures or as nothing at all.
    models = subprocess.run([binary, '-device', 'help'], capture_output=True, text=True)
    listed = set(re.findall(r'^name "([^"]+)"', models.stdout + models.stderr, re.M))
    ctx.listed = listed

    passed = failed = skipped = 0
    for cid, fn, nic in selected:
        t0 = time.monotonic()
        try:
            if nic and harness.NIC_DEVICES.get(nic) not in listed:
                raise Skip(f'{emu} does not implement -device {harness.NIC_DEVICES.get(nic)}')
            fn(ctx, nic)
        except Skip as e:
            skipped += 1
            print(f'case {cid} [{emu}]: SKIP ({e})')
            continue
        except (CaseFailure, harness.HarnessError, OSError) as e:
            failed += 1
            print(f'case {cid} [{emu}]: FAIL ({time.monotonic() - t0:.1f} s)\n{e}')
            continue
        passed += 1
        print(f'case {cid} [{emu}]: PASS ({time.monotonic() - t0:.1f} s)')
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    if failed:
        return 1
    return SKIP if skipped and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
