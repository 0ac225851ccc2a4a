#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A guest on a NAT network (in the daemon's own network namespace): the
daemon starts the network, gives kite a tap on its bridge, the guest gets
a DHCP lease that net-dhcp-leases and domifaddr report, and the tap's
counters move."""

import xml.etree.ElementTree as ET

from kitetest import Daemon, check, domain_xml, need_kite, run, virsh, wait_for, write_file

NET = """<network><name>default</name><forward mode='nat'/><bridge name='virbr9'/>
<ip address='192.168.240.1' netmask='255.255.255.0'>
<dhcp><range start='192.168.240.10' end='192.168.240.20'/></dhcp></ip></network>
"""
MAC = "52:54:00:12:34:56"


def main():
    need_kite()
    with Daemon(netns=True) as d:
        uri = d.uri
        virsh(uri, "net-define", write_file(d.root, "n.xml", NET))
        virsh(uri, "net-start", "default")
        xml = domain_xml("netdom", cmdline="tcp-echo-server 7").replace(
            "<interface type='user'>", "<interface type='network'><source network='default'/>")
        virsh(uri, "define", write_file(d.root, "d.xml", xml))
        virsh(uri, "start", "netdom")
        iface = ET.fromstring(virsh(uri, "dumpxml", "netdom").stdout).find("devices/interface")
        tap = iface.find("target").get("dev")
        check(tap.startswith("vnet"), f"tap name {tap}")
        check(iface.find("source").get("bridge") == "virbr9", "resolved bridge in the live XML")
        link = d.in_netns("ip", "-o", "link", "show", tap).stdout
        check("master virbr9" in link, f"{tap} is not on the bridge: {link!r}")

        def lease():
            out = virsh(uri, "net-dhcp-leases", "default").stdout
            return out if MAC in out else None
        out = wait_for(lease, "a DHCP lease", timeout=180, interval=1)
        check("192.168.240." in out, f"lease: {out}")
        addr = virsh(uri, "domifaddr", "netdom").stdout
        check(tap in addr and MAC in addr and "192.168.240." in addr, f"domifaddr: {addr}")
        stats = dict(l.split()[1:3] for l in virsh(uri, "domifstat", "netdom", tap).stdout
                     .splitlines() if l.strip())
        check(int(stats["tx_packets"]) > 0 and int(stats["rx_packets"]) > 0, f"stats {stats}")

        virsh(uri, "destroy", "netdom")
        gone = d.in_netns("ip", "link", "show", tap)
        check(gone.returncode != 0, f"{tap} left behind after destroy")
        virsh(uri, "net-destroy", "default")
        check(d.in_netns("ip", "link", "show", "virbr9").returncode != 0, "bridge left behind")


run(main)
