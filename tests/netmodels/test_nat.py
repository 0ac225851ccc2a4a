#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NAT network (S22): DHCP leases from our dnsmasq, masquerade behind the
host's address, DNS records, adopt after a daemon restart, clean stop."""
import json
import os
import signal

import nmtest
from nmtest import check


def body(env):
    host = env.netns("host")
    wan = nmtest.make_wan(env, host)
    cfg = nmtest.load_config("nat.json")
    state = env.state_dir()
    conf = env.write_config(cfg)

    out = env.tool(host, "start", conf, state).stdout
    check(out.strip() == "bridge kbr0", f"unexpected start output {out!r}")

    link = json.loads(env.ip(host, "-j", "-d", "link", "show", "kbr0").stdout)[0]
    check(link["ifalias"] == "kite:network:kitenat", f"bridge mark: {link.get('ifalias')}")
    check(link["address"] == cfg["mac"], f"bridge MAC {link['address']}")
    check(link["linkinfo"]["info_kind"] == "bridge", "kbr0 is not a bridge")
    addrs = env.ip(host, "addr", "show", "kbr0").stdout
    check("192.168.100.1/24" in addrs and "fd00:100::1/64" in addrs, f"addresses:\n{addrs}")
    routes = env.ip(host, "route").stdout
    check("10.200.0.0/16 via 192.168.100.254 dev kbr0" in routes, f"routes:\n{routes}")
    check(env.sh(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "1",
          "ip_forward not enabled")
    check(env.sh(host, ["cat", "/proc/sys/net/ipv6/conf/all/forwarding"]).stdout.strip()
          == "1", "IPv6 forwarding not enabled")
    rules = env.sh(host, ["nft", "list", "table", "inet", "kite_kitenat"]).stdout
    check("masquerade" in rules and 'comment "kite:network:kitenat"' in rules,
          f"nft table:\n{rules}")

    # two guests: one from the dynamic range, one with a fixed dhcp-host entry
    g1 = nmtest.add_guest(env, host, "kbr0", "guest1", "52:54:00:00:00:11")
    g2 = nmtest.add_guest(env, host, "kbr0", "guest2", "52:54:00:00:00:22")
    lease1 = env.dhcp(g1, "eth0", "52:54:00:00:00:11", "guest1")
    ip1 = lease1["ip"]
    last = int(ip1.rsplit(".", 1)[1])
    check(ip1.startswith("192.168.100.") and 50 <= last <= 99, f"lease {ip1} outside range")
    check(lease1["router"] == "192.168.100.1" and lease1["prefix"] == "24",
          f"lease options {lease1}")
    lease2 = env.dhcp(g2, "eth0", "52:54:00:00:00:22", "whatever")
    check(lease2["ip"] == "192.168.100.22", f"fixed host got {lease2['ip']}")

    leases = {}
    for _ in range(50):  # dnsmasq writes its lease file right after the ACK
        out = env.tool(host, "leases", "kitenat", state).stdout
        leases = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
        if len(leases) == 2:
            break
        env.sh(host, ["sleep", "0.1"])
    check(leases.get("52:54:00:00:00:11", [None])[0] == ip1 and
          leases["52:54:00:00:00:11"][1] == "guest1", f"leases: {leases}")
    check(leases.get("52:54:00:00:00:22", [None])[0] == "192.168.100.22" and
          leases["52:54:00:00:00:22"][1] == "fixed", f"leases: {leases}")
    check(int(leases["52:54:00:00:00:11"][2]) > 0, "lease without expiry")

    # DNS from dnsmasq on the bridge
    env.ip(g1, "addr", "add", f"{ip1}/24", "dev", "eth0")
    env.ip(g1, "route", "add", "default", "via", "192.168.100.1")
    answer = env.helper(g1, "dns", "192.168.100.1", "printer.kite.test")
    check(answer == "192.168.100.7", f"DNS printer.kite.test -> {answer}")
    answer = env.helper(g1, "dns", "192.168.100.1", "lp")
    check(answer == "192.168.100.7", f"DNS lp -> {answer}")

    # masquerade: the WAN sees the host's uplink address, over UDP and TCP
    env.serve(wan, nmtest.SERVER_PORT)
    for proto in ("udp", "tcp"):
        seen = env.helper(g1, "ask", proto, nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
        check(seen.split()[0] == nmtest.WAN_HOST, f"{proto}: WAN saw {seen!r}")
        check(int(seen.split()[1]) >= 1024, f"{proto}: source port {seen} not remapped")
    # and the WAN cannot open connections into the NAT subnet
    env.ip(wan, "route", "add", "192.168.100.0/24", "via", nmtest.WAN_HOST)
    env.serve(g1, nmtest.SERVER_PORT + 1)
    seen = env.helper(wan, "ask", "tcp", ip1, str(nmtest.SERVER_PORT + 1))
    check(seen in ("refused", "timeout") or seen.startswith("unreachable"),
          f"WAN reached a NAT guest: {seen}")

    # starting again is refused, and changes nothing
    env.tool(host, "start", conf, state, expect="ACTIVE")

    # adopt (daemon restart): keeps the running dnsmasq
    pid_file = os.path.join(state, "kitenat.pid")
    pid = int(open(pid_file).read())
    env.tool(host, "adopt", conf, state)
    check(int(open(pid_file).read()) == pid, "adopt replaced a healthy dnsmasq")
    # ... restarts a dead one and puts back a deleted nft table
    os.kill(pid, signal.SIGKILL)
    env.sh(host, ["nft", "delete", "table", "inet", "kite_kitenat"])
    env.tool(host, "adopt", conf, state)
    new_pid = int(open(pid_file).read())
    check(new_pid != pid and env.live_pids_mentioning(state) == [new_pid],
          f"adopt did not restart dnsmasq ({pid} -> {new_pid})")
    env.sh(host, ["nft", "list", "table", "inet", "kite_kitenat"])
    seen = env.helper(g1, "ask", "udp", nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
    check(seen.split()[0] == nmtest.WAN_HOST, f"after adopt: WAN saw {seen!r}")

    env.tool(host, "stop", "kitenat", state)
    env.assert_clean(host, state, "kbr0")
    # the guests' ports were ours (the test's), not the library's: still there
    env.ip(host, "link", "show", "guest1p")
    env.tool(host, "stop", "kitenat", state, expect="NOT_ACTIVE")


nmtest.main("nat", body)
