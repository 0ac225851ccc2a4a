# SPDX-License-Identifier: GPL-2.0-or-later
"""Minimal test drivers for each NIC model, working over qtest.

A driver knows just enough of its chip to: list the registers whose reset
values are compared with QEMU, read the MAC from the chip and its
EEPROM/PROM, send a frame, receive frames into a guest ring, read the link
state and the interrupt cause, and build rings a hostile guest would. The
same driver runs against kite and QEMU, so a driver bug shows up as a
failure on QEMU too.
"""
import struct
import time

import nictest as T
from nictest import check, check_eq

# Guest RAM layout used by the drivers (64 MiB guests).
TXBUF = 0x100000
TXRING = 0x180000
RXRING = 0x200000
RXBUF = 0x280000
AUX = 0x380000  # driver-specific structures (init blocks, CBL, counters...)
OUTSIDE_RAM = 0x30000000  # above 64 MiB, below the PCI hole


class Driver:
    model = None
    EXTRA = {}
    SOFT_RESET_SKIP = ()
    QEMU_LINK_STATUS = True
    CAUSE_MASK = 0xffffffff
    vendor = device = None
    mac_prop = 'mac'
    # set by the malicious test: inject(n) sends n broadcast frames from
    # the wire and returns once the NIC took, queued or dropped them
    inject = None
    # how long a driver waits for the device to complete a request (the
    # fuzzer, which breaks devices on purpose, waits less)
    wait_s = 5

    def rx_dropped(self):
        return self.m.net_stats(f'{self.model}.0')['rx-dropped']

    def __init__(self, m, nth=0):
        self.m = m
        self.qt = m.qt
        self.devfn = m.find(self.vendor, self.device, nth)
        self.bars = m.setup_pci(self.devfn)
        self.gsi = m.gsi
        self.attach()

    def attach(self):
        pass

    def irq(self):
        return self.qt.irq_level(self.gsi)

    def dirty(self):
        """Move registers away from their reset values."""
        self.rx_setup(promisc=True, mcast=[bytes.fromhex('01005e000001')])
        self.irq_enable()

    # Every driver implements:
    #   reset_regs() -> [(name, value)] natural-width reads
    #   soft_reset()
    #   read_mac() -> bytes (the station address registers)
    #   read_prom() -> bytes (EEPROM/PROM image) and prom_mac(image)
    #   tx(frame), rx_setup(promisc, mcast), rx_collect() -> [frames]
    #   link_up() -> bool, link_event() -> bool (cause read and cleared)
    #   irq_cause() / irq_ack()


# ---------------------------------------------------------------- rtl8139

def crc32_be(data):
    crc = 0xffffffff
    for byte in data:
        for _ in range(8):
            top = (crc >> 31) ^ (byte & 1)
            crc = (crc << 1) & 0xffffffff
            if top:
                crc ^= 0x04c11db7
            byte >>= 1
    return crc


def crc32_le(data):
    crc = 0xffffffff
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xedb88320 if crc & 1 else 0)
    return crc


class Rtl8139(Driver):
    model = 'rtl8139'
    vendor, device = 0x10ec, 0x8139
    HAS_LINK_STATUS = True

    def attach(self):
        self.mm = self.bars[1][1]
        self.io = self.bars[0][1]
        self.slot = 0
        self.rx_size = 8192

    def r8(self, o): return self.qt.readb(self.mm + o)
    def r16(self, o): return self.qt.readw(self.mm + o)
    def r32(self, o): return self.qt.readl(self.mm + o)
    def w8(self, o, v): self.qt.writeb(self.mm + o, v)
    def w16(self, o, v): self.qt.writew(self.mm + o, v)
    def w32(self, o, v): self.qt.writel(self.mm + o, v)

    REGS = [(0x00, 4), (0x04, 2), (0x08, 4), (0x0c, 4), (0x10, 4), (0x14, 4), (0x18, 4),
            (0x1c, 4), (0x20, 4), (0x30, 4), (0x37, 1), (0x38, 2), (0x3a, 2), (0x3c, 2),
            (0x3e, 2), (0x40, 4), (0x44, 4), (0x4c, 4), (0x50, 1), (0x51, 1), (0x52, 1),
            (0x54, 4), (0x58, 1), (0x59, 1), (0x5a, 1), (0x5b, 1), (0x5c, 2), (0x5e, 1),
            (0x60, 2), (0x62, 2), (0x64, 2), (0x66, 2), (0x68, 2), (0x6a, 2), (0x74, 2),
            (0xd8, 1), (0xe0, 2), (0xe2, 2), (0xe4, 4), (0xe8, 4), (0xec, 1)]

    def reset_regs(self):
        out = []
        for o, size in self.REGS:
            v = {1: self.r8, 2: self.r16, 4: self.r32}[size](o)
            out.append((f'{o:#04x}/{size}', v))
        # the I/O BAR decodes the same registers
        out.append(('io-0x37/1', self.qt.inb(self.io + 0x37)))
        out.append(('io-0x40/4', self.qt.inl(self.io + 0x40)))
        return out

    def soft_reset(self):
        self.w8(0x37, 0x10)
        self.slot = 0

    def read_mac(self):
        return bytes(self.r8(i) for i in range(6))

    def _ee(self, cs, sk, di):
        self.w8(0x50, 0x80 | (cs << 3) | (sk << 2) | (di << 1))

    def ee_read(self, addr):
        self._ee(1, 0, 0)
        for bit in [1, 1, 0] + [(addr >> (5 - i)) & 1 for i in range(6)]:
            self._ee(1, 0, bit)
            self._ee(1, 1, bit)
        self._ee(1, 0, 0)
        v = 0
        for _ in range(16):
            self._ee(1, 1, 0)
            v = v << 1 | (self.r8(0x50) & 1)
            self._ee(1, 0, 0)
        self._ee(0, 0, 0)
        return v

    def read_prom(self):
        words = [self.ee_read(a) for a in range(64)]
        self.w8(0x50, 0)
        return struct.pack('<64H', *words)

    def prom_check(self, image, mac):
        w = struct.unpack('<64H', image)
        check_eq(w[0], 0x8129, 'EEPROM word 0 (RTL8139 signature)')
        check_eq((w[1], w[2]), (0x10ec, 0x8139), 'EEPROM vendor/device')
        check_eq(image[14:20], mac, 'EEPROM MAC (words 7-9)')

    def enable(self):
        self.w8(0x37, 0x0c)  # RE | TE

    def tx(self, frame):
        self.enable()
        self.qt.memwrite(TXBUF, frame)
        self.w32(0x20 + 4 * self.slot, TXBUF)
        self.w32(0x10 + 4 * self.slot, len(frame))
        st = self.r32(0x10 + 4 * self.slot)
        self.slot = (self.slot + 1) & 3
        return st

    def tx_ok(self, status):
        return bool(status & 0x8000) and bool(status & 0x2000)

    def rx_setup(self, promisc=False, mcast=()):
        self.qt.memset(RXBUF, self.rx_size + 16 + 1536, 0)
        self.w32(0x30, RXBUF)
        mar = bytearray(8)
        for a in mcast:
            bit = crc32_be(a) >> 26
            mar[bit >> 3] |= 1 << (bit & 7)
        for i in range(8):
            self.w8(0x08 + i, mar[i])
        self.enable()
        # AB | AM | APM (| AAP), WRAP, 8K ring
        self.w32(0x44, 0x8e | (1 if promisc else 0))
        self.w16(0x3c, 0xffff)
        self.rx_read = 0

    def rx_collect(self):
        frames = []
        for _ in range(64):
            if self.r8(0x37) & 1:  # BUFE
                break
            hdr = self.qt.memread(RXBUF + self.rx_read, 4)
            status, length = struct.unpack('<HH', hdr)
            check(status & 1, f'rx record without ROK: {status:#x}')
            data = self.qt.memread(RXBUF + self.rx_read + 4, length)
            frame, fcs = data[:-4], data[-4:]
            check_eq(int.from_bytes(fcs, 'little'), crc32_le(frame) ^ 0xffffffff,
                     'FCS after the received frame')
            frames.append(frame)
            self.rx_read = (self.rx_read + 4 + length + 3) & ~3
            self.rx_read %= self.rx_size
            self.w16(0x38, (self.rx_read - 16) & 0xffff)
        return frames

    def link_up(self):
        bmsr = self.r16(0x64)
        msr = self.r8(0x58)
        check_eq(bool(bmsr & 4), not (msr & 4), 'BMSR link bit vs MSR LINKB')
        return bool(bmsr & 4)

    def irq_enable(self):
        self.w16(0x3c, 0xffff)

    def irq_cause(self):
        return self.r16(0x3e)

    def irq_ack(self, cause):
        self.w16(0x3e, cause)

    LINK_CAUSE = 0x20
    TX_CAUSE = 0x04
    RX_CAUSE = 0x01
    CAUSE_CLEAR = 'w1c'

    EXTRA = {'cplus': ('cplus', True)}

    def cplus(self, run):
        """C+ mode: a frame gathered from two descriptors with IP/UDP
        checksum and VLAN insertion; a VLAN-tagged frame received into the
        descriptor ring with the tag stripped; the tally counter dump."""
        qt, out = self.qt, []
        me, other = T.mac_bytes(run.mac), bytes.fromhex('525400999999')
        self.w8(0x37, 0x0c)
        self.w16(0xe0, 0x0043)  # C+ transmit and receive, receive VLAN detagging
        self.w16(0x3c, 0xffff)
        ip, seg = T.udp_packet(bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]), 1234, 5678,
                               bytes(range(200)))
        ip = ip[:10] + b'\0\0' + ip[12:]
        frame = T.frame(other, me, ip + seg, 0x0800)
        qt.memwrite(TXBUF, frame)
        # IPCS | UDPCS sit in the last descriptor; TAGC + tag (network order)
        d0 = struct.pack('<IIQ', 0x80000000 | 0x20000000 | 30, 0, TXBUF)
        d1 = struct.pack('<IIQ', 0x80000000 | 0x40000000 | 0x10000000 | 0x40000 | 0x20000 |
                         (len(frame) - 30), 0x20000 | 0x0500, TXBUF + 30)
        qt.memwrite(TXRING, d0 + d1)
        self.w32(0x20, TXRING)
        self.w32(0x24, 0)
        self.w8(0xd9, 0x40)
        got = run.wire.recv()
        check(got is not None, 'C+ frame not on the wire')
        # the descriptor holds the TCI in network byte order: 0x0500 is VID 5
        check_eq(got[12:16], b'\x81\x00\x00\x05', 'inserted VLAN tag')
        untagged = got[:12] + got[16:]
        T.check_ipv4_frame(untagged, 'C+ transmit offload')
        check_eq(untagged[42:len(frame)], frame[42:], 'C+ UDP payload')
        out.append(('tx', got.hex()))
        st = [struct.unpack('<I', qt.memread(TXRING + 16 * i, 4))[0] for i in range(2)]
        check(not any(x & 0x80000000 for x in st), f'descriptors still owned: {st}')
        out.append(('tx-desc', st))
        # receive ring: 4 buffers of 1600 bytes, EOR on the last
        ring = b''.join(struct.pack('<IIQ', 0x80000000 | (0x40000000 if i == 3 else 0) | 1600,
                                    0, RXBUF + 0x800 * i) for i in range(4))
        qt.memwrite(RXRING, ring)
        self.w32(0xe4, RXRING)
        self.w32(0xe8, 0)
        self.w32(0x44, 0x0e)
        tagged = me + other + b'\x81\x00\x20\x07' + b'\x88\xb5' + bytes(range(80))
        run.wire.send(tagged)
        T.wait_until(lambda: not struct.unpack('<I', qt.memread(RXRING, 4))[0] & 0x80000000,
                     what='C+ receive descriptor written back')
        w0, w1 = struct.unpack('<II', qt.memread(RXRING, 8))
        size = w0 & 0x1fff
        data = qt.memread(RXBUF, size)
        check_eq(data[:size - 4], tagged[:12] + tagged[16:], 'received frame without its tag')
        check_eq(w1 & 0x1ffff, 0x10000 | 0x0720, 'TAVA and the stripped tag')
        check_eq(w0 & 0x3f000000, 0x32000000, 'FS | LS | PAM')
        out.append(('rx-desc', w0, w1))
        # tally counters
        qt.memset(AUX, 64, 0xee)
        self.w32(0x14, 0)
        self.w32(0x10, AUX | 0x8)
        check(not self.r32(0x10) & 0x8, 'tally dump still pending')
        tally = qt.memread(AUX, 64)
        tx_ok, rx_ok = struct.unpack('<QQ', tally[:16])
        check(tx_ok >= 1 and rx_ok >= 1, f'tally TxOk/RxOk: {tx_ok}/{rx_ok}')
        out.append(('tally', tally.hex()))
        return out

    def malicious(self):
        """Hostile programming; returns how many frames should count as
        dropped (tx, rx)."""
        m, qt = self.m, self.qt
        self.enable()
        # C mode: a transmit slot pointing outside RAM
        self.w32(0x20 + 4 * self.slot, OUTSIDE_RAM)
        self.w32(0x10 + 4 * self.slot, 1000)
        st = self.r32(0x10 + 4 * self.slot)
        check(st & 0x40000000, f'TSD after a DMA failure: {st:#x} (want TABT)')
        self.slot = (self.slot + 1) & 3
        # ... and one at the very top of the address space
        self.w32(0x20 + 4 * self.slot, 0xfffffff0)
        self.w32(0x10 + 4 * self.slot, 0x1fff)
        self.slot = (self.slot + 1) & 3
        # C mode receive buffer outside RAM: frames are dropped
        self.w32(0x30, OUTSIDE_RAM)
        self.w32(0x44, 0x8f)
        # C+ mode: rings outside RAM, then descriptors that loop and lie
        self.w16(0xe0, 0x0003)
        self.w32(0xe4, 0xfffff000)
        self.w32(0xe8, 0xffffffff)
        self.w32(0x20, 0)
        self.w32(0x24, 0x1)  # 4 GiB+: no RAM there
        self.w8(0xd9, 0x40)
        # a valid ring whose descriptors all own, with FS but no LS, zero
        # sizes and buffers outside RAM, and no EOR: must stop after one pass
        ring = bytearray()
        for i in range(64):
            w0 = 0x80000000 | 0x20000000 | (0 if i % 3 else 0x1000)
            ring += struct.pack('<IIQ', w0, 0, OUTSIDE_RAM + i)
        qt.memwrite(TXRING, ring)
        self.w32(0x20, TXRING)
        self.w32(0x24, 0)
        self.w8(0xd9, 0x40)
        # a receive ring with zero-sized buffers
        qt.memwrite(RXRING, struct.pack('<IIQ', 0x80000000, 0, RXBUF) * 64)
        self.w32(0xe4, RXRING)
        self.w32(0xe8, 0)
        return 2, 0


# ---------------------------------------------------------------- ne2k_pci

class Ne2kPci(Driver):
    """NE2000 through the remote DMA data port (the card never touches
    guest memory)."""
    model = 'ne2k_pci'
    vendor, device = 0x10ec, 0x8029
    PSTART, PSTOP, TXPAGE = 0x46, 0x80, 0x40

    def attach(self):
        self.io = self.bars[0][1]

    def r(self, o): return self.qt.inb(self.io + o)
    def w(self, o, v): self.qt.outb(self.io + o, v)

    def page(self, p):
        # STOP | abort remote DMA | page select, as drivers do
        self.w(0, 0x21 | p << 6)

    def reset_regs(self):
        out = [('cr', self.r(0))]
        for o in range(1, 16):
            out.append((f'p0-{o:#x}', self.r(o)))
        for p in (1, 2, 3):
            self.page(p)
            for o in range(1, 16):
                out.append((f'p{p}-{o:#x}', self.r(o)))
        self.page(0)
        out.append(('isr-after-stop', self.r(7)))
        out.append(('data-port-w', self.qt.inw(self.io + 0x10)))
        out.append(('bad-width', self.qt.inw(self.io + 0x02)))
        return out

    def soft_reset(self):
        self.r(0x1f)
        self.w(0x1f, 0)

    def rdma_read(self, addr, n, word=True):
        self.w(0, 0x22)
        self.w(0x0e, 0x49 if word else 0x48)
        self.w(0x0a, n & 0xff)
        self.w(0x0b, n >> 8)
        self.w(0x08, addr & 0xff)
        self.w(0x09, addr >> 8)
        self.w(0, 0x0a)  # start, remote read
        out = bytearray()
        if word:
            for _ in range((n + 1) // 2):
                out += self.qt.inw(self.io + 0x10).to_bytes(2, 'little')
        else:
            for _ in range(n):
                out.append(self.qt.inb(self.io + 0x10))
        return bytes(out[:n])

    def rdma_write(self, addr, data):
        data = bytes(data) + (b'\0' if len(data) & 1 else b'')
        self.w(0x0e, 0x49)
        self.w(0x0a, len(data) & 0xff)
        self.w(0x0b, len(data) >> 8)
        self.w(0x08, addr & 0xff)
        self.w(0x09, addr >> 8)
        self.w(0, 0x12)  # start, remote write
        for i in range(0, len(data), 2):
            self.qt.outw(self.io + 0x10, data[i] | data[i + 1] << 8)

    def read_prom(self):
        return self.rdma_read(0, 32, word=False)

    def prom_check(self, image, mac):
        check_eq(bytes(image[0:12:2]), mac, 'PROM MAC (even bytes)')
        check_eq(bytes(image[1:12:2]), mac, 'PROM MAC (odd bytes)')

    def read_mac(self):
        return self.read_prom()[0:12:2]

    def tx(self, frame):
        self.w(0, 0x22)
        self.rdma_write(self.TXPAGE << 8, frame)
        self.w(0x04, self.TXPAGE)
        self.w(0x05, len(frame) & 0xff)
        self.w(0x06, len(frame) >> 8)
        self.w(0, 0x26)  # start, transmit
        return self.r(0x04)

    def tx_ok(self, status):
        return bool(status & 1)

    def rx_setup(self, promisc=False, mcast=()):
        self.w(0, 0x21)
        self.w(0x0e, 0x49)
        self.w(0x01, self.PSTART)
        self.w(0x02, self.PSTOP)
        self.w(0x03, self.PSTART)
        mac = self.read_prom_cached()
        self.w(0, 0x21)
        self.page(1)
        for i in range(6):
            self.w(1 + i, mac[i])
        mar = bytearray(8)
        for a in mcast:
            bit = crc32_be(a) >> 26
            mar[bit >> 3] |= 1 << (bit & 7)
        for i in range(8):
            self.w(8 + i, mar[i])
        self.w(0x07, self.PSTART + 1)
        self.page(0)
        self.w(0x0c, 0x0c | (0x10 if promisc else 0))
        self.w(0x0d, 0)
        self.w(0x07, 0xff)
        self.w(0x0f, 0x3f)
        self.w(0, 0x22)
        self.bnry = self.PSTART

    def read_prom_cached(self):
        if not hasattr(self, '_mac'):
            self._mac = self.read_prom()[0:12:2]
        return self._mac

    def rx_collect(self):
        frames = []
        for _ in range(64):
            self.w(0, 0x62)
            curr = self.r(0x07)
            self.w(0, 0x22)
            nxt = self.bnry + 1
            if nxt >= self.PSTOP:
                nxt = self.PSTART
            if nxt == curr:
                break
            hdr = self.rdma_read(nxt << 8, 4)
            status, npage, length = hdr[0], hdr[1], hdr[2] | hdr[3] << 8
            check(status & 1, f'rx header without PRX: {hdr.hex()}')
            data = bytearray()
            addr, left = (nxt << 8) + 4, length - 4
            while left:
                n = min(left, (self.PSTOP << 8) - addr)
                data += self.rdma_read(addr, n)
                left -= n
                addr = self.PSTART << 8
            frames.append(bytes(data))
            self.bnry = npage - 1 if npage > self.PSTART else self.PSTOP - 1
            self.w(0x03, self.bnry)
        return frames

    HAS_LINK_STATUS = False

    def link_up(self):
        return None

    def irq_enable(self):
        self.w(0x0f, 0x7f)

    def irq_cause(self):
        return self.r(0x07)

    def irq_ack(self, cause):
        self.w(0x07, cause)

    LINK_CAUSE = None
    TX_CAUSE = 0x02
    RX_CAUSE = 0x01
    CAUSE_CLEAR = 'w1c'

    def malicious(self):
        # transmit from a page past the card's memory with a huge count
        self.w(0, 0x22)
        self.w(0x04, 0xff)
        self.w(0x05, 0xff)
        self.w(0x06, 0xff)
        self.w(0, 0x26)
        check(self.r(0x04) & 0x08, 'TSR after an impossible transmit (want ABT)')
        # zero-length transmit
        self.w(0x04, self.TXPAGE)
        self.w(0x05, 0)
        self.w(0x06, 0)
        self.w(0, 0x26)
        # remote DMA over the whole 64 KiB address space, both ways
        self.w(0x0e, 0x49)
        self.w(0x0a, 0xff)
        self.w(0x0b, 0xff)
        self.w(0x08, 0xf0)
        self.w(0x09, 0xff)
        self.w(0, 0x0a)
        for _ in range(64):
            self.qt.inl(self.io + 0x10)
        self.w(0, 0x12)
        for _ in range(64):
            self.qt.outl(self.io + 0x10, 0xdeadbeef)
        # a receive ring that is empty (start == stop), then one whose
        # current page lies outside it, then one past the memory
        for start, stop, curr in [(0x50, 0x50, 0x50), (0x46, 0x80, 0x10),
                                  (0xf0, 0xff, 0xf1), (0x80, 0x46, 0x81)]:
            self.w(0, 0x21)
            self.w(0x01, start)
            self.w(0x02, stop)
            self.w(0x03, start)
            self.page(1)
            self.w(0x07, curr)
            self.page(0)
            self.w(0x0c, 0x1c)
            self.w(0, 0x22)
        return 2, 0


# ---------------------------------------------------------------- pcnet

class Pcnet(Driver):
    """Am79C970A in word I/O mode with 32-bit descriptors (SWSTYLE 2)."""
    model = 'pcnet'
    vendor, device = 0x1022, 0x2000
    HAS_LINK_STATUS = True
    NDESC = 8
    BUFSZ = 1544

    def attach(self):
        self.io = self.bars[0][1]
        self.started = False
        self.tx_idx = 0
        self.rx_idx = 0

    def csr(self, n):
        self.qt.outw(self.io + 0x12, n)
        return self.qt.inw(self.io + 0x10)

    def set_csr(self, n, v):
        self.qt.outw(self.io + 0x12, n)
        self.qt.outw(self.io + 0x10, v)

    def bcr(self, n):
        self.qt.outw(self.io + 0x12, n)
        return self.qt.inw(self.io + 0x16)

    def set_bcr(self, n, v):
        self.qt.outw(self.io + 0x12, n)
        self.qt.outw(self.io + 0x16, v)

    SKIP_CSR = {46, 47}  # the poll timer counts these in real time

    def reset_regs(self):
        out = [(f'aprom{i}', self.qt.inb(self.io + i)) for i in range(16)]
        out += [(f'csr{n}', self.csr(n)) for n in range(128) if n not in self.SKIP_CSR]
        out += [(f'bcr{n}', self.bcr(n)) for n in range(36)]
        out.append(('rap', self.qt.inw(self.io + 0x12)))
        out.append(('mmio-csr0', self.qt.readw(self.bars[1][1] + 0x10)))
        return out

    def soft_reset(self):
        self.qt.inl(self.io + 0x18)  # RESET in dword I/O mode (leaves it)
        self.qt.inw(self.io + 0x14)
        self.started = False

    def read_mac(self):
        w = [self.csr(12), self.csr(13), self.csr(14)]
        return struct.pack('<3H', *w)

    def read_prom(self):
        return bytes(self.qt.inb(self.io + i) for i in range(16))

    def prom_check(self, image, mac):
        check_eq(image[0:6], mac, 'APROM MAC')
        check_eq(image[14:16], b'WW', 'APROM signature')
        check_eq(image[9], 0x11, 'APROM hardware ID')
        total = sum(image[0:12]) + sum(image[14:16])
        check_eq(struct.unpack('<H', image[12:14])[0], total & 0xffff, 'APROM checksum')

    def _start(self, promisc=False, mcast=()):
        qt = self.qt
        self.set_csr(0, 0x0004)  # STOP
        self.set_bcr(20, 2)      # SWSTYLE 2: 32-bit structures
        ladrf = 0
        for a in mcast:
            ladrf |= 1 << (crc32_le(a) >> 26)
        mac = self.prom_mac()
        log2 = self.NDESC.bit_length() - 1
        ib = struct.pack('<HBB6sHQII', 0x8000 if promisc else 0, log2 << 4, log2 << 4,
                         mac, 0, ladrf, RXRING, TXRING)
        qt.memwrite(AUX, ib)
        qt.memset(TXRING, 16 * self.NDESC, 0)
        rx = bytearray()
        for i in range(self.NDESC):
            rx += struct.pack('<IhHII', RXBUF + i * 2048, -self.BUFSZ, 0x8000, 0, 0)
        qt.memwrite(RXRING, rx)
        self.set_csr(1, AUX & 0xffff)
        self.set_csr(2, AUX >> 16)
        self.set_csr(0, 0x0001)  # INIT
        for _ in range(10):
            if self.csr(0) & 0x0100:
                break
        check(self.csr(0) & 0x0100, f'no IDON after INIT: csr0={self.csr(0):#x}')
        self.set_csr(0, 0x0142)  # ack IDON, STRT, IENA
        self.started = True
        self.tx_idx = self.rx_idx = 0

    def prom_mac(self):
        return self.read_prom()[0:6]

    def tx(self, frame):
        if not self.started:
            self._start()
        d = TXRING + 16 * self.tx_idx
        self.qt.memwrite(TXBUF, frame)
        self.qt.memwrite(d, struct.pack('<IhHII', TXBUF, -len(frame), 0x8000 | 0x0300, 0, 0))
        self.set_csr(0, 0x0048)  # TDMD | IENA
        st = struct.unpack('<H', self.qt.memread(d + 6, 2))[0]
        self.tx_idx = (self.tx_idx + 1) % self.NDESC
        return st

    def tx_ok(self, status):
        return not (status & 0x8000) and not (status & 0x4000)

    def rx_setup(self, promisc=False, mcast=()):
        self._start(promisc, mcast)

    def rx_collect(self):
        frames = []
        data = b''
        for _ in range(self.NDESC):
            d = RXRING + 16 * self.rx_idx
            rbadr, bcnt, status, mcnt, _ = struct.unpack('<IhHII', self.qt.memread(d, 16))
            if status & 0x8000:
                break
            if status & 0x4000:  # error (buffer overflow): drop the pieces
                data = b''
            elif not status & 0x0100:  # more buffers follow
                data += self.qt.memread(rbadr, self.BUFSZ)
            if status & 0x4000 or not status & 0x0100:
                self.qt.memwrite(d + 4, struct.pack('<hH', -self.BUFSZ, 0x8000))
                self.rx_idx = (self.rx_idx + 1) % self.NDESC
                continue
            n = mcnt & 0xfff
            data += self.qt.memread(rbadr, n - len(data))
            # QEMU stores zeros where the chip puts the FCS
            if self.m.kind == 'kite':
                check_eq(int.from_bytes(data[-4:], 'little'),
                         crc32_le(data[:-4]) ^ 0xffffffff, 'FCS after the received frame')
            frames.append(data[:-4])
            data = b''
            self.qt.memwrite(d + 4, struct.pack('<hH', -self.BUFSZ, 0x8000))
            self.rx_idx = (self.rx_idx + 1) % self.NDESC
        return frames

    def link_up(self):
        return bool(self.bcr(4) & 0x8000)

    def irq_enable(self):
        if not self.started:
            self._start()

    def irq_cause(self):
        return self.csr(0)

    def irq_ack(self, cause):
        self.set_csr(0, (cause & 0x7f00) | 0x0040)

    LINK_CAUSE = None
    TX_CAUSE = 0x0200
    RX_CAUSE = 0x0400
    # TDMD stays set in QEMU when its poll timer sent the frame first
    CAUSE_MASK = 0xfff7
    CAUSE_CLEAR = 'w1c'

    def malicious(self):
        qt = self.qt
        self._start()
        # descriptors pointing outside RAM, 4096-byte buffers (BCNT 0),
        # STP without ENP around the whole ring
        ring = b''.join(struct.pack('<IhHII', OUTSIDE_RAM + i * 4096, 0xf000 - 0x10000,
                                    0x8000 | 0x0200, 0, 0) for i in range(self.NDESC))
        qt.memwrite(TXRING, ring)
        self.set_csr(0, 0x0048)
        # one frame whose only buffer is outside RAM
        qt.memwrite(TXRING, struct.pack('<IhHII', OUTSIDE_RAM, -100, 0x8300, 0, 0))
        self.set_csr(0, 0x0048)
        # stop, then rings and init block outside RAM
        self.set_csr(0, 0x0004)
        self.set_csr(1, 0)
        self.set_csr(2, 0x3000)
        self.set_csr(0, 0x0001)
        # rings of length 0 and odd lengths written directly while stopped
        self.set_csr(0, 0x0004)
        self.set_csr(76, 0)
        self.set_csr(78, 0)
        self.set_csr(0, 0x0002)
        self.set_csr(0, 0x0048)
        self.set_csr(0, 0x0004)
        self.set_csr(76, 0xffff)
        self.set_csr(78, 0xffff)
        self.set_csr(24, 0xf000)
        self.set_csr(25, 0x3fff)
        self.set_csr(0, 0x0002)
        self.set_csr(0, 0x0048)
        # receive descriptors outside RAM
        self._start()
        qt.memwrite(RXRING, struct.pack('<IhHII', OUTSIDE_RAM, -1544, 0x8000, 0, 0) * 8)
        return 2, 0


# ---------------------------------------------------------------- eepro100

class Eepro100(Driver):
    """i8255x: command blocks and simplified receive frame descriptors."""
    HAS_LINK_STATUS = True
    QEMU_LINK_STATUS = False  # QEMU's general status always says link up
    NRFD = 8
    RFD_SIZE = 1600

    def attach(self):
        self.mm = self.bars[0][1]
        self.rx_idx = 0

    def r8(self, o): return self.qt.readb(self.mm + o)
    def w8(self, o, v): self.qt.writeb(self.mm + o, v)

    def reset_regs(self):
        out = [(f'scb{o:#04x}/1', self.r8(o)) for o in range(0, 32)]
        for o in (0, 2, 14, 16, 18):
            out.append((f'scb{o:#04x}/2', self.qt.readw(self.mm + o)))
        for o in (0, 4, 8, 16):
            out.append((f'scb{o:#04x}/4', self.qt.readl(self.mm + o)))
        out.append(('io-scb0/2', self.qt.inw(self.bars[1][1])))
        # (0x3c, the interrupt line, is firmware's: kite fills it in)
        for off, size in ((0x06, 2), (0x0d, 1), (0x34, 1), (0x3d, 1), (0x3e, 2)):
            out.append((f'cfg{off:#04x}', self.m.cfg_read(self.devfn, off, size)))
        return out

    def soft_reset(self):
        self.qt.writel(self.mm + 8, 0)  # PORT: software reset
        self.rx_idx = 0

    def _ee(self, cs, sk, di):
        self.w8(14, (cs << 1) | sk | (di << 2))

    def ee_read(self, addr):
        self._ee(1, 0, 0)
        for bit in [1, 1, 0] + [(addr >> (5 - i)) & 1 for i in range(6)]:
            self._ee(1, 0, bit)
            self._ee(1, 1, bit)
        v = 0
        for _ in range(16):
            self._ee(1, 0, 0)
            self._ee(1, 1, 0)
            v = v << 1 | ((self.r8(14) >> 3) & 1)
        self._ee(0, 0, 0)
        return v

    def read_prom(self):
        return struct.pack('<64H', *[self.ee_read(a) for a in range(64)])

    def prom_check(self, image, mac):
        w = struct.unpack('<64H', image)
        check_eq(image[0:6], mac, 'EEPROM MAC (words 0-2)')
        check_eq(sum(w) & 0xffff, 0xbaba, 'EEPROM checksum (sum of all words)')

    def read_mac(self):
        return self.read_prom()[0:6]

    def command(self, cb, wait=True):
        """Run the command list at cb (CU start) and return cb's status."""
        self.qt.writel(self.mm + 4, 0)
        self.w8(2, 0x60)  # load CU base 0
        self.qt.writel(self.mm + 4, cb)
        self.w8(2, 0x10)  # CU start
        return struct.unpack('<H', self.qt.memread(cb, 2))[0]

    def tx(self, frame):
        cb = struct.pack('<HHIIHBB', 0, 0x8000 | 0x2000 | 4, 0, 0xffffffff, len(frame), 0xe0, 0)
        self.qt.memwrite(TXRING, cb + bytes(frame))
        return self.command(TXRING)

    def tx_ok(self, status):
        return status & 0xa000 == 0xa000

    def rx_setup(self, promisc=False, mcast=()):
        cfg = bytearray(22)
        cfg[0] = 22
        cfg[6] = 0x30
        cfg[15] = 0x01 if promisc else 0
        link = AUX + 0x100
        self.qt.memwrite(AUX, struct.pack('<HHI', 0, 2, link) + bytes(cfg))
        addrs = b''.join(mcast)
        self.qt.memwrite(link, struct.pack('<HHIH', 0, 0x8000 | 3, 0, len(addrs)) + addrs)
        st = self.command(AUX)
        check(st & 0xa000 == 0xa000, f'configure not done: {st:#x}')
        rfds = bytearray()
        for i in range(self.NRFD):
            nxt = RXRING + ((i + 1) % self.NRFD) * 0x800
            rfds += struct.pack('<HHIIHH', 0, 0, nxt, 0xffffffff, 0, self.RFD_SIZE)
            rfds += bytes(0x800 - 16)
        self.qt.memwrite(RXRING, rfds)
        self.qt.writel(self.mm + 4, 0)
        self.w8(2, 0x06)  # load RU base 0
        self.qt.writel(self.mm + 4, RXRING)
        self.w8(2, 0x01)  # RU start
        self.w8(3, 0)
        self.rx_idx = 0

    def rx_collect(self):
        frames = []
        for _ in range(self.NRFD):
            rfd = RXRING + self.rx_idx * 0x800
            status, _, _, _, count, _ = struct.unpack('<HHIIHH', self.qt.memread(rfd, 16))
            if not status & 0x8000:
                break
            check(status & 0x2000, f'RFD status without OK: {status:#x}')
            frames.append(self.qt.memread(rfd + 16, count & 0x3fff))
            self.qt.memwrite(rfd, struct.pack('<H', 0))
            self.qt.memwrite(rfd + 12, struct.pack('<H', 0))
            self.rx_idx = (self.rx_idx + 1) % self.NRFD
        return frames

    def mdi_read(self, reg):
        self.qt.writel(self.mm + 16, (2 << 26) | (1 << 21) | (reg << 16))
        return self.qt.readl(self.mm + 16) & 0xffff

    def link_up(self):
        g = self.r8(29) & 1
        bmsr = self.mdi_read(1)
        check_eq(bool(bmsr & 4), bool(g), 'PHY status link bit vs general status')
        return bool(g)

    def irq_enable(self):
        self.w8(3, 0)

    def irq_cause(self):
        return self.r8(1)

    def irq_ack(self, cause):
        self.w8(1, cause)

    LINK_CAUSE = None
    TX_CAUSE = 0x80
    RX_CAUSE = 0x40
    CAUSE_CLEAR = 'w1c'

    def malicious(self):
        qt = self.qt
        # a command list that links to itself forever (no EL, no S), a
        # transmit whose data and TBDs lie outside RAM, a huge TCB count
        qt.memwrite(TXRING, struct.pack('<HHIIHBB', 0, 4, TXRING, OUTSIDE_RAM, 0x3fff, 0, 4))
        self.command(TXRING)
        qt.memwrite(TXRING, struct.pack('<HHIIHBB', 0, 0x8004, 0, 0xffffffff, 0x3fff, 0, 0))
        qt.memwrite(TXRING + 16, bytes(64))
        self.command(TXRING)
        # a list that starts outside RAM
        self.command(OUTSIDE_RAM)
        # multicast list with a huge count near the end of RAM
        end = self.m_ram_end() - 16
        qt.memwrite(end, struct.pack('<HHIH', 0, 0x8003, 0, 0x3fff))
        self.command(end)
        # statistics and self-test aimed outside RAM
        qt.writel(self.mm + 4, OUTSIDE_RAM)
        self.w8(2, 0x40)
        self.w8(2, 0x70)
        qt.writel(self.mm + 8, OUTSIDE_RAM | 1)
        # receive frame area outside RAM, then an RFD that links to itself
        qt.writel(self.mm + 4, 0)
        self.w8(2, 0x06)
        qt.writel(self.mm + 4, OUTSIDE_RAM)
        self.w8(2, 0x01)
        return 3, 0

    def m_ram_end(self):
        return 64 << 20


class I82551(Eepro100):
    model = 'i82551'
    vendor, device = 0x8086, 0x1209


class I82557b(Eepro100):
    model = 'i82557b'
    vendor, device = 0x8086, 0x1229


class I82559er(Eepro100):
    model = 'i82559er'
    vendor, device = 0x8086, 0x1209


# ---------------------------------------------------------------- e1000e

class E1000e(Driver):
    """82574L with extended receive descriptors, as Linux drives it."""
    model = 'e1000e'
    vendor, device = 0x8086, 0x10d3
    HAS_LINK_STATUS = True
    NDESC = 8

    CTRL, STATUS, EERD, CTRL_EXT, MDIC = 0x0, 0x8, 0x14, 0x18, 0x20
    ICR, ICS, IMS, IMC, EIAC, IAM, IVAR = 0xc0, 0xc8, 0xd0, 0xd8, 0xdc, 0xe0, 0xe4
    RCTL, TCTL, RFCTL, RXCSUM = 0x100, 0x400, 0x5008, 0x5000
    RDBAL, RDBAH, RDLEN, RDH, RDT = 0x2800, 0x2804, 0x2808, 0x2810, 0x2818
    TDBAL, TDBAH, TDLEN, TDH, TDT = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818
    MTA, RA = 0x5200, 0x5400
    IO_BAR = 2  # IOADDR/IODATA (BAR 1 is the flash)
    # the 82574's EERD: START bit 0, DONE bit 1, address in 15:2
    EERD_ADDR_SHIFT, EERD_DONE = 2, 0x2
    NVM = 'NVM'  # what the assertions call the EEPROM

    # QEMU 7.2's non-zero reset values live in these, plus the interrupt,
    # ring and filter registers a driver touches first
    REGS = [0x00000, 0x00008, 0x00010, 0x00014, 0x00018, 0x00020, 0x00038, 0x00040,
            0x00044, 0x000c0, 0x000c4, 0x000c8, 0x000d0, 0x000dc, 0x000e0, 0x000e4,
            0x000e8, 0x00100, 0x00400, 0x00410, 0x00e00, 0x00f00, 0x00f10, 0x01000,
            0x01008, 0x01010, 0x01028, 0x0102c, 0x01030, 0x01050, 0x02170, 0x02800,
            0x02808, 0x02810, 0x02818, 0x02828, 0x02928, 0x03410, 0x03418, 0x03420,
            0x03428, 0x03800, 0x03808, 0x03810, 0x03818, 0x03840, 0x03940, 0x04000,
            0x04074, 0x04080, 0x05000, 0x05008, 0x05200, 0x05400, 0x05404, 0x05408,
            0x0540c, 0x05600, 0x05818, 0x05820, 0x05b00, 0x05b30, 0x05b50, 0x05b54,
            0x08010, 0x08018, 0x0b634, 0x0b638]

    def attach(self):
        self.mm = self.bars[0][1]
        self.io = self.bars[self.IO_BAR][1]
        self.tx_idx = 0
        self.rx_idx = 0
        self.rx_on = False

    def r(self, o): return self.qt.readl(self.mm + o)
    def w(self, o, v): self.qt.writel(self.mm + o, v)

    def reset_regs(self):
        out = [(f'{o:#07x}', self.r(o)) for o in self.REGS]
        out.append(('io-ioaddr', self.qt.inl(self.io)))
        self.qt.outl(self.io, 0x8)
        out.append(('io-status', self.qt.inl(self.io + 4)))
        out.append(('mdic-phy-id2', self.mdi(3)))
        out.append(('mdic-phy-status', self.mdi(1)))
        out.append(('mdic-phy-bad-addr', self.mdi(1, phy=2)))
        for off in range(0xa0, 0xf4, 4):
            out.append((f'cfg{off:#04x}', self.m.cfg_read(self.devfn, off)))
        return out

    def mdi(self, reg, phy=1):
        self.w(self.MDIC, (2 << 26) | (phy << 21) | (reg << 16))
        return self.r(self.MDIC)

    def soft_reset(self):
        self.w(self.CTRL, self.r(self.CTRL) | (1 << 26))
        self.tx_idx = self.rx_idx = 0
        self.rx_on = False

    def read_mac(self):
        return struct.pack('<II', self.r(self.RA), self.r(self.RA + 4))[:6]

    def read_prom(self):
        words = []
        for a in range(64):
            self.w(self.EERD, (a << self.EERD_ADDR_SHIFT) | 1)
            v = self.r(self.EERD)
            check(v & self.EERD_DONE, f'EERD not done for word {a}: {v:#x}')
            words.append(v >> 16)
        return struct.pack('<64H', *words)

    def prom_check(self, image, mac):
        w = struct.unpack('<64H', image)
        check_eq(image[0:6], mac, f'{self.NVM} MAC (words 0-2)')
        check_eq(sum(w) & 0xffff, 0xbaba, f'{self.NVM} checksum (sum of words 0x00-0x3f)')
        check_eq((w[11], w[13]), (self.device, self.device), f'{self.NVM} device ID words')

    def tx_setup(self):
        self.qt.memset(TXRING, 16 * self.NDESC, 0)
        self.w(self.TDBAL, TXRING)
        self.w(self.TDBAH, 0)
        self.w(self.TDLEN, 16 * self.NDESC)
        self.w(self.TDH, 0)
        self.w(self.TDT, 0)
        self.w(self.TCTL, 0x2 | 0x8)  # EN | PSP
        self.tx_idx = 0
        self.tx_ready = True

    def tx_desc(self, raw):
        if not getattr(self, 'tx_ready', False):
            self.tx_setup()
        d = TXRING + 16 * self.tx_idx
        self.qt.memwrite(d, raw)
        self.tx_idx = (self.tx_idx + 1) % self.NDESC
        self.w(self.TDT, self.tx_idx)
        return d

    def tx(self, frame):
        self.qt.memwrite(TXBUF, frame)
        # legacy descriptor: EOP | IFCS | RS
        d = self.tx_desc(struct.pack('<QHBBBBH', TXBUF, len(frame), 0, 0x0b, 0, 0, 0))
        return self.qt.memread(d + 12, 1)[0]

    def tx_ok(self, status):
        return bool(status & 1)

    def rx_setup(self, promisc=False, mcast=()):
        self.w(self.RCTL, 0)
        for i in range(128):
            self.w(self.MTA + 4 * i, 0)
        for a in mcast:
            f = ((a[5] << 8 | a[4]) >> 4) & 0xfff
            self.w(self.MTA + 4 * (f >> 5), self.r(self.MTA + 4 * (f >> 5)) | 1 << (f & 31))
        self.rx_desc_format()
        ring = b''.join(struct.pack('<QQ', RXBUF + 2048 * i, 0) for i in range(self.NDESC))
        self.qt.memwrite(RXRING, ring)
        self.w(self.RDBAL, RXRING)
        self.w(self.RDBAH, 0)
        self.w(self.RDLEN, 16 * self.NDESC)
        self.w(self.RDH, 0)
        self.w(self.RDT, self.NDESC - 1)
        # EN | BAM | SECRC, 2 KiB buffers (| UPE | MPE)
        self.w(self.RCTL, 0x2 | 0x8000 | 0x4000000 | (0x18 if promisc else 0))
        self.rx_idx = 0
        self.rx_on = True

    def rx_desc_format(self):
        self.w(self.RFCTL, 1 << 15)  # extended descriptors

    def rx_writeback(self, d):
        """(status, length) of the receive descriptor at d."""
        wb = self.qt.memread(d, 16)
        status, length = struct.unpack('<IH', wb[8:14])
        return status, length

    def rx_collect(self):
        frames = []
        for _ in range(self.NDESC):
            d = RXRING + 16 * self.rx_idx
            status, length = self.rx_writeback(d)
            if not status & 1:
                break
            check(status & 2, f'descriptor without EOP: {status:#x}')
            frames.append(self.qt.memread(RXBUF + 2048 * self.rx_idx, length))
            self.qt.memwrite(d, struct.pack('<QQ', RXBUF + 2048 * self.rx_idx, 0))
            self.w(self.RDT, self.rx_idx)
            self.rx_idx = (self.rx_idx + 1) % self.NDESC
        return frames

    def link_up(self):
        # (QEMU completes autonegotiation from a timer: a read may fall
        # between its STATUS and PHY updates, so look twice)
        for _ in range(3):
            lu = bool(self.r(self.STATUS) & 2)
            phy = self.mdi(1) & 0xffff
            if bool(phy & 4) == lu:
                return lu
        check_eq(bool(phy & 4), lu, 'PHY status link bit vs STATUS.LU')
        return lu

    def irq_enable(self):
        self.w(self.IMS, 0x1 | 0x4 | 0x10 | 0x40 | 0x80)

    def irq_cause(self):
        return self.r(self.ICR)

    def irq_ack(self, cause):
        self.w(self.ICR, cause)

    EXTRA = {'msix': ('msix', True), 'offload': ('offload', True), 'tso': ('tso', False),
             'rxmodes': ('rxmodes', True)}

    def rxmodes(self, run):
        """Receive descriptor formats: legacy, extended with VLAN stripping
        and checksum status, packet split with the UDP header in buffer 0."""
        qt, out = self.qt, []
        me = T.mac_bytes(run.mac)
        src, dst = bytes([10, 0, 2, 2]), bytes([10, 0, 2, 15])
        ip, seg = T.udp_packet(src, dst, 53, 4000, bytes(range(256)) * 2, fill_csum=True)
        ip = ip[:10] + struct.pack('!H', (~T.csum(ip)) & 0xffff) + ip[12:]
        frame = T.frame(me, bytes.fromhex('020000000001'), ip + seg, 0x0800)
        # legacy descriptors
        self.rx_setup()
        self.w(self.RFCTL, 0)
        self.w(self.RDH, 0)
        self.w(self.RDT, self.NDESC - 1)
        qt.memwrite(RXRING, b''.join(struct.pack('<QQ', RXBUF + 2048 * i, 0)
                                     for i in range(self.NDESC)))
        run.wire.send(frame)
        T.wait_until(lambda: qt.memread(RXRING + 12, 1)[0] & 1, what='legacy write-back')
        length, csum_, status, errors, special = struct.unpack('<HHBBH', qt.memread(RXRING + 8, 8))
        check_eq(qt.memread(RXBUF, length), frame, 'legacy: frame in the buffer')
        check_eq(status & 0x63, 0x63, 'legacy status: DD EOP UDPCS TCPCS IPCS')
        check_eq(errors, 0, 'legacy errors')
        out.append(('legacy', length, status, errors, special))
        # extended descriptors, VLAN stripping (CTRL.VME), a bad UDP checksum
        self.rx_setup()
        self.w(self.CTRL, self.r(self.CTRL) | 1 << 30)
        bad = bytearray(frame)
        bad[40] ^= 0xff
        tagged = bytes(bad[:12]) + b'\x81\x00\x60\x2a' + bytes(bad[12:])
        run.wire.send(tagged)
        T.wait_until(lambda: qt.memread(RXRING + 8, 1)[0] & 1, what='extended write-back')
        mrq, hi, st, length, vlan = struct.unpack('<IIIHH', qt.memread(RXRING, 16))
        check_eq(qt.memread(RXBUF, length), bytes(bad), 'extended: frame without its tag')
        check_eq(vlan, 0x602a, 'stripped VLAN tag')
        check(st & 0x8, f'VP not set: {st:#x}')
        check(st & 0x20000000, f'TCPE not set for a bad UDP checksum: {st:#x}')
        check_eq(hi & 0xffff, 0x1234, 'IP ID in the write-back')
        out.append(('extended', mrq, hi, st, length, vlan))
        self.w(self.CTRL, self.r(self.CTRL) & ~(1 << 30))
        # packet split: 256-byte header buffers, 4 KiB payload buffers
        self.w(self.RCTL, 0)
        self.w(self.RFCTL, 1 << 15)
        self.w(0x2170, 2 | 4 << 8)  # PSRCTL: BSIZE0 256, BSIZE1 4 KiB
        ring = b''.join(struct.pack('<QQQQ', AUX + 0x400 + 256 * i, RXBUF + 4096 * i, 0, 0)
                        for i in range(4))
        qt.memwrite(RXRING, ring)
        self.w(self.RDLEN, 128)
        self.w(self.RDH, 0)
        self.w(self.RDT, 6)  # three 32-byte descriptors, in 16-byte units
        self.w(self.RCTL, 0x2 | 0x8000 | 0x4000000 | 0x400)  # DTYP = packet split
        run.wire.send(frame)
        T.wait_until(lambda: qt.memread(RXRING + 8, 1)[0] & 1, what='packet split write-back')
        wb = qt.memread(RXRING, 32)
        st, len0, _vlan, hstat, len1 = struct.unpack('<IHHHH', wb[8:20])
        check_eq(hstat, 0x8000 | 42, 'header status: split after the UDP header')
        check_eq(qt.memread(AUX + 0x400, len0), frame[:42], 'headers in buffer 0')
        check_eq(qt.memread(RXBUF, len1), frame[42:], 'payload in buffer 1')
        check_eq(self.r(self.RDH), 2, 'RDH advanced by one 32-byte descriptor')
        out.append(('split', wb.hex()))
        return out

    VEC = AUX + 0x200  # where the MSI-X vectors write

    def vec_writes(self):
        return [struct.unpack('<I', self.qt.memread(self.VEC + 16 * v, 4))[0]
                for v in range(5)]

    def msix(self, run):
        """MSI-X: IVAR maps rx queue 0, tx queue 0 and 'other' to vectors
        0-2; EIAC auto-clears the queue causes; a masked vector is held
        pending until unmasked."""
        qt, m, out = self.qt, self.m, []
        table = self.bars[3][1]
        for v in range(5):
            qt.writel(table + 16 * v, self.VEC + 16 * v)
            qt.writel(table + 16 * v + 4, 0)
            qt.writel(table + 16 * v + 8, 0x100 + v)
            qt.writel(table + 16 * v + 12, 0)
        ctl = m.cfg_read(self.devfn, 0xa2, 2)
        check_eq(ctl & 0x7ff, 4, 'MSI-X table size (5 vectors)')
        m.cfg_write(self.devfn, 0xa2, ctl | 0x8000, 2)
        self.w(self.IVAR, 0x8 | 0x9 << 8 | 0xa << 16)
        self.w(self.EIAC, 0x00100000 | 0x00400000)
        self.w(self.IMS, 0x00100000 | 0x00400000 | 0x01000000 | 0x4)
        qt.memset(self.VEC, 80, 0)
        self.tx(T.frame(b'\xff' * 6, T.mac_bytes(run.mac), bytes(50)))
        check(run.wire.recv() is not None, 'frame not sent')
        vw = self.vec_writes()
        check_eq(vw, [0, 0x101, 0, 0, 0], 'vector writes after transmit')
        icr = self.r(self.ICR)
        out.append(('tx', vw, icr))
        check(not icr & 0x00400000, f'TXQ0 not auto-cleared by EIAC: {icr:#x}')
        check(not self.irq(), 'INTx asserted in MSI-X mode')
        qt.memset(self.VEC, 80, 0)
        m.qmp.hmp(f'set_link {run.nicname} off')
        vw = self.vec_writes()
        check_eq(vw, [0, 0, 0x102, 0, 0], 'vector writes after a link change')
        icr = self.r(self.ICR)
        check(icr & 0x01000004 == 0x01000004, f'LSC | OTHER not in ICR: {icr:#x}')
        out.append(('link', vw, icr))
        self.w(self.ICR, icr)
        m.qmp.hmp(f'set_link {run.nicname} on')
        T.wait_until(lambda: self.r(self.STATUS) & 2, what='link back up')
        self.w(self.ICR, self.r(self.ICR))
        self.rx_setup()
        qt.memset(self.VEC, 80, 0)
        run.wire.send(T.frame(b'\xff' * 6, bytes.fromhex('020000000001'), bytes(60)))
        T.wait_until(lambda: self.vec_writes()[0], what='rx vector')
        vw = self.vec_writes()
        check_eq(vw, [0x100, 0, 0, 0, 0], 'vector writes after receive')
        out.append(('rx', vw))
        # mask vector 1: the write waits in the PBA (EIAC took TXQ0 out of
        # IMS, as a driver's vector handler does, it goes back in)
        self.w(self.IMS, 0x00400000)
        qt.writel(table + 16 + 12, 1)
        qt.memset(self.VEC, 80, 0)
        self.tx(T.frame(b'\xff' * 6, T.mac_bytes(run.mac), bytes(50)))
        check(run.wire.recv() is not None, 'frame not sent')
        pba = qt.readl(table + 0x2000)
        check_eq((self.vec_writes()[1], pba & 2), (0, 2), 'masked vector: no write, PBA bit')
        qt.writel(table + 16 + 12, 0)
        check_eq((self.vec_writes()[1], qt.readl(table + 0x2000) & 2), (0x101, 0),
                 'unmasked vector: write delivered, PBA clear')
        out.append(('mask', pba))
        return out

    def ctx_desc(self, ipcss, ipcso, ipcse, tucss, tucso, tucse, paylen, cmd, hdr_len, mss):
        return struct.pack('<BBHBBHIBBH', ipcss, ipcso, ipcse, tucss, tucso, tucse,
                           paylen | (0x20 | cmd) << 24, 0, hdr_len, mss)

    def data_desc(self, addr, length, dcmd, popts):
        return struct.pack('<QII', addr, length | 1 << 20 | (0x20 | dcmd) << 24, popts << 8)

    def offload(self, run):
        """Checksum offload through context and data descriptors: the TCP
        checksum field holds the pseudo-header sum, the chip adds the rest
        (IXSM | TXSM); the frame spans two data descriptors."""
        me = T.mac_bytes(run.mac)
        src, dst = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
        data = bytes((i * 7) & 0xff for i in range(300))
        tcp = T.tcp_segment(40000, 80, 1000, 2000, 0x18, data,
                            csum_field=T.l4_pseudo(src, dst, 6, 20 + len(data)))
        ip, _ = T.ipv4(src, dst, 6, tcp)
        ip = ip[:10] + b'\x00\x00' + ip[12:]
        frame = T.frame(bytes.fromhex('525400999999'), me, ip + tcp, 0x0800)
        self.qt.memwrite(TXBUF, frame)
        self.tx_desc(self.ctx_desc(14, 24, 33, 34, 50, 0, 0, 0x02 | 0x01, 0, 0))
        self.tx_desc(self.data_desc(TXBUF, 40, 0, 3))
        self.tx_desc(self.data_desc(TXBUF + 40, len(frame) - 40, 0x01 | 0x08, 3))
        got = run.wire.recv()
        check(got is not None, 'offloaded frame not on the wire')
        T.check_ipv4_frame(got, 'checksum offload')
        check_eq(got[54:], data, 'TCP payload')
        return [got.hex()]

    def tso(self, run):
        """TCP segmentation: 3000 bytes with MSS 1000 leave as three
        segments with their own lengths, IDs, sequence numbers, flags and
        checksums. (QEMU 7.2 fragments at the IP layer instead when the
        backend takes no virtio header: kite only.)"""
        me = T.mac_bytes(run.mac)
        src, dst = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
        data = bytes((i ^ (i >> 8)) & 0xff for i in range(3000))
        tcp = T.tcp_segment(40000, 80, 5000, 7, 0x19, data,
                            csum_field=T.l4_pseudo(src, dst, 6, 0))
        ip, _ = T.ipv4(src, dst, 6, tcp, ident=0x100)
        frame = T.frame(bytes.fromhex('525400999999'), me, ip + tcp, 0x0800)
        self.qt.memwrite(TXBUF, frame)
        self.tx_desc(self.ctx_desc(14, 24, 33, 34, 50, 0, len(data), 0x04 | 0x02 | 0x01, 54,
                                   1000))
        self.tx_desc(self.data_desc(TXBUF, len(frame), 0x01 | 0x04 | 0x08, 3))
        segs = [run.wire.recv() for _ in range(3)]
        check(all(segs), f'{sum(1 for x in segs if x)} of 3 segments on the wire')
        check(run.wire.recv(0.3) is None, 'more than 3 segments')
        payload = b''
        for n, f in enumerate(segs):
            ipb, l4 = T.check_ipv4_frame(f, f'segment {n}')
            ident, = struct.unpack('!H', ipb[4:6])
            seq, = struct.unpack('!I', l4[4:8])
            check_eq(ident, 0x100 + n, f'segment {n} IP id')
            check_eq(seq, 5000 + 1000 * n, f'segment {n} sequence number')
            check_eq(l4[13], 0x19 if n == 2 else 0x10, f'segment {n} TCP flags')
            payload += l4[20:]
        check_eq(payload, data, 'payload of the segments')
        # again with VLAN insertion: the tag goes into every segment
        self.w(self.CTRL, self.r(self.CTRL) | 1 << 30)
        self.tx_desc(self.ctx_desc(14, 24, 33, 34, 50, 0, len(data), 0x04 | 0x02 | 0x01, 54,
                                   1000))
        desc = bytearray(self.data_desc(TXBUF, len(frame), 0x01 | 0x04 | 0x08 | 0x40, 3))
        desc[14:16] = struct.pack('<H', 0x0123)
        self.tx_desc(bytes(desc))
        payload = b''
        for n in range(3):
            f = run.wire.recv()
            check(f is not None, f'tagged segment {n} missing')
            check_eq(f[12:16], b'\x81\x00\x01\x23', f'tagged segment {n}: VLAN tag')
            _, l4 = T.check_ipv4_frame(f, f'tagged segment {n}')
            payload += l4[20:]
        check_eq(payload, data, 'payload of the tagged segments')
        return 'segments verified, with and without VLAN insertion'

    LINK_CAUSE = 0x4
    TX_CAUSE = 0x1
    RX_CAUSE = 0x80
    CAUSE_CLEAR = 'rc'  # outside MSI-X mode
    # QEMU's CTRL.RST leaves the MAC registers alone, the chip (and kite)
    # reset them: MDIC still holds the last PHY access in QEMU
    SOFT_RESET_SKIP = ('0x00020',)

    def malicious(self):
        qt = self.qt
        self.tx_setup()
        # descriptors whose buffers are outside RAM or empty, and a chain
        # that never ends (no EOP anywhere in the ring)
        ring = b''
        for i in range(self.NDESC):
            addr = OUTSIDE_RAM if i % 2 else TXBUF
            ring += struct.pack('<QHBBBBH', addr, 0 if i == 2 else 1500, 0, 0x08, 0, 0, 0)
        qt.memwrite(TXRING, ring)
        self.w(self.TDT, self.NDESC - 1)
        self.w(self.TDT, 0)
        # a frame whose only buffer is outside RAM
        self.tx_idx = 0
        self.w(self.TDH, 0)
        self.w(self.TDT, 0)
        self.tx_desc(struct.pack('<QHBBBBH', OUTSIDE_RAM, 1000, 0, 0x0b, 0, 0, 0))
        # a transmit ring outside RAM, as big as the chip allows
        self.w(self.TDBAL, OUTSIDE_RAM)
        self.w(self.TDLEN, 0xfff80)
        self.w(self.TDH, 0)
        self.w(self.TDT, 0xfff)
        # a tail beyond the ring end
        self.w(self.TDBAL, TXRING)
        self.w(self.TDLEN, 128)
        self.w(self.TDT, 0x7fff)
        # receive: ring outside RAM, then buffers outside RAM
        self.rx_setup()
        self.w(self.RDBAL, OUTSIDE_RAM)
        self.w(self.RDH, 0)
        self.w(self.RDT, 5)
        return 2, 0


# ---------------------------------------------------------------- e1000

class E1000(E1000e):
    """82540EM with legacy receive descriptors: the e1000e driver minus
    the 82574's extended descriptors, packet split and MSI-X."""
    model = 'e1000'
    vendor, device = 0x8086, 0x100e
    # QEMU's e1000 ignores CTRL.RST (its MDIC keeps the last PHY access),
    # the chip (and kite) reset the MAC registers
    SOFT_RESET_SKIP = ('0x00020',)
    REGS = [0x00000, 0x00008, 0x00010, 0x00014, 0x00018, 0x00020, 0x00038, 0x000c0,
            0x000c4, 0x000c8, 0x000d0, 0x00100, 0x00400, 0x00410, 0x01000, 0x02800,
            0x02808, 0x02810, 0x02818, 0x03800, 0x03808, 0x03810, 0x03818, 0x05200,
            0x05400, 0x05404, 0x05408, 0x0540c]
    EXTRA = {'offload': ('offload', True), 'tso': ('tso', False),
             'null-buffer': ('null_buffer', True)}
    IO_BAR = 1
    # the 82540EM's EERD: START bit 0, DONE bit 4, address in 15:8
    EERD_ADDR_SHIFT, EERD_DONE = 8, 0x10
    NVM = 'EEPROM'

    def reset_regs(self):
        out = [(f'{o:#07x}', self.r(o)) for o in self.REGS]
        out.append(('io-ioaddr', self.qt.inl(self.io)))
        if self.m.kind == 'kite':
            # IOADDR/IODATA reach the registers as on the chip; QEMU 7.2's
            # I/O BAR reads 0 whatever is written, so no cross-check
            self.qt.outl(self.io, self.STATUS)
            check_eq(self.qt.inl(self.io + 4), self.r(self.STATUS), 'STATUS through IODATA')
            check_eq(self.qt.inl(self.io), self.STATUS, 'IOADDR read back')
        out.append(('mdic-phy-id2', self.mdi(3)))
        out.append(('mdic-phy-status', self.mdi(1)))
        return out

    def soft_reset(self):
        super().soft_reset()
        self.tx_ready = False

    def rx_desc_format(self):
        pass  # legacy descriptors: the 82540EM has no RFCTL

    def rx_writeback(self, d):
        """Legacy write-back: length at byte 8, status at byte 12."""
        length, _csum, status, _errors, _special = struct.unpack(
            '<HHBBH', self.qt.memread(d + 8, 8))
        return status, length

    def null_buffer(self, run):
        """A receive descriptor without a buffer (address 0) is skipped,
        as the 8254x manual says: it comes back done (DD without EOP, its
        length as the driver left it) and the frame lands whole in the
        next descriptor."""
        self.rx_setup(promisc=True)
        self.qt.memwrite(RXRING, struct.pack('<QHHBBH', 0, 0x1234, 0, 0, 0, 0))
        frame = T.frame(T.mac_bytes(run.mac), bytes.fromhex('020000000001'),
                        bytes(range(100)))
        run.wire.send(frame)
        T.wait_until(lambda: self.rx_writeback(RXRING + 16)[0] & 1, timeout=5,
                     what='the frame in the descriptor after the empty one')
        out = []
        for i in range(3):
            length, _, status, errors, _ = struct.unpack(
                '<HHBBH', self.qt.memread(RXRING + 16 * i + 8, 8))
            out.append((f'desc{i} (length, DD|EOP, errors)', (length, status & 3, errors)))
        out.append(('frame in desc1', self.qt.memread(RXBUF + 2048, len(frame)) == frame))
        out.append(('RDH', self.r(self.RDH)))
        return out

    def malicious(self):
        m = self.m
        # a receive ring whose length is not a multiple of 128 (RDLEN has
        # no low bits: no descriptors at all) and whose head lies past its
        # end: no buffers, so frames wait for some as for any full ring
        self.rx_setup()
        self.w(self.RDLEN, 0x48)
        check_eq(self.r(self.RDLEN), 0, 'RDLEN written 0x48')
        self.w(self.RDH, 0x7fff)
        self.w(self.RDT, 3)
        if self.inject:
            before = m.net_stats(f'{self.model}.0')
            self.inject(2)
            after = m.net_stats(f'{self.model}.0')
            check_eq((after['rx-queued'] - before['rx-queued'],
                      after['rx-dropped'] - before['rx-dropped']), (2, 0),
                     'frames (queued, dropped) while the ring has no descriptors')
        # transmit rings, then a receive ring outside RAM: the RDT write
        # lets the waiting frames in, each is lost
        r = super().malicious()
        # descriptors without buffers only: each is skipped until no free
        # one is left; the frame is lost and counted, nothing waits
        self.rx_setup()
        self.qt.memwrite(RXRING, bytes(16 * self.NDESC))
        if self.inject:
            dropped = self.rx_dropped()
            self.inject(1)
            check_eq(self.rx_dropped() - dropped, 1,
                     'rx-dropped for a ring of descriptors without buffers')
            check_eq(self.r(self.RDH), self.NDESC - 1, 'RDH after skipping every free descriptor')
        # receive buffers outside RAM: each frame is dropped and its
        # descriptor comes back with RXE
        self.rx_setup()
        self.qt.memwrite(RXRING, b''.join(struct.pack('<QQ', OUTSIDE_RAM + 2048 * i, 0)
                                          for i in range(self.NDESC)))
        if self.inject:
            dropped = self.rx_dropped()
            self.inject(1)
            check_eq(self.rx_dropped() - dropped, 1, 'rx-dropped for a buffer outside RAM')
            length, _, status, errors, _ = struct.unpack('<HHBBH', self.qt.memread(RXRING + 8, 8))
            check_eq((status & 3, errors & 0x80), (3, 0x80),
                     'DD EOP and RXE of a descriptor whose buffer is outside RAM')
        return r


# ---------------------------------------------------------------- virtio-net

VIRTIO_F_VERSION_1 = 1 << 32
VIRTIO_F_RING_RESET = 1 << 40
VIRTIO_NET_F_MAC = 1 << 5
VIRTIO_NET_F_CTRL_VQ = 1 << 17
VIRTIO_NET_F_CTRL_RX = 1 << 18
VIRTIO_RING_F_INDIRECT_DESC = 1 << 28
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4
VNET_HDR_LEN = 12  # virtio_net_hdr with num_buffers, always so with VERSION_1


class VirtioNet(Driver):
    """virtio-net-pci through the virtio 1.0 transport: the vendor
    capabilities in configuration space locate the common, notify, ISR and
    device configuration structures; split virtqueues rx (0) and tx (1)."""
    model = 'virtio-net-pci'
    vendor, device = 0x1af4, 0x1000
    HAS_LINK_STATUS = True
    QSIZE = 16
    RXQ, TXQ, CTRLQ = 0, 1, 2  # one queue pair: the control queue is 2
    BUF = 2048
    CTRLBUF = AUX + 0x13000  # control commands and their acks
    NEEDS_RESET = 0x40
    # what the fuzzer scribbles over: descriptor tables, avail and used rings
    FUZZ_TARGETS = [TXRING, RXRING, TXRING + 0x1000, RXRING + 0x1000, TXRING + 0x2000,
                    RXRING + 0x2000, AUX, TXBUF]

    # common configuration offsets
    DFSELECT, DF, GFSELECT, GF, MSIX_CONFIG, NUM_QUEUES = 0x00, 0x04, 0x08, 0x0c, 0x10, 0x12
    STATUS, GENERATION, Q_SELECT, Q_SIZE, Q_VECTOR, Q_ENABLE = 0x14, 0x15, 0x16, 0x18, 0x1a, 0x1c
    Q_NOTIFY_OFF, Q_DESC, Q_DRIVER, Q_DEVICE, Q_RESET = 0x1e, 0x20, 0x28, 0x30, 0x3a
    EXTRA = {'transport': ('transport', True)}

    def attach(self):
        self.caps = self.find_caps()
        for t in (1, 2, 3, 4):
            check(t in self.caps, f'no virtio vendor capability of type {t}')
        self.common = self.cap_addr(1)
        self.notify = self.cap_addr(2)
        self.isr = self.cap_addr(3)
        self.devcfg = self.cap_addr(4)
        self.notify_mult = self.caps[2]['mult']
        self.features = 0
        self.ready = False
        self.qaddr = {self.RXQ: RXRING, self.TXQ: TXRING, self.CTRLQ: AUX + 0x10000}
        self.notify_off = {}
        self.rx_last_used = 0
        self.tx_last_used = 0
        self.rx_avail = 0
        self.tx_avail = 0
        self.ctrl_avail = self.ctrl_last_used = 0

    def find_caps(self):
        m, caps = self.m, {}
        check(m.cfg_read(self.devfn, 0x06, 2) & 0x10, 'no capability list')
        ptr = m.cfg_read(self.devfn, 0x34, 1) & 0xfc
        for _ in range(48):
            if not ptr:
                break
            cap_id = m.cfg_read(self.devfn, ptr, 1)
            nxt = m.cfg_read(self.devfn, ptr + 1, 1) & 0xfc
            if cap_id == 0x09:
                cfg_type = m.cfg_read(self.devfn, ptr + 3, 1)
                c = {'at': ptr, 'bar': m.cfg_read(self.devfn, ptr + 4, 1),
                     'off': m.cfg_read(self.devfn, ptr + 8),
                     'len': m.cfg_read(self.devfn, ptr + 12)}
                if cfg_type == 2:
                    c['mult'] = m.cfg_read(self.devfn, ptr + 16)
                caps.setdefault(cfg_type, c)
            ptr = nxt
        return caps

    def cap_addr(self, t):
        c = self.caps[t]
        check(c['bar'] in self.bars, f'virtio capability {t} names BAR {c["bar"]}')
        kind, base, size = self.bars[c['bar']]
        check(kind != 'io' and c['off'] + c['len'] <= size,
              f'virtio capability {t} outside BAR {c["bar"]}')
        return base + c['off']

    def c8(self, o): return self.qt.readb(self.common + o)
    def c16(self, o): return self.qt.readw(self.common + o)
    def c32(self, o): return self.qt.readl(self.common + o)
    def wc8(self, o, v): self.qt.writeb(self.common + o, v)
    def wc16(self, o, v): self.qt.writew(self.common + o, v)
    def wc32(self, o, v): self.qt.writel(self.common + o, v)

    def wc64(self, o, v):
        self.wc32(o, v & 0xffffffff)
        self.wc32(o + 4, v >> 32)

    def host_features(self):
        f = 0
        for sel in (0, 1):
            self.wc32(self.DFSELECT, sel)
            f |= self.c32(self.DF) << (32 * sel)
        return f

    def reset_regs(self):
        out = [('host-features', self.host_features()),
               ('num-queues', self.c16(self.NUM_QUEUES)),
               ('status', self.c8(self.STATUS)),
               ('msix-config', self.c16(self.MSIX_CONFIG))]
        for q in (0, 1, 2):
            self.wc16(self.Q_SELECT, q)
            out += [(f'q{q}-size', self.c16(self.Q_SIZE)),
                    (f'q{q}-enable', self.c16(self.Q_ENABLE)),
                    (f'q{q}-vector', self.c16(self.Q_VECTOR))]
        out.append(('isr', self.qt.readb(self.isr)))
        out.append(('net-status', self.qt.readw(self.devcfg + 6)))
        return out

    def soft_reset(self):
        self.wc8(self.STATUS, 0)
        T.wait_until(lambda: self.c8(self.STATUS) == 0, timeout=2, what='virtio reset')
        self.ready = False

    def read_mac(self):
        return bytes(self.qt.readb(self.devcfg + i) for i in range(6))

    def read_prom(self):
        return self.read_mac()

    def prom_check(self, image, mac):
        check_eq(image, mac, 'virtio config MAC')

    def init(self, indirect=False, ctrl=False, extra=0):
        """Reset, negotiate VERSION_1 | MAC (| INDIRECT_DESC, | CTRL_VQ |
        CTRL_RX with the control queue, | extra), set up the queues and set
        DRIVER_OK."""
        self.soft_reset()
        self.wc8(self.STATUS, 1)
        self.wc8(self.STATUS, 1 | 2)
        host = self.host_features()
        check(host & VIRTIO_F_VERSION_1, f'VERSION_1 not offered: {host:#x}')
        want = VIRTIO_F_VERSION_1 | (host & VIRTIO_NET_F_MAC) | extra
        if indirect:
            want |= host & VIRTIO_RING_F_INDIRECT_DESC
        if ctrl:
            check(host & VIRTIO_NET_F_CTRL_VQ and host & VIRTIO_NET_F_CTRL_RX,
                  f'no control queue with receive modes: {host:#x}')
            want |= VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX
        for sel in (0, 1):
            self.wc32(self.GFSELECT, sel)
            self.wc32(self.GF, (want >> (32 * sel)) & 0xffffffff)
        self.wc8(self.STATUS, 1 | 2 | 8)
        check(self.c8(self.STATUS) & 8, 'FEATURES_OK not accepted')
        self.features = want
        for q in (self.RXQ, self.TXQ) + ((self.CTRLQ,) if ctrl else ()):
            self.setup_queue(q)
        self.wc8(self.STATUS, 1 | 2 | 8 | 4)
        self.rx_last_used = self.tx_last_used = 0
        self.rx_avail = self.tx_avail = 0
        self.ctrl_avail = self.ctrl_last_used = 0
        self.ready = True

    def setup_queue(self, q):
        base = self.qaddr[q]
        self.qt.memset(base, 0x3000, 0)
        self.wc16(self.Q_SELECT, q)
        check(self.c16(self.Q_SIZE) >= self.QSIZE, f'queue {q} too small')
        self.wc16(self.Q_SIZE, self.QSIZE)
        self.wc16(self.Q_VECTOR, 0xffff)
        self.wc64(self.Q_DESC, base)
        self.wc64(self.Q_DRIVER, base + 0x1000)
        self.wc64(self.Q_DEVICE, base + 0x2000)
        self.notify_off[q] = self.c16(self.Q_NOTIFY_OFF)
        self.wc16(self.Q_ENABLE, 1)

    def transport(self, run):
        """The PCI configuration access capability (a window into the
        modern BAR through configuration space) and a queue reset
        (VIRTIO_F_RING_RESET) with the queue set up again after it."""
        m, d, out = self.m, self.devfn, []
        check(5 in self.caps, 'no PCI configuration access capability')
        cap = self.caps[5]['at']

        def window(off, length, value=None):
            m.cfg_write(d, cap + 4, self.caps[1]['bar'], 1)
            m.cfg_write(d, cap + 8, off)
            m.cfg_write(d, cap + 12, length)
            if value is not None:
                m.cfg_write(d, cap + 16, value)
                return None
            return m.cfg_read(d, cap + 16) & ((1 << (8 * length)) - 1)

        common, devcfg = self.caps[1]['off'], self.caps[4]['off']
        mac = bytes(window(devcfg + i, 1) for i in range(6))
        check_eq(mac, T.mac_bytes(run.mac), 'MAC through the window')
        nq = window(common + self.NUM_QUEUES, 2)
        check_eq(nq, self.c16(self.NUM_QUEUES), 'num_queues through the window')
        window(common + self.DFSELECT, 4, 1)
        df1 = window(common + self.DF, 4)
        check_eq(self.c32(self.DFSELECT), 1, 'device_feature_select written through the window')
        check_eq(df1, self.c32(self.DF), 'device_feature word 1 through the window')
        out.append(('window', mac.hex(), nq, df1))
        # queue reset of the transmit queue between two frames
        check(self.host_features() & VIRTIO_F_RING_RESET, 'RING_RESET not offered')
        self.init(extra=VIRTIO_F_RING_RESET)
        for n in range(2):
            f = T.frame(bytes.fromhex('525400999999'), T.mac_bytes(run.mac), bytes([n]) * 60)
            check_eq(self.tx(f), 1, f'frame {n}: buffers used')
            got = run.wire.recv()
            check(got is not None and got[:len(f)] == f, f'frame {n} on the wire: {got!r}')
            if n:
                break
            self.wc16(self.Q_SELECT, self.TXQ)
            self.wc16(self.Q_RESET, 1)
            # (QEMU 7.2 still shows the old ring addresses, kite zeroes them)
            state = (self.c16(self.Q_RESET), self.c16(self.Q_ENABLE), self.c16(self.Q_SIZE),
                     self.c16(self.Q_VECTOR))
            check_eq(state[:2], (0, 0), 'queue_reset and queue_enable after the reset')
            out.append(('reset', state))
            self.setup_queue(self.TXQ)
            self.tx_avail = self.tx_last_used = 0
        return out

    def ctrl(self, cls, cmd, data=b''):
        """One control queue command; returns its ack (0 = VIRTIO_NET_OK)."""
        cmd_buf, ack_buf = self.CTRLBUF, self.CTRLBUF + 0x800
        self.qt.memwrite(cmd_buf, bytes([cls, cmd]) + bytes(data))
        self.qt.memwrite(ack_buf, b'\xff')
        self.desc(self.CTRLQ, 0, cmd_buf, 2 + len(data), VRING_DESC_F_NEXT, 1)
        self.desc(self.CTRLQ, 1, ack_buf, 1, VRING_DESC_F_WRITE)
        self.ctrl_avail = self.publish(self.CTRLQ, [0], self.ctrl_avail)
        done = []
        T.wait_until(lambda: done.extend(self.used(self.CTRLQ, self.ctrl_last_used)[0]) or done,
                     timeout=self.wait_s, what=f'control command {cls}.{cmd} to complete')
        self.ctrl_last_used = (self.ctrl_last_used + len(done)) & 0xffff
        check_eq(done, [(0, 1)], f'used entry of control command {cls}.{cmd}')
        return self.qt.memread(ack_buf, 1)[0]

    def kick(self, q):
        self.qt.writew(self.notify + self.notify_off.get(q, q) * self.notify_mult, q)

    def desc(self, q, i, addr, length, flags, nxt=0):
        self.qt.memwrite(self.qaddr[q] + 16 * i, struct.pack('<QIHH', addr, length, flags, nxt))

    def publish(self, q, heads, avail_idx):
        """Put heads in the avail ring from avail_idx on; returns the new
        index (written to the ring, then kicked)."""
        ring = self.qaddr[q] + 0x1000
        for h in heads:
            self.qt.memwrite(ring + 4 + 2 * (avail_idx % self.QSIZE), struct.pack('<H', h))
            avail_idx = (avail_idx + 1) & 0xffff
        self.qt.memwrite(ring + 2, struct.pack('<H', avail_idx))
        self.kick(q)
        return avail_idx

    def used(self, q, last):
        """New (id, len) entries of queue q's used ring since 'last'."""
        ring = self.qaddr[q] + 0x2000
        idx = struct.unpack('<H', self.qt.memread(ring + 2, 2))[0]
        out = []
        while last != idx and len(out) < self.QSIZE:
            out.append(struct.unpack('<II', self.qt.memread(ring + 4 + 8 * (last % self.QSIZE),
                                                            8)))
            last = (last + 1) & 0xffff
        return out, last

    def tx(self, frame):
        """Send a frame; returns how many buffers came back used (1),
        waiting for it as a driver would: the device takes the kick when
        it gets to it (kite: on its main loop, QEMU: from a bottom half)."""
        if not self.ready:
            self.init()
        slot = self.tx_avail % self.QSIZE
        buf = TXBUF + self.BUF * slot
        self.qt.memwrite(buf, bytes(VNET_HDR_LEN) + bytes(frame))
        self.desc(self.TXQ, slot, buf, VNET_HDR_LEN + len(frame), 0)
        self.tx_avail = self.publish(self.TXQ, [slot], self.tx_avail)
        done = []
        end = time.monotonic() + self.wait_s
        # (not for ever when the device was reset or broke meanwhile)
        while not done and time.monotonic() < end and \
                self.c8(self.STATUS) & (4 | self.NEEDS_RESET) == 4:
            got, self.tx_last_used = self.used(self.TXQ, self.tx_last_used)
            done += got
        return len(done)

    def tx_ok(self, status):
        return status == 1

    def rx_setup(self, promisc=False, mcast=()):
        # a fresh device is promiscuous: receive modes and the multicast
        # table go through the control queue
        self.init(ctrl=True)
        check_eq(self.ctrl(0, 0, bytes([1 if promisc else 0])), 0, 'VIRTIO_NET_CTRL_RX_PROMISC')
        table = struct.pack('<I', 0) + struct.pack('<I', len(mcast)) + b''.join(mcast)
        check_eq(self.ctrl(1, 0, table), 0, 'VIRTIO_NET_CTRL_MAC_TABLE_SET')
        for i in range(self.QSIZE):
            self.desc(self.RXQ, i, RXBUF + self.BUF * i, self.BUF, VRING_DESC_F_WRITE)
        self.rx_avail = self.publish(self.RXQ, range(self.QSIZE), 0)

    def rx_collect(self):
        frames = []
        done, self.rx_last_used = self.used(self.RXQ, self.rx_last_used)
        for head, length in done:
            check(head < self.QSIZE and VNET_HDR_LEN <= length <= self.BUF,
                  f'used entry ({head}, {length})')
            data = self.qt.memread(RXBUF + self.BUF * head, length)
            # VERSION_1 without MRG_RXBUF: the spec says 1, QEMU 7.2 leaves 0
            check(struct.unpack('<H', data[10:12])[0] in
                  ((1,) if self.m.kind == 'kite' else (0, 1)), f'num_buffers: {data[:12].hex()}')
            frames.append(data[VNET_HDR_LEN:])
        if done:
            self.rx_avail = self.publish(self.RXQ, [h for h, _ in done], self.rx_avail)
        return frames

    def link_up(self):
        return bool(self.qt.readw(self.devcfg + 6) & 1)

    def irq_enable(self):
        if not self.ready:
            self.init()

    def irq_cause(self):
        return self.qt.readb(self.isr)

    def irq_ack(self, cause):
        pass  # reading the ISR cleared it

    LINK_CAUSE = 0x2
    TX_CAUSE = 0x1
    RX_CAUSE = 0x1
    CAUSE_CLEAR = 'rc'

    def fuzz_chain(self, rng):
        """A hostile descriptor chain published on the rx or tx queue:
        indices beyond the queue size, next loops, lengths over 64 KiB,
        addresses outside RAM, indirect tables (nested, looping, huge),
        avail indices that jump."""
        # a broken queue ignores everything until a reset: usually reset it
        # (checking DEVICE_NEEDS_RESET), now and then keep poking it broken
        if not self.ready or rng.random() < 0.05 or \
                (rng.random() < 0.8 and self.c8(self.STATUS) & 0x40):
            self.init(indirect=rng.random() < 0.7)
        q = rng.choice([self.RXQ, self.TXQ])
        n = self.QSIZE

        def addr():
            return rng.choice([TXBUF, RXBUF + rng.randrange(0x8000), AUX, OUTSIDE_RAM,
                               (64 << 20) - rng.choice([1, 12, 16, 100]), 0,
                               0xfffffffffffffff0, rng.getrandbits(64)])

        def length():
            return rng.choice([0, 1, 11, 12, 13, 60, 1514, 2048, 0x10000, 0x10001, 0xffffffff,
                               rng.getrandbits(32)])

        def flags():
            f = rng.choice([0, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
                            VRING_DESC_F_NEXT | VRING_DESC_F_WRITE])
            if rng.random() < 0.15:
                f |= VRING_DESC_F_INDIRECT
            return f | (rng.getrandbits(16) if rng.random() < 0.05 else 0)

        def nxt(i):
            return rng.choice([(i + 1) % n, i, 0, n, n + 1, 0xffff, rng.randrange(n)])

        heads = []
        for _ in range(rng.choice([1, 2, 4])):
            head = rng.randrange(n) if rng.random() < 0.85 else rng.choice([n, 0xffff])
            heads.append(head)
            i = head % n
            for _ in range(rng.choice([1, 2, 5, n])):
                if rng.random() < 0.2:
                    # an indirect table in AUX
                    count = rng.choice([1, 2, 8, 64])
                    table = b''.join(struct.pack('<QIHH', addr(), length(), flags(),
                                                 rng.choice([k + 1, k, 0, count, 0xffff]))
                                     for k in range(count))
                    self.qt.memwrite(AUX, table)
                    self.desc(q, i, rng.choice([AUX, AUX, OUTSIDE_RAM]),
                              rng.choice([16 * count, 16 * count + 8, 0, 16 * 2000]),
                              VRING_DESC_F_INDIRECT | rng.choice([0, 0, VRING_DESC_F_NEXT]),
                              nxt(i))
                else:
                    self.desc(q, i, addr(), length(), flags(), nxt(i))
                i = (i + 1) % n
        avail = self.rx_avail if q == self.RXQ else self.tx_avail
        if rng.random() < 0.1:
            avail = (avail + rng.choice([n + 1, 0x8000, 0xffff])) & 0xffff
        avail = self.publish(q, heads, avail)
        if q == self.RXQ:
            self.rx_avail = avail
        else:
            self.tx_avail = avail

    def broken(self):
        """Wait for DEVICE_NEEDS_RESET (kite takes kicks on its main loop)."""
        T.wait_until(lambda: self.c8(self.STATUS) & self.NEEDS_RESET, timeout=self.wait_s,
                     what='DEVICE_NEEDS_RESET after a broken chain')

    def malicious(self):
        drops = 0
        # transmit chains that break the queue, each losing its frame: one
        # that loops on itself, a head index out of range, an indirect
        # table outside RAM
        for head, d in [(0, (TXBUF, 60, VRING_DESC_F_NEXT, 0)), (self.QSIZE + 3, None),
                        (0, (OUTSIDE_RAM, 16 * 4, VRING_DESC_F_INDIRECT))]:
            self.init(indirect=True)
            if d:
                self.desc(self.TXQ, 0, *d)
            self.tx_avail = self.publish(self.TXQ, [head], self.tx_avail)
            self.broken()
            drops += 1
        # an empty buffer and one outside RAM: both frames are dropped,
        # the buffers come back used and the queue keeps working
        self.init(indirect=True)
        self.desc(self.TXQ, 0, TXBUF, 0, 0)
        self.desc(self.TXQ, 1, OUTSIDE_RAM, 1514, 0)
        self.tx_avail = self.publish(self.TXQ, [0, 1], self.tx_avail)
        got = []
        T.wait_until(lambda: got.extend(self.used(self.TXQ, len(got))[0]) or len(got) >= 2,
                     what='the dropped frames\' buffers back in the used ring')
        check_eq(sorted(h for h, _ in got), [0, 1], 'used heads of the dropped frames')
        check(not self.c8(self.STATUS) & self.NEEDS_RESET, 'queue broken by a dropped frame')
        drops += 2
        # a receive chain that loops: the frame is lost and the queue broken
        if self.inject:
            self.init()
            self.desc(self.RXQ, 0, RXBUF, self.BUF, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0)
            self.rx_avail = self.publish(self.RXQ, [0], 0)
            dropped = self.rx_dropped()
            self.inject(1)
            self.broken()
            check_eq(self.rx_dropped() - dropped, 1, 'rx-dropped for a looping receive chain')
        # receive buffers outside RAM: each frame is dropped, its buffer
        # comes back used
        self.init()
        for i in range(self.QSIZE):
            self.desc(self.RXQ, i, OUTSIDE_RAM + self.BUF * i, self.BUF, VRING_DESC_F_WRITE)
        self.rx_avail = self.publish(self.RXQ, range(self.QSIZE), 0)
        return drops, 0


DRIVERS = {d.model: d for d in [Rtl8139, Ne2kPci, Pcnet, I82551, I82557b, I82559er, E1000e,
                                E1000, VirtioNet]}
