#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""hooks/kite-ifup and kite-ifdown (S16) with a tap and bridges in a namespace:
bridge chosen by $KITE_BRIDGE, ifup.conf, the default route, br0; clear
exit status and message when the bridge or interface is missing."""
import json
import os

import nmtest
from nmtest import check

IFUP = os.environ.get("KITE_IFUP", "")
IFDOWN = os.environ.get("KITE_IFDOWN", "")


def link(env, ns, name):
    return json.loads(env.ip(ns, "-j", "link", "show", name).stdout)[0]


def script(env, ns, path, ifname, extra_env=None, conf=None):
    envv = ["env", "-u", "KITE_BRIDGE",
            f"KITE_IFUP_CONF={conf or os.path.join(env.tmp, 'no-such.conf')}"]
    envv += [f"{k}={v}" for k, v in (extra_env or {}).items()]
    return env.sh(ns, [*envv, "/bin/sh", path, ifname], check_rc=False)


def up_ok(env, ns, ifname, bridge, **kw):
    p = script(env, ns, IFUP, ifname, **kw)
    check(p.returncode == 0, f"kite-ifup failed ({p.returncode}): {p.stderr}")
    lk = link(env, ns, ifname)
    check(lk.get("master") == bridge and "UP" in lk["flags"],
          f"after ifup: master={lk.get('master')} flags={lk['flags']}, wanted {bridge}")


def down_ok(env, ns, ifname):
    p = script(env, ns, IFDOWN, ifname)
    check(p.returncode == 0, f"kite-ifdown failed ({p.returncode}): {p.stderr}")
    lk = link(env, ns, ifname)
    check(lk.get("master") is None and "UP" not in lk["flags"], f"after ifdown: {lk}")


def body(env):
    check(IFUP and IFDOWN, "KITE_IFUP/KITE_IFDOWN not set")
    ns = env.netns("host")
    env.ip(ns, "tuntap", "add", "dev", "tap0", "mode", "tap")
    for br in ("brenv", "brconf", "brdef", "br0"):
        env.ip(ns, "link", "add", br, "type", "bridge")

    # $KITE_BRIDGE wins
    up_ok(env, ns, "tap0", "brenv", extra_env={"KITE_BRIDGE": "brenv"})
    down_ok(env, ns, "tap0")

    # then BRIDGE= in ifup.conf (parsed, not executed)
    conf = os.path.join(env.tmp, "ifup.conf")
    marker = os.path.join(env.tmp, "executed")
    with open(conf, "w") as f:
        f.write(f"# comment\ntouch {marker}\nBRIDGE=\"brconf\"\n")
    up_ok(env, ns, "tap0", "brconf", conf=conf)
    check(not os.path.exists(marker), "ifup.conf was executed as shell code")
    down_ok(env, ns, "tap0")

    # then the bridge carrying the default route
    env.ip(ns, "addr", "add", "10.66.0.1/24", "dev", "brdef")
    env.ip(ns, "link", "set", "brdef", "up")
    env.ip(ns, "route", "add", "default", "via", "10.66.0.254", "dev", "brdef", "onlink")
    up_ok(env, ns, "tap0", "brdef")
    down_ok(env, ns, "tap0")
    # ... or the bridge whose port carries it
    env.ip(ns, "route", "del", "default")
    env.ip(ns, "link", "add", "uplink", "type", "veth", "peer", "name", "uplinkpeer")
    env.ip(ns, "link", "set", "uplink", "master", "brdef")
    env.ip(ns, "link", "set", "uplink", "up")
    env.ip(ns, "addr", "add", "10.67.0.1/24", "dev", "uplink")
    env.ip(ns, "route", "add", "default", "via", "10.67.0.254", "dev", "uplink", "onlink")
    up_ok(env, ns, "tap0", "brdef")
    down_ok(env, ns, "tap0")

    # finally br0
    env.ip(ns, "route", "del", "default")
    up_ok(env, ns, "tap0", "br0")
    down_ok(env, ns, "tap0")

    # missing or wrong bridge: exit 2, message naming it, tap untouched
    p = script(env, ns, IFUP, "tap0", extra_env={"KITE_BRIDGE": "nosuchbr"})
    check(p.returncode == 2 and "nosuchbr" in p.stderr and "does not exist" in p.stderr,
          f"missing bridge: {p.returncode} {p.stderr}")
    check(link(env, ns, "tap0").get("master") is None, "tap attached somewhere")
    p = script(env, ns, IFUP, "tap0", extra_env={"KITE_BRIDGE": "uplinkpeer"})
    check(p.returncode == 2 and "not a bridge" in p.stderr, f"non-bridge: {p.stderr}")
    env.ip(ns, "link", "del", "br0")
    p = script(env, ns, IFUP, "tap0")
    check(p.returncode == 2 and "'br0'" in p.stderr, f"no br0: {p.returncode} {p.stderr}")

    # missing interface / no argument: exit 1
    p = script(env, ns, IFUP, "nosuchtap", extra_env={"KITE_BRIDGE": "brenv"})
    check(p.returncode == 1 and "nosuchtap" in p.stderr, f"{p.returncode} {p.stderr}")
    p = script(env, ns, IFDOWN, "nosuchtap")
    check(p.returncode == 1 and "nosuchtap" in p.stderr, f"{p.returncode} {p.stderr}")
    p = script(env, ns, IFUP, "")
    check(p.returncode == 1 and "usage" in p.stderr, f"{p.returncode} {p.stderr}")


nmtest.main("ifupdown", body)
