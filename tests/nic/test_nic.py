#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Register-level tests of one NIC model through qtest.

usage: test_nic.py MODEL [TEST...]

Tests (each runs on kite; those marked * also on QEMU 7.2 when it is
installed, and kite's results must equal QEMU's):
  pci*       PCI identity and BAR layout against pci-ids.txt
  reset*     reset values of the registers (power-on and soft reset)
  mac*       MAC in the station address registers and in the EEPROM/PROM
  tx*        a frame the guest sends arrives at a UDP socket backend
  rx*        frames from the socket land in the guest's receive ring, with
             the chip's unicast/broadcast/multicast/promiscuous filtering
  irq*       interrupt cause bits, INTx level, acknowledge semantics
  link*      set_link off/on (HMP and QMP) is seen in the status registers
             and raises the link interrupt
  malicious  rings and buffers outside RAM, zero lengths, rings that never
             end: kite stays up and counts the dropped frames
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nictest as T  # noqa: E402
from drivers import DRIVERS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAC = '52:54:00:ab:cd:01'
BCAST = b'\xff' * 6
OTHER = bytes.fromhex('525400999999')
MCAST_IN = bytes.fromhex('01005e000001')
MCAST_OUT = bytes.fromhex('01005e0000fb')
SRC = bytes.fromhex('020000000001')


def load_ids():
    ids = {}
    with open(os.path.join(HERE, 'pci-ids.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].split()
            if not line:
                continue
            model, fields = line[0], dict(kv.split('=', 1) for kv in line[1:])
            ids[model] = fields
    return ids


class Run:
    """One emulator with the model under test behind a UDP wire."""

    def __init__(self, kind, model, extra=(), props=''):
        self.wire = T.Wire()
        self.mac = MAC
        dev = f'{model},netdev=n0,mac={MAC}{props}'
        if kind == 'qemu':
            dev += ',romfile='
        self.m = T.Machine(kind, ['-netdev', self.wire.netdev(), '-device', dev, *extra])
        self.drv = DRIVERS[model](self.m)
        self.nicname = f'{model}.0'

    def close(self):
        self.m.close()
        self.wire.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def on_each(model, fn):
    """fn(run) on kite and QEMU; returns {kind: result}."""
    results = {}
    for kind in T.emulators():
        with Run(kind, model) as r:
            try:
                results[kind] = fn(r)
            except T.TestFailure as e:
                raise T.TestFailure(f'[{kind}] {e}') from None
    return results


def same(results, what):
    if 'qemu' in results and results['qemu'] is None:
        return 'QEMU 7.2 lacks this behaviour: no cross-check'
    if 'qemu' in results:
        k, q = results['kite'], results['qemu']
        if k != q:
            if isinstance(k, list) and isinstance(q, list) and len(k) == len(q):
                diffs = [f'{a[0] if isinstance(a, tuple) else i}: kite {T.fmt(a)} qemu {T.fmt(b)}'
                         for i, (a, b) in enumerate(zip(k, q)) if a != b]
                raise T.TestFailure(f'{what} differ from QEMU 7.2: ' + '; '.join(diffs))
            raise T.TestFailure(f'{what} differ from QEMU 7.2: kite {k!r} qemu {q!r}')
        return 'same as QEMU 7.2'
    return 'QEMU not installed: no cross-check'


# ---------------------------------------------------------------- tests

def t_pci(model):
    want = load_ids()[model]

    def probe(r):
        m, d = r.m, r.drv.devfn
        got = {
            'id': f'{m.cfg_read(d, 0, 2):04x}:{m.cfg_read(d, 2, 2):04x}',
            'sub': f'{m.cfg_read(d, 0x2c, 2):04x}:{m.cfg_read(d, 0x2e, 2):04x}',
            'rev': f'{m.cfg_read(d, 8, 1):02x}',
            'class': f'{m.cfg_read(d, 8) >> 8:06x}',
            'pin': str(m.cfg_read(d, 0x3d, 1)),
            'hdr': f'{m.cfg_read(d, 0x0e, 1):02x}',
            'bars': ','.join('-' if b is None else f'{b[0]}{"pf" if b[2] else ""}:{b[1]:#x}'
                             for b in m.bar_sizes(d)),
        }
        status = m.cfg_read(d, 6, 2)
        caps = []
        if status & 0x10:
            p = m.cfg_read(d, 0x34, 1)
            for _ in range(48):
                if not p:
                    break
                caps.append(f'{m.cfg_read(d, p, 1):02x}@{p:02x}')
                p = m.cfg_read(d, p + 1, 1)
        got['caps'] = ','.join(caps) or '-'
        got['capptr'] = f'{m.cfg_read(d, 0x34, 1):02x}'
        for k, v in want.items():
            T.check_eq(got[k], v, f'{model} PCI {k}')
        return got
    return same(on_each(model, probe), 'PCI identity')


def t_reset(model):
    def probe(r):
        power_on = r.drv.reset_regs()
        regs = [('power-on ' + n, v) for n, v in power_on]
        r.drv.soft_reset()
        regs += [('soft-reset ' + n, v) for n, v in r.drv.reset_regs()
                 if n not in r.drv.SOFT_RESET_SKIP]
        if r.m.kind == 'kite':
            # system_reset pulses PCI RST#: back to the power-on values
            # (QEMU leaves some of these chips alone, so no cross-check)
            r.drv.dirty()
            r.m.qmp.cmd('system_reset')
            r.drv = type(r.drv)(r.m)
            T.check_eq(r.drv.reset_regs(), power_on, 'registers after system_reset')
        return regs
    return same(on_each(model, probe), 'reset values')


def t_mac(model):
    mac = T.mac_bytes(MAC)

    def probe(r):
        T.check_eq(r.drv.read_mac(), mac, 'station address registers')
        image = r.drv.read_prom()
        r.drv.prom_check(image, mac)
        return image.hex()
    return same(on_each(model, probe), 'EEPROM/PROM image')


def t_tx(model):
    def probe(r):
        out = []
        for n, size in enumerate([60, 64, 590, 1514]):
            payload = bytes((n + i) & 0xff for i in range(size - 14))
            f = T.frame(OTHER, T.mac_bytes(MAC), payload)
            st = r.drv.tx(f)
            got = r.wire.recv()
            T.check(got is not None, f'frame of {size} bytes not seen on the wire')
            T.check_eq(got[:len(f)], f, f'frame of {size} bytes on the wire')
            T.check(r.drv.tx_ok(st), f'transmit status {st:#x} does not say done')
            out.append((size, len(got)))
        stats = r.m.net_stats(r.nicname)
        if stats:
            T.check(stats['tx-packets'] >= 4, f'tx counter {stats}')
        return out
    return same(on_each(model, probe), 'transmitted frames')


def t_rx(model):
    me = T.mac_bytes(MAC)
    tests = [
        ('unicast', T.frame(me, SRC, b'\x01' * 46)),
        ('broadcast', T.frame(BCAST, SRC, b'\x02' * 100)),
        ('other-unicast', T.frame(OTHER, SRC, b'\x03' * 46)),
        ('mcast-in-filter', T.frame(MCAST_IN, SRC, b'\x04' * 46)),
        ('mcast-not-in-filter', T.frame(MCAST_OUT, SRC, b'\x05' * 46)),
        ('short', T.frame(me, SRC, b'\x06' * 10)),
        ('max', T.frame(me, SRC, bytes(i & 0xff for i in range(1500)))),
    ]

    def receive(r, promisc):
        r.drv.rx_setup(promisc=promisc, mcast=[MCAST_IN])
        for _, f in tests:
            r.wire.send(f)
            T.wait_until(lambda: r.m.net_stats(r.nicname) is None or
                         sum(r.m.net_stats(r.nicname)[k] for k in
                             ('rx-packets', 'rx-dropped')) >= r.seen + 1,
                         what='frame reaching the NIC')
            r.seen += 1
        # The last frame is accepted in both modes and frames arrive in
        # order: once it is in the ring, every other one was decided.
        got = []
        last = tests[-1][1]
        T.wait_until(lambda: got.extend(r.drv.rx_collect()) or
                     any(g[:len(last)] == last for g in got), what='the last frame')
        names = []
        for g in got:
            match = [n for n, f in tests if g[:len(f)] == f and
                     all(b == 0 for b in g[len(f):])]
            T.check(match, f'received frame matches nothing sent: {g[:32].hex()}...')
            names.append(match[0])
        return names

    def probe(r):
        r.seen = 0
        normal = receive(r, False)
        T.check_eq(normal, ['unicast', 'broadcast', 'mcast-in-filter', 'short', 'max'],
                   'frames accepted by the filter')
        r.drv.soft_reset()
        promisc = receive(r, True)
        T.check_eq(promisc, [n for n, _ in tests], 'frames accepted in promiscuous mode')
        return normal, promisc
    return same(on_each(model, probe), 'received frames')


def t_irq(model):
    def probe(r):
        d = r.drv
        seq = []
        d.irq_enable()
        T.check(not d.irq(), 'INTx asserted before anything happened')
        d.tx(T.frame(OTHER, T.mac_bytes(MAC), bytes(50)))
        T.check(r.wire.recv() is not None, 'frame not sent')
        T.check(d.irq(), 'INTx not asserted after tx')
        cause = d.irq_cause()
        seq.append(('after tx', cause & d.CAUSE_MASK))
        T.check(cause & d.TX_CAUSE, f'tx cause bit not set: {cause:#x}')
        if d.CAUSE_CLEAR == 'w1c':
            seq.append(('read again', d.irq_cause() & d.CAUSE_MASK))
            T.check(d.irq(), 'INTx dropped by reading the cause (it is write-1-to-clear)')
            d.irq_ack(cause)
        else:
            T.check(not d.irq(), 'INTx still asserted after reading the cause '
                                 '(it is read-to-clear)')
            again = d.irq_cause() & d.CAUSE_MASK
            T.check(not again & d.TX_CAUSE, f'cause not cleared by reading it: {again:#x}')
            seq.append(('read again', again))
        T.check(not d.irq(), 'INTx still asserted after acknowledging')
        seq.append(('after ack', d.irq_cause() & d.CAUSE_MASK))
        return seq
    return same(on_each(model, probe), 'interrupt cause sequence')


def t_link(model):
    def probe(r):
        d = r.drv
        seq = []
        if r.m.kind == 'qemu' and not d.QEMU_LINK_STATUS:
            return None  # QEMU shows no link state for this model

        d.irq_enable()
        if d.HAS_LINK_STATUS:
            T.check(d.link_up(), 'link down at start')
        d.irq_ack(d.irq_cause())
        r.m.qmp.hmp(f'set_link {r.nicname} off')
        if d.HAS_LINK_STATUS:
            T.check(not d.link_up(), 'link still up after set_link off')
        if d.LINK_CAUSE:
            T.check(d.irq(), 'INTx not asserted on link change')
            c = d.irq_cause()
            T.check(c & d.LINK_CAUSE, f'no link-change cause after set_link off: {c:#x}')
            d.irq_ack(c)
        # nothing leaves a NIC whose link is down
        d.tx(T.frame(OTHER, T.mac_bytes(MAC), b'down' * 20))
        T.check(r.wire.recv(0.3) is None, 'a frame left the NIC while its link was down')
        seq.append(('off', d.link_up()))
        r.m.qmp.cmd('set_link', {'name': r.nicname, 'up': True})
        if d.HAS_LINK_STATUS:
            # (QEMU's e1000e renegotiates for 500 ms first)
            T.wait_until(d.link_up, timeout=5, what='link up after set_link on')
        if d.LINK_CAUSE:
            c = d.irq_cause()
            T.check(c & d.LINK_CAUSE, f'no link-change cause after set_link on: {c:#x}')
            d.irq_ack(c)
        up = T.frame(OTHER, T.mac_bytes(MAC), b'up' * 30)
        d.tx(up)
        got = r.wire.recv()
        T.check(got is not None, 'no frame after set_link on')
        T.check_eq(got[:len(up)], up, 'the frame after set_link on (a frame sent while '
                   'the link was down must not show up late)')
        # the backend's link takes the NIC down too
        r.m.qmp.hmp('set_link n0 off')
        if d.HAS_LINK_STATUS:
            T.check(not d.link_up(), 'link still up after the backend went down')
        r.m.qmp.hmp('set_link n0 on')
        if d.HAS_LINK_STATUS:
            T.wait_until(d.link_up, timeout=5, what='link up after the backend came back')
        seq.append(('on', d.link_up()))
        return seq
    return same(on_each(model, probe), 'link state sequence')


def t_malicious(model):
    with Run('kite', model) as r:
        before = r.m.net_stats(r.nicname)

        def reached():
            s = r.m.net_stats(r.nicname)
            return s['rx-packets'] + s['rx-dropped'] + s['rx-queued']

        def inject(n):
            # frames arriving while the rings are hostile: back once the
            # NIC took, dropped or queued each of them
            start = reached()
            for i in range(n):
                r.wire.send(T.frame(BCAST, SRC, bytes([0x80 + i]) * 60))
            T.wait_until(lambda: reached() >= start + n, what='injected frames reaching the NIC')
        r.drv.inject = inject
        tx_drops, _ = r.drv.malicious()
        mid = r.m.net_stats(r.nicname)
        for i in range(8):
            r.wire.send(T.frame(BCAST, SRC, bytes([i]) * 60))
        T.wait_until(lambda: r.m.net_stats(r.nicname)['rx-dropped'] > mid['rx-dropped'],
                     what='rx-dropped to count the frames the hostile rings lost')
        after = r.m.net_stats(r.nicname)
        T.check(after['tx-dropped'] - before['tx-dropped'] >= tx_drops,
                f'tx-dropped went {before["tx-dropped"]} -> {after["tx-dropped"]}, '
                f'want +{tx_drops}')
        T.check(r.m.alive(), 'kite died')
        # still answering and still a working device after a reset
        r.drv.soft_reset()
        r.drv.rx_setup()
        r.wire.send(T.frame(BCAST, SRC, b'\x42' * 60))
        T.wait_until(lambda: r.drv.rx_collect(), what='a frame after recovery')
        return f'tx-dropped +{after["tx-dropped"] - before["tx-dropped"]}, ' \
               f'rx-dropped +{after["rx-dropped"] - before["rx-dropped"]}'


TESTS = {'pci': t_pci, 'reset': t_reset, 'mac': t_mac, 'tx': t_tx, 'rx': t_rx, 'irq': t_irq,
         'link': t_link, 'malicious': t_malicious}


def extra_test(model, method, cross_check):
    """A model's own test (Driver.EXTRA), on kite and, when the behaviour
    exists there, on QEMU too."""
    def run():
        if cross_check:
            return same(on_each(model, lambda r: getattr(r.drv, method)(r)), method)
        with Run('kite', model) as r:
            return getattr(r.drv, method)(r)
    return run


if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in DRIVERS:
        sys.exit(__doc__)
    model = sys.argv.pop(1)
    tests = {name: (lambda fn=fn: fn(model)) for name, fn in TESTS.items()}
    for name, (method, cross) in DRIVERS[model].EXTRA.items():
        tests[name] = extra_test(model, method, cross)
    T.main(tests)
