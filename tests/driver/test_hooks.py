#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt-compatible hook scripts: <etc>/hooks/kite around a domain's life
(argument order, the domain XML on stdin), a failing or hanging prepare or
start hook aborts the start with VIR_ERR_HOOK_SCRIPT_FAILED and leaves
nothing behind, reconnect after a daemon restart, and the network hook
(a failing start leaves no bridge)."""

import json
import os
import stat
import xml.etree.ElementTree as ET

import libvirt

from kitetest import (Daemon, Failure, check, domain_xml, need_kite, pid_alive, run, virsh, virsh_fails,
                      wait_for, write_file)

# Records "argv + stdin" as one JSON line; CONTROL/fail-OP makes it fail
# with a message on stderr, CONTROL/hang-OP makes it sleep (timeout test).
HOOK = """#!/usr/bin/python3
import json, os, sys, time
control = {control!r}
data = sys.stdin.read()
with open(os.path.join(control, "calls"), "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "stdin": data}}) + "\\n")
op = sys.argv[2]
if os.path.exists(os.path.join(control, "hang-" + op)):
    time.sleep(600)
if os.path.exists(os.path.join(control, "fail-" + op)):
    sys.stderr.write("hook says: refusing " + op + " of " + sys.argv[1] + "\\n")
    sys.exit(3)
"""


def install_hook(dirname, name, control):
    os.makedirs(dirname, exist_ok=True)
    path = write_file(dirname, name, HOOK.format(control=control))
    os.chmod(path, stat.S_IRWXU)


def calls(control):
    try:
        with open(os.path.join(control, "calls")) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def reset(control):
    for n in os.listdir(control):
        os.unlink(os.path.join(control, n))


def flag(control, name, on=True):
    path = os.path.join(control, name)
    if on:
        open(path, "w").close()
    elif os.path.exists(path):
        os.unlink(path)


def children(pid):
    """PIDs whose parent is pid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(p))
    return out


def check_nothing_left(d, name, marker):
    check(virsh(d.uri, "domstate", name).stdout.strip() == "shut off", "state after refusal")
    rundir = d.path("run", "kite", "domains")
    check(not os.path.isdir(rundir) or os.listdir(rundir) == [],
          f"runtime state left: {os.listdir(rundir) if os.path.isdir(rundir) else ''}")
    check(not os.path.exists(marker), "the emulator was run although a hook refused")
    # The hook itself (and a hanging one's sleep) is gone too.
    kids = children(d.proc.pid)
    check(kids == [], f"daemon children left: {kids}")
    links = d.in_netns("ip", "-o", "link", "show").stdout
    check("vnet" not in links, f"tap left behind: {links}")
    check(d.alive(), "daemon died")


def refusals():
    """No kite needed: the emulator must never run, a fake one says if it did."""
    d = Daemon(netns=True, extra_args=["--hook-timeout", "2"])
    control = os.path.join(d.root, "control")
    os.makedirs(control)
    marker = os.path.join(d.root, "emulator-ran")
    fake = write_file(d.root, "fake-kite", f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    os.chmod(fake, stat.S_IRWXU)
    d.emulator = fake
    # The default hooks directory: <state root>/etc/kite/hooks.
    install_hook(d.path("etc", "kite", "hooks"), "kite", control)
    with d:
        check(d.in_netns("ip", "link", "add", "hkbr0", "type", "bridge").returncode == 0,
              "bridge for the test")
        d.in_netns("ip", "link", "set", "hkbr0", "up")
        xml = domain_xml("hooked").replace(
            "<interface type='user'>", "<interface type='bridge'><source bridge='hkbr0'/>")
        virsh(d.uri, "define", write_file(d.root, "d.xml", xml))
        uuid = virsh(d.uri, "domuuid", "hooked").stdout.strip()
        conn = libvirt.open(d.uri)
        dom = conn.lookupByName("hooked")

        for op in ("prepare", "start"):
            reset(control)
            flag(control, "fail-" + op)
            try:
                dom.create()
                raise Failure(f"start succeeded although the {op} hook failed")
            except libvirt.libvirtError as e:
                check(e.get_error_code() == libvirt.VIR_ERR_HOOK_SCRIPT_FAILED,
                      f"{op}: error code {e.get_error_code()}: {e}")
                check(f"hook says: refusing {op} of hooked" in str(e),
                      f"{op}: hook's stderr not in the error: {e}")
            seen = [c["argv"] for c in calls(control)]
            want = [["hooked", "prepare", "begin", "-"]]
            if op == "start":
                want.append(["hooked", "start", "begin", "-"])
            want.append(["hooked", "release", "end", "-"])
            check(seen == want, f"{op} refused: hook calls {seen}, expected {want}")
            check_nothing_left(d, "hooked", marker)

        # A hanging hook is killed after --hook-timeout and the start fails.
        reset(control)
        flag(control, "hang-prepare")
        p = virsh_fails(d.uri, "start", "hooked", expect="did not finish within 2 s")
        check("Hook script execution failed" in p.stderr, f"hang: {p.stderr}")
        check_nothing_left(d, "hooked", marker)
        flag(control, "hang-prepare", on=False)

        # With the hooks agreeing, the start goes on to the emulator (the
        # fake one fails), and the hook saw the XML of this domain.
        reset(control)
        virsh_fails(d.uri, "start", "hooked", expect="exited during start-up")
        check(os.path.exists(marker), "emulator not run although the hooks agreed")
        seen = calls(control)
        check([c["argv"][1] for c in seen] == ["prepare", "start", "release"],
              f"hook calls: {[c['argv'] for c in seen]}")
        for c in seen:
            root = ET.fromstring(c["stdin"])
            check(root.tag == "domain" and root.findtext("name") == "hooked"
                  and root.findtext("uuid") == uuid, f"hook stdin: {c['stdin'][:200]}")
        conn.close()


def life_cycle():
    need_kite()
    d = Daemon()
    control = os.path.join(d.root, "control")
    os.makedirs(control)
    hooks = os.path.join(d.root, "my-hooks")
    install_hook(hooks, "kite", control)
    d.extra_args += ["--hooks-dir", hooks]
    with d:
        f = write_file(d.root, "d.xml", domain_xml("life", cmdline="pci-list hold"))
        virsh(d.uri, "define", f)
        virsh(d.uri, "start", "life")
        seen = calls(control)
        check([c["argv"] for c in seen] == [["life", op, "begin", "-"] for op in
                                            ("prepare", "start", "started")],
              f"start: hook calls {[c['argv'] for c in seen]}")
        started = ET.fromstring(seen[2]["stdin"])
        check(started.findtext("name") == "life", "started: XML on stdin")
        domid = virsh(d.uri, "domid", "life").stdout.strip()
        check(started.get("id") == domid, f"started: live XML id {started.get('id')} != {domid}")

        # Daemon restart: the running domain is adopted, the hook told so.
        with open(d.path("run", "kite", "domains", "life", "pid")) as pf:
            pid = int(pf.read().split()[0])
        d.stop()
        reset(control)
        d.start()
        seen = calls(control)
        check([c["argv"] for c in seen] == [["life", "reconnect", "begin", "-"]],
              f"restart: hook calls {[c['argv'] for c in seen]}")
        check(ET.fromstring(seen[0]["stdin"]).get("id") == domid, "reconnect: live XML")

        reset(control)
        virsh(d.uri, "destroy", "life")
        wait_for(lambda: not pid_alive(pid), "kite to exit")
        seen = calls(control)
        check([c["argv"] for c in seen] == [["life", "stopped", "end", "-"],
                                            ["life", "release", "end", "-"]],
              f"destroy: hook calls {[c['argv'] for c in seen]}")


NET = """<network><name>hooknet</name><bridge name='hknet0'/>
<ip address='10.77.0.1' prefix='24'/></network>
"""


def network():
    d = Daemon(netns=True)
    control = os.path.join(d.root, "control")
    os.makedirs(control)
    hooks = os.path.join(d.root, "net-hooks")
    install_hook(hooks, "network", control)
    # The config file's keys this time.
    d.extra_args += ["--config", write_file(d.root, "kite.conf",
                                            f"hooks_dir = {hooks}\nhook_timeout = 20\n")]
    with d:
        virsh(d.uri, "net-define", write_file(d.root, "n.xml", NET))
        flag(control, "fail-start")
        virsh_fails(d.uri, "net-start", "hooknet", expect="hook says: refusing start of hooknet")
        check(d.in_netns("ip", "link", "show", "hknet0").returncode != 0, "bridge left behind")
        check(not os.path.exists(d.path("run", "kite", "networks", "hooknet.xml")),
              "active state left behind")
        check("inactive" in virsh(d.uri, "net-list", "--all").stdout, "network not inactive")
        check([c["argv"] for c in calls(control)] == [["hooknet", "start", "begin", "-"]],
              f"refused start: {[c['argv'] for c in calls(control)]}")

        reset(control)
        virsh(d.uri, "net-start", "hooknet")
        check(d.in_netns("ip", "link", "show", "hknet0").returncode == 0, "bridge not created")
        virsh(d.uri, "net-destroy", "hooknet")
        seen = calls(control)
        check([c["argv"] for c in seen] == [["hooknet", "start", "begin", "-"],
                                            ["hooknet", "started", "begin", "-"],
                                            ["hooknet", "stopped", "end", "-"]],
              f"network hook calls: {[c['argv'] for c in seen]}")
        for c in seen:
            root = ET.fromstring(c["stdin"])
            check(root.tag == "network" and root.findtext("name") == "hooknet",
                  f"network hook stdin: {c['stdin'][:200]}")


def main():
    refusals()
    network()
    life_cycle()  # last: skips without kite


run(main)
