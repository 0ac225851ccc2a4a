#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The e1000's transmit offloads: TCP segmentation (TSO) and checksum
insertion through context and data descriptors.

Descriptors: the card is driven register by register under qtest (no vCPU)
with a UDP socket backend as its wire. Every frame is checked against what
the offload must produce, computed here from the template (standard IPv4
and TCP rules, not the card's arithmetic), and, when QEMU is given, against
what QEMU's e1000 sends for the same descriptors. Bad offsets (HDRLEN,
IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE, MSS 0, legacy CSO) must cost exactly
one tx-dropped each, send nothing, and leave the card working.

Guest: the test guest's offload-tso scenario (64 KiB to a host TCP server
as 10.0.2.2 through TSO) on kite, its traffic dumped with filter-dump and
read by tshark: frames of at most 1514 bytes, good IPv4 and TCP checksums,
sequence numbers without holes, PSH only at the end of the stream.

    test_e1000_offload.py --kite KITE [--qemu QEMU] [--guest GUEST_ELF]

Without --guest, or without a usable /dev/kvm or tshark, the guest test
is skipped (and says why); the descriptor tests need neither.
"""

import argparse
import base64
import json
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
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'guest'))
import harness  # noqa: E402

ARGS = None

# ---------------------------------------------------------------- checksums


def inet_sum(data, start=0):
    """One's complement sum of 16-bit big-endian words, folded, not inverted."""
    if len(data) % 2:
        data = bytes(data) + b'\0'
    s = start + sum(struct.unpack(f'>{len(data) // 2}H', data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def inet_csum(data, start=0):
    return ~inet_sum(data, start) & 0xffff


def pseudo_sum(src, dst, proto, length):
    return inet_sum(src + dst + struct.pack('>BBH', 0, proto, length))


# ---------------------------------------------------------------- frames

GUEST_MAC = bytes.fromhex('525400123456')
PEER_MAC = bytes.fromhex('525400abcdef')
SRC_IP, DST_IP = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
ETH, IPV4, TCP, UDP = 14, 20, 20, 8
FLAG_FIN, FLAG_PSH, FLAG_ACK = 0x01, 0x08, 0x10


def eth_ipv4(proto, l4, ip_id=0x1234, csum=0):
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, IPV4 + len(l4), ip_id, 0x4000, 64, proto,
                     csum, SRC_IP, DST_IP)
    return PEER_MAC + GUEST_MAC + b'\x08\x00' + ip + l4


def tcp_hdr(seq, flags, csum=0, sport=40000, dport=5001):
    return struct.pack('>HHIIBBHHH', sport, dport, seq, 0x11223344, TCP // 4 << 4, flags,
                       0xffff, csum, 0)


def with_good_csums(frame):
    """frame (Ethernet + IPv4 + TCP/UDP) with both checksums right."""
    f = bytearray(frame)
    ihl = (f[ETH] & 0xf) * 4
    total = struct.unpack_from('>H', f, ETH + 2)[0]
    proto, l4 = f[ETH + 9], ETH + ihl
    coff = l4 + (16 if proto == 6 else 6)
    f[ETH + 10:ETH + 12] = b'\0\0'
    f[coff:coff + 2] = b'\0\0'
    struct.pack_into('>H', f, coff, inet_csum(
        f[l4:ETH + total], pseudo_sum(SRC_IP, DST_IP, proto, total - ihl)))
    struct.pack_into('>H', f, ETH + 10, inet_csum(f[ETH:l4]))
    return bytes(f)


def expected_tso(template, payload, mss):
    """What segmentation must put on the wire for an Ethernet + IPv4 + TCP
    template: MSS-sized pieces, IP id +1 each, sequence numbers following
    the data, FIN/PSH only on the last, all checksums good."""
    ip_id = struct.unpack_from('>H', template, ETH + 4)[0]
    seq = struct.unpack_from('>I', template, ETH + IPV4 + 4)[0]
    flags = template[ETH + IPV4 + 13]
    out = []
    for i, off in enumerate(range(0, len(payload), mss)):
        piece = payload[off:off + mss]
        last = off + len(piece) == len(payload)
        f = bytearray(template + piece)
        struct.pack_into('>HH', f, ETH + 2, IPV4 + TCP + len(piece), (ip_id + i) & 0xffff)
        struct.pack_into('>I', f, ETH + IPV4 + 4, (seq + off) & 0xffffffff)
        f[ETH + IPV4 + 13] = flags if last else flags & ~(FLAG_FIN | FLAG_PSH)
        out.append(with_good_csums(f))
    return out


def tso_template(seq, flags, ip_id=0x0100):
    """Header as a TSO driver leaves it: IP checksum 0, TCP checksum the
    pseudo-header sum without a length."""
    t = bytearray(eth_ipv4(6, tcp_hdr(seq, flags), ip_id))
    struct.pack_into('>H', t, ETH + IPV4 + 16, pseudo_sum(SRC_IP, DST_IP, 6, 0))
    return bytes(t)


def csum_frame(payload, seq=1000, flags=FLAG_ACK | FLAG_PSH):
    """A frame for checksum offload: IP checksum 0, TCP checksum the
    pseudo-header sum with the TCP length."""
    f = bytearray(eth_ipv4(6, tcp_hdr(seq, flags) + payload))
    struct.pack_into('>H', f, ETH + IPV4 + 16,
                     pseudo_sum(SRC_IP, DST_IP, 6, TCP + len(payload)))
    return bytes(f)


def pattern(n, salt=0):
    return bytes((i * 7 + salt + (i >> 8)) & 0xff for i in range(n))


# ---------------------------------------------------------------- descriptors

DTYP_CTX, DTYP_DATA = 0 << 20, 1 << 20
TUCMD_TCP, TUCMD_IP, TUCMD_TSE, TUCMD_RS, TUCMD_DEXT = 0x01, 0x02, 0x04, 0x08, 0x20
DCMD_EOP, DCMD_IFCS, DCMD_TSE, DCMD_RS, DCMD_DEXT = 0x01, 0x02, 0x04, 0x08, 0x20
LEGACY_IC = 0x04
POPTS_IXSM, POPTS_TXSM = 0x01, 0x02


def ctx_desc(ipcss=ETH, ipcso=ETH + 10, ipcse=ETH + IPV4 - 1, tucss=ETH + IPV4,
             tucso=ETH + IPV4 + 16, tucse=0, paylen=0, tucmd=TUCMD_TCP | TUCMD_IP,
             hdrlen=0, mss=0):
    return struct.pack('<BBHBBHIBBH', ipcss, ipcso, ipcse, tucss, tucso, tucse,
                       (paylen & 0xfffff) | DTYP_CTX | (tucmd | TUCMD_DEXT | TUCMD_RS) << 24,
                       0, hdrlen, mss)


def data_desc(addr, length, dcmd, popts):
    return struct.pack('<QIBBH', addr, length | DTYP_DATA | (dcmd | DCMD_DEXT | DCMD_RS) << 24,
                       0, popts, 0)


def legacy_desc(addr, length, cmd=DCMD_EOP | DCMD_IFCS | DCMD_RS, cso=0, css=0):
    return struct.pack('<QHBBBBH', addr, length, cso, cmd, 0, css, 0)


# ---------------------------------------------------------------- qtest machine

RAM_MB = 64
BAR0 = 0xe0000000
RING, RING_LEN = 0x100000, 64  # descriptors
BUFS = 0x200000
TDBAL, TDBAH, TDLEN, TDH, TDT, TCTL = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818, 0x0400


class Failure(Exception):
    pass


class Machine:
    """kite (-accel qtest) or QEMU (TCG with a BIOS that only halts, as
    Debian's QEMU has no qtest accelerator) with one e1000 on a UDP wire."""

    def __init__(self, kind, binary):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix=f'kite-e1000-{kind}-')
        self.wire = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.wire.bind(('127.0.0.1', 0))
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(('127.0.0.1', 0))
        nic_port = probe.getsockname()[1]
        probe.close()
        qpath, mpath = os.path.join(self.dir, 'qtest'), os.path.join(self.dir, 'qmp')
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(qpath)
        listener.listen(1)
        if kind == 'kite':
            accel = ['-accel', 'qtest']
        else:
            bios = os.path.join(self.dir, 'halt.bin')
            image = bytearray(64 << 10)
            image[0xfff0:0xfff4] = b'\xfa\xf4\xeb\xfd'  # cli; hlt; jmp back to hlt
            with open(bios, 'wb') as f:
                f.write(image)
            accel = ['-accel', 'tcg', '-bios', bios]
        self.errpath = os.path.join(self.dir, 'stderr')
        self.err = open(self.errpath, 'w')
        self.proc = subprocess.Popen(
            [binary, '-machine', 'pc', *accel, '-qtest', f'unix:{qpath}', '-display', 'none',
             '-nodefaults', '-m', str(RAM_MB), '-qmp', f'unix:{mpath},server=on,wait=off',
             '-netdev', f'socket,id=n0,udp=127.0.0.1:{self.wire.getsockname()[1]},'
             f'localaddr=127.0.0.1:{nic_port}',
             '-device', 'e1000,netdev=n0,mac=52:54:00:12:34:56'],
            stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        listener.settimeout(20)
        try:
            self.qt, _ = listener.accept()
        except socket.timeout:
            self.close()
            raise Failure(f'{kind} did not connect to qtest: {self.stderr()}')
        finally:
            listener.close()
        self.qt.settimeout(20)
        self.qbuf = b''
        self.qmp = self._qmp_connect(mpath)
        self._setup()

    def stderr(self):
        self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def close(self):
        if getattr(self, 'qmp', None):
            try:
                self.qmp_cmd('quit')
            except (OSError, Failure, ValueError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in ('qmp_file', 'qmp', 'qt'):
            if getattr(self, f, None):
                getattr(self, f).close()
        self.exit_status = self.proc.returncode
        self.final_stderr = self.stderr()
        self.err.close()
        self.wire.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # qtest line protocol ('IRQ ...' notices are skipped)
    def q(self, line):
        self.qt.sendall(line.encode() + b'\n')
        while True:
            while b'\n' not in self.qbuf:
                chunk = self.qt.recv(65536)
                if not chunk:
                    raise Failure(f'{self.kind}: qtest closed after {line!r}: {self.stderr()}')
                self.qbuf += chunk
            reply, self.qbuf = self.qbuf.split(b'\n', 1)
            reply = reply.decode()
            if reply.startswith('IRQ '):
                continue
            if not reply.startswith('OK'):
                raise Failure(f'{self.kind}: qtest {line!r}: {reply}')
            return reply[2:].strip()

    def memwrite(self, addr, data):
        self.q(f'b64write {addr:#x} {len(data):#x} {base64.b64encode(data).decode()}')

    def memread(self, addr, n):
        return base64.b64decode(self.q(f'b64read {addr:#x} {n:#x}'))

    def wr(self, reg, v):
        self.q(f'writel {BAR0 + reg:#x} {v:#x}')

    def rd(self, reg):
        return int(self.q(f'readl {BAR0 + reg:#x}'), 16)

    def _qmp_connect(self, path):
        s = socket.socket(socket.AF_UNIX)
        end = time.monotonic() + 20
        while True:
            try:
                s.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise Failure(f'{self.kind}: no QMP socket: {self.stderr()}')
                time.sleep(0.02)
        s.settimeout(20)
        self.qmp_file = s.makefile('rwb')
        self.qmp_file.readline()  # greeting
        self.qmp = s
        self.qmp_cmd('qmp_capabilities')
        return s

    def qmp_cmd(self, name):
        self.qmp_file.write(json.dumps({'execute': name}).encode() + b'\n')
        self.qmp_file.flush()
        while True:
            line = self.qmp_file.readline()
            if not line:
                raise Failure(f'{self.kind}: QMP closed during {name}')
            r = json.loads(line)
            if 'event' in r:
                continue
            if 'error' in r:
                raise Failure(f'{self.kind}: QMP {name}: {r["error"]}')
            return r['return']

    def tx_dropped(self):
        """kite's count of frames the card dropped (QEMU has none)."""
        if self.kind != 'kite':
            return None
        for c in self.qmp_cmd('query-kite-net-stats'):
            if c.get('model') == 'e1000' or c.get('type') == 'nic':
                return c['tx-dropped']
        raise Failure('no e1000 in query-kite-net-stats')

    def _setup(self):
        # PCI mechanism #1: find 8086:100e, place BAR0, enable memory and
        # bus mastering (no firmware does it under qtest).
        for slot in range(32):
            self.q(f'outl 0xcf8 {0x80000000 | slot << 11:#x}')
            if int(self.q('inl 0xcfc'), 16) == 0x100e8086:
                break
        else:
            raise Failure(f'{self.kind}: no e1000 on the PCI bus')
        cfg = 0x80000000 | slot << 11
        self.q(f'outl 0xcf8 {cfg | 0x10:#x}')
        self.q(f'outl 0xcfc {BAR0:#x}')
        self.q(f'outl 0xcf8 {cfg | 0x04:#x}')
        self.q('outw 0xcfc 0x6')
        self.memwrite(RING, bytes(16 * RING_LEN))
        self.wr(TDBAL, RING)
        self.wr(TDBAH, 0)
        self.wr(TDLEN, 16 * RING_LEN)
        self.wr(TDH, 0)
        self.wr(TDT, 0)
        self.wr(TCTL, 0x2 | 0x8 | 0x10 << 4 | 0x40 << 12)  # EN, PSP, CT, COLD
        self.tail = 0
        self.buf_next = BUFS

    def put(self, data):
        """Copies data to guest memory; returns its address."""
        addr = self.buf_next
        self.memwrite(addr, data)
        self.buf_next += (len(data) + 0xff) & ~0xff
        return addr

    def submit(self, descs):
        """Queues descriptors, rings the doorbell; returns their slots."""
        slots = []
        for d in descs:
            self.memwrite(RING + 16 * self.tail, d)
            slots.append(self.tail)
            self.tail = (self.tail + 1) % RING_LEN
        self.wr(TDT, self.tail)
        return slots

    def status(self, slot):
        return self.memread(RING + 16 * slot + 12, 1)[0]

    def recv(self, timeout=5):
        self.wire.settimeout(timeout)
        try:
            return self.wire.recv(70000)
        except socket.timeout:
            return None

    def send_marker(self, tag):
        """A plain legacy frame: whatever the card sent before it is on the
        wire ahead of it, so reading up to it collects all of that."""
        marker = PEER_MAC + GUEST_MAC + b'\x88\xb5' + tag.ljust(46, b'.')
        self.submit([legacy_desc(self.put(marker), len(marker))])
        return marker

    def frames_until_marker(self, tag):
        marker = self.send_marker(tag)
        out = []
        while True:
            f = self.recv()
            if f is None:
                raise Failure(f'{self.kind}: the marker frame never came out; '
                              f'{len(out)} frames before: {self.stderr()}')
            if f == marker:
                return out
            out.append(f)


SANITIZER_REPORTS = ('runtime error:', 'AddressSanitizer', 'LeakSanitizer')


def check_clean_exit(m):
    """kite quit by QMP: status 0, no sanitizer report (an ASan build)."""
    if m.kind != 'kite':
        return
    if m.exit_status != 0 or any(r in m.final_stderr for r in SANITIZER_REPORTS):
        raise Failure(f'kite exited with status {m.exit_status}:\n{m.final_stderr[-4000:]}')


def emulators():
    out = [('kite', ARGS.kite)]
    if ARGS.qemu and os.access(ARGS.qemu, os.X_OK):
        out.append(('qemu', ARGS.qemu))
    return out


def split(data, sizes):
    """data cut at the given sizes (the rest in one last piece)."""
    out, off = [], 0
    for n in sizes:
        out.append(data[off:off + n])
        off += n
    if off < len(data):
        out.append(data[off:])
    return out


def tso_descs(m, template, payload, mss, pieces, popts=POPTS_IXSM | POPTS_TXSM, ctx=None):
    """A TSO context (unless ctx is False) and data descriptors carrying
    template + payload cut into 'pieces' sizes."""
    descs = []
    if ctx is not False:
        descs.append(ctx or ctx_desc(paylen=len(payload), tucmd=TUCMD_TCP | TUCMD_IP | TUCMD_TSE,
                                     hdrlen=len(template), mss=mss))
    parts = split(template + payload, pieces)
    for i, part in enumerate(parts):
        cmd = DCMD_TSE | DCMD_IFCS | (DCMD_EOP if i == len(parts) - 1 else 0)
        descs.append(data_desc(m.put(part), len(part), cmd, popts))
    return descs


def first_diff(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def describe_frame(f):
    if len(f) < ETH + IPV4 + TCP:
        return f'{len(f)} bytes'
    ip_len, ip_id = struct.unpack_from('>HH', f, ETH + 2)
    ip_ck = struct.unpack_from('>H', f, ETH + 10)[0]
    seq = struct.unpack_from('>I', f, ETH + IPV4 + 4)[0]
    return (f'{len(f)} bytes, ip len {ip_len} id {ip_id:#x} csum {ip_ck:#06x}, '
            f'seq {seq}, flags {f[ETH + IPV4 + 13]:#04x}, tcp csum '
            f'{struct.unpack_from(">H", f, ETH + IPV4 + 16)[0]:#06x}')


class Descriptors(unittest.TestCase):
    """The card under qtest, kite and (with --qemu) QEMU 7.2 side by side."""

    def run_both(self, scenario, exact_mss_bursts=0):
        """Runs scenario(machine) -> frames on each emulator; the frames must
        be the same everywhere. Returns kite's. QEMU 7.2 ends a burst whose
        payload is a whole number of MSS with one more, empty, segment
        (the card cuts ceil(PAYLEN / MSS)): 'exact_mss_bursts' says how many
        such bursts the scenario sends, and QEMU's empty segments are taken
        out before comparing."""
        got = {}
        for kind, binary in emulators():
            m = Machine(kind, binary)
            try:
                got[kind] = scenario(m)
            finally:
                m.close()
            check_clean_exit(m)
        if 'qemu' in got and exact_mss_bursts:
            empty = [f for f in got['qemu'] if len(f) == ETH + IPV4 + TCP]
            self.assertEqual(len(empty), exact_mss_bursts, 'QEMU\'s empty segments')
            got['qemu'] = [f for f in got['qemu'] if len(f) != ETH + IPV4 + TCP]
        if 'qemu' in got:
            self.assertEqual(len(got['kite']), len(got['qemu']),
                             'kite and QEMU sent different numbers of frames')
            for i, (k, q) in enumerate(zip(got['kite'], got['qemu'])):
                if k != q:
                    self.fail(f'frame {i} differs from QEMU\'s at byte {first_diff(k, q)}:\n'
                              f'  kite: {describe_frame(k)}\n  qemu: {describe_frame(q)}')
        return got['kite']

    def assert_frames(self, got, want):
        self.assertEqual(len(got), len(want), f'{len(got)} frames, expected {len(want)}')
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                self.fail(f'frame {i} differs at byte {first_diff(g, w)}:\n'
                          f'  got  {describe_frame(g)}\n  want {describe_frame(w)}')

    def test_tso_ipv4_tcp(self):
        """3000 + 1 bytes with MSS 1000 from a template with PSH and FIN,
        the header split over two descriptors and the payload over three."""
        template = tso_template(0xfffff000, FLAG_ACK | FLAG_PSH | FLAG_FIN)
        payload = pattern(3001)
        want = expected_tso(template, payload, 1000)
        status = {}

        def scenario(m):
            descs = tso_descs(m, template, payload, 1000, [10, len(template) - 10, 1500, 777])
            slots = m.submit(descs)
            frames = m.frames_until_marker(b'tso')
            status[m.kind] = [m.status(s) & 1 for s in slots]
            return frames
        got = self.run_both(scenario)
        self.assert_frames(got, want)
        self.assertEqual(status['kite'], [1] * len(status['kite']),
                         'a descriptor with RS has no DD written back')

    def test_tso_full_mss_segments(self):
        """The guest's burst shape: 54-byte header, MSS 1460, 20 full
        segments, every frame 1514 bytes, IP id wrapping past 0xffff."""
        template = tso_template(12345, FLAG_ACK, ip_id=0xfff6)
        payload = pattern(20 * 1460, salt=3)
        want = expected_tso(template, payload, 1460)

        def scenario(m):
            pieces = [len(template)] + [4096] * 7
            return (m.submit(tso_descs(m, template, payload, 1460, pieces)),
                    m.frames_until_marker(b'full'))[1]
        got = self.run_both(scenario, exact_mss_bursts=1)
        self.assertTrue(all(len(f) == 1514 for f in got))
        self.assert_frames(got, want)

    def test_csum_offload_and_tso_contexts_are_separate(self):
        """A TSO context and a checksum context loaded one after the other;
        then a checksummed frame and a TSO burst without new contexts. Each
        packet uses the context its data descriptor's TSE selects."""
        template = tso_template(7000, FLAG_ACK | FLAG_PSH)
        payload = pattern(2500, salt=9)
        plain = csum_frame(pattern(300, salt=1))
        want = [with_good_csums(plain)] + expected_tso(template, payload, 800)

        def scenario(m):
            m.submit([ctx_desc(paylen=len(payload), tucmd=TUCMD_TCP | TUCMD_IP | TUCMD_TSE,
                               hdrlen=len(template), mss=800),
                      ctx_desc(tucmd=TUCMD_TCP | TUCMD_IP)])
            m.submit([data_desc(m.put(plain), len(plain), DCMD_EOP | DCMD_IFCS,
                                POPTS_IXSM | POPTS_TXSM)])
            m.submit(tso_descs(m, template, payload, 800, [len(template), 2000], ctx=False))
            return m.frames_until_marker(b'two contexts')
        self.assert_frames(self.run_both(scenario), want)

    def test_csum_ranges(self):
        """TUCSE ends the TCP/UDP range early, IPCSE the IP one; without
        IXSM the IP checksum is left as it is; the field is summed as the
        driver left it (no protocol is assumed: an odd ethertype)."""
        body = bytearray(pattern(120, salt=5))
        body[30:32] = b'\x12\x34'  # seed in the L4 field
        body[10:12] = b'\x00\x00'
        raw = PEER_MAC + GUEST_MAC + b'\x88\xb6' + bytes(body)
        want_l4 = bytearray(raw)
        struct.pack_into('>H', want_l4, 14 + 30, inet_csum(raw[14 + 20:14 + 61]))
        want_both = bytearray(want_l4)
        struct.pack_into('>H', want_both, 14 + 10, inet_csum(raw[14 + 2:14 + 20]))

        def scenario(m):
            m.submit([ctx_desc(ipcss=16, ipcso=24, ipcse=33, tucss=34, tucso=44, tucse=74,
                               tucmd=0)])
            for popts in (POPTS_TXSM, POPTS_TXSM | POPTS_IXSM):
                m.submit([data_desc(m.put(raw), len(raw), DCMD_EOP | DCMD_IFCS, popts)])
            return m.frames_until_marker(b'ranges')
        self.assert_frames(self.run_both(scenario), [bytes(want_l4), bytes(want_both)])

    def test_bad_offsets_are_dropped(self):
        """Guest-chosen offsets outside the packet: each packet is dropped
        whole and counted once, its descriptors still complete, and the
        card goes on sending."""
        template = tso_template(1, FLAG_ACK)
        payload = pattern(3000)
        hl = len(template)
        tso = TUCMD_TCP | TUCMD_IP | TUCMD_TSE
        frame = csum_frame(pattern(100))
        # (context, payload bytes after the 54-byte header)
        cases = {
            'HDRLEN beyond the packet': (ctx_desc(tucmd=tso, hdrlen=hl + 10, mss=1000), -20),
            'HDRLEN shorter than the TCP header': (ctx_desc(tucmd=tso, hdrlen=hl - 4, mss=1000),
                                                   3000),
            'MSS 0': (ctx_desc(tucmd=tso, hdrlen=hl, mss=0), 3000),
            'TUCSO beyond HDRLEN': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, tucso=hl - 1), 3000),
            'IPCSO beyond HDRLEN': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, ipcso=200), 3000),
            'IPv4 header past HDRLEN': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, ipcss=hl - 10),
                                        3000),
            'TCP header past HDRLEN': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, tucss=hl - 8),
                                       3000),
            'IPCSE before IPCSS': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, ipcse=5), 3000),
            'TUCSE before TUCSS': (ctx_desc(tucmd=tso, hdrlen=hl, mss=1000, tucse=30), 3000),
        }
        csum_cases = {
            'TUCSO beyond the frame': ctx_desc(tucso=250),
            'TUCSS beyond the frame': ctx_desc(tucss=200),
            'IPCSO at the last byte': ctx_desc(ipcso=len(frame) - 1),
            'TUCSE before TUCSS': ctx_desc(tucse=20),
        }
        m = Machine('kite', ARGS.kite)
        try:
            for what, (ctx, n) in cases.items():
                before = m.tx_dropped()
                data = (template + payload)[:hl + n]
                slots = m.submit(tso_descs(m, data[:hl], data[hl:], 1000, [hl // 2], ctx=ctx))
                sent = m.frames_until_marker(what.encode())
                self.assertEqual(len(sent), 0, f'{what}: frames sent')
                self.assertEqual(m.tx_dropped(), before + 1, f'{what}: tx-dropped')
                self.assertTrue(all(m.status(s) & 1 for s in slots), f'{what}: no DD')
            for what, ctx in csum_cases.items():
                before = m.tx_dropped()
                m.submit([ctx, data_desc(m.put(frame), len(frame), DCMD_EOP | DCMD_IFCS,
                                         POPTS_IXSM | POPTS_TXSM)])
                self.assertEqual(len(m.frames_until_marker(what.encode())), 0, what)
                self.assertEqual(m.tx_dropped(), before + 1, f'{what}: tx-dropped')
            before = m.tx_dropped()
            m.submit([legacy_desc(m.put(frame), len(frame), cso=len(frame) - 1, css=14,
                                  cmd=DCMD_EOP | DCMD_IFCS | DCMD_RS | LEGACY_IC)])
            self.assertEqual(len(m.frames_until_marker(b'legacy')), 0, 'legacy CSO at the end')
            self.assertEqual(m.tx_dropped(), before + 1, 'legacy CSO: tx-dropped')
            # still working: a good burst after all that
            good = tso_template(99, FLAG_ACK | FLAG_PSH)
            m.submit(tso_descs(m, good, payload, 1000, [len(good)]))
            self.assert_frames(m.frames_until_marker(b'good'), expected_tso(good, payload, 1000))
            self.assertTrue(m.proc.poll() is None, 'kite died')
        finally:
            m.close()
        check_clean_exit(m)


# ---------------------------------------------------------------- the guest

TSO_BYTES = 65536
MSS = 1460


class Guest(unittest.TestCase):
    """offload-tso in the test guest under kite, its dump read by tshark."""

    def setUp(self):
        if not ARGS.guest:
            self.skipTest('no --guest given')
        if not harness.kvm_usable():
            self.skipTest('/dev/kvm not usable')
        if not shutil.which('tshark'):
            self.skipTest('tshark not installed')

    def run_guest(self, dump):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(('127.0.0.1', 0))
        srv.listen(1)
        srv.settimeout(60)
        got = bytearray()

        def serve():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(60)
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    got.extend(chunk)
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            res = harness.run_scenario(
                harness.Emulator('kite', ARGS.kite), ARGS.guest,
                ['offload-tso', '10.0.2.2', str(srv.getsockname()[1]), str(TSO_BYTES)],
                nic='e1000', extra_args=['-object', f'filter-dump,id=d0,netdev=n0,file={dump}'])
            t.join(10)
        finally:
            srv.close()
        return res, bytes(got)

    def tshark(self, dump):
        fields = ['frame.len', 'ip.len', 'ip.id', 'ip.checksum.status', 'tcp.seq', 'tcp.len',
                  'tcp.flags.push', 'tcp.flags.fin', 'tcp.flags.syn', 'tcp.checksum.status']
        cmd = ['tshark', '-r', dump, '-n', '-o', 'tcp.check_checksum:TRUE',
               '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.relative_sequence_numbers:TRUE',
               '-Y', 'ip.src == 10.0.2.15 && tcp', '-T', 'fields', '-E', 'separator=,']
        for f in fields:
            cmd += ['-e', f]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, f'tshark failed: {out.stderr}')
        rows = []
        for line in out.stdout.splitlines():
            v = line.split(',')
            self.assertEqual(len(v), len(fields), f'tshark line {line!r}')
            rows.append(dict(zip(fields, v)))
        return rows

    def test_offload_tso(self):
        with tempfile.TemporaryDirectory(prefix='kite-tso-') as tmp:
            dump = os.path.join(tmp, 'n0.pcap')
            res, got = self.run_guest(dump)
            self.assertTrue(res.passed, res.describe())
            self.assertFalse(any(r in (res.stderr or '') for r in SANITIZER_REPORTS),
                             res.describe())
            self.assertTrue(os.path.exists(dump), 'filter-dump wrote nothing')
            rows = self.tshark(dump)
        want = bytes((i ^ (i >> 8) ^ (i >> 16)) & 0xff for i in range(TSO_BYTES))
        self.assertEqual(len(got), TSO_BYTES, 'bytes the host received')
        self.assertEqual(got, want, 'the host received other bytes than sent')
        m = re.search(r'bursts=(\d+) retransmits=(\d+)', res.detail or '')
        self.assertTrue(m, res.describe())
        bursts = int(m.group(1))

        self.assertTrue(rows, 'the dump holds no TCP frame from the guest')
        for i, r in enumerate(rows):
            what = f'guest TCP frame {i} ({r})'
            self.assertLessEqual(int(r['frame.len']), 1514, what)
            self.assertEqual(r['ip.checksum.status'], '1', f'{what}: IPv4 checksum not good')
            self.assertEqual(r['tcp.checksum.status'], '1', f'{what}: TCP checksum not good')
            self.assertLessEqual(int(r['ip.len']) + 14, int(r['frame.len']), what)
            if int(r['frame.len']) > 60:
                self.assertEqual(int(r['ip.len']) + 14, int(r['frame.len']), what)
        ids = [int(r['ip.id'], 16) for r in rows]
        self.assertEqual(ids, sorted(set(ids)), 'IP ids do not strictly increase')

        data = [r for r in rows if int(r['tcp.len'])]
        end = 1 + TSO_BYTES  # relative sequence number after the last byte
        high = 1
        for r in data:
            seq, n = int(r['tcp.seq']), int(r['tcp.len'])
            what = f'segment seq {seq} len {n}'
            # go-back-N may resend from an earlier byte, never skip one
            self.assertLessEqual(seq, high, f'{what}: hole after {high}')
            self.assertLessEqual(n, MSS, f'{what}: more than the MSS')
            self.assertEqual(r['tcp.flags.fin'], '0', f'{what}: FIN on a data segment')
            self.assertEqual(r['tcp.flags.syn'], '0', what)
            if r['tcp.flags.push'] == '1':
                self.assertEqual(seq + n, end, f'{what}: PSH before the end of the stream')
            high = max(high, seq + n)
        self.assertEqual(high, end, 'the segments do not cover the stream')
        self.assertTrue(any(r['tcp.flags.push'] == '1' for r in data),
                        'the last segment lost its PSH')
        short = sum(1 for r in data if int(r['tcp.len']) < MSS)
        self.assertLessEqual(short, bursts, 'segments short of the MSS inside a burst')


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--kite', required=True)
    p.add_argument('--qemu', help='QEMU 7.2 to cross-check against (optional)')
    p.add_argument('--guest', help='the test guest (tests/guest); without it no guest test')
    ARGS, rest = p.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
