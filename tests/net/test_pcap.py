#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S28: -net dump writes every frame of its hub, -object filter-dump both
directions of one netdev; files are classic pcap that tshark reads, with
len=/maxlen= capping the bytes kept per frame."""

import os
import sys
import tempfile
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)


class Pcap(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_net_dump_records_hub_traffic_with_len(self):
        cap = self.path("hub0.pcap")
        h = nh.Harness(HARNESS, ["-net", "nic", "-net", "user",
                                 "-net", "dump,file=%s,len=50" % cap])
        src = nh.mac("52:54:00:12:34:56")
        h.tx("e1000.0", nh.arp_request(src, "10.0.2.15", "10.0.2.2"))
        self.assertIsNotNone(h.wait_rx("e1000.0", lambda f: nh.is_arp_reply_from(f, "10.0.2.2")))
        big = nh.eth(nh.BCAST, src, 0x88b5, b"x" * 1000)
        h.tx("e1000.0", big)
        self.assertEqual(h.quit(), 0)
        lens = nh.tshark_lens(cap)
        # request (60), slirp's reply (padded to 64), the big frame capped at
        # 50; the reply is recorded after the request that caused it.
        self.assertEqual(lens, [(60, 50), (64, 50), (1014, 50)])

    def test_capture_on_disk_while_running(self):
        # Records are buffered, but reach the file within milliseconds of
        # the frame, not only when kite exits: a running capture can be read.
        cap = self.path("live.pcap")
        h = nh.Harness(HARNESS, ["-net", "nic", "-net", "user", "-net", "dump,file=%s" % cap])
        src = nh.mac("52:54:00:12:34:56")
        h.tx("e1000.0", nh.arp_request(src, "10.0.2.15", "10.0.2.2"))
        self.assertIsNotNone(h.wait_rx("e1000.0", lambda f: nh.is_arp_reply_from(f, "10.0.2.2")))
        deadline = nh.time.monotonic() + 5
        lens = []
        while nh.time.monotonic() < deadline:
            try:
                lens = nh.tshark_lens(cap)
            except nh.subprocess.CalledProcessError:
                lens = []  # a record half written when tshark looked
            if len(lens) == 2:
                break
            nh.time.sleep(0.05)
        self.assertEqual(lens, [(60, 60), (64, 64)])
        self.assertEqual(h.quit(), 0)

    def test_default_dump_file_name(self):
        cwd = os.getcwd()
        os.chdir(self.dir.name)
        self.addCleanup(os.chdir, cwd)
        h = nh.Harness(HARNESS, ["-net", "nic,vlan=2", "-net", "dump,vlan=2"])
        h.tx("e1000.0", nh.eth(nh.BCAST, nh.mac("52:54:00:12:34:56"), 0x88b5, b"hello"))
        self.assertEqual(h.quit(), 0)
        self.assertEqual(nh.tshark_lens(self.path("kite-vlan2.pcap")), [(60, 60)])

    def test_filter_dump_both_directions(self):
        cap = self.path("f.pcap")
        h = nh.Harness(HARNESS, ["-netdev", "user,id=n", "-net", "nic,netdev=n",
                                 "-object", "filter-dump,id=f1,netdev=n,file=%s" % cap])
        src = nh.mac("52:54:00:12:34:56")
        h.tx("e1000.0", nh.arp_request(src, "10.0.2.15", "10.0.2.2"))
        self.assertIsNotNone(h.wait_rx("e1000.0", lambda f: nh.is_arp_reply_from(f, "10.0.2.2")))
        self.assertEqual(h.quit(), 0)
        out = nh.subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "arp.opcode"],
                                capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(out, ["1", "2"])  # request (guest->net) and reply (net->guest)

    def test_filter_dump_maxlen(self):
        cap = self.path("m.pcap")
        h = nh.Harness(HARNESS, ["-netdev", "user,id=n", "-net", "nic,netdev=n",
                                 "-object", "filter-dump,id=f1,netdev=n,file=%s,maxlen=20" % cap])
        h.tx("e1000.0", nh.eth(nh.BCAST, nh.mac("52:54:00:12:34:56"), 0x88b5, b"y" * 200))
        self.assertEqual(h.quit(), 0)
        self.assertEqual(nh.tshark_lens(cap), [(214, 20)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
