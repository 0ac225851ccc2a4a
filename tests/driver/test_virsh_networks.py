#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Networks through virsh: definitions, and starting/stopping them on the
host (bridge, DHCP) inside the daemon's own network namespace."""

import os
import xml.etree.ElementTree as ET

from kitetest import Daemon, check, run, virsh, virsh_fails, write_file

NET = """<network>
  <name>testnet</name>
  <uuid>1b4e28ba-2fa1-11d2-883f-0016d3cca427</uuid>
  <forward mode='nat'/>
  <bridge name='kitetest0'/>
  <ip address='192.168.231.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.231.10' end='192.168.231.20'/></dhcp>
  </ip>
</network>
"""


def main():
    with Daemon(netns=True) as d:
        uri = d.uri
        f = write_file(d.root, "n.xml", NET)
        virsh(uri, "net-define", f)
        check(os.path.exists(d.path("etc", "kite", "networks", "testnet.xml")), "not stored")
        rows = [l.split() for l in virsh(uri, "net-list", "--all").stdout.splitlines()]
        check(rows == [["testnet", "inactive", "no", "yes"]], f"net-list: {rows}")
        info = {}
        for line in virsh(uri, "net-info", "testnet").stdout.splitlines():
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
        check(info == {"Name": "testnet", "UUID": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                       "Active": "no", "Persistent": "yes", "Autostart": "no",
                       "Bridge": "kitetest0"}, f"net-info: {info}")
        x = ET.fromstring(virsh(uri, "net-dumpxml", "testnet").stdout)
        check(x.findtext("name") == "testnet" and x.find("ip").get("address") == "192.168.231.1",
              "net-dumpxml")
        virsh(uri, "net-autostart", "testnet")
        check(os.path.islink(d.path("etc", "kite", "networks", "autostart", "testnet.xml")),
              "net-autostart link")
        check("yes" in virsh(uri, "net-info", "testnet").stdout.split("Autostart:")[1].split()[0],
              "autostart not reported")
        virsh(uri, "net-autostart", "--disable", "testnet")

        virsh_fails(uri, "net-destroy", "testnet", expect="not active")
        virsh_fails(uri, "net-dhcp-leases", "testnet", expect="not active")
        virsh(uri, "net-start", "testnet")
        check(virsh(uri, "net-list").stdout.split() == ["testnet", "active", "no", "yes"],
              "net-list after start")
        link = d.in_netns("ip", "-br", "addr", "show", "kitetest0").stdout
        check("192.168.231.1/24" in link, f"bridge not up with its address: {link!r}")
        check(virsh(uri, "net-dhcp-leases", "testnet").stdout.strip() == "", "leases")
        virsh_fails(uri, "net-start", "testnet", expect="already active")
        virsh_fails(uri, "net-define", f, expect="active")
        # Restart: the daemon adopts the running network.
        d.stop()
        # The namespace dies with the daemon; only check the definition survives.
        d.start()
        virsh(uri, "net-info", "testnet")
        if "active" in virsh(uri, "net-list").stdout:
            virsh(uri, "net-destroy", "testnet")
        virsh_fails(uri, "net-destroy", "testnet", expect="not active")

        clash = NET.replace("1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                            "1b4e28ba-2fa1-11d2-883f-0016d3cca428")
        f = write_file(d.root, "n2.xml", clash)
        virsh_fails(uri, "net-define", f, expect="already exists with uuid")
        f = write_file(d.root, "bad.xml", "<network><name>x</name><ip address='300.1.1.1'/></network>")
        virsh_fails(uri, "net-define", f)

        virsh(uri, "net-undefine", "testnet")
        check(virsh(uri, "net-list", "--all").stdout.strip() == "", "net-undefine")
        check(not os.path.exists(d.path("etc", "kite", "networks", "testnet.xml")), "file left")
        virsh_fails(uri, "net-info", "testnet", expect="no network with matching name")


run(main)
