# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared machinery of the NIC model tests (suite 'nic'), stdlib only.

A test starts kite (and, as the reference, QEMU 7.2) with
`-accel qtest -qtest unix:PATH` and drives the NIC's registers and guest
memory through the qtest line protocol, frames through a UDP socket
backend, and the monitor through QMP.

Environment: KITE (binary), QEMU (qemu-system-x86_64; empty or missing
means the cross-checks against QEMU are skipped and say so).
"""
import base64
import struct
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

KITE = os.environ.get('KITE', 'kite')
QEMU = os.environ.get('QEMU', shutil.which('qemu-system-x86_64') or '')

RAM = 64 << 20
MMIO_BASE = 0xe0000000  # where the tests map BARs (as the test guest does)
IO_BASE = 0xc000
PIRQ_GSI = [10, 10, 11, 11]  # kite's fixed PIIX routing; set the same in QEMU


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure(f'{what}: got {fmt(got)}, want {fmt(want)}')


def fmt(v):
    return hex(v) if isinstance(v, int) else repr(v)


def have_qemu():
    return bool(QEMU) and os.access(QEMU, os.X_OK)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class QTest:
    """qtest line protocol; 'IRQ raise/lower N' lines are kept apart."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.irq = {}
        self.log = []

    def _line(self):
        while b'\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise TestFailure('qtest connection closed (emulator died?)')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode()

    def cmd(self, text):
        self.sock.sendall(text.encode() + b'\n')
        while True:
            line = self._line()
            if line.startswith('IRQ '):
                _, what, n = line.split()
                self.irq[int(n)] = what == 'raise'
                continue
            if not line.startswith('OK'):
                raise TestFailure(f'qtest {text!r}: {line}')
            return line[2:].strip()

    def irq_level(self, gsi):
        return self.irq.get(gsi, False)

    def outb(self, a, v): self.cmd(f'outb {a:#x} {v:#x}')
    def outw(self, a, v): self.cmd(f'outw {a:#x} {v:#x}')
    def outl(self, a, v): self.cmd(f'outl {a:#x} {v:#x}')
    def inb(self, a): return int(self.cmd(f'inb {a:#x}'), 16)
    def inw(self, a): return int(self.cmd(f'inw {a:#x}'), 16)
    def inl(self, a): return int(self.cmd(f'inl {a:#x}'), 16)
    def writeb(self, a, v): self.cmd(f'writeb {a:#x} {v:#x}')
    def writew(self, a, v): self.cmd(f'writew {a:#x} {v:#x}')
    def writel(self, a, v): self.cmd(f'writel {a:#x} {v:#x}')
    def writeq(self, a, v): self.cmd(f'writeq {a:#x} {v:#x}')
    def readb(self, a): return int(self.cmd(f'readb {a:#x}'), 16)
    def readw(self, a): return int(self.cmd(f'readw {a:#x}'), 16)
    def readl(self, a): return int(self.cmd(f'readl {a:#x}'), 16)
    def readq(self, a): return int(self.cmd(f'readq {a:#x}'), 16)

    def memwrite(self, a, data):
        data = bytes(data)
        if data:
            self.cmd(f'b64write {a:#x} {len(data):#x} {base64.b64encode(data).decode()}')

    def memread(self, a, n):
        return base64.b64decode(self.cmd(f'b64read {a:#x} {n:#x}'))

    def memset(self, a, n, v=0):
        self.cmd(f'memset {a:#x} {n:#x} {v:#x}')

    def clock_step(self, ns):
        return int(self.cmd(f'clock_step {ns}'))


class QMP:
    def __init__(self, path, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.02)
        self.file = self.sock.makefile('rwb')
        self.events = []
        self._read()
        self.cmd('qmp_capabilities')

    def _read(self):
        line = self.file.readline()
        if not line:
            raise TestFailure('QMP connection closed')
        return json.loads(line)

    def cmd(self, name, args=None):
        msg = {'execute': name}
        if args is not None:
            msg['arguments'] = args
        self.file.write(json.dumps(msg).encode() + b'\n')
        self.file.flush()
        while True:
            r = self._read()
            if 'event' in r:
                self.events.append(r)
                continue
            if 'error' in r:
                raise TestFailure(f'QMP {name}: {r["error"]}')
            return r['return']

    def hmp(self, line):
        return self.cmd('human-monitor-command', {'command-line': line})


class Machine:
    """One emulator under qtest: kind is 'kite' or 'qemu'."""

    def __init__(self, kind, args, ram_mb=64):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix=f'kite-nic-{kind}-')
        qpath = os.path.join(self.dir, 'qtest.sock')
        mpath = os.path.join(self.dir, 'qmp.sock')
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(qpath)
        lsock.listen(1)
        if kind == 'kite':
            binary, accel = KITE, ['-accel', 'qtest']
        else:
            # Debian's QEMU has no qtest accelerator: run TCG with a BIOS
            # that only halts, so no firmware touches the devices and the
            # VM counts as running (QEMU holds network input while paused).
            binary, accel = QEMU, ['-accel', 'tcg', '-bios', self._halt_bios()]
        cmd = [binary, '-machine', 'pc', *accel, '-qtest', f'unix:{qpath}',
               '-display', 'none', '-nodefaults', '-m', str(ram_mb),
               '-qmp', f'unix:{mpath},server=on,wait=off', *args]
        self.stderr_path = os.path.join(self.dir, 'stderr')
        self.errf = open(self.stderr_path, 'w')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=self.errf)
        lsock.settimeout(20)
        try:
            conn, _ = lsock.accept()
        except socket.timeout:
            self.proc.kill()
            raise TestFailure(f'{kind} did not connect to qtest: {self.stderr()}')
        finally:
            lsock.close()
        conn.settimeout(30)
        self.qt = QTest(conn)
        self.qmp = QMP(mpath)
        self.intercepting = False
        self.next_mmio, self.next_io = MMIO_BASE, IO_BASE

    def _halt_bios(self):
        path = os.path.join(self.dir, 'halt.bin')
        image = bytearray(64 * 1024)
        image[0xfff0:0xfff4] = b'\xfa\xf4\xeb\xfd'  # cli; hlt; jmp $-3
        with open(path, 'wb') as f:
            f.write(image)
        return path

    def stderr(self):
        self.errf.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        try:
            self.qmp.cmd('quit')
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.errf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- PCI configuration space (mechanism #1) ----
    def cfg_read(self, devfn, off, size=4):
        self.qt.outl(0xcf8, 0x80000000 | devfn << 8 | (off & 0xfc))
        if size == 4:
            return self.qt.inl(0xcfc)
        if size == 2:
            return self.qt.inw(0xcfc + (off & 2))
        return self.qt.inb(0xcfc + (off & 3))

    def cfg_write(self, devfn, off, val, size=4):
        self.qt.outl(0xcf8, 0x80000000 | devfn << 8 | (off & 0xfc))
        if size == 4:
            self.qt.outl(0xcfc, val)
        elif size == 2:
            self.qt.outw(0xcfc + (off & 2), val)
        else:
            self.qt.outb(0xcfc + (off & 3), val)

    def find(self, vendor, device, nth=0):
        for slot in range(32):
            v = self.cfg_read(slot << 3, 0)
            if v == (device << 16 | vendor):
                if nth == 0:
                    return slot << 3
                nth -= 1
        raise TestFailure(f'{self.kind}: no PCI device {vendor:04x}:{device:04x}')

    def bar_sizes(self, devfn):
        """[(kind, size)] per BAR index as the sizing protocol reports."""
        out = []
        i = 0
        while i < 6:
            off = 0x10 + 4 * i
            orig = self.cfg_read(devfn, off)
            self.cfg_write(devfn, off, 0xffffffff)
            v = self.cfg_read(devfn, off)
            self.cfg_write(devfn, off, orig)
            if v == 0:
                out.append(None)
                i += 1
                continue
            if v & 1:
                out.append(('io', (~(v & ~3) & 0xffff) + 1, 0))
                i += 1
                continue
            kind = 'mem64' if (v >> 1) & 3 == 2 else 'mem'
            pf = (v >> 3) & 1
            size = (~(v & ~0xf) & 0xffffffff) + 1
            out.append((kind, size, pf))
            if kind == 'mem64':
                out.append(None)
                i += 1
            i += 1
        return out

    def setup_pci(self, devfn):
        """Place the BARs (QEMU under qtest has no firmware to do it), enable
        decoding and bus mastering, route INTx like kite. Returns
        {bar: (kind, addr, size)} and sets self.gsi. Each call places the
        BARs after those of the previous one."""
        bars = {}
        mm, io = self.next_mmio, self.next_io
        for i, b in enumerate(self.bar_sizes(devfn)):
            if b is None:
                continue
            kind, size, _ = b
            off = 0x10 + 4 * i
            if kind == 'io':
                io = (io + size - 1) & ~(size - 1)
                self.cfg_write(devfn, off, io)
                bars[i] = ('io', io, size)
                io += size
            else:
                mm = (mm + size - 1) & ~(size - 1)
                self.cfg_write(devfn, off, mm)
                if kind == 'mem64':
                    self.cfg_write(devfn, off + 4, 0)
                bars[i] = (kind, mm, size)
                mm += size
        self.next_mmio, self.next_io = mm, io
        self.cfg_write(devfn, 0x04, 0x0007, 2)
        # PIIX3 PIRQ routing (kite's is fixed and ignores this write)
        self.cfg_write(0x08, 0x60, 0x0b0b0a0a)
        pin = self.cfg_read(devfn, 0x3d, 1)
        self.gsi = PIRQ_GSI[(pin - 1 + (devfn >> 3) - 1) & 3] if pin else None
        if not self.intercepting:
            self.qt.cmd('irq_intercept_in ioapic')
            self.intercepting = True
        return bars

    def net_stats(self, name):
        """kite's per-client counters (QEMU has none: returns None)."""
        if self.kind != 'kite':
            return None
        for c in self.qmp.cmd('query-kite-net-stats'):
            if c.get('name') == name:
                return c
        raise TestFailure(f'no net client {name} in query-kite-net-stats')


class Wire:
    """The far end of a '-netdev socket,udp=' backend: a UDP socket."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.nic_port = free_udp_port()
        self.sock.settimeout(5)

    def netdev(self, id='n0'):
        return (f'socket,id={id},udp=127.0.0.1:{self.port},'
                f'localaddr=127.0.0.1:{self.nic_port}')

    def send(self, frame):
        self.sock.sendto(bytes(frame), ('127.0.0.1', self.nic_port))

    def recv(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(70000)
        except socket.timeout:
            return None

    def drain(self):
        out = []
        while True:
            f = self.recv(0.2)
            if f is None:
                return out
            out.append(f)

    def close(self):
        self.sock.close()


def emulators():
    """The emulators a cross-check runs on: kite always, QEMU when present."""
    return ['kite', 'qemu'] if have_qemu() else ['kite']


def frame(dst, src, payload=b'', ethertype=0x88b5):
    """An Ethernet frame (local experimental ethertype by default)."""
    return bytes(dst) + bytes(src) + ethertype.to_bytes(2, 'big') + bytes(payload)


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(':'))


def wait_until(fn, timeout=5, what='condition'):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure(f'timed out waiting for {what}')
        time.sleep(0.01)


def main(tests):
    """Run test functions (argv selects by name); print ok/FAIL/SKIP lines."""
    names = sys.argv[1:] or list(tests)
    failed = 0
    for name in names:
        try:
            r = tests[name]()
            print(f'ok {name}' + (f' ({r})' if r else ''), flush=True)
        except Exception as e:  # every failure is reported, then exit non-zero
            failed += 1
            print(f'FAIL {name}: {type(e).__name__}: {e}', flush=True)
    sys.exit(1 if failed else 0)


def fuzz_seed():
    seed = int(os.environ.get('NIC_FUZZ_SEED', '0')) or random.randrange(1, 1 << 30)
    return seed


# ---- packets for the offload tests ----

def csum(data, start=0):
    """Internet checksum (not inverted sum folded to 16 bits)."""
    if len(data) % 2:
        data = bytes(data) + b'\0'
    s = start
    for i in range(0, len(data), 2):
        s += data[i] << 8 | data[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def ipv4(src, dst, proto, payload, ident=0x1234, ttl=64, flags=0x4000):
    hdr = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, flags,
                                ttl, proto, 0, bytes(src), bytes(dst)))
    return bytes(hdr), payload


def l4_pseudo(src, dst, proto, length):
    return csum(bytes(src) + bytes(dst) + struct.pack('!BBH', 0, proto, length))


def udp_packet(src, dst, sport, dport, data, fill_csum=False):
    hdr = struct.pack('!HHHH', sport, dport, 8 + len(data), 0)
    seg = hdr + bytes(data)
    if fill_csum:
        c = (~csum(seg, l4_pseudo(src, dst, 17, len(seg)))) & 0xffff
        seg = seg[:6] + struct.pack('!H', c or 0xffff) + seg[8:]
    ip, _ = ipv4(src, dst, 17, seg)
    return ip, seg


def tcp_segment(sport, dport, seq, ack, flags, data, window=0xffff, csum_field=0):
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, window,
                       csum_field, 0) + bytes(data)


def check_ipv4_frame(f, what):
    """Verify the IPv4 header checksum and the TCP/UDP checksum of frame f
    (Ethernet, optionally VLAN tagged); returns (ip header, l4 bytes)."""
    l3 = 18 if f[12:14] == b'\x81\x00' else 14
    check(f[l3 + (l3 - 14) * 0 - 2:l3] in (b'\x08\x00',), f'{what}: not IPv4')
    ihl = (f[l3] & 0xf) * 4
    ip = f[l3:l3 + ihl]
    check_eq(csum(ip), 0xffff, f'{what}: IPv4 header checksum')
    tot = struct.unpack('!H', ip[2:4])[0]
    l4 = f[l3 + ihl:l3 + tot]
    proto = ip[9]
    if proto in (6, 17):
        check_eq(csum(l4, l4_pseudo(ip[12:16], ip[16:20], proto, len(l4))), 0xffff,
                 f'{what}: {"TCP" if proto == 6 else "UDP"} checksum')
    return ip, l4
