#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""S29: kite's `info network` is byte for byte QEMU 7.2's for the same
command line (NICs with -netdev pairs, hubs with ports listed newest first,
a netdev without NIC, filters). QEMU runs stopped (-S) without a guest, kite
under -accel qtest.

    test_info_network_qemu.py --kite KITE --qemu QEMU
"""

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def info_network(cmd):
    p = subprocess.Popen(cmd + ["-display", "none", "-monitor", "stdio"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)  # the monitor reads commands only once the machine is up
    out, err = p.communicate(b"info network\nquit\n", timeout=30)
    text = re.sub(rb"\x1b\[[0-9;]*[A-Za-z]", b"", out).decode().replace("\r", "")
    # Keep what the command printed: between its echo and the next prompt.
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.endswith("info network")) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("(qemu)"))
    return "\n".join(lines[start:end]) + "\n", err.decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kite", required=True)
    ap.add_argument("--qemu", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p1, p2, p3 = free_udp_port(), free_udp_port(), free_udp_port()
        args = ["-M", "pc", "-nodefaults",
                "-netdev", "user,id=u0", "-device", "e1000,netdev=u0",
                "-netdev", "user,id=u1,net=192.168.7.0/24,restrict=on",
                "-device", "virtio-net-pci,netdev=u1,mac=52:54:00:00:00:01",
                "-netdev", "hubport,id=h0,hubid=3", "-netdev", "hubport,id=h1,hubid=3",
                "-device", "e1000,netdev=h0",
                "-netdev", "socket,id=m,mcast=230.0.0.1:%d" % p1,
                "-netdev", "hubport,id=h2,hubid=3,netdev=m",
                "-netdev", "hubport,id=h5,hubid=5", "-device", "virtio-net-pci,netdev=h5",
                "-object", "filter-dump,id=f1,netdev=u0,file=%s/f.pcap,maxlen=100" % d,
                "-netdev", "socket,id=lone,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (p2, p3)]
        want, qerr = info_network([a.qemu, "-S", "-accel", "tcg"] + args)
        got, kerr = info_network([a.kite, "-accel", "qtest"] + args)
    if got != want:
        print("kite:\n%s\nQEMU 7.2:\n%s\nkite stderr: %s" % (got, want, kerr))
        return 1
    if "hub 3" not in got or "filters:" not in got:
        print("unexpected QEMU output, check the test:\n" + want + qerr)
        return 1
    print(got, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
