#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S27: kite's socket link interoperates with a real QEMU 7.2. QEMU runs
without a guest disk; on its side the socket sits on a hub with QEMU's own
user-mode stack, so a frame from kite's test NIC is answered by QEMU's
slirp (ARP for 10.0.2.2), which proves framing both ways. A QEMU
filter-dump on its socket netdev records what kite sent."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)
QEMU = os.environ.get("QEMU") or shutil.which("qemu-system-x86_64")
GUEST_MAC = nh.mac("52:54:00:12:34:56")


@unittest.skipUnless(QEMU, "qemu-system-x86_64 not installed")
class QemuInterop(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.pcap = os.path.join(self.dir.name, "qemu-side.pcap")

    def qemu(self, socket_opts):
        args = [QEMU, "-M", "pc", "-accel", "tcg", "-nodefaults", "-display", "none",
                "-m", "32", "-netdev", "socket,id=s," + socket_opts,
                "-netdev", "hubport,id=h1,hubid=0,netdev=s",
                "-netdev", "user,id=u",
                "-netdev", "hubport,id=h2,hubid=0,netdev=u",
                "-object", "filter-dump,id=f,netdev=s,file=" + self.pcap]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)

        def stop():
            p.terminate()
            try:
                p.wait(timeout=nh.HANG_GUARD)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stderr.close()
        self.addCleanup(stop)
        return p

    def arp_roundtrip(self, h):
        # QEMU may still be starting: ask until its slirp answers.
        reply = None
        for _ in range(50):
            h.tx("e1000.0", nh.arp_request(GUEST_MAC, "10.0.2.15", "10.0.2.2"))
            reply = h.wait_rx("e1000.0", lambda f: nh.is_arp_reply_from(f, "10.0.2.2"),
                              timeout=0.5)
            if reply:
                break
        self.assertIsNotNone(reply, "QEMU's slirp did not answer through the socket")
        self.assertEqual(reply[0:6], GUEST_MAC)  # addressed to kite's NIC

    def check_qemu_capture(self):
        out = subprocess.run(["tshark", "-r", self.pcap, "-T", "fields", "-e", "eth.src",
                              "-e", "arp.opcode"], capture_output=True, text=True,
                             timeout=nh.HANG_GUARD).stdout
        self.assertIn("52:54:00:12:34:56\t1", out)

    def test_qemu_connects_to_kite(self):
        port = nh.free_port()
        h = nh.Harness(HARNESS, ["-netdev", "socket,id=s,listen=127.0.0.1:%d" % port,
                                 "-net", "nic,netdev=s"])
        self.addCleanup(h.quit)
        self.qemu("connect=127.0.0.1:%d" % port)
        self.assertTrue(nh.wait_until(lambda: "connection from" in h.hmp("info network")))
        self.arp_roundtrip(h)
        self.check_qemu_capture()

    def test_kite_connects_to_qemu(self):
        port = nh.free_port()
        q = self.qemu("listen=127.0.0.1:%d" % port)
        # A probe connection would become QEMU's peer: look with ss instead.
        def bound():
            out = subprocess.run(["ss", "-ltn", "sport = :%d" % port], capture_output=True,
                                 text=True).stdout
            return ":%d" % port in out
        self.assertTrue(nh.wait_until(bound), q.stderr)
        h = nh.Harness(HARNESS, ["-net", "nic", "-net", "socket,connect=127.0.0.1:%d" % port])
        self.addCleanup(h.quit)
        self.arp_roundtrip(h)
        self.check_qemu_capture()


if __name__ == "__main__":
    unittest.main(verbosity=2)
