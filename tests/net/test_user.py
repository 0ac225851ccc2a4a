#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S4, S9-S13: user-mode networking through libslirp, seen from a test NIC:
DHCP hands out 10.0.2.15 with gateway 10.0.2.2 and DNS 10.0.2.3, the
gateway answers ARP and ping, hostfwd= and hostfwd_add/remove forward host
ports to the guest, info usernet lists the forwards, guestfwd=cmd: runs a
command for a guest connection."""

import os
import socket
import struct
import sys
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)
GUEST_MAC = nh.mac("52:54:00:12:34:56")


def gateway_mac(h):
    h.tx("e1000.0", nh.arp_request(GUEST_MAC, "10.0.2.15", "10.0.2.2"))
    reply = h.wait_rx("e1000.0", lambda f: nh.is_arp_reply_from(f, "10.0.2.2"))
    assert reply is not None, "no ARP reply from 10.0.2.2"
    return reply[22:28]


class User(unittest.TestCase):
    def start(self, *args):
        h = nh.Harness(HARNESS, list(args))
        self.addCleanup(h.quit)
        return h

    def test_s4_default_dhcp(self):
        h = self.start()  # no option at all: -net nic -net user
        h.tx("e1000.0", nh.dhcp_discover(GUEST_MAC))
        reply = h.wait_rx("e1000.0", lambda f: nh.parse_dhcp(f) is not None)
        self.assertIsNotNone(reply)
        mtype, yiaddr, opts = nh.parse_dhcp(reply)
        self.assertEqual(mtype, 2)  # OFFER
        self.assertEqual(yiaddr, "10.0.2.15")
        self.assertEqual(socket.inet_ntoa(opts[54]), "10.0.2.2")  # server id
        self.assertEqual(socket.inet_ntoa(opts[3][:4]), "10.0.2.2")  # router
        self.assertEqual(socket.inet_ntoa(opts[6][:4]), "10.0.2.3")  # DNS
        self.assertEqual(socket.inet_ntoa(opts[1]), "255.255.255.0")

    def test_dhcpstart_and_net(self):
        h = self.start("-net", "nic", "-net", "user,net=192.168.76.0/24,dhcpstart=192.168.76.9")
        h.tx("e1000.0", nh.dhcp_discover(GUEST_MAC))
        reply = h.wait_rx("e1000.0", lambda f: nh.parse_dhcp(f) is not None)
        _, yiaddr, opts = nh.parse_dhcp(reply)
        self.assertEqual(yiaddr, "192.168.76.9")
        self.assertEqual(socket.inet_ntoa(opts[3][:4]), "192.168.76.2")

    def dhcp(self, h, mtype, **kw):
        """Send a DHCP client message; the server's reply (type, yiaddr, options)."""
        h.tx("e1000.0", nh.dhcp_message(GUEST_MAC, mtype, **kw))
        reply = h.wait_rx("e1000.0", lambda f: nh.parse_dhcp(f) is not None)
        self.assertIsNotNone(reply, f"no DHCP reply to message type {mtype}")
        return nh.parse_dhcp(reply)

    def leases(self, h):
        r = h.qmp("query-kite-usernet-leases")
        self.assertIn("return", r, r)
        return r["return"]

    def test_dhcp_leases_listed(self):
        """libslirp hides its lease table: kite learns leases from the ACKs
        it passes to the guest and lists them in info usernet and QMP."""
        h = self.start("-netdev", "user,id=n0,net=192.168.76.0/25", "-net", "nic,netdev=n0")
        self.assertEqual(self.leases(h), [])
        self.assertNotIn("DHCP leases", h.hmp("info usernet"))
        mtype, offered, _ = self.dhcp(h, 1)
        self.assertEqual((mtype, offered), (2, "192.168.76.15"))
        # an OFFER is no lease yet
        self.assertEqual(self.leases(h), [])
        mtype, acked, opts = self.dhcp(h, 3, requested=offered, server="192.168.76.2")
        self.assertEqual((mtype, acked), (5, offered))
        lease_s = struct.unpack("!I", opts[51])[0]
        [lease] = self.leases(h)
        self.assertEqual({k: lease[k] for k in ("netdev", "macaddr", "ip-address", "prefix")},
                         {"netdev": "n0", "macaddr": "52:54:00:12:34:56",
                          "ip-address": "192.168.76.15", "prefix": 25})
        self.assertTrue(0 < lease["expires-in"] <= lease_s, lease)
        info = h.hmp("info usernet")
        self.assertIn("DHCP leases (kite):", info)
        self.assertRegex(info, r"\n  52:54:00:12:34:56 +192\.168\.76\.15/25 +\d+ s\n")
        # RELEASE from the guest ends it
        h.tx("e1000.0", nh.dhcp_message(GUEST_MAC, 7, ciaddr=acked, server="192.168.76.2",
                                        dst_ip="192.168.76.2"))
        self.assertTrue(nh.wait_until(lambda: self.leases(h) == []), "lease kept after RELEASE")
        self.assertNotIn("52:54:00:12:34:56", h.hmp("info usernet"))
        r = h.qmp("query-kite-usernet-leases", bogus=1)
        self.assertIn("'bogus'", r["error"]["desc"])

    def test_s10_ping_gateway(self):
        h = self.start("-net", "nic", "-net", "user")
        gw = gateway_mac(h)
        echo = nh.ipv4("10.0.2.15", "10.0.2.2", 1, nh.icmp_echo(0x1234, 1))
        h.tx("e1000.0", nh.eth(gw, GUEST_MAC, 0x0800, echo))
        reply = h.wait_rx("e1000.0", lambda f: f[12:14] == b"\x08\x00" and f[23] == 1
                          and f[34] == 0)
        self.assertIsNotNone(reply, "no ICMP echo reply from 10.0.2.2")
        self.assertEqual(socket.inet_ntoa(reply[26:30]), "10.0.2.2")

    def wait_syn(self, h, port):
        return h.wait_rx("e1000.0", lambda f: (nh.tcp_of(f) or (0, 0, 0, 0, 0))[3] == port
                         and nh.tcp_of(f)[4] & 0x02)

    def connect_async(self, port):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        self.addCleanup(s.close)
        return s

    def test_s11_hostfwd_reaches_guest(self):
        port = nh.free_port()
        h = self.start("-net", "nic", "-net", "user,hostfwd=tcp::%d-:22" % port)
        gateway_mac(h)  # lets slirp learn the guest's MAC
        self.connect_async(port)
        syn = self.wait_syn(h, 22)
        self.assertIsNotNone(syn, "host connection was not forwarded to guest port 22")
        self.assertEqual(nh.tcp_of(syn)[1], "10.0.2.15")
        self.assertIn("TCP[HOST_FORWARD]", h.hmp("info usernet"))

    def test_s13_hostfwd_add_remove_live(self):
        port = nh.free_port()
        h = self.start("-netdev", "user,id=n0", "-net", "nic,netdev=n0")
        gateway_mac(h)
        self.assertEqual(h.hmp("hostfwd_add tcp::%d-:80" % port), "\n")
        self.assertIn("%d       10.0.2.15    80" % port, h.hmp("info usernet"))
        self.connect_async(port)
        self.assertIsNotNone(self.wait_syn(h, 80))
        self.assertEqual(h.hmp("hostfwd_remove tcp::%d" % port),
                         "host forwarding rule for tcp::%d removed\n" % port)
        self.assertEqual(h.hmp("hostfwd_remove tcp::%d" % port),
                         "host forwarding rule for tcp::%d not found\n" % port)
        s = socket.socket()
        self.addCleanup(s.close)
        self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)
        # The netdev-id form (QEMU 7.2) and the seed's hub-id/name form.
        port2 = nh.free_port()
        self.assertEqual(h.hmp("hostfwd_add n0 tcp::%d-:81" % port2), "\n")
        self.assertEqual(h.hmp("hostfwd_remove n0 tcp::%d" % port2),
                         "host forwarding rule for tcp::%d removed\n" % port2)
        self.assertEqual(h.hmp("hostfwd_add 0 n0 tcp::%d-:81" % port2),
                         "unrecognized (hub-id, stackname) pair\n")
        self.assertEqual(h.hmp("hostfwd_add -1 n0 tcp::%d-:81" % port2), "\n")
        self.assertEqual(h.hmp("hostfwd_add bad"),
                         "Invalid host forwarding rule 'bad' (No : separators)\n")
        self.assertEqual(h.hmp("hostfwd_remove x"), "invalid format\n")

    def test_s12_guestfwd_cmd(self):
        h = self.start("-net", "nic", "-net", "user,guestfwd=tcp:10.0.2.100:80-cmd:echo kite-guestfwd")
        gw = gateway_mac(h)
        syn = nh.ipv4("10.0.2.15", "10.0.2.100", 6,
                      nh.tcp_syn("10.0.2.15", "10.0.2.100", 40000, 80))
        h.tx("e1000.0", nh.eth(gw, GUEST_MAC, 0x0800, syn))
        synack = h.wait_rx("e1000.0", lambda f: (nh.tcp_of(f) or (0, 0, 0, 0, 0))[2] == 80)
        self.assertIsNotNone(synack)
        self.assertEqual(nh.tcp_of(synack)[4] & 0x12, 0x12)  # SYN+ACK from 10.0.2.100:80

    def test_restrict_info(self):
        h = self.start("-netdev", "user,id=u,restrict=on", "-net", "nic,netdev=u")
        self.assertIn("u: index=0,type=user,net=10.0.2.0,restrict=on", h.hmp("info network"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
