#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-net's offloads through a tap opened with vnet_hdr=on, header by
header, on kite and on QEMU 7.2 (the same steps, the same expectations).

virtio-net is driven through qtest over its legacy I/O interface, so the
header is 10 bytes without VIRTIO_NET_F_MRG_RXBUF and 12 with it. The tap
lives in a private network namespace (the script re-runs itself under
`unshare --net`); a packet socket with PACKET_VNET_HDR on the tap is the
kernel's side of the wire. For each header layout:

- transmit: one TCPv4 GSO frame (NEEDS_CSUM, csum_start/csum_offset at
  the TCP checksum, gso_size 1000, hdr_len 54, 3000 bytes of payload)
  posted as a chain of three descriptors reaches the kernel as one GSO
  packet with exactly that header and frame;
- receive with GUEST_CSUM negotiated (the emulator passes it on with
  TUNSETOFFLOAD): a frame the kernel sends with a partial checksum
  arrives with NEEDS_CSUM and the same offsets, the frame right after
  the header (num_buffers 1 when the header has the field);
- receive without GUEST_CSUM: the kernel completes the checksum first,
  the frame arrives flagged 0 with a good checksum.

Environment: KITE, QEMU (optional). Needs root, /dev/net/tun, unshare(1).
"""
import os
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "nic"))
import nictest  # noqa: E402
from nictest import check, check_eq  # noqa: E402

HOST_FEATURES, GUEST_FEATURES, QUEUE_PFN, QUEUE_SIZE, QUEUE_SEL, QUEUE_NOTIFY = (
    0x00, 0x04, 0x08, 0x0C, 0x0E, 0x10)
STATUS = 0x12
F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_HOST_TSO4, F_MRG_RXBUF = 0, 1, 7, 11, 15
NEEDS_CSUM, GSO_NONE, GSO_TCPV4 = 1, 0, 1
RINGS, BUFS, RX_BUF = 0x100000, 0x400000, 2048
TAP = "vhtap0"
GUEST_MAC = bytes.fromhex("525400123456")
HOST_MAC = bytes.fromhex("02aabbccddee")
SOL_PACKET, PACKET_VNET_HDR = 263, 15
SRC, DST = bytes([10, 9, 0, 2]), bytes([10, 9, 0, 1])


def inet_sum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def tcp_frame(dst_mac, src_mac, src, dst, payload, partial):
    """Ethernet + IPv4 + TCP. The TCP checksum is the pseudo-header sum
    (with the full TCP length) when partial, else complete."""
    tcp = bytearray(struct.pack(">HHIIBBHHH", 40000, 5001, 1, 0, 5 << 4, 0x18, 0xFFFF, 0, 0))
    tlen = len(tcp) + len(payload)
    pseudo = inet_sum(src + dst + struct.pack(">BBH", 0, 6, tlen))
    if partial:
        struct.pack_into(">H", tcp, 16, pseudo)
    else:
        struct.pack_into(">H", tcp, 16, ~inet_sum(bytes(tcp) + payload, pseudo) & 0xFFFF)
    ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + tlen, 1, 0x4000, 64, 6, 0,
                               src, dst))
    struct.pack_into(">H", ip, 10, ~inet_sum(bytes(ip)) & 0xFFFF)
    return dst_mac + src_mac + b"\x08\x00" + bytes(ip) + bytes(tcp) + payload


def vnet_hdr(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


class Vq:
    """A legacy split virtqueue in guest memory, chains posted by hand."""

    def __init__(self, dev, index):
        self.qt, self.io, self.index = dev.qt, dev.io, index
        self.qt.outw(self.io + QUEUE_SEL, index)
        self.size = self.qt.inw(self.io + QUEUE_SIZE)
        check(self.size > 0, f"queue {index} has no size")
        self.ring = RINGS + index * 0x10000
        self.avail = self.ring + 16 * self.size
        self.used = (self.avail + 6 + 2 * self.size + 4095) & ~4095
        self.qt.memset(self.ring, 0x10000, 0)
        self.qt.outl(self.io + QUEUE_PFN, self.ring >> 12)
        self.next_desc = self.avail_idx = self.seen = 0

    def post(self, segs, writable):
        """segs: [(addr, len)], chained; returns the head index."""
        head = self.next_desc
        for i, (addr, length) in enumerate(segs):
            d = (head + i) % self.size
            last = i == len(segs) - 1
            flags = (2 if writable else 0) | (0 if last else 1)
            self.qt.memwrite(self.ring + 16 * d, struct.pack(
                "<QIHH", addr, length, flags, 0 if last else (d + 1) % self.size))
        self.next_desc = (head + len(segs)) % self.size
        self.qt.memwrite(self.avail + 4 + 2 * (self.avail_idx % self.size),
                         struct.pack("<H", head))
        self.avail_idx += 1
        self.qt.memwrite(self.avail + 2, struct.pack("<H", self.avail_idx & 0xFFFF))
        self.qt.outw(self.io + QUEUE_NOTIFY, self.index)
        return head

    def take(self):
        end = struct.unpack("<H", self.qt.memread(self.used + 2, 2))[0]
        out = []
        while self.seen != end:
            e = self.used + 4 + 8 * (self.seen % self.size)
            out.append(struct.unpack("<II", self.qt.memread(e, 8)))
            self.seen = (self.seen + 1) & 0xFFFF
        return out


class Dev:
    def __init__(self, m, guest_features):
        self.m, self.qt = m, m.qt
        devfn = m.find(0x1AF4, 0x1000)
        self.io = m.setup_pci(devfn)[0][1]
        self.qt.outb(self.io + STATUS, 0)
        self.qt.outb(self.io + STATUS, 1 | 2)
        host = self.qt.inl(self.io + HOST_FEATURES)
        want = sum(1 << f for f in (F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_HOST_TSO4))
        check(host & want == want, f"offloads not offered behind a vnet_hdr tap: {host:#x}")
        check(not guest_features & ~host, f"features {guest_features:#x} not offered")
        self.qt.outl(self.io + GUEST_FEATURES, guest_features)
        self.rx, self.tx = Vq(self, 0), Vq(self, 1)
        self.qt.outb(self.io + STATUS, 1 | 2 | 4)


def packet_socket():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((TAP, 0))
    s.settimeout(5)
    return s


def run(kind, mrg, guest_csum):
    feats = (1 << F_CSUM) | (1 << F_HOST_TSO4)
    feats |= (1 << F_MRG_RXBUF) if mrg else 0
    feats |= (1 << F_GUEST_CSUM) if guest_csum else 0
    hlen = 12 if mrg else 10
    args = ["-netdev", f"tap,id=t0,ifname={TAP},vnet_hdr=on,script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=t0,mac=52:54:00:12:34:56,"
            f"mrg_rxbuf={'on' if mrg else 'off'}"]
    with nictest.Machine(kind, args) as m:
        subprocess.run(["ip", "link", "set", TAP, "up"], check=True)
        dev = Dev(m, feats)
        sock = packet_socket()
        try:
            # transmit: a GSO frame in a chain of three descriptors
            payload = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(3000))
            frame = tcp_frame(HOST_MAC, GUEST_MAC, SRC, DST, payload, partial=True)
            hdr = vnet_hdr(NEEDS_CSUM, GSO_TCPV4, 54, 1000, 34, 16) + bytes(hlen - 10)
            m.qt.memwrite(BUFS, hdr + frame[:54])
            m.qt.memwrite(BUFS + 0x1000, frame[54:1554])
            m.qt.memwrite(BUFS + 0x2000, frame[1554:])
            dev.tx.post([(BUFS, hlen + 54), (BUFS + 0x1000, 1500), (BUFS + 0x2000, 1500)],
                        False)
            nictest.wait_until(lambda: dev.tx.take(), what="the GSO frame to be sent")
            while True:
                got = sock.recv(70000)
                if got[10 + 6:10 + 12] == GUEST_MAC:
                    break
            flags, gso_type, hdr_len, gso_size, cstart, coff = struct.unpack("<BBHHHH", got[:10])
            check_eq((flags & NEEDS_CSUM, gso_type, gso_size, cstart, coff),
                     (NEEDS_CSUM, GSO_TCPV4, 1000, 34, 16),
                     "the kernel's view of the GSO header (flags, type, size, csum)")
            check_eq(got[10:], frame, "the GSO frame the kernel got")

            # receive: a TCP frame with a partial checksum from the kernel
            for i in range(8):
                dev.rx.post([(BUFS + 0x10000 + i * RX_BUF, RX_BUF)], True)
            rx_payload = b"from-the-host-side" * 20
            rx_frame = tcp_frame(GUEST_MAC, HOST_MAC, DST, SRC, rx_payload, partial=True)
            sock.send(vnet_hdr(NEEDS_CSUM, GSO_NONE, 0, 0, 34, 16) + rx_frame)
            def ours():
                # skip whatever else the kernel sent (IPv6 router solicitations...)
                for head, length in dev.rx.take():
                    data = m.qt.memread(BUFS + 0x10000 + head * RX_BUF, length)
                    if data[hlen + 6:hlen + 12] == HOST_MAC:
                        return head, length, data
                    dev.rx.post([(BUFS + 0x10000 + head * RX_BUF, RX_BUF)], True)
                return None

            head, length, data = nictest.wait_until(ours, what="the frame sent to the guest")
            check_eq(length, hlen + len(rx_frame), "used length (header + frame)")
            rflags, rgso, _, _, rstart, roff = struct.unpack("<BBHHHH", data[:10])
            if mrg:
                check_eq(struct.unpack("<H", data[10:12])[0], 1, "num_buffers")
            check_eq(rgso, GSO_NONE, "gso_type received")
            body = data[hlen:]
            if guest_csum:
                check_eq((rflags & NEEDS_CSUM, rstart, roff), (NEEDS_CSUM, 34, 16),
                         "NEEDS_CSUM and offsets received with GUEST_CSUM")
                check_eq(body, rx_frame, "the frame behind the header")
            else:
                check_eq(rflags & NEEDS_CSUM, 0, "NEEDS_CSUM without GUEST_CSUM")
                want = tcp_frame(GUEST_MAC, HOST_MAC, DST, SRC, rx_payload, partial=False)
                check_eq(body, want, "the frame (checksum completed by the kernel)")
        finally:
            sock.close()
    return f"{hlen}-byte header"


def cases():
    out = {}
    for kind in nictest.emulators():
        for mrg, gcsum in ((False, True), (True, True), (False, False)):
            name = (f"vnet-hdr-tap-{kind}-mrg-{'on' if mrg else 'off'}"
                    f"-guest-csum-{'on' if gcsum else 'off'}")
            out[name] = (lambda k=kind, a=mrg, b=gcsum: run(k, a, b))
    return out


if __name__ == "__main__":
    if os.environ.get("KITE_VNET_HDR_INNER") != "1":
        if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
            print("SKIP: needs root and /dev/net/tun")
            sys.exit(77)
        env = dict(os.environ, KITE_VNET_HDR_INNER="1")
        # A private network namespace: the tap vanishes with it.
        p = subprocess.run(["unshare", "--net", "--", sys.executable, os.path.abspath(__file__)]
                           + sys.argv[1:], env=env, timeout=300)
        sys.exit(p.returncode)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w") as f:
        f.write("1")  # this namespace only: no IPv6 chatter on the tap
    nictest.main(cases())
