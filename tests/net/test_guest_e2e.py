#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end networking under kite with the test guest (tests/guest):
DHCP, ping and TCP over -netdev user on virtio-net and e1000; set_link on
the NIC and on its backend seen by the guest's link-watch (S30); hostfwd_add
and hostfwd_remove on a running VM (S13); two kites joined by -net socket
listen/connect whose guests ping and talk TCP to each other (S25).

    test_guest_e2e.py --kite KITE --guest GUEST_ELF
"""

import argparse
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import harness  # noqa: E402

ARGS = None


def kite():
    return harness.Emulator("kite", ARGS.kite)


class GuestNet(unittest.TestCase):
    def run_case(self, scenario, nic, netdev_opts=(), extra=()):
        res = harness.run_scenario(kite(), ARGS.guest, scenario, nic=nic,
                                   netdev_opts=netdev_opts, extra_args=extra)
        self.assertTrue(res.passed, res.describe())
        return res

    def test_dhcp_ping_tcp_virtio(self):
        res = self.run_case(["dhcp"], "virtio")
        self.assertIn("addr=10.0.2.15", res.detail)
        self.run_case(["ping", "10.0.2.2", "3"], "virtio")

    def test_dhcp_ping_e1000(self):
        res = self.run_case(["dhcp"], "e1000")
        self.assertIn("gw=10.0.2.2", res.detail)
        self.run_case(["ping", "10.0.2.2", "3"], "e1000")

    def check_set_link(self, nic, target):
        with harness.GuestRun(kite(), ARGS.guest, ["link-watch", "30", "2"], nic=nic,
                              monitor=True) as run:
            run.wait_for(r"^LINK-READY up")
            self.assertEqual(run.hmp("set_link %s off" % target).strip(), "")
            run.wait_for(r"^LINK down")
            info = run.hmp("info network")
            self.assertIn("index=0,type=nic", info)
            run.hmp("set_link %s on" % target)
            res = run.result()
            self.assertTrue(res.passed, res.describe())
            self.assertIn("changes=2 link=up", res.detail)

    def test_s30_set_link_nic_virtio(self):
        self.check_set_link("virtio", "virtio-net-pci.0")

    def test_s30_set_link_backend_e1000(self):
        # A backend going down takes its NIC's carrier with it.
        self.check_set_link("e1000", "n0")

    def test_s13_hostfwd_add_remove_live(self):
        for nic in ("virtio", "e1000"):
            with self.subTest(nic=nic):
                port = harness.free_port()
                with harness.GuestRun(kite(), ARGS.guest, ["tcp-echo-server", "7777"],
                                      nic=nic, monitor=True) as run:
                    run.wait_for(r"^LISTEN 7777")
                    self.assertEqual(run.hmp("hostfwd_add tcp::%d-:7777" % port).strip(), "")
                    self.assertIn("HOST_FORWARD", run.hmp("info usernet"))
                    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                        s.sendall(b"hello kite\nquit\n")
                        got = b""
                        while not got.endswith(b"quit\n"):
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            got += chunk
                    self.assertEqual(got, b"hello kite\nquit\n")
                    self.assertEqual(run.hmp("hostfwd_remove tcp::%d" % port).strip(),
                                     "host forwarding rule for tcp::%d removed" % port)
                    s = socket.socket()
                    self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)
                    s.close()
                    res = run.result()
                    self.assertTrue(res.passed, res.describe())

    def test_s25_two_kites_over_socket(self):
        # kite A: guest, user-mode (DHCP for both) and a listening socket on
        # hub 0. kite B: guest and the connecting socket only; its DHCP and
        # its traffic to A's guest cross the socket link.
        port = harness.free_port()
        a_args = ["-net", "nic,model=virtio", "-net", "user",
                  "-net", "socket,listen=127.0.0.1:%d" % port]
        with harness.GuestRun(kite(), ARGS.guest, ["tcp-echo-server", "9000"],
                              extra_args=a_args) as a:
            a.wait_for(r"^LISTEN 9000")
            b_args = ["-net", "nic,model=e1000,macaddr=52:54:00:12:34:99",
                      "-net", "socket,connect=127.0.0.1:%d" % port]
            res = harness.run_scenario(kite(), ARGS.guest, ["ping", "10.0.2.15", "3"],
                                       extra_args=b_args)
            self.assertTrue(res.passed, res.describe())
            res = harness.run_scenario(kite(), ARGS.guest,
                                       ["tcp-connect", "10.0.2.15", "9000", "over-the-socket"],
                                       extra_args=b_args)
            self.assertTrue(res.passed, res.describe())
            ares = a.result()
            self.assertTrue(ares.passed, ares.describe())


def netns_usable():
    import subprocess
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        return False
    name = "kite-e2e-probe-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True


@unittest.skipUnless(netns_usable(), "needs root, /dev/net/tun and ip netns")
class GuestTap(unittest.TestCase):
    """virtio-net behind a tap opened with vnet_hdr: frames carry the
    virtio header through the kernel; e1000 behind a plain tap. A bridge in
    a network namespace with dnsmasq serving DHCP is the LAN."""

    def setUp(self):
        import subprocess
        self.sp = subprocess
        self.ns = "kite-e2e-%d" % os.getpid()
        self.run_ip("netns", "add", self.ns)
        self.addCleanup(self.sp.run, ["ip", "netns", "del", self.ns], capture_output=True)
        for cmd in (["link", "add", "br0", "type", "bridge"], ["link", "set", "br0", "up"],
                    ["addr", "add", "10.9.0.1/24", "dev", "br0"], ["link", "set", "lo", "up"]):
            self.run_ip("-n", self.ns, *cmd)
        dns = self.sp.Popen(["ip", "netns", "exec", self.ns, "dnsmasq", "--no-daemon",
                             "--conf-file=/dev/null", "--interface=br0", "--bind-interfaces",
                             "--port=0", "--leasefile-ro", "--dhcp-range=10.9.0.50,10.9.0.99",
                             "--pid-file="], stdout=self.sp.DEVNULL, stderr=self.sp.DEVNULL)
        self.addCleanup(lambda: (dns.terminate(), dns.wait()))

    def run_ip(self, *args):
        self.sp.run(["ip"] + list(args), check=True, capture_output=True)

    def guest(self, scenario, nic_args):
        # The emulator runs inside the namespace: wrap it with ip netns exec.
        emu = harness.Emulator("kite", ARGS.kite)
        run = harness.GuestRun(emu, ARGS.guest, scenario, extra_args=nic_args)
        run.cmd = ["ip", "netns", "exec", self.ns] + run.cmd
        with run:
            return run.result()

    def test_virtio_over_vnet_hdr_tap(self):
        ifup = os.path.join(HERE, "ifup-br0.sh")
        res = self.guest(["ping", "10.9.0.1", "3"], [
            "-netdev", "tap,id=t0,ifname=kvnet0,vnet_hdr=on,script=%s,downscript=no" % ifup,
            "-device", "virtio-net-pci,netdev=t0"])
        self.assertTrue(res.passed, res.describe())
        self.assertIn("lease of 10.9.0.", res.output)

    def test_e1000_over_tap(self):
        ifup = os.path.join(HERE, "ifup-br0.sh")
        res = self.guest(["ping", "10.9.0.1", "3"], [
            "-net", "nic,model=e1000", "-net", "tap,ifname=ke1000,script=%s,downscript=no" % ifup])
        self.assertTrue(res.passed, res.describe())


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--kite", required=True)
    p.add_argument("--guest", required=True)
    ARGS, rest = p.parse_known_args()
    if not harness.kvm_usable():
        print("SKIP: /dev/kvm not usable")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
