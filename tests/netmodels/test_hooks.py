#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lifecycle hooks with libvirt's calling convention: arguments, XML on
stdin, OBJECT.d/ ordering, failures carrying stderr, a hanging hook killed
with its children at the timeout."""
import os

import nmtest
from nmtest import check


def write_script(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + text)
    os.chmod(path, mode)


def body(env):
    ns = env.netns("host")  # hooks do not need one; keeps all tests alike
    hooks = os.path.join(env.tmp, "hooks")
    os.mkdir(hooks)
    log = os.path.join(env.tmp, "log")
    xml = "<domain type='kvm'><name>vm1</name>" + "<!-- pad -->" * 20000 + "</domain>\n"

    # no hook at all: nothing to do
    env.tool(ns, "hook", hooks, "kite", "vm1", "prepare", "begin", "5", input=xml)

    write_script(os.path.join(hooks, "kite"),
                 f'echo "main $*" >> {log}; cat > {log}.stdin\n')
    os.mkdir(os.path.join(hooks, "kite.d"))
    write_script(os.path.join(hooks, "kite.d", "20-second"), f'echo "second $*" >> {log}\n')
    write_script(os.path.join(hooks, "kite.d", "10-first"), f'echo "first $*" >> {log}\n')
    write_script(os.path.join(hooks, "kite.d", "30-not-executable"), "exit 1\n", mode=0o644)
    env.tool(ns, "hook", hooks, "kite", "vm1", "prepare", "begin", "5", input=xml)
    lines = open(log).read().splitlines()
    check(lines == ["main vm1 prepare begin -", "first vm1 prepare begin -",
                    "second vm1 prepare begin -"], f"hook calls: {lines}")
    check(open(log + ".stdin").read() == xml, "hook stdin differs from the XML")

    # network hook, no sub-operation: "-" in its place
    os.unlink(log)
    write_script(os.path.join(hooks, "network"), f'echo "net $*" >> {log}\n')
    env.tool(ns, "hook", hooks, "network", "default", "stopped", "-", "5", input="<network/>")
    check(open(log).read() == "net default stopped - -\n", open(log).read())

    # a hook that ignores its (large) stdin is fine
    write_script(os.path.join(hooks, "network"), "exit 0\n")
    env.tool(ns, "hook", hooks, "network", "default", "start", "begin", "5", input=xml)

    # non-zero exit: error with the hook's stderr and status
    write_script(os.path.join(hooks, "network"),
                 'echo "some stdout"; echo "refused by site policy" >&2; exit 3\n')
    p = env.tool(ns, "hook", hooks, "network", "default", "start", "begin", "5",
                 input="<network/>", expect="HOOK_FAILED")
    check("refused by site policy" in p.stderr and "exit status 3" in p.stderr
          and "network default start begin" in p.stderr, p.stderr)

    # hangs: killed at the timeout together with its children
    pids = os.path.join(env.tmp, "pids")
    write_script(os.path.join(hooks, "network"),
                 f"sleep 300 & echo $! > {pids}; echo $$ >> {pids}; wait\n")
    p = env.tool(ns, "hook", hooks, "network", "default", "start", "begin", "1",
                 input="<network/>", expect="HOOK_TIMEOUT")
    check("did not finish within 1 s" in p.stderr, p.stderr)
    for pid in open(pids).read().split():
        check(not nmtest.pid_alive(int(pid)), f"hook process {pid} survived the timeout")

    # bad object names are refused, not run
    env.tool(ns, "hook", hooks, "../network", "x", "start", "begin", "5", input="",
             expect="INVALID")


nmtest.main("hooks", body)
