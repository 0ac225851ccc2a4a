#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Persistent domain definitions through virsh: define, list, dominfo,
dumpxml, autostart, config-only device changes, clashes, bad input,
persistence across a daemon restart, undefine. No guest is started."""

import os
import xml.etree.ElementTree as ET

from kitetest import (Daemon, check, domain_xml, dominfo, run, virsh, virsh_fails,
                      write_file)

UUID_A = "6f1c1e52-3a55-4c1b-9d38-5b2f1f0a0a01"
UUID_B = "6f1c1e52-3a55-4c1b-9d38-5b2f1f0a0a02"


def listing(uri):
    rows = {}
    for line in virsh(uri, "list", "--all").stdout.splitlines():
        f = line.split()
        if len(f) >= 3:
            rows[f[1]] = (f[0], " ".join(f[2:]))
    return rows


def main():
    d = Daemon()
    d.start()
    try:
        uri = d.uri
        f = write_file(d.root, "a.xml", domain_xml("alpha", UUID_A))
        virsh(uri, "define", f)
        stored = d.path("etc", "kite", "domains", "alpha.xml")
        check(os.path.exists(stored), "definition not stored under etc/kite/domains")
        check(listing(uri) == {"alpha": ("-", "shut off")}, f"list --all: {listing(uri)}")
        check(virsh(uri, "list").stdout.strip() == "", "plain list shows inactive domains")

        info = dominfo(uri, "alpha")
        for k, v in {"Name": "alpha", "UUID": UUID_A, "OS Type": "hvm", "State": "shut off",
                     "CPU(s)": "1", "Max memory": "65536 KiB", "Used memory": "65536 KiB",
                     "Persistent": "yes", "Autostart": "disable", "Managed save": "no",
                     "Security model": "none", "Security DOI": "0"}.items():
            check(info.get(k) == v, f"dominfo {k}: {info.get(k)!r} != {v!r}")
        check(virsh(uri, "domuuid", "alpha").stdout.strip() == UUID_A, "domuuid")
        check(virsh(uri, "domstate", "alpha").stdout.strip() == "shut off", "domstate")

        x = ET.fromstring(virsh(uri, "dumpxml", "alpha").stdout)
        check(x.findtext("name") == "alpha" and x.findtext("uuid") == UUID_A, "dumpxml name/uuid")
        check(x.find("devices/interface/mac").get("address") == "52:54:00:12:34:56",
              "dumpxml keeps the MAC")
        check(x.get("id") is None, "inactive domain must not have an id")
        iflist = virsh(uri, "domiflist", "alpha").stdout
        check("52:54:00:12:34:56" in iflist and "virtio" in iflist, f"domiflist: {iflist}")

        # Autostart: a link next to the definition.
        virsh(uri, "autostart", "alpha")
        check(dominfo(uri, "alpha")["Autostart"] == "enable", "autostart not enabled")
        link = d.path("etc", "kite", "domains", "autostart", "alpha.xml")
        check(os.path.islink(link), "autostart link missing")
        virsh(uri, "autostart", "--disable", "alpha")
        check(not os.path.lexists(link), "autostart link not removed")

        # Config-only device changes on the inactive domain.
        virsh(uri, "domif-setlink", "alpha", "52:54:00:12:34:56", "down", "--config")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "alpha").stdout)
        check(x.find("devices/interface/link").get("state") == "down", "setlink --config")
        out = virsh(uri, "domif-getlink", "alpha", "52:54:00:12:34:56", "--config").stdout
        check("down" in out, f"domif-getlink: {out}")
        nic = write_file(d.root, "nic.xml", "<interface type='user'>"
                         "<mac address='52:54:00:aa:bb:cc'/><model type='e1000'/></interface>")
        virsh(uri, "attach-device", "alpha", nic, "--config")
        macs = [m.get("address") for m in ET.fromstring(
            virsh(uri, "dumpxml", "alpha").stdout).findall("devices/interface/mac")]
        check(macs == ["52:54:00:12:34:56", "52:54:00:aa:bb:cc"], f"after attach: {macs}")
        with open(stored) as fh:
            check("52:54:00:aa:bb:cc" in fh.read(), "attach --config not written to disk")
        virsh(uri, "detach-interface", "alpha", "user", "--mac", "52:54:00:aa:bb:cc", "--config")
        macs = [m.get("address") for m in ET.fromstring(
            virsh(uri, "dumpxml", "alpha").stdout).findall("devices/interface/mac")]
        check(macs == ["52:54:00:12:34:56"], f"after detach: {macs}")
        virsh_fails(uri, "detach-interface", "alpha", "user", "--mac", "52:54:00:00:00:99",
                    "--config", expect="52:54:00:00:00:99")
        virsh_fails(uri, "attach-disk", "alpha", "/dev/null", "vdb", "--config", expect="disk")
        # Live changes need a running domain.
        virsh_fails(uri, "attach-device", "alpha", nic, "--live", expect="not running")
        virsh_fails(uri, "reset", "alpha", expect="not running")

        # Clashes: same name with another UUID, same UUID with another name.
        f = write_file(d.root, "b.xml", domain_xml("alpha", UUID_B))
        virsh_fails(uri, "define", f, expect=f"already exists with uuid {UUID_A}")
        f = write_file(d.root, "c.xml", domain_xml("beta", UUID_A))
        virsh_fails(uri, "define", f, expect="'alpha' is already defined with uuid")
        check(set(listing(uri)) == {"alpha"}, "a clashing define changed the list")

        # Bad input: nothing is stored.
        f = write_file(d.root, "bad.xml", "<domain type='kvm'><name>broken</name>")
        virsh_fails(uri, "define", f)
        f = write_file(d.root, "slash.xml", domain_xml("a/b"))
        virsh_fails(uri, "define", f, expect="a/b")
        check(sorted(os.listdir(d.path("etc", "kite", "domains"))) == ["alpha.xml", "autostart"],
              f"stray files: {os.listdir(d.path('etc', 'kite', 'domains'))}")

        # Redefine (update) keeps the UUID; a second domain lists too.
        f = write_file(d.root, "a2.xml", domain_xml("alpha", UUID_A, mac="52:54:00:12:34:57"))
        virsh(uri, "define", f)
        f = write_file(d.root, "g.xml", domain_xml("gamma"))
        virsh(uri, "define", f)
        check(set(listing(uri)) == {"alpha", "gamma"}, f"two domains: {listing(uri)}")

        # Persistence: a new daemon reads the definitions back.
        d.stop()
        d.start()
        check(set(listing(uri)) == {"alpha", "gamma"}, "definitions lost across a restart")
        x = ET.fromstring(virsh(uri, "dumpxml", "alpha").stdout)
        check(x.find("devices/interface/mac").get("address") == "52:54:00:12:34:57",
              "redefinition lost across a restart")

        virsh(uri, "undefine", "alpha")
        check(not os.path.exists(stored), "undefine left the file")
        check(set(listing(uri)) == {"gamma"}, f"after undefine: {listing(uri)}")
        virsh_fails(uri, "undefine", "alpha", expect="failed to get domain 'alpha'")
        virsh_fails(uri, "dumpxml", "nosuch", expect="failed to get domain 'nosuch'")
        check(d.alive(), "daemon died")
    except BaseException:
        import sys
        sys.stderr.write(d.logtext())
        raise
    finally:
        d.cleanup()


run(main)
