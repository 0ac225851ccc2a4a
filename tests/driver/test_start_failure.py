#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A kite that cannot be started or dies during start-up: a clear error
naming the cause, the domain stays shut off, nothing is left behind."""

import os
import stat

from kitetest import Daemon, check, domain_xml, dominfo, run, virsh, virsh_fails, write_file


def run_dir_empty(d):
    path = d.path("run", "kite", "domains")
    return not os.path.isdir(path) or os.listdir(path) == []


def main():
    with Daemon(emulator="/nonexistent/bin/kite") as d:
        f = write_file(d.root, "a.xml", domain_xml("nokite"))
        virsh(d.uri, "define", f)
        virsh_fails(d.uri, "start", "nokite", expect="/nonexistent/bin/kite")
        check(dominfo(d.uri, "nokite")["State"] == "shut off", "state after failed start")
        check(run_dir_empty(d), "runtime state left behind")
        # Transient create: the domain does not stay around either.
        f = write_file(d.root, "t.xml", domain_xml("transient"))
        virsh_fails(d.uri, "create", f, expect="/nonexistent/bin/kite")
        check("transient" not in virsh(d.uri, "list", "--all").stdout, "transient left listed")
        check(run_dir_empty(d), "runtime state left behind (create)")

    # An emulator that starts and exits at once with a message.
    d = Daemon()
    fake = os.path.join(d.root, "dying-kite")
    with open(fake, "w") as fh:
        fh.write("#!/bin/sh\necho \"kite: unsupported option '-frobnicate'\" >&2\nexit 1\n")
    os.chmod(fake, stat.S_IRWXU)
    d.emulator = fake
    with d:
        f = write_file(d.root, "a.xml", domain_xml("dies"))
        virsh(d.uri, "define", f)
        p = virsh_fails(d.uri, "start", "dies", expect="exited during start-up")
        check("unsupported option '-frobnicate'" in p.stderr, f"kite's stderr not in the error: {p.stderr}")
        check(dominfo(d.uri, "dies")["State"] == "shut off", "state after failed start")
        check(run_dir_empty(d), "runtime state left behind")
        check(d.alive(), "daemon died")
        # It can be retried and still fails the same way (nothing stale).
        virsh_fails(d.uri, "start", "dies", expect="exited during start-up")


run(main)
