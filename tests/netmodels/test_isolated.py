#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Isolated network (S20): guests reach each other and the host's DHCP/DNS,
nothing beyond the host; nothing left after stop."""
import nmtest
from nmtest import check


def body(env):
    host = env.netns("host")
    wan = nmtest.make_wan(env, host)
    state = env.state_dir()
    conf = env.write_config(nmtest.load_config("isolated.json"))
    # as on a host that also runs NAT networks: only our rules may stop forwarding
    env.sh(host, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
    env.tool(host, "start", conf, state)

    g1 = nmtest.add_guest(env, host, "kbr2", "guest1", "52:54:00:00:02:11")
    g2 = nmtest.add_guest(env, host, "kbr2", "guest2", "52:54:00:00:02:22")
    lease = env.dhcp(g1, "eth0", "52:54:00:00:02:11", "iso1")
    ip1 = lease["ip"]
    env.ip(g1, "addr", "add", f"{ip1}/24", "dev", "eth0")
    env.ip(g1, "route", "add", "default", "via", "192.168.120.1")
    env.ip(g2, "addr", "add", "192.168.120.99/24", "dev", "eth0")
    env.ip(g2, "route", "add", "default", "via", "192.168.120.1")

    check(env.helper(g1, "ping", "192.168.120.99") == "reply", "guest1 cannot ping guest2")
    check(env.helper(g2, "ping", ip1) == "reply", "guest2 cannot ping guest1")
    check(env.helper(g1, "ping", "192.168.120.1") == "reply", "guest cannot ping the host")

    server = env.serve(wan, nmtest.SERVER_PORT)
    check(env.helper(g1, "ping", nmtest.WAN_PEER) == "unreachable",
          "isolated guest pinged the WAN or was not rejected")
    seen = env.helper(g1, "ask", "udp", nmtest.WAN_PEER, str(nmtest.SERVER_PORT))
    check(seen == "refused", f"isolated guest's UDP to the WAN not rejected: {seen}")
    env.ip(wan, "route", "add", "192.168.120.0/24", "via", nmtest.WAN_HOST)
    check(env.helper(wan, "ping", ip1) == "unreachable", "the WAN pinged an isolated guest")
    server.kill()
    served = server.stdout.read()
    check(served == "", f"the WAN server was reached: {served!r}")

    env.tool(host, "stop", "kiteiso", state)
    env.assert_clean(host, state, "kbr2")


nmtest.main("isolated", body)
