#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-level virsh commands report this host's real data."""

import os
import platform
import socket
import xml.etree.ElementTree as ET

from kitetest import KITE, Daemon, check, run, virsh, virsh_fails


def meminfo_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return -1


def main():
    with Daemon() as d:
        check(virsh(d.uri, "hostname").stdout.strip() == socket.gethostname(), "hostname")
        check(virsh(d.uri, "uri").stdout.strip() == d.uri, "uri")

        info = {}
        for line in virsh(d.uri, "nodeinfo").stdout.splitlines():
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
        check(info["CPU model"] == platform.machine(), f"nodeinfo model {info}")
        check(int(info["CPU(s)"]) == os.cpu_count(), f"nodeinfo cpus {info}")
        check(info["Memory size"] == f"{meminfo_kib()} KiB", f"nodeinfo memory {info}")
        topo = int(info["CPU socket(s)"]) * int(info["Core(s) per socket"]) * \
            int(info["Thread(s) per core"]) * int(info["NUMA cell(s)"])
        check(topo == os.cpu_count(), f"nodeinfo topology does not add up: {info}")

        caps = ET.fromstring(virsh(d.uri, "capabilities").stdout)
        check(caps.findtext("host/cpu/arch") == platform.machine(), "capabilities host arch")
        check(caps.find("guest/arch").get("name") == "x86_64", "capabilities guest arch")
        check(caps.findtext("guest/arch/emulator") == d.emulator, "capabilities emulator path")
        kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
        doms = [e.get("type") for e in caps.findall("guest/arch/domain")]
        check(doms == (["kvm"] if kvm else []), f"capabilities domain types {doms}")
        cpus = caps.find("host/topology/cells/cell/cpus")
        check(int(cpus.get("num")) == os.cpu_count(), "capabilities cpu count")

        dc = ET.fromstring(virsh(d.uri, "domcapabilities").stdout)
        check(dc.findtext("path") == d.emulator and dc.findtext("arch") == "x86_64",
              "domcapabilities path/arch")
        virsh_fails(d.uri, "domcapabilities", "--arch", "aarch64", expect="aarch64")

        si = ET.fromstring(virsh(d.uri, "sysinfo").stdout)
        check(si.get("type") == "smbios", "sysinfo type")
        try:
            with open("/sys/class/dmi/id/sys_vendor") as f:
                vendor = f.read().strip()
        except OSError:
            vendor = None
        if vendor:
            got = si.find("system/entry[@name='manufacturer']")
            check(got is not None and got.text == vendor, "sysinfo system manufacturer")

        # The hypervisor version is kite's own (kite --version); without
        # kite the error names the binary.
        if KITE and os.access(KITE, os.X_OK):
            out = virsh(d.uri, "version").stdout
            check("Running hypervisor: KITE" in out, f"version: {out}")
        else:
            virsh_fails(d.uri, "version", expect=d.emulator)


run(main)
