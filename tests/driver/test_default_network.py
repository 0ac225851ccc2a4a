#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt's "default" network: a system daemon's first start with an empty
store defines it (NAT, /24, DHCP, virbr0), not started; it is defined only
once, so an undefine survives a restart; --no-default-network, the config
key and session daemons leave the store alone. The generated definition is
started only inside a private network namespace."""

import ipaddress
import os
import xml.etree.ElementTree as ET

from kitetest import Daemon, check, run, virsh, write_file


def net_names(d, uri=None):
    return [l.split()[0] for l in virsh(uri or d.uri, "net-list", "--all", "--name").stdout.splitlines()
            if l.strip()]


def check_definition(d):
    rows = [l.split() for l in virsh(d.uri, "net-list", "--all").stdout.splitlines() if l.strip()]
    check(rows == [["default", "inactive", "no", "yes"]], f"net-list: {rows}")
    root = ET.fromstring(virsh(d.uri, "net-dumpxml", "default").stdout)
    check(root.find("forward").get("mode") == "nat", "forward mode")
    bridge = root.find("bridge").get("name")
    # Chosen where the daemon runs: the host or its own namespace.
    virbr0_taken = d.in_netns("ip", "link", "show", "virbr0").returncode == 0
    check(bridge == ("kitebr0" if virbr0_taken else "virbr0"),
          f"bridge {bridge} (virbr0 on the host: {virbr0_taken})")
    ip = root.find("ip")
    prefix = ip.get("prefix")
    net = ipaddress.ip_interface(
        f"{ip.get('address')}/{prefix}" if prefix else
        f"{ip.get('address')}/{ip.get('netmask')}").network
    check(net.prefixlen == 24 and str(net).startswith("192.168."), f"subnet {net}")
    check(ipaddress.ip_address(ip.get("address")) == net.network_address + 1, "host address")
    r = ip.find("dhcp/range")
    check(ipaddress.ip_address(r.get("start")) == net.network_address + 2 and
          ipaddress.ip_address(r.get("end")) == net.broadcast_address - 1, "DHCP range")
    check(len(root.findtext("uuid") or "") == 36, "uuid")
    return root.findtext("uuid")


def main():
    d = Daemon(default_network=True)
    with d:
        uuid = check_definition(d)
        check(os.path.exists(d.path("etc", "kite", "networks", "default.xml")), "not stored")
        # Defined once: a restart keeps the same network, it is not redefined.
        d.stop()
        d.start()
        check(check_definition(d) == uuid, "default network redefined on restart")
        # An undefine is respected by later starts.
        virsh(d.uri, "net-undefine", "default")
        d.stop()
        d.start()
        check(net_names(d) == [], f"default network came back: {net_names(d)}")

    # Switched off on the command line, in the config file; session daemons.
    with Daemon(default_network=True, extra_args=["--no-default-network"]) as d:
        check(net_names(d) == [], "--no-default-network ignored")
    d = Daemon(default_network=True)
    d.extra_args += ["--config", write_file(d.root, "kite.conf", "default_network = no\n")]
    with d:
        check(net_names(d) == [], "default_network = no ignored")
    with Daemon(default_network=True, session=True) as d:
        check(net_names(d, f"kite:///session?socket={d.sock}") == [],
              "a session daemon defined the default network")

    # A store that is not empty on the first start is not added to.
    first = Daemon()
    first.start()
    try:
        virsh(first.uri, "net-define", write_file(
            first.root, "n.xml", "<network><name>mine</name><bridge name='kitetb9'/></network>"))
    finally:
        first.stop()
    d = Daemon(default_network=True, root=first.root)
    with d:
        check(net_names(d) == ["mine"], f"non-empty store: {net_names(d)}")

    # The definition works: started (and stopped) in a private namespace.
    with Daemon(default_network=True, netns=True) as d:
        check_definition(d)
        virsh(d.uri, "net-start", "default")
        bridge = ET.fromstring(virsh(d.uri, "net-dumpxml", "default").stdout).find(
            "bridge").get("name")
        check(d.in_netns("ip", "link", "show", bridge).returncode == 0, "bridge not created")
        virsh(d.uri, "net-destroy", "default")
        check(d.in_netns("ip", "link", "show", bridge).returncode != 0, "bridge left behind")


run(main)
