#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bridged network (S23/S24): the host's existing bridge, with its uplink
enslaved, is used as it is; guests appear on the LAN with their own address.
The network creates and removes nothing."""
import json

import nmtest
from nmtest import check


def body(env):
    host = env.netns("host")
    lan = env.netns("lan")
    state = env.state_dir()
    conf = env.write_config(nmtest.load_config("bridge.json"))

    env.tool(host, "start", conf, state, expect="NO_BRIDGE")
    env.ip(host, "link", "add", "lanbr", "type", "veth", "peer", "name", "lanbrpeer")
    p = env.tool(host, "start", conf, state, expect="NO_BRIDGE")
    check("not a bridge" in p.stderr, f"message: {p.stderr}")
    env.ip(host, "link", "del", "lanbr")

    # the host's "physical" NIC (a veth to the LAN) enslaved to the host bridge
    env.ip(host, "link", "add", "lanbr", "type", "bridge")
    env.ip(host, "link", "set", "lanbr", "up")
    env.veth(host, "nic0", lan, "eth0", addr_b="10.77.0.1/24")
    env.ip(host, "link", "set", "nic0", "master", "lanbr")
    before = json.loads(env.ip(host, "-j", "-d", "link", "show", "lanbr").stdout)[0]

    env.tool(host, "start", conf, state)
    rules = env.sh(host, ["nft", "list", "ruleset"]).stdout
    check(rules.strip() == "", f"bridge mode created nft rules:\n{rules}")
    check(not env.live_pids_mentioning(state), "bridge mode started a process")

    guest = nmtest.add_guest(env, host, "lanbr", "guest", "52:54:00:00:03:11")
    env.ip(guest, "addr", "add", "10.77.0.50/24", "dev", "eth0")
    env.serve(lan, nmtest.SERVER_PORT)
    seen = env.helper(guest, "ask", "tcp", "10.77.0.1", str(nmtest.SERVER_PORT))
    check(seen.split()[0] == "10.77.0.50", f"LAN saw {seen!r}")

    env.tool(host, "adopt", conf, state)
    env.tool(host, "stop", "kitelan", state)
    after = json.loads(env.ip(host, "-j", "-d", "link", "show", "lanbr").stdout)[0]
    check(after["ifindex"] == before["ifindex"] and after.get("ifalias") is None,
          "stop touched the host bridge")
    ports = env.ip(host, "-o", "link", "show", "master", "lanbr").stdout
    check("nic0" in ports and "guestp" in ports, f"bridge ports changed: {ports}")
    env.assert_clean(host, state)


nmtest.main("bridge_mode", body)
