#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-net-pci transmit coalescing on kite, through qtest.

A kick that brings a batch (8 frames or more) means the guest streams: kite
then leaves kicks off (VRING_USED_F_NO_NOTIFY stays set) after emptying the
queue and looks at it again x-tx-coalesce-ns later, for as long as each
look finds frames. The first empty look turns kicks back on. A kick with a
single frame (ping, request/response) never enters this.

usage: test_virtio_tx.py [TEST...]

Tests:
  stream      a batch of 12 frames leaves kicks off; a frame published
              without a kick still leaves; then kicks come back on and an
              unkicked frame stays until it is kicked
  single      one frame per kick: kicks are back on at once
  off         x-tx-coalesce-ns=0: kicks are back on at once after a batch
  reset       a device reset while coalescing leaves nothing armed: the
              re-initialised queue waits for its kick
  bad-option  a malformed or too large x-tx-coalesce-ns is refused with
              the property named
"""
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nictest as T  # noqa: E402
from drivers import TXBUF, VNET_HDR_LEN  # noqa: E402
from test_nic import Run  # noqa: E402

MODEL = 'virtio-net-pci'
NO_NOTIFY = 1


class Dev(Run):
    """kite with one virtio-net-pci behind a UDP wire; the frames are
    placed by hand so that several can be published before one kick."""

    def __init__(self, props=''):
        super().__init__('kite', MODEL, props=props)
        self.drv.init()
        self.avail = 0
        self.seq = 0

    def used_flags(self):
        d = self.drv
        return struct.unpack('<H', d.qt.memread(d.qaddr[d.TXQ] + 0x2000, 2))[0]

    def publish(self, count, kick=True):
        """Publish count frames (sequence numbers in the payload); kick
        once after the last if asked. Returns their payloads."""
        d, ring = self.drv, self.drv.qaddr[self.drv.TXQ] + 0x1000
        sent = []
        for _ in range(count):
            slot = self.avail % d.QSIZE
            payload = b'coalesce %06d' % self.seq
            self.seq += 1
            frame = T.frame(T.mac_bytes('02:00:00:00:00:09'), T.mac_bytes(self.mac), payload)
            buf = TXBUF + d.BUF * slot
            d.qt.memwrite(buf, bytes(VNET_HDR_LEN) + frame)
            d.desc(d.TXQ, slot, buf, VNET_HDR_LEN + len(frame), 0)
            d.qt.memwrite(ring + 4 + 2 * slot, struct.pack('<H', slot))
            self.avail = (self.avail + 1) & 0xffff
            sent.append(payload)
        d.qt.memwrite(ring + 2, struct.pack('<H', self.avail))
        if kick:
            d.kick(d.TXQ)
        return sent

    def receive(self, count, timeout=5):
        got = []
        end = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < end:
            f = self.wire.recv(max(0.01, end - time.monotonic()))
            if f is not None:
                got.append(f[14:])
        return got

    def expect(self, payloads, what):
        got = self.receive(len(payloads))
        T.check_eq(got, payloads, what)

    def expect_nothing(self, what, wait=0.3):
        got = self.receive(1, timeout=wait)
        T.check(not got, f'{what}: a frame left without a kick: {got!r}')


def kicks_on_soon(dev, what):
    T.wait_until(lambda: not dev.used_flags() & NO_NOTIFY, timeout=2,
                 what=f'{what}: kicks back on (NO_NOTIFY clear)')


def t_stream():
    # A period long enough for qtest to publish within it (each access is
    # a round trip over a socket); the default is 25 us.
    with Dev(',x-tx-coalesce-ns=200000000') as dev:
        dev.expect(dev.publish(12), 'a kicked batch of 12')
        T.check(dev.used_flags() & NO_NOTIFY,
                'after a batch of 12 kicks should stay off while the guest streams')
        # Published with kicks off, as a driver would: no kick needed.
        dev.expect(dev.publish(3, kick=False), 'frames published while coalescing')
        kicks_on_soon(dev, 'after the stream stopped')
        late = dev.publish(1, kick=False)
        dev.expect_nothing('kicks on again')
        dev.drv.kick(dev.drv.TXQ)
        dev.expect(late, 'the frame once kicked')
        return 'batch kept kicks off; unkicked frames sent while streaming; kicks on after'


def t_single():
    with Dev() as dev:
        for i in range(3):
            dev.expect(dev.publish(1), f'single frame {i}')
            kicks_on_soon(dev, f'after single frame {i}')
        late = dev.publish(1, kick=False)
        dev.expect_nothing('one frame per kick')
        return 'one frame per kick: kicks stay on'


def t_off():
    with Dev(',x-tx-coalesce-ns=0') as dev:
        dev.expect(dev.publish(12), 'a kicked batch of 12')
        T.check_eq(dev.used_flags() & NO_NOTIFY, 0, 'NO_NOTIFY right after the batch')
        dev.publish(1, kick=False)
        dev.expect_nothing('coalescing off')
        return 'x-tx-coalesce-ns=0: kicks on at once'


def t_reset():
    # A long period so the look is still pending when the driver resets.
    with Dev(',x-tx-coalesce-ns=300000000') as dev:
        dev.expect(dev.publish(12), 'a kicked batch of 12')
        T.check(dev.used_flags() & NO_NOTIFY, 'coalescing after the batch')
        dev.drv.init()  # device reset and a fresh queue
        dev.avail = 0
        dev.publish(1, kick=False)
        dev.expect_nothing('after a reset', wait=0.6)
        T.check_eq(dev.m.qmp.hmp('info status').strip(), 'VM status: running', 'kite after reset')
        return 'reset disarmed the look'


def t_bad_option():
    out = []
    for value, want in (('abc', 'x-tx-coalesce-ns'), ('2000000000', 'x-tx-coalesce-ns')):
        r = subprocess.run([os.environ['KITE'], '-accel', 'qtest', '-display', 'none',
                            '-nodefaults', '-netdev', 'user,id=n0', '-device',
                            f'{MODEL},netdev=n0,x-tx-coalesce-ns={value}'],
                           capture_output=True, text=True, timeout=30)
        T.check(r.returncode != 0, f'x-tx-coalesce-ns={value} accepted')
        T.check(want in r.stderr, f'x-tx-coalesce-ns={value}: error does not name '
                f'the property: {r.stderr.strip()!r}')
        out.append(r.stderr.strip().splitlines()[-1])
    return '; '.join(out)


TESTS = {'stream': t_stream, 'single': t_single, 'off': t_off, 'reset': t_reset,
         'bad-option': t_bad_option}

if __name__ == '__main__':
    T.main(TESTS)
