#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Datagram back ends read with recvmmsg() and, while forwarding what they
read, send with sendmmsg() (emulator/net/netsock.c). Through a hub between
two dgram back ends, thousands of sequence-numbered frames of mixed sizes
arrive complete and in order, also when they come in bursts that fill whole
batches; a far socket that takes nothing turns the batch's unsent frames
into drops that query-kite-net-stats counts exactly; frames read in one
batch after the peer filled up are kept, not lost; a datagram longer than
the largest frame is dropped and counted, the rest of its batch goes on.
Runs of equal-sized frames, which kite sends with UDP segmentation
offload, arrive as the original datagrams, also where the route refuses
the offload (a small MTU)."""

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)
SRC_MAC = nh.mac("52:54:00:12:34:56")
NET_MAX_FRAME = 65536 + 4096
COUNT = 5000


def frame(seq, size=None):
    """A frame carrying seq, SIZE bytes long (default: 60..1514, varying)."""
    if size is None:
        size = 60 + (seq * 37) % (1514 - 60 + 1)
    body = struct.pack("!I", seq)
    body += bytes((seq + i) & 0xFF for i in range(size - 14 - len(body)))
    return nh.eth(nh.BCAST, SRC_MAC, 0x88B5, body)


def seq_of(data):
    return struct.unpack("!I", data[14:18])[0]


def socket_holds(size):
    """How many SIZE-byte datagrams a socket with the default receive
    buffer takes before the kernel drops (kite's sockets have that size)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as r, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        r.bind(("127.0.0.1", 0))
        r.setblocking(False)
        for _ in range(1024):
            s.sendto(b"x" * size, r.getsockname())
        n = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                r.recv(65536)
                n += 1
        return n


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


@contextlib.contextmanager
def stopped(h):
    """kite does not run inside: what is sent meanwhile waits in its
    sockets and is read in full batches afterwards."""
    os.kill(h.proc.pid, signal.SIGSTOP)
    try:
        # SIGSTOP takes effect asynchronously; wait until it did.
        assert nh.wait_until(lambda: proc_state(h.proc.pid) == "T", step=0.001)
        yield
    finally:
        os.kill(h.proc.pid, signal.SIGCONT)


def rx_frames(h, nic, n):
    """The next n frames to nic, fewer if they stop coming (one overall
    deadline, so a lost frame fails fast)."""
    got = []
    for line in h.events(nh.HANG_GUARD):
        if line.startswith("RX %s " % nic):
            got.append(bytes.fromhex(line.split()[2]))
            if len(got) == n:
                break
    return got


def net_stats(h):
    return {c["name"]: c for c in h.qmp("query-kite-net-stats")["return"]}


def udp_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(nh.HANG_GUARD)
    return s


def dgram_inet(name, local, remote):
    return ("dgram,id=%s,local.type=inet,local.host=127.0.0.1,local.port=%d,"
            "remote.type=inet,remote.host=127.0.0.1,remote.port=%d" % (name, local, remote))


def dgram_unix(name, local, remote):
    return ("dgram,id=%s,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s"
            % (name, local, remote))


HUB = ["-netdev", "hubport,id=pa,hubid=0,netdev=a", "-netdev", "hubport,id=pb,hubid=0,netdev=b"]


class DgramHubBurst(unittest.TestCase):
    def test_burst_through_hub_in_order(self):
        pa, ps, pb, pr = (nh.free_port(socket.SOCK_DGRAM) for _ in range(4))
        src, dst = udp_socket(ps), udp_socket(pr)
        self.addCleanup(src.close)
        self.addCleanup(dst.close)
        h = nh.Harness(HARNESS, ["-nodefaults", "-netdev", dgram_inet("a", pa, ps),
                                 "-netdev", dgram_inet("b", pb, pr)] + HUB)
        self.addCleanup(h.quit)
        # In flight at most what kite's socket holds of the largest frame
        # (halved), so no frame can die in a socket buffer on the way: any
        # gap would be kite's.
        window = max(8, min(64, socket_holds(1514) // 2))
        expect = 0
        sent = 0

        def receive_one():
            nonlocal expect
            data = dst.recv(70000)
            self.assertEqual(seq_of(data), expect, "lost or reordered")
            self.assertEqual(data, frame(expect))
            expect += 1

        # Half with kite running freely: batches of whatever has arrived.
        while sent < COUNT // 2:
            while sent < COUNT // 2 and sent - expect < window:
                src.sendto(frame(sent), ("127.0.0.1", pa))
                sent += 1
            receive_one()
        while expect < sent:
            receive_one()
        # Half in bursts sent while kite is stopped: full recvmmsg() batches
        # and full sendmmsg() batches, the last one of each burst partial.
        burst = min(window, 45)
        while sent < COUNT:
            with stopped(h):
                for _ in range(min(burst, COUNT - sent)):
                    src.sendto(frame(sent), ("127.0.0.1", pa))
                    sent += 1
            while expect < sent:
                receive_one()
        st = net_stats(h)
        self.assertEqual(st["a"]["tx-packets"], COUNT)
        self.assertEqual(st["a"]["tx-dropped"], 0)
        self.assertEqual(st["b"]["rx-packets"], COUNT)
        self.assertEqual(st["b"]["rx-bytes"], sum(len(frame(i)) for i in range(COUNT)))
        self.assertEqual(st["b"]["rx-dropped"], 0)

    def test_full_far_socket_counts_drops(self):
        # Unix datagram sockets push back on the sender: once the far
        # socket's queue is full (net.unix.max_dgram_qlen, and a tiny
        # buffer), sendmmsg() stops with EAGAIN, and every frame of the
        # batch it did not send must show up as a drop on b. (A UDP
        # receiver drops silently in the kernel; kite cannot see that.)
        d = tempfile.TemporaryDirectory(prefix="kite-dgram-")
        self.addCleanup(d.cleanup)
        path = {n: os.path.join(d.name, n) for n in ("a", "src", "b", "dst")}
        src = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        src.bind(path["src"])
        # Blocking: a full kite socket holds the sender back, so nothing is
        # lost on the way in.
        src.settimeout(nh.HANG_GUARD)
        self.addCleanup(src.close)
        dst = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        dst.bind(path["dst"])
        self.addCleanup(dst.close)
        h = nh.Harness(HARNESS, ["-nodefaults",
                                 "-netdev", dgram_unix("a", path["a"], path["src"]),
                                 "-netdev", dgram_unix("b", path["b"], path["dst"])] + HUB)
        self.addCleanup(h.quit)
        for i in range(COUNT):
            src.sendto(frame(i, 200), path["a"])
        self.assertTrue(nh.wait_until(lambda: net_stats(h)["a"]["tx-packets"] == COUNT))
        st = net_stats(h)
        # The hub handed every frame to b: b either sent or dropped it.
        self.assertEqual(st["pb"]["tx-packets"], COUNT)
        self.assertEqual(st["b"]["rx-packets"] + st["b"]["rx-dropped"], COUNT)
        self.assertGreater(st["b"]["rx-dropped"], 0)
        # What b counts as sent is exactly what the far socket holds.
        dst.setblocking(False)
        got = []
        with contextlib.suppress(BlockingIOError):
            while True:
                got.append(dst.recv(70000))
        self.assertEqual(len(got), st["b"]["rx-packets"])
        self.assertEqual(st["b"]["rx-bytes"], sum(map(len, got)))
        # The queue never drained, so the first frames are the ones that got there.
        self.assertEqual(got, [frame(i, 200) for i in range(len(got))])


@contextlib.contextmanager
def in_netns(name):
    """Sockets made inside are the network namespace's (setns() on this
    thread only, back to ours on exit)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    other = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(other, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + name)
        try:
            yield
        finally:
            libc.setns(own, 0x40000000)
    finally:
        os.close(own)
        os.close(other)


# Bursts of frames sent while kite is stopped, so they leave in one
# sendmmsg(): runs of one size (some with a short last frame) go as one
# UDP_SEGMENT datagram each, and must come out as the original datagrams.
GSO_BURSTS = [
    [1000] * 30,                       # one run
    [1514] * 32,                       # more than 64 KiB: two runs
    [600] * 10 + [200] + [600] * 7 + [60] * 12,  # short last frames end runs
    [300, 300, 400, 400, 400, 100, 60, 60, 1514, 1514, 59, 1514],
    [64] * 32,                         # a full batch of the smallest
]


class DgramSegmentation(unittest.TestCase):
    def bursts(self, netns=None, host="127.0.0.1"):
        pa, ps, pb, pr = (nh.free_port(socket.SOCK_DGRAM) for _ in range(4))
        with (in_netns(netns) if netns else contextlib.nullcontext()):
            src, dst = udp_socket(ps), udp_socket(pr)
        self.addCleanup(src.close)
        self.addCleanup(dst.close)
        h = nh.Harness(HARNESS, ["-nodefaults", "-netdev", dgram_inet("a", pa, ps),
                                 "-netdev", dgram_inet("b", pb, pr)] + HUB, netns=netns)
        self.addCleanup(h.quit)
        sent = []
        for sizes in GSO_BURSTS:
            burst = [frame(len(sent) + i, size) for i, size in enumerate(sizes)]
            with stopped(h):
                for f in burst:
                    src.sendto(f, (host, pa))
            for f in burst:
                data = dst.recv(70000)
                self.assertEqual(len(data), len(f), "datagram boundaries (seq %d)" % seq_of(f))
                self.assertEqual(data, f)
            sent += burst
        st = net_stats(h)
        self.assertEqual((st["b"]["rx-packets"], st["b"]["rx-dropped"]), (len(sent), 0))
        self.assertEqual(st["b"]["rx-bytes"], sum(map(len, sent)))

    def test_runs_of_equal_frames_keep_their_boundaries(self):
        self.bursts()

    @unittest.skipUnless(os.geteuid() == 0, "needs root for a network namespace")
    def test_route_refusing_segmentation(self):
        # Loopback with a 1280-byte MTU: a run of 1514-byte frames cannot
        # be segmented there (EINVAL); kite sends such frames one by one
        # (the kernel fragments them) and keeps offloading smaller runs.
        name = "kite-gso-%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", name], check=False)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "mtu", "1280", "up"], check=True)
        self.bursts(netns=name)


class DgramToNic(unittest.TestCase):
    def test_frames_read_past_a_full_peer_are_kept(self):
        pa, ps = nh.free_port(socket.SOCK_DGRAM), nh.free_port(socket.SOCK_DGRAM)
        src = udp_socket(ps)
        self.addCleanup(src.close)
        h = nh.Harness(HARNESS, ["-netdev", dgram_inet("d", pa, ps), "-net", "nic,netdev=d"])
        self.addCleanup(h.quit)
        h.send("STALL e1000.0 on")
        sent = []

        def send(n):
            for _ in range(n):
                sent.append(frame(len(sent), 60))
                src.sendto(sent[-1], ("127.0.0.1", pa))

        def queue_len():
            return h.stats("e1000.0")["queue_len"]

        send(5)
        self.assertTrue(nh.wait_until(lambda: queue_len() == 5))
        with stopped(h):
            send(200)  # read in full batches of 32 and one of 8
        self.assertTrue(nh.wait_until(lambda: queue_len() == 205))
        # 51 fit in the guest's queue: a batch of 32, then 19 of the next
        # batch; its other 13 were read but must wait, as must the 36 still
        # in the kernel.
        with stopped(h):
            send(100)
        self.assertTrue(nh.wait_until(lambda: queue_len() == 256))
        time.sleep(0.2)
        st = h.stats("e1000.0")
        self.assertEqual((st["queue_len"], st["rx_dropped"]), (256, 0))
        h.send("STALL e1000.0 off")
        got = rx_frames(h, "e1000.0", len(sent))
        self.assertEqual([seq_of(f) for f in got], list(range(len(sent))))
        self.assertEqual(got, sent)
        st = h.stats("e1000.0")
        self.assertEqual((st["rx_packets"], st["rx_dropped"]), (len(sent), 0))
        self.assertEqual(h.stats("d")["tx_dropped"], 0)

    def test_oversized_datagram_dropped_and_counted(self):
        d = tempfile.TemporaryDirectory(prefix="kite-dgram-")
        self.addCleanup(d.cleanup)
        pa, ps = os.path.join(d.name, "a"), os.path.join(d.name, "src")
        src = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        src.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        src.bind(ps)
        src.settimeout(nh.HANG_GUARD)
        self.addCleanup(src.close)
        h = nh.Harness(HARNESS, ["-netdev", dgram_unix("d", pa, ps), "-net", "nic,netdev=d"])
        self.addCleanup(h.quit)
        good = [frame(0, 60), frame(1, NET_MAX_FRAME), frame(2, 1514)]
        # One recvmmsg() batch: a small frame, one longer than any frame
        # (truncated by the kernel), the largest allowed, another one.
        with stopped(h):
            src.sendto(good[0], pa)
            src.sendto(frame(99, NET_MAX_FRAME + 1), pa)
            src.sendto(good[1], pa)
            src.sendto(good[2], pa)
        got = rx_frames(h, "e1000.0", len(good))
        self.assertEqual(got, good)
        st = h.stats("d")
        self.assertEqual((st["tx_packets"], st["tx_dropped"]), (3, 1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
