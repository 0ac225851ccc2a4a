#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bounded random-register fuzzing of the NIC models through qtest.

usage: test_fuzz.py SECONDS MODEL...

For each model, for SECONDS / len(MODELS): random register writes and
reads over the model's BARs (biased towards the registers that start DMA),
random descriptor rings and init blocks in guest RAM (addresses inside and
outside RAM, zero and huge lengths, self-referencing links), random frames
from the wire, link flaps; for virtio-net-pci also hostile descriptor
chains (indices beyond the queue size, next loops, lengths over 64 KiB,
addresses outside RAM, indirect tables) and avail indices that jump.
Afterwards kite must still answer, and after a
reset the model must still receive a frame. The seed is printed; set
NIC_FUZZ_SEED to replay one.
"""
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nictest as T  # noqa: E402
from drivers import (AUX, DRIVERS, OUTSIDE_RAM, RXBUF, RXRING, TXBUF,  # noqa: E402
                     TXRING)

# Offsets worth hitting more often than chance would: doorbells, commands,
# ring pointers, interrupt registers.
HOT = {
    'rtl8139': [0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30, 0x37, 0x38, 0x3c, 0x3e, 0x40,
                0x44, 0x50, 0x54, 0xd9, 0xe0, 0xe4, 0xe8],
    'ne2k_pci': [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                 0x0c, 0x0e, 0x0f, 0x10, 0x1f],
    'pcnet': [0x10, 0x12, 0x14, 0x16, 0x18, 0x1c],
    'i82551': [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0e, 0x10, 0x12],
    'e1000e': [0x0000, 0x0018, 0x0020, 0x00c0, 0x00c8, 0x00d0, 0x00d8, 0x00dc, 0x00e0,
               0x00e4, 0x0100, 0x0400, 0x2800, 0x2804, 0x2808, 0x2810, 0x2818, 0x3800,
               0x3804, 0x3808, 0x3810, 0x3818, 0x3840, 0x5008, 0x5000, 0x5818, 0x0014],
}
HOT['i82557b'] = HOT['i82559er'] = HOT['i82551']
HOT['e1000'] = [0x0000, 0x0008, 0x00c0, 0x00c8, 0x00d0, 0x00d8, 0x0100, 0x0400, 0x2800,
                0x2804, 0x2808, 0x2810, 0x2818, 0x3800, 0x3804, 0x3808, 0x3810, 0x3818,
                0x0014, 0x0020, 0x00c4]
# virtio-net-pci: per BAR. BAR4 holds the modern structures (common
# configuration fields, ISR, device configuration, notify); BAR0 the legacy
# registers (features, queue PFN/size/select/notify, status, ISR, config).
HOT['virtio-net-pci'] = {
    4: [0x00, 0x04, 0x08, 0x0c, 0x10, 0x12, 0x14, 0x15, 0x16, 0x18, 0x1a, 0x1c, 0x1e, 0x20,
        0x24, 0x28, 0x2c, 0x30, 0x34, 0x1000, 0x2000, 0x2006, 0x2008, 0x3000, 0x3004, 0x3008],
    0: [0x00, 0x04, 0x08, 0x0c, 0x0e, 0x10, 0x12, 0x13, 0x14, 0x16, 0x18],
}

ADDRS = [TXBUF, TXRING, RXRING, RXBUF, AUX, 0, OUTSIDE_RAM, 0xfffffff0, 0x3fff000,
         0xffffffffffff0000]


def rand_addr(rng):
    if rng.random() < 0.6:
        return rng.choice(ADDRS) + rng.choice([0, 8, 16, 0x100, rng.randrange(0x1000)])
    return rng.getrandbits(rng.choice([16, 24, 32, 64]))


def rand_value(rng, size):
    r = rng.random()
    if r < 0.3:
        return rng.choice([0, 0xffffffff, 1, 2, 4, 8, 0x10, 0x40, 0x80, 0x8000]) & \
            ((1 << (8 * size)) - 1)
    if r < 0.5:
        return rand_addr(rng) & ((1 << (8 * size)) - 1)
    return rng.getrandbits(8 * size)


def rand_ring(rng):
    """16-byte descriptors mixing plausible and hostile fields."""
    out = bytearray()
    for _ in range(rng.choice([1, 4, 16, 64])):
        kind = rng.random()
        if kind < 0.4:
            out += struct.pack('<QII', rand_addr(rng), rng.getrandbits(32), rng.getrandbits(32))
        elif kind < 0.7:
            out += struct.pack('<IIII', rng.getrandbits(32) | 0x80000000, rand_addr(rng) & 0xffffffff,
                               rng.choice([0xffffffff, TXRING, RXRING, 0]), rng.getrandbits(32))
        else:
            out += bytes(rng.getrandbits(8) for _ in range(16))
    return bytes(out)


def fuzz_model(model, seconds, rng):
    wire = T.Wire()
    try:
        m = T.Machine('kite', ['-netdev', wire.netdev(), '-device', f'{model},netdev=n0'])
    except Exception:
        wire.close()
        raise
    ops = 0
    try:
        drv = DRIVERS[model](m)
        bars = [(i, b[0], b[1], b[2]) for i, b in drv.bars.items()]
        hot = HOT.get(model, [0])
        # a driver may build its own hostile rings (virtio: descriptor chains)
        fuzz_chain = getattr(drv, 'fuzz_chain', None)
        targets = getattr(drv, 'FUZZ_TARGETS', [TXRING, RXRING, AUX, TXBUF])
        end = time.monotonic() + seconds
        drv.wait_s = 0.05  # a device the fuzzer broke answers no request
        while time.monotonic() < end:
            ops += 1
            r = rng.random()
            bar, kind, base, size = rng.choice(bars)
            width = rng.choice([1, 2, 4])
            bar_hot = hot.get(bar, [0]) if isinstance(hot, dict) else hot
            if rng.random() < 0.6:
                off = rng.choice(bar_hot) + rng.choice([0, 0, 0, 1, 2, 3])
            else:
                off = rng.randrange(min(size, 0x6000))
            off = min(off & ~(width - 1), size - width)
            if r < 0.55:
                v = rand_value(rng, width)
                if kind == 'io':
                    getattr(m.qt, {1: 'outb', 2: 'outw', 4: 'outl'}[width])(base + off, v)
                else:
                    getattr(m.qt, {1: 'writeb', 2: 'writew', 4: 'writel'}[width])(base + off, v)
            elif r < 0.75:
                if kind == 'io':
                    getattr(m.qt, {1: 'inb', 2: 'inw', 4: 'inl'}[width])(base + off)
                else:
                    getattr(m.qt, {1: 'readb', 2: 'readw', 4: 'readl'}[width])(base + off)
            elif r < 0.92:
                if fuzz_chain and rng.random() < 0.5:
                    try:
                        fuzz_chain(rng)
                    except T.TestFailure:
                        T.check(m.alive(), f'{model}: kite died')
                else:
                    m.qt.memwrite(rng.choice(targets), rand_ring(rng))
            elif r < 0.93:
                # a legitimate setup now and then, so random writes land on
                # running rings and not only on a stopped chip
                try:
                    rng.choice([
                        lambda: drv.rx_setup(promisc=rng.random() < 0.5),
                        lambda: drv.tx(T.frame(b'\xff' * 6, bytes(6),
                                               bytes(rng.randrange(0, 1500)))),
                        drv.soft_reset,
                    ])()
                except T.TestFailure:
                    T.check(m.alive(), f'{model}: kite died')
            elif r < 0.99:
                n = rng.choice([1, 13, 14, 60, 61, 1514, 1518, 1600, rng.randrange(1, 2000)])
                dst = rng.choice([b'\xff' * 6, bytes.fromhex('525400123456'),
                                  bytes.fromhex('01005e000001')])
                wire.send((dst + bytes(rng.getrandbits(8) for _ in range(n)))[:n])
            else:
                m.qmp.hmp(f'set_link {model}.0 {rng.choice(["on", "off"])}')
        T.check(m.alive(), f'{model}: kite died (seed in the log)')
        drv.wait_s = type(drv).wait_s
        m.qmp.hmp(f'set_link {model}.0 on')
        # still a working NIC after a reset
        drv.soft_reset()
        drv.rx_setup()
        time.sleep(0.05)
        wire.drain()
        drv.rx_collect()
        # frames the fuzzing left queued may come first
        marker = T.frame(b'\xff' * 6, bytes.fromhex('020000000009'), b'\x5a' * 50)
        wire.send(marker)
        T.wait_until(lambda: any(f[:len(marker)] == marker for f in drv.rx_collect()),
                     timeout=5, what=f'{model}: a frame after fuzzing')
        stats = m.net_stats(f'{model}.0')
        # a sanitizer build may report and carry on (UBSan without
        # halt_on_error): such a report is a finding too
        err = m.stderr()
        for mark in ('runtime error:', 'AddressSanitizer', 'LeakSanitizer'):
            at = err.find(mark)
            T.check(at < 0, f'{model}: sanitizer report: {err[max(0, at - 200):][:3000]}')
        return ops, stats
    except T.TestFailure as e:
        try:
            m.proc.wait(timeout=2)
        except Exception:
            pass
        if not m.alive():
            raise T.TestFailure(f'{e}; kite stderr: {m.stderr()[-3000:]}') from None
        raise
    finally:
        m.close()
        wire.close()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    seconds = float(sys.argv[1])
    models = sys.argv[2:]
    seed = T.fuzz_seed()
    print(f'seed {seed}', flush=True)
    failed = 0
    for i, model in enumerate(models):
        rng = random.Random(seed + i)
        try:
            ops, stats = fuzz_model(model, seconds / len(models), rng)
            print(f'ok fuzz-{model} ({ops} operations, rx-dropped {stats["rx-dropped"]}, '
                  f'tx-dropped {stats["tx-dropped"]})', flush=True)
        except Exception as e:
            failed += 1
            print(f'FAIL fuzz-{model}: {type(e).__name__}: {e} (NIC_FUZZ_SEED={seed})',
                  flush=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
