#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Open forward mode (no rules at all) with STP/delay/MTU, NAT with an
address and port range, automatic bridge names and the "default" network."""
import json

import nmtest
from nmtest import check


def open_mode(env, host, wan):
    state = env.state_dir("open")
    conf = env.write_config(nmtest.load_config("open.json"), "open.json")
    env.tool(host, "start", conf, state)
    rules = env.sh(host, ["nft", "list", "ruleset"]).stdout
    check(rules.strip() == "", f"open mode created rules:\n{rules}")
    br = json.loads(env.ip(host, "-j", "-d", "link", "show", "kbr3").stdout)[0]
    data = br["linkinfo"]["info_data"]
    check(br["mtu"] == 1400 and data["stp_state"] == 1 and data["forward_delay"] == 300,
          f"bridge mtu={br['mtu']} stp={data['stp_state']} delay={data['forward_delay']}")
    check(env.live_pids_mentioning(state), "no dnsmasq for DNS on an open network")
    guest = nmtest.add_guest(env, host, "kbr3", "openg", "52:54:00:00:04:11")
    env.ip(guest, "addr", "add", "192.168.130.5/24", "dev", "eth0")
    env.ip(guest, "route", "add", "default", "via", "192.168.130.1")
    env.ip(wan, "route", "add", "192.168.130.0/24", "via", nmtest.WAN_HOST)
    # STP: the port forwards only after listening+learning (2 x 3 s); the helper retries
    seen = env.helper(guest, "ask", "tcp", nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
    for _ in range(10):
        if not seen.startswith(("timeout", "unreachable")):
            break
        env.sh(host, ["sleep", "1"])
        seen = env.helper(guest, "ask", "tcp", nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
    check(seen.split()[0] == "192.168.130.5", f"open: WAN saw {seen!r}")
    out = env.tool(host, "leases", "kiteopen", state).stdout
    check(out == "", f"leases without DHCP: {out!r}")
    env.tool(host, "stop", "kiteopen", state)
    env.assert_clean(host, state, "kbr3")


def nat_range(env, host, wan):
    state = env.state_dir("snat")
    conf = env.write_config(nmtest.load_config("nat-range.json"), "snat.json")
    # the SNAT address must be the host's for the WAN's replies to come back
    env.ip(host, "addr", "add", "198.51.100.9/32", "dev", "up0")
    env.tool(host, "start", conf, state)
    rules = env.sh(host, ["nft", "list", "table", "inet", "kite_kitesnat"]).stdout
    check("snat ip to 198.51.100.9" in rules and "masquerade" not in rules, rules)
    guest = nmtest.add_guest(env, host, "kbr4", "snatg", "52:54:00:00:05:11")
    env.ip(guest, "addr", "add", "192.168.140.5/24", "dev", "eth0")
    env.ip(guest, "route", "add", "default", "via", "192.168.140.1")
    for proto in ("udp", "tcp"):
        seen = env.helper(guest, "ask", proto, nmtest.WAN_PEER, str(nmtest.SERVER_PORT),
                          "5555")
        addr, port = seen.split()
        check(addr == "198.51.100.9" and port in ("2000", "2001"),
              f"{proto}: WAN saw {seen!r}, wanted 198.51.100.9 port 2000-2001")
    env.tool(host, "stop", "kitesnat", state)
    env.assert_clean(host, state, "kbr4")


def auto_names(env):
    ns = env.netns("auto")
    state = env.state_dir("auto")
    out = env.tool(ns, "default").stdout
    check("bridge virbr0\n" in out and "ipv4 192.168.122.1/24\n" in out and
          "dhcp 192.168.122.2-192.168.122.254\n" in out and "forward nat\n" in out, out)
    # virbr0 owned by someone else (e.g. libvirtd) and its subnet in use
    env.ip(ns, "link", "add", "virbr0", "type", "bridge")
    env.ip(ns, "addr", "add", "192.168.122.1/24", "dev", "virbr0")
    env.ip(ns, "link", "set", "virbr0", "up")
    out = env.tool(ns, "default").stdout
    check("bridge kitebr0\n" in out and "ipv4 192.168.123.1/24\n" in out, out)

    cfg = nmtest.load_config("isolated.json")
    del cfg["bridge"]
    env.ip(ns, "link", "add", "kitebr0", "type", "bridge")  # taken: next one is picked
    out = env.tool(ns, "start", env.write_config(cfg, "auto.json"), state).stdout
    check(out.strip() == "bridge kitebr1", f"auto bridge: {out!r}")
    env.tool(ns, "stop", "kiteiso", state)
    env.assert_clean(ns, state, "kitebr1")
    env.ip(ns, "link", "show", "kitebr0")


def body(env):
    host = env.netns("host")
    wan = nmtest.make_wan(env, host)
    env.serve(wan, nmtest.SERVER_PORT)
    nat_range(env, host, wan)
    open_mode(env, host, wan)
    auto_names(env)


nmtest.main("more_models", body)
