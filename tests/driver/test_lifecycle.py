#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Running domains with kite: start, list, suspend/resume, destroy,
transient create, kite dying, virsh shutdown of a guest without ACPI and of
one that powers off, and the lifecycle events."""

import os
import queue
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import libvirt

from kitetest import (GUEST_ELF, MKPVH, Daemon, check, domain_xml, dominfo, need_kite, pid_alive,
                      run, virsh, virsh_fails, wait_for, write_file)

E = libvirt


def kite_pid(d, name):
    with open(d.path("run", "kite", "domains", name, "pid")) as f:
        return int(f.read().split()[0])


def main():
    need_kite()
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    with Daemon() as d:
        conn = libvirt.open(d.uri)
        events = queue.Queue()
        conn.domainEventRegisterAny(None, E.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                    lambda c, dom, ev, det, op: events.put((dom.name(), ev, det)),
                                    None)

        def next_event(name, timeout=60):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    n, ev, det = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if n == name:
                    return ev, det
            raise AssertionError(f"no event for {name}")

        # A guest that waits for a byte on its serial port: it keeps running.
        f = write_file(d.root, "hold.xml", domain_xml("hold", cmdline="pci-list hold"))
        virsh(d.uri, "define", f)
        check(next_event("hold")[0] == E.VIR_DOMAIN_EVENT_DEFINED, "defined event")
        virsh(d.uri, "start", "hold")
        check(next_event("hold") == (E.VIR_DOMAIN_EVENT_STARTED, 0), "started event")
        rows = virsh(d.uri, "list").stdout.split()
        check(rows[1:] == ["hold", "running"] and int(rows[0]) >= 1, f"list: {rows}")
        info = dominfo(d.uri, "hold")
        check(info["State"] == "running" and info["Id"] == rows[0], f"dominfo {info}")
        pid = kite_pid(d, "hold")
        check(pid_alive(pid), "kite not running")
        x = ET.fromstring(virsh(d.uri, "dumpxml", "hold").stdout)
        check(x.get("id") == rows[0], "live XML id")
        virsh_fails(d.uri, "start", "hold", expect="already")

        virsh(d.uri, "suspend", "hold")
        check(next_event("hold") == (E.VIR_DOMAIN_EVENT_SUSPENDED, 0), "suspended event")
        check(virsh(d.uri, "domstate", "hold").stdout.strip() == "paused", "paused state")
        virsh(d.uri, "resume", "hold")
        check(next_event("hold") == (E.VIR_DOMAIN_EVENT_RESUMED, 0), "resumed event")
        check(virsh(d.uri, "domstate", "hold").stdout.strip() == "running", "running again")

        # virsh reboot and virsh reset: one reboot event each.
        reboots = queue.Queue()
        conn.domainEventRegisterAny(None, E.VIR_DOMAIN_EVENT_ID_REBOOT,
                                    lambda c, dom, op: reboots.put(dom.name()), None)
        for cmd in ("reboot", "reset"):
            virsh(d.uri, cmd, "hold")
            check(reboots.get(timeout=20) == "hold", f"reboot event after virsh {cmd}")
            time.sleep(0.5)
            check(reboots.empty(), f"a second reboot event after virsh {cmd}")
        check(virsh(d.uri, "domstate", "hold").stdout.strip() == "running", "running after reboot")

        virsh(d.uri, "destroy", "hold")
        check(next_event("hold") == (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
              "destroyed event")
        check(not pid_alive(pid), "kite still running after destroy")
        check(not os.path.exists(d.path("run", "kite", "domains", "hold")), "run dir left")
        check(virsh(d.uri, "domstate", "hold").stdout.strip() == "shut off", "shut off")
        virsh_fails(d.uri, "destroy", "hold", expect="not running")

        # Transient: gone from the list once it stops.
        f = write_file(d.root, "t.xml", domain_xml("trans", cmdline="pci-list hold",
                                                   mac="52:54:00:12:34:99"))
        virsh(d.uri, "create", f)
        check(next_event("trans") == (E.VIR_DOMAIN_EVENT_STARTED, 0), "transient started")
        check(dominfo(d.uri, "trans")["Persistent"] == "no", "transient persistent flag")
        virsh(d.uri, "destroy", "trans")
        check(next_event("trans")[0] == E.VIR_DOMAIN_EVENT_STOPPED, "transient stopped")
        check("trans" not in virsh(d.uri, "list", "--all").stdout, "transient still listed")

        # kite dying under the guest: the daemon notices at once, reports
        # the domain stopped (failed) and cleans up.
        f = write_file(d.root, "crash.xml", domain_xml("crash", cmdline="pci-list hold",
                                                       mac="52:54:00:12:34:98"))
        virsh(d.uri, "define", f)
        next_event("crash")
        virsh(d.uri, "start", "crash")
        check(next_event("crash")[0] == E.VIR_DOMAIN_EVENT_STARTED, "crash started")
        os.kill(kite_pid(d, "crash"), 9)
        check(next_event("crash") == (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_FAILED),
              "stopped (failed) event after kite was killed")
        check(virsh(d.uri, "domstate", "crash", "--reason").stdout.strip() == "shut off (failed)",
              "state after kite was killed")
        check(not os.path.exists(d.path("run", "kite", "domains", "crash")), "run dir left")
        log = open(d.path("var", "log", "kite", "crash.log")).read()
        check("starting: " in log, f"no start record in the domain log: {log[-500:]}")

        # virsh shutdown presses the ACPI power button and, as libvirt,
        # succeeds once the request is delivered. The test guest has no
        # ACPI (and the domain no <acpi/>): it keeps running until destroyed.
        virsh(d.uri, "start", "hold")
        check(next_event("hold")[0] == E.VIR_DOMAIN_EVENT_STARTED, "hold restarted")
        virsh(d.uri, "shutdown", "hold")
        check(virsh(d.uri, "domstate", "hold").stdout.strip() == "running",
              "a guest without ACPI cannot have shut down")
        check(pid_alive(kite_pid(d, "hold")), "kite gone after a shutdown request")
        virsh(d.uri, "destroy", "hold")
        check(next_event("hold") == (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
              "destroyed after the unanswered shutdown")

        # A guest that powers off when the button is pressed (ACPI S5):
        # kite stops (-no-shutdown), the daemon ends it, the domain is shut
        # off with reason "shutdown", with no pause reported in between.
        kernel = os.path.join(d.root, "poweroff.elf")
        subprocess.run([sys.executable, MKPVH, kernel, "--poweroff", "--wait-power-button",
                        "--message", "WAITING"], check=True)
        xml = domain_xml("acpi", cmdline="", mac="52:54:00:12:34:97", features="<acpi/>")
        xml = xml.replace(f"<kernel>{GUEST_ELF}</kernel>", f"<kernel>{kernel}</kernel>")
        virsh(d.uri, "define", write_file(d.root, "acpi.xml", xml))
        next_event("acpi")
        virsh(d.uri, "start", "acpi")
        check(next_event("acpi")[0] == E.VIR_DOMAIN_EVENT_STARTED, "acpi started")
        pid = kite_pid(d, "acpi")
        virsh(d.uri, "shutdown", "acpi")
        check(next_event("acpi") == (E.VIR_DOMAIN_EVENT_SHUTDOWN,
                                     E.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST), "shutdown event")
        check(next_event("acpi") == (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
              "stopped (shutdown) event")
        check(virsh(d.uri, "domstate", "acpi", "--reason").stdout.strip() == "shut off (shutdown)",
              "state after the guest powered off")
        wait_for(lambda: not pid_alive(pid), "kite to exit after the guest's power-off")
        check(not os.path.exists(d.path("run", "kite", "domains", "acpi")), "run dir left")
        conn.close()


run(main)
