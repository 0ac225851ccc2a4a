#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S14-S19: tap and bridge backends, each test in its own network namespace
with a bridge br0. Two kite network stacks with taps on br0 exchange
frames; the ifup/ifdown scripts run with the interface name; taps kite
created vanish when it exits, a tap made persistent beforehand survives; a
failing script fails the start and leaves no tap; the bridge helper honours
its ACL file."""

import os
import subprocess
import sys
import tempfile
import unittest

import netharness as nh

HARNESS = os.environ.get("NET_HARNESS") or sys.argv.pop(1)
HELPER = os.environ.get("KITE_BRIDGE_HELPER_BIN") or sys.argv.pop(1)
HERE = os.path.dirname(os.path.abspath(__file__))
IFUP = os.path.join(HERE, "ifup-br0.sh")
IFDOWN = os.path.join(HERE, "ifdown-br0.sh")
MAC_A = nh.mac("52:54:00:12:34:56")
MAC_B = nh.mac("52:54:00:00:00:0b")


def run(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check,
                          timeout=nh.HANG_GUARD)


def can_use_netns():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        return False
    name = "kite-probe-%d" % os.getpid()
    ok = run("ip", "netns", "add", name, check=False).returncode == 0
    if ok:
        run("ip", "netns", "del", name, check=False)
    return ok


@unittest.skipUnless(can_use_netns(), "needs root, /dev/net/tun and ip netns")
class Tap(unittest.TestCase):
    def setUp(self):
        self.ns = "kite-net-%d-%s" % (os.getpid(), self._testMethodName[-12:])
        run("ip", "netns", "add", self.ns)
        self.addCleanup(run, "ip", "netns", "del", self.ns, check=False)
        self.ip("link", "add", "br0", "type", "bridge")
        self.ip("link", "set", "br0", "up")
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.log = os.path.join(self.dir.name, "scripts.log")
        self.env = dict(os.environ, KITE_TEST_SCRIPT_LOG=self.log)

    def ip(self, *args, check=True):
        return run("ip", "-n", self.ns, *args, check=check)

    def links(self):
        return self.ip("-o", "link", "show").stdout

    def link_exists(self, name):
        return self.ip("link", "show", name, check=False).returncode == 0

    def master_of(self, name):
        out = self.ip("-o", "link", "show", name).stdout
        return out.split(" master ")[1].split()[0] if " master " in out else None

    def kite(self, *args, prefix=()):
        h = nh.Harness(HARNESS, list(args), netns=self.ns, env=self.env) if not prefix else \
            nh.Harness(prefix[0], list(prefix[1:]) + [HARNESS] + list(args), netns=self.ns,
                       env=self.env)
        self.addCleanup(h.quit)
        return h

    def exchange(self, a, b):
        f = nh.eth(nh.BCAST, MAC_A, 0x88b5, b"over the bridge")
        got = None
        for _ in range(40):  # the bridge may need a moment to forward
            a.tx("e1000.0", f)
            got = b.wait_rx("e1000.0", lambda x: x == f, timeout=0.25)
            if got:
                break
        self.assertEqual(got, f)

    def test_s16_scripts_bridge_and_removal(self):
        a = self.kite("-net", "nic", "-net",
                      "tap,ifname=ktapa,script=%s,downscript=%s" % (IFUP, IFDOWN))
        b = self.kite("-net", "nic,macaddr=52:54:00:00:00:0b", "-net",
                      "tap,ifname=ktapb,script=%s,downscript=%s" % (IFUP, IFDOWN))
        self.assertEqual(self.master_of("ktapa"), "br0")
        self.assertEqual(self.master_of("ktapb"), "br0")
        self.assertIn("tap.0: index=0,type=tap,ifname=ktapa,script=%s,downscript=%s"
                      % (IFUP, IFDOWN), a.hmp("info network"))
        self.exchange(a, b)
        self.assertEqual(a.quit(), 0)
        self.assertFalse(self.link_exists("ktapa"))  # S17: gone with kite
        with open(self.log) as f:
            self.assertEqual(f.read().split("\n")[:3], ["up ktapa", "up ktapb", "down ktapa"])

    def test_s15_free_tap_name_and_defaults_off(self):
        a = self.kite("-net", "nic", "-net", "tap,script=no,downscript=no")
        self.assertIn("ifname=tap0,script=no,downscript=no", a.hmp("info network"))
        self.assertTrue(self.link_exists("tap0"))
        b = self.kite("-net", "nic", "-net", "tap,script=no,downscript=no")
        self.assertIn("ifname=tap1,", b.hmp("info network"))
        a.quit()
        b.quit()
        self.assertNotIn("tap0", self.links())

    def test_s17_persistent_tap_survives(self):
        self.ip("tuntap", "add", "dev", "ptap0", "mode", "tap")
        a = self.kite("-net", "nic", "-net", "tap,ifname=ptap0,script=no,downscript=no")
        self.assertIn("ifname=ptap0", a.hmp("info network"))
        self.assertEqual(a.quit(), 0)
        self.assertTrue(self.link_exists("ptap0"))

    def test_s16_failing_script_fails_start_and_removes_tap(self):
        p = subprocess.run(["ip", "netns", "exec", self.ns, HARNESS, "-net", "nic", "-net",
                            "tap,ifname=kfail,script=/bin/false,downscript=no"],
                           capture_output=True, text=True, timeout=nh.HANG_GUARD)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), "kite: -net tap,ifname=kfail,script=/bin/false,"
                         "downscript=no: network script /bin/false failed with status 1")
        self.assertFalse(self.link_exists("kfail"))

    def test_s16_missing_script(self):
        p = subprocess.run(["ip", "netns", "exec", self.ns, HARNESS, "-netdev",
                            "tap,id=t,ifname=kmiss,script=/nonexistent/ifup,downscript=no"],
                           capture_output=True, text=True, timeout=nh.HANG_GUARD)
        self.assertEqual(p.returncode, 1)
        self.assertIn("network script /nonexistent/ifup failed: No such file or directory",
                      p.stderr)
        self.assertFalse(self.link_exists("kmiss"))

    def test_s15_fd_passed_in(self):
        a = self.kite("-netdev", "tap,id=t,fd=@FD@", "-net", "nic,netdev=t",
                      prefix=(os.path.join(HERE, "tapfd-exec.py"), "kfd0"))
        info = a.hmp("info network")
        self.assertRegex(info, r"t: index=0,type=tap,fd=\d+")
        self.assertTrue(self.link_exists("kfd0"))
        self.ip("link", "set", "kfd0", "up")
        self.ip("link", "set", "kfd0", "master", "br0")
        b = self.kite("-net", "nic,macaddr=52:54:00:00:00:0b", "-net",
                      "tap,ifname=ktapb,script=%s,downscript=%s" % (IFUP, IFDOWN))
        self.exchange(a, b)

    def test_s19_vnet_hdr_sndbuf_multiqueue(self):
        a = self.kite("-net", "nic", "-net", "tap,ifname=kvh,vnet_hdr=on,sndbuf=1048576,"
                      "script=%s,downscript=no" % IFUP)
        b = self.kite("-net", "nic,macaddr=52:54:00:00:00:0b", "-netdev",
                      "tap,id=mq,ifname=kmq,queues=2,script=%s,downscript=no" % IFUP,
                      "-net", "nic,netdev=mq,macaddr=52:54:00:00:00:0c")
        info = b.hmp("info network")
        self.assertIn("mq: index=0,type=tap,ifname=kmq", info)
        self.assertIn("mq: index=1,type=tap,ifname=kmq", info)
        self.assertIn("multi_queue", self.ip("-d", "link", "show", "kmq").stdout)
        # Frames cross between a vnet_hdr tap and a plain one unchanged.
        f = nh.eth(nh.BCAST, MAC_A, 0x88b5, b"vnet")
        for _ in range(40):
            a.tx("e1000.0", f)
            if b.wait_rx("e1000.1", lambda x: x == f, timeout=0.25):
                break
        else:
            self.fail("frame from the vnet_hdr tap did not arrive")

    def test_s19_vhost_without_device(self):
        if os.path.exists("/dev/vhost-net"):
            self.skipTest("/dev/vhost-net exists here")
        p = subprocess.run(["ip", "netns", "exec", self.ns, HARNESS, "-netdev",
                            "tap,id=t,vhost=on,script=no,downscript=no"],
                           capture_output=True, text=True, timeout=nh.HANG_GUARD)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), "kite: -netdev tap,id=t,vhost=on,script=no,"
                         "downscript=no: vhost-net requested but /dev/vhost-net is not usable "
                         "(No such file or directory); load the vhost_net module or use "
                         "vhost=off")
        self.assertNotIn("tap0", self.links())

    def acl(self, text):
        path = os.path.join(self.dir.name, "bridge.conf")
        with open(path, "w") as f:
            f.write(text)
        return "%s --acl-file=%s" % (HELPER, path)

    def test_s18_bridge_helper_allowed(self):
        helper = self.acl("# test ACL\ndeny br9\nallow br0\n")
        a = self.kite("-netdev", "bridge,id=b,br=br0,helper=" + helper, "-net", "nic,netdev=b")
        self.assertIn("b: index=0,type=tap,helper=%s,br=br0" % helper, a.hmp("info network"))
        taps = [l.split(":")[1].strip() for l in self.links().splitlines() if " master br0 " in l]
        self.assertEqual(len(taps), 1)
        b = self.kite("-net", "nic,macaddr=52:54:00:00:00:0b", "-net",
                      "tap,ifname=ktapb,script=%s,downscript=no" % IFUP)
        self.exchange(a, b)
        a.quit()
        self.assertFalse(self.link_exists(taps[0].split("@")[0]))

    def test_s18_bridge_helper_denied(self):
        helper = self.acl("allow all\ndeny br0\n")
        p = subprocess.run(["ip", "netns", "exec", self.ns, HARNESS, "-netdev",
                            "bridge,id=b,br=br0,helper=" + helper],
                           capture_output=True, text=True, timeout=nh.HANG_GUARD)
        self.assertEqual(p.returncode, 1)
        self.assertIn("access to bridge br0 denied by", p.stderr)
        self.assertIn("bridge helper failed", p.stderr)
        self.assertNotIn("tap", self.links())

    def test_s18_bridge_helper_include_and_legacy_tap_helper(self):
        inc = os.path.join(self.dir.name, "more.conf")
        with open(inc, "w") as f:
            f.write("allow br0\n")
        helper = self.acl("include %s\n" % inc)
        a = self.kite("-net", "nic", "-net", "tap,helper=" + helper)
        self.assertIn("tap.0: index=0,type=tap,helper=", a.hmp("info network"))
        self.assertIn(" master br0 ", self.links())


if __name__ == "__main__":
    unittest.main(verbosity=2)
