#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NICs of a running domain: addresses from the user-mode network's DHCP,
counters that follow traffic through a <portForward>, link state (live and
config), hot-plug."""

import socket
import time
import xml.etree.ElementTree as ET

from kitetest import (Daemon, check, domain_xml, free_tcp_port, need_kite, run, virsh,
                      virsh_fails, wait_for, write_file)

MAC = "52:54:00:12:34:56"


def ifstat(uri, dev):
    """virsh domifstat as {counter: value}; it must succeed."""
    out = virsh(uri, "domifstat", "nic", dev).stdout
    stats = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 3:
            stats[words[1]] = int(words[2])
    check({"rx_bytes", "rx_packets", "tx_bytes", "tx_packets"} <= stats.keys(),
          f"domifstat {dev}: {out!r}")
    return stats


def echo_through_forward(port, payload):
    """Connect to the guest's echo service through the port forward; the
    guest may still be starting its listener, so retry the connection."""
    deadline = time.monotonic() + 60
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            if got:
                s.sendall(b"quit\n")
                s.close()
                return got
            s.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no echo through 127.0.0.1:{port}")
        time.sleep(0.5)


def main():
    need_kite()
    with Daemon() as d:
        uri = d.uri
        port = free_tcp_port()
        f = write_file(d.root, "n.xml", domain_xml("nic", cmdline="tcp-echo-server 7",
                                                    forward=(port, 7)))
        virsh(uri, "define", f)
        virsh(uri, "start", "nic")

        # Addresses: the guest gets 10.0.2.15 from the user network; kite
        # learns the lease from libslirp's DHCP ACK.
        def addr():
            p = virsh(uri, "domifaddr", "nic", check_rc=False)
            return p.stdout if "10.0.2.15" in p.stdout else None
        out = wait_for(addr, "the guest's DHCP lease", timeout=120, interval=0.5)
        row = [l.split() for l in out.splitlines() if MAC in l]
        check(row and row[0][1:] == [MAC, "ipv4", "10.0.2.15/24"], f"domifaddr: {out}")

        # Counters, by MAC and by the interface's name, moved by traffic
        # through the <portForward>.
        before = ifstat(uri, MAC)
        check(before["rx_packets"] > 0 and before["tx_packets"] > 0,
              f"domifstat after DHCP: {before}")
        payload = b"kite counts this\n" * 200
        check(echo_through_forward(port, payload) == payload, "echo differs")
        # a user NIC has no host device (domiflist shows '-'): its alias works
        after = ifstat(uri, "net0")
        # the guest received the payload and sent it back, headers on top
        check(after["rx_bytes"] - before["rx_bytes"] >= len(payload) and
              after["tx_bytes"] - before["tx_bytes"] >= len(payload) and
              after["rx_packets"] > before["rx_packets"] and
              after["tx_packets"] > before["tx_packets"],
              f"counters did not follow the traffic: before {before}, after {after}")
        virsh_fails(uri, "domifstat", "nic", "52:54:00:00:00:01", expect="not a known interface")

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

        # kite has no PCI hotplug yet (no QMP device_add): a live attach must
        # fail with kite's own reason and leave nothing in the live XML.
        # When hotplug lands, this becomes attach + detach-interface.
        nic = write_file(d.root, "hot.xml", "<interface type='user'>"
                         "<mac address='52:54:00:aa:00:01'/><model type='e1000'/></interface>")
        p = virsh(uri, "attach-device", "nic", nic, check_rc=False)
        check(p.returncode != 0, "live attach succeeded, but kite has no device_add")
        check("device_add" in p.stderr, f"hot-plug error should name kite's reason: {p.stderr}")
        check("52:54:00:aa:00:01" not in virsh(uri, "domiflist", "nic").stdout,
              "failed hot-plug left the NIC in the live XML")
        q = virsh(uri, "attach-device", "nic", nic, "--config", check_rc=False)
        check(q.returncode == 0, f"attach --config: {q.stderr}")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(any(m.get("address") == "52:54:00:aa:00:01"
                  for m in x.findall("devices/interface/mac")), "config attach not stored")
        virsh(uri, "destroy", "nic")


run(main)
