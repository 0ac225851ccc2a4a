#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S25/S26: socket links. A Python peer speaks QEMU's stream framing to
kite's -netdev socket; a broken peer (bad length prefix) is dropped with a
log line while kite keeps running and accepts the next peer; mcast and udp
links carry raw frames between two kite instances."""

import os
import socket
import struct
import sys
import time
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)
NIC_MAC = nh.mac("52:54:00:12:34:56")


def test_frame(tag):
    return nh.eth(nh.BCAST, NIC_MAC, 0x88b5, tag)


class SocketStream(unittest.TestCase):
    def start_listener(self):
        port = nh.free_port()
        h = nh.Harness(HARNESS, ["-netdev", "socket,id=s,listen=127.0.0.1:%d" % port,
                                 "-net", "nic,netdev=s"])
        self.addCleanup(h.quit)
        return h, port

    def connect(self, port):
        c = socket.create_connection(("127.0.0.1", port), timeout=nh.HANG_GUARD)
        self.addCleanup(c.close)
        return c

    def test_frames_both_ways_with_length_prefix(self):
        h, port = self.start_listener()
        c = self.connect(port)
        self.assertTrue(nh.wait_until(lambda: "connection from 127.0.0.1" in h.hmp("info network")))
        # Peer -> kite: two frames in one write, then one split mid-header.
        f1, f2, f3 = test_frame(b"one"), test_frame(b"two" * 100), test_frame(b"three")
        c.sendall(nh.framed(f1) + nh.framed(f2))
        data = nh.framed(f3)
        c.sendall(data[:2])
        time.sleep(0.05)
        c.sendall(data[2:])
        got = [h.wait_rx("e1000.0", lambda f: True) for _ in range(3)]
        self.assertEqual(got, [f1, f2, f3])
        # kite -> peer: each frame preceded by its 4-byte big-endian length.
        out = test_frame(b"from-kite")
        h.tx("e1000.0", out)
        hdr = nh.recv_exact(c, 4)
        self.assertEqual(struct.unpack("!I", hdr)[0], len(out))
        self.assertEqual(nh.recv_exact(c, len(out)), out)

    def check_bad_peer(self, prefix):
        h, port = self.start_listener()
        c = self.connect(port)
        c.sendall(nh.framed(test_frame(b"ok")))
        self.assertIsNotNone(h.wait_rx("e1000.0", lambda f: True))
        c.sendall(prefix + b"garbage")
        # The peer is dropped: the socket reaches EOF.
        c.settimeout(nh.HANG_GUARD)
        self.assertEqual(c.recv(100), b"")
        self.assertTrue(nh.wait_until(lambda: "invalid frame length" in h.stderr()))
        # kite is alive and takes the next peer.
        info = h.hmp("info network")
        self.assertIn("e1000.0: index=0,type=nic", info)
        c2 = self.connect(port)
        frame = test_frame(b"second peer")
        c2.sendall(nh.framed(frame))
        self.assertEqual(h.wait_rx("e1000.0", lambda f: True), frame)
        self.assertIsNone(h.proc.poll())

    def test_zero_length_prefix_drops_peer(self):
        self.check_bad_peer(struct.pack("!I", 0))

    def test_oversized_length_prefix_drops_peer(self):
        self.check_bad_peer(struct.pack("!I", 65536 + 4096 + 1))

    def test_huge_length_prefix_drops_peer(self):
        self.check_bad_peer(b"\xff\xff\xff\xff")

    def test_disconnect_then_reconnect(self):
        h, port = self.start_listener()
        c = self.connect(port)
        c.sendall(nh.framed(test_frame(b"a")))
        self.assertIsNotNone(h.wait_rx("e1000.0", lambda f: True))
        c.close()
        self.assertTrue(nh.wait_until(lambda: "peer closed the connection" in h.stderr()))
        c2 = self.connect(port)
        frame = test_frame(b"b")
        c2.sendall(nh.framed(frame))
        self.assertEqual(h.wait_rx("e1000.0", lambda f: True), frame)

    def test_slow_guest_loses_nothing(self):
        # A guest without rx buffers: frames wait, the socket is not read
        # further, and everything arrives in order once buffers come back.
        h, port = self.start_listener()
        c = self.connect(port)
        h.send("STALL e1000.0 on")
        frames = [test_frame(struct.pack("!I", i)) for i in range(600)]
        c.sendall(b"".join(nh.framed(f) for f in frames))
        self.assertTrue(nh.wait_until(lambda: h.stats("e1000.0")["queue_len"] == 256))
        h.send("STALL e1000.0 off")
        got = [h.wait_rx("e1000.0", lambda f: True) for _ in frames]
        self.assertEqual(got, frames)
        self.assertEqual(h.stats("e1000.0")["rx_dropped"], 0)

    def test_two_kites_listen_connect(self):
        h1, port = self.start_listener()
        h2 = nh.Harness(HARNESS, ["-net", "nic,macaddr=52:54:00:12:34:99",
                                  "-net", "socket,connect=127.0.0.1:%d" % port])
        self.addCleanup(h2.quit)
        self.assertTrue(nh.wait_until(lambda: "connection from" in h1.hmp("info network")))
        frame = test_frame(b"kite to kite")
        h2.tx("e1000.0", frame)
        self.assertEqual(h1.wait_rx("e1000.0", lambda f: True), frame)
        back = nh.eth(nh.BCAST, nh.mac("52:54:00:12:34:56"), 0x88b5, b"back")
        h1.tx("e1000.0", back)
        self.assertEqual(h2.wait_rx("e1000.0", lambda f: True), back)
        info = h2.hmp("info network")
        self.assertIn("socket.0: index=0,type=socket,socket: connect to 127.0.0.1:%d" % port,
                      info)


class SocketDatagram(unittest.TestCase):
    def test_mcast_group_shares_a_lan(self):
        port = nh.free_port(socket.SOCK_DGRAM)
        opts = "mcast=230.0.0.1:%d,localaddr=127.0.0.1" % port
        a = nh.Harness(HARNESS, ["-net", "nic", "-net", "socket," + opts])
        self.addCleanup(a.quit)
        b = nh.Harness(HARNESS, ["-net", "nic,macaddr=52:54:00:00:00:02",
                                 "-net", "socket," + opts])
        self.addCleanup(b.quit)
        frame = test_frame(b"to the group")
        a.tx("e1000.0", frame)
        self.assertEqual(b.wait_rx("e1000.0", lambda f: f == frame), frame)
        self.assertIn("socket: mcast=230.0.0.1:%d" % port, a.hmp("info network"))

    def test_udp_point_to_point_raw_frames(self):
        pa, pb = nh.free_port(socket.SOCK_DGRAM), nh.free_port(socket.SOCK_DGRAM)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", pb))
        self.addCleanup(peer.close)
        h = nh.Harness(HARNESS, ["-netdev", "socket,id=u,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d"
                                 % (pb, pa), "-net", "nic,netdev=u"])
        self.addCleanup(h.quit)
        frame = test_frame(b"udp out")
        h.tx("e1000.0", frame)
        peer.settimeout(nh.HANG_GUARD)
        data, _ = peer.recvfrom(70000)
        self.assertEqual(data, frame)  # no length prefix on datagrams
        back = test_frame(b"udp in")
        peer.sendto(back, ("127.0.0.1", pa))
        self.assertEqual(h.wait_rx("e1000.0", lambda f: True), back)

    def test_dgram_netdev(self):
        pa, pb = nh.free_port(socket.SOCK_DGRAM), nh.free_port(socket.SOCK_DGRAM)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", pb))
        self.addCleanup(peer.close)
        h = nh.Harness(HARNESS, [
            "-netdev", "dgram,id=d,local.type=inet,local.host=127.0.0.1,local.port=%d,"
            "remote.type=inet,remote.host=127.0.0.1,remote.port=%d" % (pa, pb),
            "-net", "nic,netdev=d"])
        self.addCleanup(h.quit)
        frame = test_frame(b"dgram")
        h.tx("e1000.0", frame)
        peer.settimeout(nh.HANG_GUARD)
        self.assertEqual(peer.recvfrom(70000)[0], frame)
        peer.sendto(frame, ("127.0.0.1", pa))
        self.assertEqual(h.wait_rx("e1000.0", lambda f: True), frame)


class StreamNetdev(unittest.TestCase):
    def test_stream_server_and_client(self):
        port = nh.free_port()
        srv = nh.Harness(HARNESS, [
            "-netdev", "stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=%d"
            % port, "-net", "nic,netdev=s"])
        self.addCleanup(srv.quit)
        cli = nh.Harness(HARNESS, [
            "-netdev", "stream,id=c,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=%d"
            % port, "-net", "nic,netdev=c,macaddr=52:54:00:00:00:07"])
        self.addCleanup(cli.quit)
        frame = test_frame(b"stream")
        self.assertTrue(nh.wait_until(lambda: "connection from" in srv.hmp("info network")))
        cli.tx("e1000.0", frame)
        self.assertEqual(srv.wait_rx("e1000.0", lambda f: True), frame)

    def test_stream_unix(self):
        path = "/tmp/kite-net-test-%d.sock" % os.getpid()
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        srv = nh.Harness(HARNESS, ["-netdev", "stream,id=s,server=on,addr.type=unix,addr.path="
                                   + path, "-net", "nic,netdev=s"])
        self.addCleanup(srv.quit)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(c.close)
        c.connect(path)
        frame = test_frame(b"over unix")
        c.sendall(nh.framed(frame))
        self.assertEqual(srv.wait_rx("e1000.0", lambda f: True), frame)


if __name__ == "__main__":
    unittest.main(verbosity=2)
