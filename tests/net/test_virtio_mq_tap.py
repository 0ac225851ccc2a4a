#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-net multiqueue over a multiqueue tap (QEMU's semantics): with
`-netdev tap,queues=2` and `-device virtio-net-pci,mq=on`, queue pair i is
bound to the tap's fd i. In a private network namespace, virtio-net is
driven through qtest (legacy I/O interface, tests/nic's machinery):

- until the guest enables the second pair (ctrl MQ_VQ_PAIRS_SET), the tap's
  second queue is detached, so every flow the kernel sends to the tap
  arrives on rx queue 0;
- a frame posted on tx queue 1 before that is dropped;
- with two pairs, a frame posted on tx queue 1 leaves through tap queue 1
  (kite's per-client counters) and is seen on the tap interface;
- the kernel's flow steering then spreads many flows over both rx queues;
- with mq=off only one pair is offered and the tap's second queue stays
  detached (all flows on rx queue 0); more tap queues than virtio-net has
  pairs is a start-up error naming the netdev.

Environment: KITE (binary). Needs root, /dev/net/tun and ip netns.
"""
import ctypes
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "nic"))
import nictest  # noqa: E402
from nictest import check, check_eq  # noqa: E402

HOST_FEATURES, GUEST_FEATURES, QUEUE_PFN, QUEUE_SIZE, QUEUE_SEL, QUEUE_NOTIFY = (
    0x00, 0x04, 0x08, 0x0C, 0x0E, 0x10)
STATUS, DEVCFG = 0x12, 0x14  # device config right after ISR without MSI-X
F_CTRL_VQ, F_MQ = 17, 22
HDR = 10  # struct virtio_net_hdr (legacy, no mergeable buffers)
RINGS = 0x100000  # queue i's ring at RINGS + i * 64 KiB
BUFS = 0x400000
TAP = "mqtap0"
MAC = bytes.fromhex("525400123456")
FLOWS = 48


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30)


class Queue:
    def __init__(self, dev, index):
        qt, io = dev.qt, dev.io
        self.dev, self.index = dev, index
        qt.outw(io + QUEUE_SEL, index)
        self.size = qt.inw(io + QUEUE_SIZE)
        check(self.size > 0, f"queue {index} has no size")
        self.ring = RINGS + index * 0x10000
        self.avail = self.ring + 16 * self.size
        self.used = (self.avail + 6 + 2 * self.size + 4095) & ~4095
        qt.memset(self.ring, 0x10000, 0)
        qt.outl(io + QUEUE_PFN, self.ring >> 12)
        self.posted = 0
        self.seen = 0

    def post(self, addr, length, writable, data=b""):
        qt = self.dev.qt
        if data:
            qt.memwrite(addr, data)
        d = self.posted % self.size
        qt.memwrite(self.ring + 16 * d, struct.pack("<QIHH", addr, length, 2 if writable else 0, 0))
        qt.memwrite(self.avail + 4 + 2 * d, struct.pack("<H", d))
        self.posted += 1
        qt.memwrite(self.avail + 2, struct.pack("<H", self.posted & 0xFFFF))

    def kick(self):
        self.dev.qt.outw(self.dev.io + QUEUE_NOTIFY, self.index)

    def used_idx(self):
        return struct.unpack("<H", self.dev.qt.memread(self.used + 2, 2))[0]

    def take(self):
        """Buffers the device returned since the last call: [(desc, len)]."""
        qt = self.dev.qt
        out = []
        end = self.used_idx()
        while self.seen != end:
            e = self.used + 4 + 8 * (self.seen % self.size)
            out.append(struct.unpack("<II", qt.memread(e, 8)))
            self.seen = (self.seen + 1) & 0xFFFF
        return out


class VirtioMq:
    def __init__(self, m, mq=True):
        self.m, self.qt = m, m.qt
        devfn = m.find(0x1AF4, 0x1000)
        self.io = m.setup_pci(devfn)[0][1]
        qt, io = self.qt, self.io
        qt.outb(io + STATUS, 0)
        qt.outb(io + STATUS, 1 | 2)
        want = (1 << F_CTRL_VQ) | (1 << F_MQ)
        host = qt.inl(io + HOST_FEATURES)
        if mq:
            check(host & want == want, f"no control queue/multiqueue offered: {host:#x}")
            check_eq(qt.inw(io + DEVCFG + 8), 2, "max_virtqueue_pairs")
        else:
            check(not host & (1 << F_MQ), f"multiqueue offered with mq=off: {host:#x}")
            want = 0
        qt.outl(io + GUEST_FEATURES, want)
        # rx0 tx0 rx1 tx1 ctrl; with mq=off only rx0 tx0
        self.q = [Queue(self, i) for i in range(5 if mq else 2)]
        qt.outb(io + STATUS, 1 | 2 | 4)

    def set_pairs(self, n):
        ctrl = self.q[4]
        cmd, ack = BUFS + 0x100000, BUFS + 0x100800
        self.qt.memwrite(ack, b"\xee")
        # two descriptors chained by hand: command (read), ack (write)
        d = ctrl.posted % ctrl.size
        self.qt.memwrite(cmd, bytes([4, 0]) + struct.pack("<H", n))
        self.qt.memwrite(ctrl.ring + 16 * d, struct.pack("<QIHH", cmd, 4, 1, d + 1))
        self.qt.memwrite(ctrl.ring + 16 * (d + 1), struct.pack("<QIHH", ack, 1, 2, 0))
        self.qt.memwrite(ctrl.avail + 4 + 2 * (ctrl.posted % ctrl.size), struct.pack("<H", d))
        ctrl.posted += 2  # two descriptors used, one avail entry
        self.qt.memwrite(ctrl.avail + 2, struct.pack("<H", 1))
        ctrl.kick()
        nictest.wait_until(lambda: ctrl.used_idx() == 1, what="MQ command to complete")
        check_eq(self.qt.memread(ack, 1)[0], 0, "MQ_VQ_PAIRS_SET ack")

    def fill_rx(self, q, count, base):
        for i in range(count):
            q.post(base + i * 2048, 2048, True)
        q.kick()

    def rx_frames(self, q, base):
        return [self.qt.memread(base + desc * 2048 + HDR, length - HDR)
                for desc, length in q.take()]


def in_netns(ns, fn):
    """Run fn in a thread that joined network namespace ns (sockets it
    makes stay there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}

    def body():
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        out["v"] = fn()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out["v"]


def udp_frame(sport):
    payload = b"kite-mq-flow-%05d" % sport
    hdr, seg = nictest.udp_packet(bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]), sport, 9999,
                                  payload)
    return nictest.frame(MAC, bytes.fromhex("02aabbccddee"), hdr + seg, ethertype=0x0800), payload


def usable():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        return False
    probe = f"kite-mq-probe-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode:
        return False
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True


def flows_by_queue(dev, raw, rx_bases, pairs=(0, 1)):
    """Send FLOWS UDP flows into the tap; which rx queue got each."""
    sent = []
    for i in range(FLOWS):
        f, payload = udp_frame(20000 + i)
        raw.send(f)
        sent.append(payload)
    got = {0: [], 1: []}

    def collect():
        for pair in pairs:
            for fr in dev.rx_frames(dev.q[2 * pair], rx_bases[pair]):
                for p in sent:
                    if p in fr:
                        got[pair].append(p)
        return sum(len(v) for v in got.values()) >= FLOWS

    nictest.wait_until(collect, what="flows to arrive")
    return got


class NetnsKite:
    """kite started inside a fresh network namespace (a wrapper script in
    place of the binary, so tests/nic's Machine can start it)."""

    def __enter__(self):
        self.ns = f"kite-mq-{os.getpid()}"
        sh("ip", "netns", "add", self.ns)
        self.tmp = tempfile.mkdtemp(prefix="kite-mq-")
        self.wrapper = os.path.join(self.tmp, "kite-in-ns")
        with open(self.wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec ip netns exec {self.ns} {nictest.KITE} "$@"\n')
        os.chmod(self.wrapper, 0o755)
        self.real, nictest.KITE = nictest.KITE, self.wrapper
        return self

    def __exit__(self, *exc):
        nictest.KITE = self.real
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        os.unlink(self.wrapper)
        os.rmdir(self.tmp)

    def machine(self, queues, mq):
        args = ["-netdev",
                f"tap,id=t0,ifname={TAP},queues={queues},script=no,downscript=no,vnet_hdr=off",
                "-device", f"virtio-net-pci,netdev=t0,mq={'on' if mq else 'off'},id=nic0"]
        m = nictest.Machine("kite", args)
        sh("ip", "-n", self.ns, "link", "set", TAP, "up")
        return m

    def raw_socket(self):
        def open_raw():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            s.bind((TAP, 0))
            s.settimeout(5)
            return s

        return in_netns(self.ns, open_raw)


def test_mq_tap():
    with NetnsKite() as nk, nk.machine(2, True) as m:
        dev = VirtioMq(m)
        raw = nk.raw_socket()
        rx_bases = {0: BUFS, 1: BUFS + 0x80000}
        dev.fill_rx(dev.q[0], 2 * FLOWS + 32, rx_bases[0])
        dev.fill_rx(dev.q[2], 2 * FLOWS + 32, rx_bases[1])

        # One pair enabled: tap queue 1 is detached, all flows on rx 0.
        got = flows_by_queue(dev, raw, rx_bases)
        check_eq((len(got[0]), len(got[1])), (FLOWS, 0), "flows per rx queue, one pair")
        # tx queue 1 of a pair not enabled yet: dropped, as QEMU
        early = nictest.frame(b"\xff" * 6, MAC, b"pair-1-not-enabled")
        dev.q[3].post(BUFS + 0x180000, HDR + len(early), False, bytes(HDR) + early)
        dev.q[3].kick()
        nictest.wait_until(lambda: dev.q[3].used_idx() == 1, what="tx on disabled queue 1")

        dev.set_pairs(2)
        # tx queue 1 -> tap queue 1's fd -> the tap interface
        marker = b"sent-on-tx-queue-1"
        fr = nictest.frame(b"\xff" * 6, MAC, marker)
        dev.q[3].post(BUFS + 0x200000, HDR + len(fr), False, bytes(HDR) + fr)
        dev.q[3].kick()
        nictest.wait_until(lambda: dev.q[3].used_idx() == 2, what="tx on queue 1")
        seen = early_seen = False
        while not seen:
            try:
                f = raw.recv(4096)
            except socket.timeout:
                break
            seen = marker in f
            early_seen |= b"pair-1-not-enabled" in f
        check(seen, "frame from tx queue 1 not seen on the tap")
        check(not early_seen, "a disabled pair's frame reached the tap")
        stats = {c["queue-index"]: c for c in m.qmp.cmd("query-kite-net-stats")
                 if c["name"] == "t0"}
        check_eq(stats[1]["rx-packets"], 1, "tap queue 1 frames from the NIC")

        # Two pairs: the kernel spreads flows over both queues.
        got = flows_by_queue(dev, raw, rx_bases)
        check_eq(len(got[0]) + len(got[1]), FLOWS, "flows received, two pairs")
        check(got[0] and got[1], f"flows all on one queue: {len(got[0])}/{len(got[1])}")
        raw.close()
        return f"two pairs: {len(got[0])}/{len(got[1])} flows on rx0/rx1"


def test_mq_off_multiqueue_tap():
    """mq=off offers one pair; as in QEMU the tap's other queue is detached,
    so no flow goes to an fd nobody reads."""
    with NetnsKite() as nk, nk.machine(2, False) as m:
        dev = VirtioMq(m, mq=False)
        raw = nk.raw_socket()
        dev.fill_rx(dev.q[0], FLOWS + 32, BUFS)
        got = flows_by_queue(dev, raw, {0: BUFS}, pairs=(0,))
        raw.close()
        check_eq(len(got[0]), FLOWS, "flows on rx 0 with mq=off")


def test_too_many_queues():
    with NetnsKite():
        p = subprocess.run(
            [nictest.KITE, "-machine", "pc", "-accel", "qtest", "-qtest", "none", "-display",
             "none", "-nodefaults", "-netdev",
             f"tap,id=t0,ifname={TAP},queues=9,script=no,downscript=no",
             "-device", "virtio-net-pci,netdev=t0,mq=on"],
            capture_output=True, text=True, timeout=30)
        check(p.returncode != 0, "9 tap queues accepted by an 8-pair virtio-net")
        check("'t0'" in p.stderr and "8" in p.stderr, f"unclear error: {p.stderr!r}")


if __name__ == "__main__":
    if not usable():
        print("SKIP: needs root, /dev/net/tun and ip netns")
        sys.exit(77)
    nictest.main({"virtio-mq-tap": test_mq_tap,
                  "virtio-mq-off-multiqueue-tap": test_mq_off_multiqueue_tap,
                  "virtio-mq-too-many-queues": test_too_many_queues})
