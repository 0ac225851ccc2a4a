#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input and failures half-way: each gives a clear error naming the
culprit, leaves nothing of ours behind and does not touch what is not ours."""
import json
import subprocess

import nmtest
from nmtest import check


def expect_start_error(env, host, cfg, code, words, state, bridge_is_ours=True):
    conf = env.write_config(cfg)
    p = env.tool(host, "start", conf, state, expect=code)
    for word in words:
        check(word in p.stderr, f"{code}: message lacks {word!r}: {p.stderr.strip()}")
    env.assert_clean(host, state, cfg.get("bridge") if bridge_is_ours else None)
    return p


def body(env):
    host = env.netns("host")
    state = env.state_dir()
    base = nmtest.load_config("nat.json")

    # --- the configuration itself ---
    cfg = json.loads(json.dumps(base))
    cfg["ipv4"]["dhcp"] = [{"start": "192.168.101.10", "end": "192.168.101.20"}]
    expect_start_error(env, host, cfg, "INVALID", ["192.168.101.10", "outside the subnet"], state)
    cfg = json.loads(json.dumps(base))
    cfg["ipv4"]["dhcp"] = [{"start": "192.168.100.90", "end": "192.168.100.60"}]
    expect_start_error(env, host, cfg, "INVALID", ["ends before it starts"], state)
    cfg = json.loads(json.dumps(base))
    cfg["ipv4"]["hosts"][0]["ip"] = "10.9.9.9"
    expect_start_error(env, host, cfg, "INVALID", ["10.9.9.9"], state)
    cfg = json.loads(json.dumps(base))
    cfg["name"] = "../escape"
    expect_start_error(env, host, cfg, "INVALID", ["network name"], state)
    cfg = json.loads(json.dumps(base))
    cfg["dns_hosts"][0]["hostnames"] = ["evil\ndhcp-script=/bin/sh"]
    expect_start_error(env, host, cfg, "INVALID", ["DNS host name"], state)
    cfg = json.loads(json.dumps(base))
    cfg["bridge"] = "waytoolongbridgename"
    expect_start_error(env, host, cfg, "INVALID", ["waytoolongbridgename"], state)

    # --- the host's state ---
    # overlapping subnet on another interface
    env.ip(host, "link", "add", "lan0", "type", "veth", "peer", "name", "lan0peer")
    env.ip(host, "addr", "add", "192.168.100.77/24", "dev", "lan0")
    env.ip(host, "link", "set", "lan0", "up")
    expect_start_error(env, host, base, "OVERLAP", ["192.168.100.0/24", "lan0"], state)
    env.ip(host, "addr", "flush", "dev", "lan0")
    # ... or with a route only
    env.ip(host, "route", "add", "192.168.100.128/25", "dev", "lan0")
    expect_start_error(env, host, base, "OVERLAP", ["192.168.100.128/25"], state)
    env.ip(host, "route", "flush", "dev", "lan0")

    # bridge name taken by a non-bridge, then by a bridge that is not ours
    env.ip(host, "link", "add", "kbr0", "type", "veth", "peer", "name", "kbr0peer")
    expect_start_error(env, host, base, "BRIDGE_IN_USE", ["kbr0"], state,
                       bridge_is_ours=False)
    env.ip(host, "link", "show", "kbr0")
    env.ip(host, "link", "del", "kbr0")
    env.ip(host, "link", "add", "kbr0", "type", "bridge")
    expect_start_error(env, host, base, "BRIDGE_IN_USE", ["kbr0"], state,
                       bridge_is_ours=False)
    env.ip(host, "link", "show", "kbr0")  # still there
    env.ip(host, "link", "del", "kbr0")

    # an nft table of our name that we did not create: refused, kept, bridge undone
    env.sh(host, ["nft", "add", "table", "inet", "kite_kitenat"])
    p = env.tool(host, "start", env.write_config(base), state, expect="SYSTEM")
    check("kite_kitenat" in p.stderr and "not ours" in p.stderr, p.stderr)
    env.sh(host, ["nft", "list", "table", "inet", "kite_kitenat"])
    env.sh(host, ["nft", "delete", "table", "inet", "kite_kitenat"])
    env.assert_clean(host, state, "kbr0")

    # dnsmasq cannot start (another DHCP server holds port 67): everything undone
    holder = subprocess.Popen(
        ["ip", "netns", "exec", host, nmtest.PYTHON, "-c",
         "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
         "s.bind(('0.0.0.0', 67)); print('bound', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    env.procs.append(holder)
    check(holder.stdout.readline().strip() == "bound", "could not occupy port 67")
    expect_start_error(env, host, base, "DNSMASQ", ["dnsmasq", "kitenat", "failed to start"],
                       state)
    holder.kill()
    holder.wait()

    # a foreign bridge in place of ours at stop time is left alone
    env.tool(host, "start", env.write_config(base), state)
    env.ip(host, "link", "del", "kbr0")
    env.ip(host, "link", "add", "kbr0", "type", "bridge")
    env.tool(host, "stop", "kitenat", state)
    env.ip(host, "link", "show", "kbr0")
    env.ip(host, "link", "del", "kbr0")
    env.assert_clean(host, state, "kbr0")

    # stop/leases of a network that is not running
    env.tool(host, "stop", "kitenat", state, expect="NOT_ACTIVE")
    env.tool(host, "leases", "kitenat", state, expect="NOT_ACTIVE")
    env.tool(host, "stop", "../etc", state, expect="INVALID")


nmtest.main("errors", body)
