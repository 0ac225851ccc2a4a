#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""python3-libvirt against virtkited: lifecycle events (new callback API and
the legacy messages on a raw socket), network events, listing APIs and
getAllDomainStats."""

import queue
import struct
import threading
import time

import libvirt

from kitetest import (Daemon, Raw, check, domain_xml, run, xdr_u32)

E = libvirt


def event_loop():
    libvirt.virEventRegisterDefaultImpl()

    def spin():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=spin, daemon=True).start()


def expect(q, want, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if got == want:
            return
        raise AssertionError(f"{what}: got event {got}, expected {want}")
    raise AssertionError(f"{what}: no event {want}")


def main():
    event_loop()
    libvirt.registerErrorHandler(lambda *a: None, None)
    with Daemon() as d:
        conn = libvirt.open(d.uri)
        events = queue.Queue()
        nevents = queue.Queue()
        cb = conn.domainEventRegisterAny(
            None, E.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda c, dom, ev, detail, op: events.put((dom.name(), ev, detail)), None)
        ncb = conn.networkEventRegisterAny(
            None, E.VIR_NETWORK_EVENT_ID_LIFECYCLE,
            lambda c, net, ev, detail, op: nevents.put((net.name(), ev, detail)), None)

        # Legacy registration (167) on a raw connection.
        raw = Raw(d.sock)
        raw.open()
        r = raw.call(167, xdr_u32(0))
        check(r[0][5] == 0, "legacy register_any")
        r = raw.call(167, xdr_u32(0))
        check(r[0][5] == 1, "a second legacy registration of the same ID must fail")

        other = libvirt.open(d.uri)
        dom = other.defineXML(domain_xml("ev1"))
        expect(events, ("ev1", E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_ADDED),
               "define")
        hdr, payload = raw.recv()
        check(hdr[2] == 107 and hdr[3] == 2, f"legacy lifecycle message: {hdr}")
        (n,) = struct.unpack(">I", payload[:4])
        check(payload[4:4 + n] == b"ev1", "legacy message domain name")
        ev, detail = struct.unpack(">ii", payload[-8:])
        check((ev, detail) == (0, 0), f"legacy message event {ev}/{detail}")

        other.defineXML(domain_xml("ev1", uuid=dom.UUIDString()))
        expect(events, ("ev1", E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_UPDATED),
               "redefine")
        dom.undefine()
        expect(events, ("ev1", E.VIR_DOMAIN_EVENT_UNDEFINED, 0), "undefine")

        net = other.networkDefineXML(
            "<network><name>evnet</name><bridge name='kiteev0'/>"
            "<ip address='192.168.232.1' prefix='24'/></network>")
        expect(nevents, ("evnet", E.VIR_NETWORK_EVENT_DEFINED, 0), "net define")
        net.undefine()
        expect(nevents, ("evnet", E.VIR_NETWORK_EVENT_UNDEFINED, 0), "net undefine")

        # Legacy deregistration (168), then the oldest API (105/106).
        raw2 = Raw(d.sock)
        raw2.open()
        r = raw2.call(168, xdr_u32(0))
        check(r[0][5] == 1, "deregistering an unregistered legacy ID must fail")
        r = raw2.call(105)
        check(r[0][5] == 0 and r[1] == xdr_u32(1), f"domain_event_register: {r}")
        other.defineXML(domain_xml("ev105", mac="52:54:00:12:34:77"))
        expect(events, ("ev105", E.VIR_DOMAIN_EVENT_DEFINED, 0), "define ev105")
        hdr, payload = raw2.recv()
        check(hdr[2] == 107 and b"ev105" in payload, f"105 registration message: {hdr}")
        r = raw2.call(106)
        check(r[0][5] == 0, "domain_event_deregister")
        other.lookupByName("ev105").undefine()
        expect(events, ("ev105", E.VIR_DOMAIN_EVENT_UNDEFINED, 0), "undefine ev105")
        # raw (167, lifecycle) saw both; raw2 (deregistered) gets no more.
        for want in (b"ev1", b"ev1", b"ev105", b"ev105"):
            hdr, payload = raw.recv()
            check(hdr[2] == 107 and want in payload, f"legacy stream: {hdr} {payload[:20]}")
        r = raw.call(168, xdr_u32(0))
        check(r[0][5] == 0, "legacy deregister_any")
        r = raw2.call(3)
        check(r[0][2] == 3 and r[0][3] == 1, f"no event after 106, got {r[0]}")

        # Deregistered callbacks get nothing more.
        conn.domainEventDeregisterAny(cb)
        conn.networkEventDeregisterAny(ncb)
        other.defineXML(domain_xml("ev2"))
        time.sleep(0.3)
        check(events.empty(), "event after deregistration")

        # Listing APIs, including the legacy ones virsh falls back to.
        check([x.name() for x in conn.listAllDomains()] == ["ev2"], "listAllDomains")
        check(conn.numOfDomains() == 0 and conn.listDomainsID() == [], "active list")
        check(conn.numOfDefinedDomains() == 1 and conn.listDefinedDomains() == ["ev2"],
              "defined list")
        d2 = conn.lookupByName("ev2")
        check(conn.lookupByUUIDString(d2.UUIDString()).name() == "ev2", "lookupByUUID")
        check(d2.isPersistent() == 1 and d2.isActive() == 0, "is_persistent / is_active")
        check(d2.state() == [E.VIR_DOMAIN_SHUTOFF, 0], f"state {d2.state()}")
        check(d2.info()[0] == E.VIR_DOMAIN_SHUTOFF and d2.info()[1] == 65536, f"info {d2.info()}")
        check(d2.snapshotNum() == 0 and d2.listAllSnapshots() == [], "snapshots")
        check(d2.hasManagedSaveImage() == 0, "managed save")
        check(d2.maxMemory() == 65536, "maxMemory")
        stats = conn.getAllDomainStats(E.VIR_DOMAIN_STATS_STATE | E.VIR_DOMAIN_STATS_VCPU |
                                       E.VIR_DOMAIN_STATS_BALLOON)
        check(len(stats) == 1, "getAllDomainStats records")
        rec = stats[0][1]
        check(rec["state.state"] == E.VIR_DOMAIN_SHUTOFF and rec["vcpu.maximum"] == 1 and
              rec["balloon.maximum"] == 65536, f"stats {rec}")
        try:
            conn.lookupByName("nosuch")
            raise AssertionError("lookup of a missing domain succeeded")
        except libvirt.libvirtError as e:
            check(e.get_error_code() == E.VIR_ERR_NO_DOMAIN, f"error code {e.get_error_code()}")
        check(conn.getType() == "KITE", "getType")
        conn.close()
        other.close()


run(main)
