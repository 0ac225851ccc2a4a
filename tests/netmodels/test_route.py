#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Routed network (S21): forwarding without NAT, the WAN sees the guest's own
address and can reach the guest; nothing left after stop."""
import nmtest
from nmtest import check


def body(env):
    host = env.netns("host")
    wan = nmtest.make_wan(env, host)
    state = env.state_dir()
    conf = env.write_config(nmtest.load_config("route.json"))
    env.tool(host, "start", conf, state)

    rules = env.sh(host, ["nft", "list", "table", "inet", "kite_kiteroute"]).stdout
    check("masquerade" not in rules and "snat" not in rules, f"NAT in a routed net:\n{rules}")
    check(env.sh(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "1",
          "ip_forward not enabled")

    guest = nmtest.add_guest(env, host, "kbr1", "guest", "52:54:00:00:01:11")
    lease = env.dhcp(guest, "eth0", "52:54:00:00:01:11", "routed")
    gip = lease["ip"]
    check(100 <= int(gip.rsplit(".", 1)[1]) <= 200, f"lease {gip} outside range")
    env.ip(guest, "addr", "add", f"{gip}/24", "dev", "eth0")
    env.ip(guest, "route", "add", "default", "via", "192.168.110.1")
    # the WAN routes the guest subnet back through the host
    env.ip(wan, "route", "add", "192.168.110.0/24", "via", nmtest.WAN_HOST)

    env.serve(wan, nmtest.SERVER_PORT)
    for proto in ("udp", "tcp"):
        seen = env.helper(guest, "ask", proto, nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
        check(seen.split()[0] == gip, f"{proto}: WAN saw {seen!r}, expected {gip}")
    # routed both ways: the WAN can open a connection to the guest
    env.serve(guest, nmtest.SERVER_PORT)
    seen = env.helper(wan, "ask", "tcp", gip, str(nmtest.SERVER_PORT))
    check(seen.split()[0] == nmtest.WAN_PEER, f"guest saw {seen!r}")

    env.tool(host, "stop", "kiteroute", state)
    env.assert_clean(host, state, "kbr1")


nmtest.main("route", body)
