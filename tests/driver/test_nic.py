#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NICs of a running domain: link state (live and config), addresses from
the user-mode network's DHCP, counters, hot-plug."""

import time
import xml.etree.ElementTree as ET

from kitetest import (Daemon, check, domain_xml, need_kite, run, virsh, wait_for,
                      write_file)

MAC = "52:54:00:12:34:56"


def main():
    need_kite()
    with Daemon() as d:
        uri = d.uri
        f = write_file(d.root, "n.xml", domain_xml("nic", cmdline="tcp-echo-server 7"))
        virsh(uri, "define", f)
        virsh(uri, "start", "nic")

        # Addresses: the guest gets 10.0.2.15 from the user network.
        def addr():
            p = virsh(uri, "domifaddr", "nic", check_rc=False)
            return p.stdout if "10.0.2.15" in p.stdout else None
        out = wait_for(addr, "the guest's DHCP lease", timeout=120, interval=0.5)
        check(MAC in out and "10.0.2.15/24" in out, f"domifaddr: {out}")

        # Counters: from kite's monitor, or an error naming what is missing.
        p = virsh(uri, "domifstat", "nic", MAC, check_rc=False)
        if p.returncode == 0:
            stats = dict(line.split()[1:3] for line in p.stdout.splitlines() if line.strip())
            check(int(stats["rx_packets"]) > 0 and int(stats["tx_packets"]) > 0,
                  f"domifstat after DHCP: {stats}")
        else:
            check("x-query-nic-stats" in p.stderr, f"domifstat error: {p.stderr}")

        # Link state, live then config.
        virsh(uri, "domif-setlink", "nic", MAC, "down")
        check("down" in virsh(uri, "domif-getlink", "nic", MAC).stdout, "live link down")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(x.find("devices/interface/link") is None, "live change leaked into the config")
        virsh(uri, "domif-setlink", "nic", MAC, "up")
        check("up" in virsh(uri, "domif-getlink", "nic", MAC).stdout, "live link up")
        virsh(uri, "domif-setlink", "nic", MAC, "down", "--config")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(x.find("devices/interface/link").get("state") == "down", "config link down")

        # Hot-plug a user NIC and remove it again.
        nic = write_file(d.root, "hot.xml", "<interface type='user'>"
                         "<mac address='52:54:00:aa:00:01'/><model type='e1000'/></interface>")
        p = virsh(uri, "attach-device", "nic", nic, check_rc=False)
        if p.returncode == 0:
            check("52:54:00:aa:00:01" in virsh(uri, "domiflist", "nic").stdout, "attached NIC")
            virsh(uri, "detach-interface", "nic", "user", "--mac", "52:54:00:aa:00:01")
            time.sleep(0.2)
            check("52:54:00:aa:00:01" not in virsh(uri, "domiflist", "nic").stdout,
                  "detached NIC still listed")
        else:
            check("kite:" in p.stderr, f"hot-plug error should carry kite's reason: {p.stderr}")
            check("52:54:00:aa:00:01" not in virsh(uri, "domiflist", "nic").stdout,
                  "failed hot-plug left the NIC in the live XML")
        virsh(uri, "destroy", "nic")


run(main)
