#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The calls virt-manager 4.1 makes on connect and on every poll (reference
sec. 6), replayed with python3-libvirt: the ones it needs answer with real
data; storage and node devices answer VIR_ERR_NO_SUPPORT, which
virt-manager treats as "not supported"."""

import xml.etree.ElementTree as ET

import libvirt

from kitetest import Daemon, check, domain_xml, run

E = libvirt


def no_support(what, fn, *args):
    try:
        fn(*args)
    except libvirt.libvirtError as e:
        check(e.get_error_code() == E.VIR_ERR_NO_SUPPORT,
              f"{what}: error code {e.get_error_code()} ({e}), expected NO_SUPPORT")
        return
    raise AssertionError(f"{what} should answer NO_SUPPORT")


def main():
    libvirt.registerErrorHandler(lambda *a: None, None)
    libvirt.virEventRegisterDefaultImpl()
    with Daemon() as d:
        conn = libvirt.open(d.uri)
        dom = conn.defineXML(domain_xml("vmm"))
        conn.networkDefineXML("<network><name>vmmnet</name><bridge name='kitevmm0'/>"
                              "<ip address='192.168.233.1' prefix='24'/></network>")

        caps = ET.fromstring(conn.getCapabilities())
        check(caps.find("guest/arch").get("name") == "x86_64", "capabilities")
        check([x.name() for x in conn.listAllDomains(0)] == ["vmm"], "listAllDomains")
        no_support("listAllStoragePools", conn.listAllStoragePools, 0)
        check(conn.numOfNetworks() == 0 and conn.listNetworks() == [], "active networks")
        check([n.name() for n in conn.listAllNetworks(0)] == ["vmmnet"], "listAllNetworks")
        no_support("numOfDevices", conn.numOfDevices, None, 0)
        no_support("listAllDevices", conn.listAllDevices, 0)

        cb = lambda *a: None
        ids = [conn.domainEventRegisterAny(None, ev, cb, None) for ev in (0, 13, 10, 15, 19, 18, 23)]
        check(len(set(ids)) == 7, f"callback ids {ids}")
        nid = conn.networkEventRegisterAny(None, 0, cb, None)
        no_support("storagePoolEventRegisterAny", conn.storagePoolEventRegisterAny, None, 0, cb,
                   None)
        no_support("nodeDeviceEventRegisterAny", conn.nodeDeviceEventRegisterAny, None, 0, cb,
                   None)

        # One poll tick.
        info = conn.getInfo()
        check(info[0] == "x86_64" and info[2] > 0, f"getInfo {info}")
        stats = conn.getAllDomainStats(0xB)
        check(len(stats) == 1 and stats[0][1]["state.state"] == E.VIR_DOMAIN_SHUTOFF,
              f"getAllDomainStats {stats}")
        check(dom.hasManagedSaveImage(0) == 0, "managed save")
        check(dom.state(0)[0] == E.VIR_DOMAIN_SHUTOFF, "state")
        x0 = ET.fromstring(dom.XMLDesc(0))
        x1 = ET.fromstring(dom.XMLDesc(E.VIR_DOMAIN_XML_SECURE))
        check(x0.findtext("name") == x1.findtext("name") == "vmm", "XMLDesc")
        check(dom.info()[1] == 65536, "domain info")
        check(dom.listAllSnapshots(0) == [], "snapshots")
        for n in conn.listAllNetworks(0):
            check(n.isActive() == 0, "network isActive")
            check(ET.fromstring(n.XMLDesc(0)).findtext("name") == "vmmnet", "network XMLDesc")
        dc = ET.fromstring(conn.getDomainCapabilities(None, None, None, None, 0))
        check(dc.findtext("arch") == "x86_64", "domain capabilities")

        for i in ids:
            conn.domainEventDeregisterAny(i)
        conn.networkEventDeregisterAny(nid)
        conn.close()


run(main)
