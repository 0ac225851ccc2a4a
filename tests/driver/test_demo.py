#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/demo.sh end to end (what `scripts/bootstrap.sh demo` runs): kite
alone, then virtkited and the stock virsh through a whole domain life. The
demo checks for leftovers itself; this test reads its output too."""

import glob
import os
import subprocess
import sys

from kitetest import check, need_kite, run

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    need_kite()
    build = os.environ["KITE_BUILD_ROOT"]
    before = set(glob.glob("/tmp/kite-demo.*"))
    p = subprocess.run(["bash", os.path.join(TOP, "scripts", "demo.sh"), build],
                       capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    out = p.stdout
    sys.stdout.write(out[-3000:])
    check(p.returncode == 0, f"demo.sh exited {p.returncode}: {p.stderr[-2000:]}")
    for want in ("KTEST dhcp PASS addr=10.0.2.15",
                 "Domain 'kite-demo' started",
                 " 52:54:00:4b:49:54    ipv4         10.0.2.15/24",
                 "guest echoed:  hello from the host",
                 "52:54:00:4b:49:54 down",
                 "(no echo within 3 s)",
                 "TCP retransmitted it once the link was up",
                 "Domain 'kite-demo' destroyed",
                 "Domain 'kite-demo' has been undefined",
                 "no pid file, socket, kite process or domain state left"):
        check(want in out, f"demo output lacks {want!r}")
    # the counters moved between the two domifstat calls
    rx = [int(l.split()[2]) for l in out.splitlines() if " rx_bytes " in l]
    check(len(rx) == 2 and rx[1] > rx[0] + 10000, f"rx_bytes before/after: {rx}")
    check(set(glob.glob("/tmp/kite-demo.*")) == before, "demo left its state directory")


run(main)
