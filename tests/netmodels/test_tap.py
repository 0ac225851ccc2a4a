#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tap helpers (S14-S17): template names, vnet_hdr, multiqueue, persistence
and owner, attaching to a bridge with its MTU, removal; bad requests refused."""
import json
import subprocess

import nmtest
from nmtest import check


def tun_info(env, ns, name):
    link = json.loads(env.ip(ns, "-j", "-d", "link", "show", name).stdout)[0]
    check(link["linkinfo"]["info_kind"] == "tun", f"{name} is not a tun device")
    return link, link["linkinfo"]["info_data"]


def hold_tap(env, ns, *args):
    """tap-create holding its fds until we close its stdin."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, nmtest.TOOL, "tap-create", *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    env.procs.append(p)
    name = p.stdout.readline().strip()
    check(name, f"tap-create {args} failed: {p.stderr.read() if not name else ''}")
    return p, name


def release(p):
    p.stdin.close()
    check(p.wait(timeout=30) == 0, "tap-create exited with an error")


def link_exists(env, ns, name):
    return env.ip(ns, "link", "show", name, check_rc=False).returncode == 0


def body(env):
    ns = env.netns("host")

    # persistent, with owner and vnet_hdr: survives the process
    p = env.tool(ns, "tap-create", "vnet%d", "1", "1", "1", "1234", input="")
    name = p.stdout.strip()
    check(name == "vnet0", f"template gave {name!r}")
    link, info = tun_info(env, ns, name)
    check(info["type"] == "tap" and info["vnet_hdr"] and info["persist"] and
          info.get("user") == 1234 and not info["pi"], f"tun flags {info}")
    # the next one gets the next number
    p = env.tool(ns, "tap-create", "vnet%d", "0", "1", "1", "-1", input="")
    check(p.stdout.strip() == "vnet1", f"second template name {p.stdout!r}")
    env.tool(ns, "tap-destroy", "vnet0")
    env.tool(ns, "tap-destroy", "vnet1")
    check(not link_exists(env, ns, "vnet0") and not link_exists(env, ns, "vnet1"),
          "tap-destroy left a device")
    env.tool(ns, "tap-destroy", "vnet0")  # already gone: fine

    # non-persistent, two queues, attached to a bridge with MTU 1400
    env.ip(ns, "link", "add", "br9", "type", "bridge")
    env.ip(ns, "link", "set", "br9", "mtu", "1400")
    proc, name = hold_tap(env, ns, "ktap%d", "1", "2", "0", "-1", "br9")
    link, info = tun_info(env, ns, name)
    check(info["multi_queue"] and not info["persist"], f"tun flags {info}")
    check(link.get("master") == "br9" and link["mtu"] == 1400 and "UP" in link["flags"],
          f"attached tap: master={link.get('master')} mtu={link['mtu']} {link['flags']}")
    release(proc)
    check(not link_exists(env, ns, name), "non-persistent tap outlived its fds")

    # an explicit MTU
    proc, name = hold_tap(env, ns, "ktap%d", "0", "1", "0", "-1")
    env.tool(ns, "tap-attach", name, "br9", "1300")
    link, _ = tun_info(env, ns, name)
    check(link["mtu"] == 1300 and link.get("master") == "br9", f"mtu {link['mtu']}")
    release(proc)

    # a pre-created persistent tap (tunctl / ip tuntap add) is used and stays (S17)
    env.ip(ns, "tuntap", "add", "dev", "tap0", "mode", "tap")
    proc, name = hold_tap(env, ns, "tap0", "0", "1", "0", "-1")
    check(name == "tap0", name)
    release(proc)
    check(link_exists(env, ns, "tap0"), "pre-created tap was removed")
    # ... but a mismatch of flags is a clear error, and the device stays
    p = env.tool(ns, "tap-create", "tap0", "1", "2", "0", "-1", input="", expect="TAP")
    check("tap0" in p.stderr, p.stderr)
    check(link_exists(env, ns, "tap0"), "failed open removed a pre-created tap")

    # refusals
    env.tool(ns, "tap-create", "bad/name", "0", "1", "0", "-1", input="", expect="TAP")
    env.tool(ns, "tap-create", "a%s", "0", "1", "0", "-1", input="", expect="TAP")
    env.tool(ns, "tap-create", "vnet%d", "0", "0", "0", "-1", input="", expect="TAP")
    env.tool(ns, "tap-create", "vnet%d", "0", "300", "0", "-1", input="", expect="TAP")
    p = env.tool(ns, "tap-attach", "tap0", "nosuchbr", "0", expect="TAP")
    check("nosuchbr" in p.stderr and "does not exist" in p.stderr, p.stderr)
    env.ip(ns, "link", "add", "notbr", "type", "veth", "peer", "name", "notbrpeer")
    p = env.tool(ns, "tap-attach", "tap0", "notbr", "0", expect="TAP")
    check("not a bridge" in p.stderr, p.stderr)
    p = env.tool(ns, "tap-destroy", "notbr", expect="TAP")
    check(link_exists(env, ns, "notbr"), "tap-destroy deleted a non-tap device")
    check(not link_exists(env, ns, "vnet2"), "refused requests created a device")


nmtest.main("tap", body)
