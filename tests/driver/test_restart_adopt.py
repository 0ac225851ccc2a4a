#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A daemon restart loses no running domain: the new daemon adopts kite
through the pid file and the QMP socket. A kite that died meanwhile is
cleaned up."""

import os
import signal

from kitetest import (Daemon, check, domain_xml, dominfo, need_kite, pid_alive, run, virsh,
                      wait_for, write_file)


def kite_pid(d, name):
    with open(d.path("run", "kite", "domains", name, "pid")) as f:
        return int(f.read().split()[0])


def main():
    need_kite()
    d = Daemon()
    d.start()
    try:
        for name, mac in (("keep", "52:54:00:00:00:01"), ("keep2", "52:54:00:00:00:03"),
                          ("lose", "52:54:00:00:00:02")):
            f = write_file(d.root, name + ".xml",
                           domain_xml(name, cmdline="pci-list hold", mac=mac))
            virsh(d.uri, "define", f)
            virsh(d.uri, "start", name)
        keep_id = dominfo(d.uri, "keep")["Id"]
        keep2_id = dominfo(d.uri, "keep2")["Id"]
        keep_pid = kite_pid(d, "keep")
        keep2_pid = kite_pid(d, "keep2")
        lose_pid = kite_pid(d, "lose")

        d.stop()
        check(pid_alive(keep_pid) and pid_alive(keep2_pid) and pid_alive(lose_pid),
              "kite died with the daemon")
        os.kill(lose_pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(lose_pid), "killed kite to go away")

        d.start()
        info = dominfo(d.uri, "keep")
        check(info["State"] == "running" and info["Id"] == keep_id, f"adopted domain: {info}")
        info2 = dominfo(d.uri, "keep2")
        check(info2["State"] == "running" and info2["Id"] == keep2_id, f"second adopted: {info2}")
        # Both running domains are reachable again through their QMP sockets.
        virsh(d.uri, "suspend", "keep2")
        check(virsh(d.uri, "domstate", "keep2").stdout.strip() == "paused", "suspend keep2")
        virsh(d.uri, "resume", "keep2")
        check(virsh(d.uri, "domstate", "keep2").stdout.strip() == "running", "resume keep2")
        check(dominfo(d.uri, "lose")["State"] == "shut off", "dead kite not noticed")
        check(not os.path.exists(d.path("run", "kite", "domains", "lose")), "stale run dir")
        # The adopted one is fully managed: monitor commands and destroy.
        virsh(d.uri, "suspend", "keep")
        check(virsh(d.uri, "domstate", "keep").stdout.strip() == "paused", "suspend adopted")
        virsh(d.uri, "destroy", "keep")
        wait_for(lambda: not pid_alive(keep_pid), "adopted kite to exit")
        check(virsh(d.uri, "domstate", "keep").stdout.strip() == "shut off", "destroy adopted")
        virsh(d.uri, "destroy", "keep2")
        wait_for(lambda: not pid_alive(keep2_pid), "second adopted kite to exit")
        # An autostarted domain starts with the daemon.
        virsh(d.uri, "autostart", "keep")
        d.stop()
        d.start()
        check(virsh(d.uri, "domstate", "keep").stdout.strip() == "running",
              "autostarted domain not started with the daemon")
        check(virsh(d.uri, "domstate", "keep2").stdout.strip() == "shut off",
              "a domain without autostart was started")
        virsh(d.uri, "destroy", "keep")
    except BaseException:
        import sys
        sys.stderr.write(d.logtext())
        raise
    finally:
        d.cleanup()


run(main)
