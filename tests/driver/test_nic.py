#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NICs of a running domain: addresses from the user-mode network's DHCP,
counters that follow traffic through a <portForward>, link state (live and
config), hot-plug and hot-unplug (user, network and ethernet NICs, a guest
that ejects and one that does not, a daemon restart in between)."""

import json
import os
import queue
import re
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import libvirt

from kitetest import (GUEST_ELF, Daemon, check, domain_xml, free_tcp_port, need_kite, run,
                      virsh, virsh_fails, wait_for, write_file)

MAC = "52:54:00:12:34:56"


def ifstat(uri, dev):
    """virsh domifstat as {counter: value}; it must succeed."""
    out = virsh(uri, "domifstat", "nic", dev).stdout
    stats = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 3:
            stats[words[1]] = int(words[2])
    check({"rx_bytes", "rx_packets", "tx_bytes", "tx_packets"} <= stats.keys(),
          f"domifstat {dev}: {out!r}")
    return stats


def echo_through_forward(port, payload):
    """Connect to the guest's echo service through the port forward; the
    guest may still be starting its listener, so retry the connection."""
    deadline = time.monotonic() + 60
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            if got:
                s.sendall(b"quit\n")
                s.close()
                return got
            s.close()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no echo through 127.0.0.1:{port}")
        time.sleep(0.5)


def basic():
    with Daemon() as d:
        uri = d.uri
        port = free_tcp_port()
        f = write_file(d.root, "n.xml", domain_xml("nic", cmdline="tcp-echo-server 7",
                                                    forward=(port, 7)))
        virsh(uri, "define", f)
        virsh(uri, "start", "nic")

        # Addresses: the guest gets 10.0.2.15 from the user network; kite
        # learns the lease from libslirp's DHCP ACK.
        def addr():
            p = virsh(uri, "domifaddr", "nic", check_rc=False)
            return p.stdout if "10.0.2.15" in p.stdout else None
        out = wait_for(addr, "the guest's DHCP lease", timeout=120, interval=0.5)
        row = [l.split() for l in out.splitlines() if MAC in l]
        check(row and row[0][1:] == [MAC, "ipv4", "10.0.2.15/24"], f"domifaddr: {out}")

        # Counters, by MAC and by the interface's name, moved by traffic
        # through the <portForward>.
        before = ifstat(uri, MAC)
        check(before["rx_packets"] > 0 and before["tx_packets"] > 0,
              f"domifstat after DHCP: {before}")
        payload = b"kite counts this\n" * 200
        check(echo_through_forward(port, payload) == payload, "echo differs")
        # a user NIC has no host device (domiflist shows '-'): its alias works
        after = ifstat(uri, "net0")
        # the guest received the payload and sent it back, headers on top
        check(after["rx_bytes"] - before["rx_bytes"] >= len(payload) and
              after["tx_bytes"] - before["tx_bytes"] >= len(payload) and
              after["rx_packets"] > before["rx_packets"] and
              after["tx_packets"] > before["tx_packets"],
              f"counters did not follow the traffic: before {before}, after {after}")
        virsh_fails(uri, "domifstat", "nic", "52:54:00:00:00:01", expect="not a known interface")

        # Link state, live then config.
        virsh(uri, "domif-setlink", "nic", MAC, "down")
        check("down" in virsh(uri, "domif-getlink", "nic", MAC).stdout, "live link down")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(x.find("devices/interface/link") is None, "live change leaked into the config")
        virsh(uri, "domif-setlink", "nic", MAC, "up")
        check("up" in virsh(uri, "domif-getlink", "nic", MAC).stdout, "live link up")
        virsh(uri, "domif-setlink", "nic", MAC, "down", "--config")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(x.find("devices/interface/link").get("state") == "down", "config link down")

        # Hot-plug needs the guest's ACPI (kite's PCI hot-plug controller is
        # part of it): without <acpi/> a live attach fails with kite's
        # reason and leaves nothing in the live XML.
        nic = write_file(d.root, "hot.xml", "<interface type='user'>"
                         "<mac address='52:54:00:aa:00:01'/><model type='e1000'/></interface>")
        p = virsh(uri, "attach-device", "nic", nic, check_rc=False)
        check(p.returncode != 0, "live attach without ACPI succeeded")
        check("device_add" in p.stderr and "hotplug" in p.stderr,
              f"hot-plug error should name kite's reason: {p.stderr}")
        check("52:54:00:aa:00:01" not in virsh(uri, "domiflist", "nic").stdout,
              "failed hot-plug left the NIC in the live XML")
        # Types kite cannot plug are refused by name.
        direct = write_file(d.root, "direct.xml", "<interface type='direct'>"
                            "<source dev='lo' mode='bridge'/></interface>")
        virsh_fails(uri, "attach-device", "nic", direct, "--live", expect="'direct'")
        mcast = write_file(d.root, "mcast.xml", "<interface type='mcast'>"
                           "<source address='230.0.0.1' port='5558'/></interface>")
        virsh_fails(uri, "attach-device", "nic", mcast, "--live",
                    expect="unsupported configuration: hot-plugging an interface of type "
                    "'mcast' is not supported")
        q = virsh(uri, "attach-device", "nic", nic, "--config", check_rc=False)
        check(q.returncode == 0, f"attach --config: {q.stderr}")
        x = ET.fromstring(virsh(uri, "dumpxml", "--inactive", "nic").stdout)
        check(any(m.get("address") == "52:54:00:aa:00:01"
                  for m in x.findall("devices/interface/mac")), "config attach not stored")
        virsh(uri, "destroy", "nic")


HOTPLUG_TIMEOUT = 30  # the guest's bound on each of its waits for the host, s
# libvirt's (and virtkited's) wait for the guest to release a NIC, s
UNPLUG_TIMEOUT = 5

# STP off: a new bridge port forwards at once, so a freshly plugged NIC's
# first DHCP request is not lost to the listening/learning states.
NET = """<network><name>hpnet</name><forward mode='nat'/><bridge name='virbr7' stp='off'/>
<ip address='192.168.241.1' netmask='255.255.255.0'>
<dhcp><range start='192.168.241.10' end='192.168.241.20'/></dhcp></ip></network>
"""


def hp_domain_xml(name, cmdline, log):
    """An ACPI guest (hot-plug needs it) without NICs; COM1 goes to a file
    so nothing the guest prints before anyone looks is lost."""
    return f"""<domain type='kvm'><name>{name}</name>
<memory unit='KiB'>65536</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type>
<kernel>{GUEST_ELF}</kernel><cmdline>{cmdline}</cmdline></os>
<features><acpi/></features>
<devices><serial type='file'><source path='{log}'/><target port='0'/></serial></devices>
</domain>
"""


class Events:
    """python3-libvirt device-added/-removed callbacks of one domain."""

    def __init__(self, uri, name):
        self.conn = libvirt.open(uri)
        self.q = queue.Queue()
        dom = self.conn.lookupByName(name)
        self.ids = [
            self.conn.domainEventRegisterAny(
                dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                lambda c, dm, alias, op: self.q.put(("added", dm.name(), alias)), None),
            self.conn.domainEventRegisterAny(
                dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                lambda c, dm, alias, op: self.q.put(("removed", dm.name(), alias)), None),
        ]

    def expect(self, want, what, timeout=30):
        try:
            got = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{what}: no event {want}") from None
        check(got == want, f"{what}: got event {got}, expected {want}")

    def none(self, what):
        time.sleep(0.3)
        check(self.q.empty(), f"{what}: unexpected event {list(self.q.queue)}")

    def close(self):
        for i in self.ids:
            self.conn.domainEventDeregisterAny(i)
        self.conn.close()


def event_loop():
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()


def serial_wait(log, pattern, what, timeout=HOTPLUG_TIMEOUT + 30):
    rx = re.compile(pattern, re.M)

    def found():
        try:
            with open(log, errors="replace") as f:
                return rx.search(f.read())
        except OSError:
            return None
    return wait_for(found, what, timeout=timeout, interval=0.1)


def iflist(uri, name):
    """domiflist rows: {mac: (interface, type, source, model)}."""
    rows = {}
    for line in virsh(uri, "domiflist", name).stdout.splitlines():
        w = line.split()
        if len(w) == 5:
            rows[w[4]] = tuple(w[:4])
    return rows


def live_iface(uri, name, mac):
    x = ET.fromstring(virsh(uri, "dumpxml", name).stdout)
    for i in x.findall("devices/interface"):
        if i.find("mac").get("address") == mac:
            return i
    return None


def status_has(d, name, mac):
    with open(d.path("run", "kite", "domains", name, "status.xml")) as f:
        return mac in f.read()


def tap_exists(d, tap):
    return d.in_netns("ip", "link", "show", tap).returncode == 0


def vnet_taps(d):
    out = d.in_netns("ip", "-o", "link", "show").stdout
    return sorted(re.findall(r"^\d+: (vnet\d+)[:@]", out, re.M))


def attach(uri, name, *args):
    virsh(uri, "attach-interface", name, *args, "--live")


def attach_user(d, name, mac, model="virtio"):
    """virsh attach-interface has no type 'user': attach-device it is."""
    f = write_file(d.root, f"user-{mac[-2:]}.xml", f"<interface type='user'>"
                   f"<mac address='{mac}'/><model type='{model}'/></interface>")
    virsh(d.uri, "attach-device", name, f, "--live")


def plugged(d, ev, name, mac, kind):
    """The NIC is in the live XML (with its alias and PCI slot), domiflist
    and the status file; kite counts its traffic; device-added fired."""
    iface = live_iface(d.uri, name, mac)
    check(iface is not None and iface.get("type") == kind, f"{mac} not in the live XML")
    alias = iface.find("alias").get("name")
    slot = int(iface.find("address").get("slot"), 16)
    check(mac in iflist(d.uri, name), f"domiflist lacks {mac}")
    check(status_has(d, name, mac), f"status file lacks {mac}")
    ev.expect(("added", name, alias), f"device-added for {mac}")
    # domifstat by alias reads kite's own counters of that NIC
    virsh(d.uri, "domifstat", name, alias)
    return iface, alias, slot


def removed(d, ev, name, mac, alias, tap=None):
    """Everything of the NIC is gone: live XML, domiflist, status file,
    kite's NIC, our tap; device-removed fired."""
    ev.expect(("removed", name, alias), f"device-removed for {alias}")
    check(live_iface(d.uri, name, mac) is None, f"{mac} still in the live XML")
    check(mac not in iflist(d.uri, name), f"{mac} still in domiflist")
    check(not status_has(d, name, mac), f"{mac} still in the status file")
    virsh_fails(d.uri, "domifstat", name, alias, expect="not a known interface")
    if tap:
        check(not tap_exists(d, tap), f"tap {tap} left behind")


def hotplug_guest():
    """A guest that takes each NIC it is given, brings it up and ejects it
    when asked; then one that no longer ejects (the 5-s timeout path)."""
    with Daemon(netns=True) as d:
        uri = d.uri
        virsh(uri, "net-define", write_file(d.root, "n.xml", NET))
        virsh(uri, "net-start", "hpnet")
        # an ethernet NIC's tap is kite's; its script puts it on the bridge
        script = write_file(d.root, "ifup.sh",
                            "#!/bin/sh\nip link set \"$1\" master virbr7 up\n")
        os.chmod(script, 0o755)
        log = d.path("hp-serial.log")
        virsh(uri, "define", write_file(d.root, "hp.xml", hp_domain_xml(
            "hp", f"hotplug {HOTPLUG_TIMEOUT} 3", log)))
        ev = Events(uri, "hp")
        virsh(uri, "start", "hp")
        serial_wait(log, r"^HOTPLUG-READY ", "the guest to be ready for a card")

        # 1: user-mode network, e1000; the guest gets slirp's lease.
        m1 = "52:54:00:aa:00:01"
        attach_user(d, "hp", m1, "e1000")
        _, a1, slot = plugged(d, ev, "hp", m1, "user")
        up = serial_wait(log, r"^HOTPLUG-UP cycle=1 slot=(\d+) model=(\S+) ip=(\S+) ",
                         "the guest to bring up the user NIC")
        check(int(up.group(1)) == slot and up.group(3) == "10.0.2.15",
              f"guest: {up.group(0)}; live XML slot {slot}")
        virsh(uri, "detach-interface", "hp", "user", "--mac", m1)
        serial_wait(log, r"^HOTPLUG-DOWN cycle=1 ", "the guest to eject the user NIC")
        removed(d, ev, "hp", m1, a1)

        # 2: a NIC on the network, virtio: our tap on the network's bridge.
        before = vnet_taps(d)
        m2 = "52:54:00:aa:00:02"
        attach(uri, "hp", "network", "hpnet", "--model", "virtio", "--mac", m2)
        iface, a2, slot = plugged(d, ev, "hp", m2, "network")
        tap = iface.find("target").get("dev")
        check(tap.startswith("vnet") and iflist(uri, "hp")[m2][:3] == (tap, "network", "hpnet"),
              f"domiflist: {iflist(uri, 'hp')}")
        link = d.in_netns("ip", "-o", "link", "show", tap).stdout
        check("master virbr7" in link, f"{tap} is not on the bridge: {link!r}")
        up = serial_wait(log, r"^HOTPLUG-UP cycle=2 slot=(\d+) model=(\S+) ip=(\S+) ",
                         "the guest to bring up the network NIC")
        check(int(up.group(1)) == slot and up.group(3).startswith("192.168.241."),
              f"guest: {up.group(0)}; live XML slot {slot}")
        stats = virsh(uri, "domifstat", "hp", tap).stdout
        check(re.search(r"rx_packets [1-9]", stats), f"tap counters: {stats}")
        virsh(uri, "detach-interface", "hp", "network", "--mac", m2)
        serial_wait(log, r"^HOTPLUG-DOWN cycle=2 ", "the guest to eject the network NIC")
        removed(d, ev, "hp", m2, a2, tap)
        check(vnet_taps(d) == before, f"taps before {before}, after {vnet_taps(d)}")
        check(not os.path.exists(d.path("run", "kite", "domains", "hp", "taps")),
              "the record of our taps outlived them")

        # 3: ethernet, rtl8139, a tap kite makes with our name and script.
        m3 = "52:54:00:aa:00:03"
        eth = write_file(d.root, "eth.xml", f"""<interface type='ethernet'>
<mac address='{m3}'/><target dev='kitehp0'/><script path='{script}'/>
<model type='rtl8139'/></interface>""")
        virsh(uri, "attach-device", "hp", eth, "--live")
        _, a3, slot = plugged(d, ev, "hp", m3, "ethernet")
        check(tap_exists(d, "kitehp0"), "kite did not create the ethernet tap")
        up = serial_wait(log, r"^HOTPLUG-UP cycle=3 slot=(\d+) model=(\S+) ip=(\S+) ",
                         "the guest to bring up the ethernet NIC")
        check(int(up.group(1)) == slot and up.group(3).startswith("192.168.241."),
              f"guest: {up.group(0)}; live XML slot {slot}")
        virsh(uri, "detach-device", "hp", eth, "--live")
        serial_wait(log, r"^HOTPLUG-DOWN cycle=3 ", "the guest to eject the ethernet NIC")
        removed(d, ev, "hp", m3, a3, "kitehp0")
        serial_wait(log, r"^HOTPLUG-HOLD$", "the guest to finish its cycles")

        # The guest ejects nothing more: detach returns after libvirt's
        # timeout with success, the NIC stays until kite reports it gone.
        m4 = "52:54:00:aa:00:04"
        attach(uri, "hp", "network", "hpnet", "--model", "e1000", "--mac", m4)
        iface, a4, _ = plugged(d, ev, "hp", m4, "network")
        tap4 = iface.find("target").get("dev")
        # The daemon serves other calls meanwhile (libvirtd blocks only the
        # calling thread): another client lists the domains and reads this
        # one's interfaces while the detach waits.
        t0 = time.monotonic()
        detach = {}
        worker = threading.Thread(target=lambda: detach.update(
            p=virsh(uri, "detach-interface", "hp", "network", "--mac", m4, check_rc=False),
            t=time.monotonic() - t0))
        worker.start()
        time.sleep(1)
        check(worker.is_alive(), "detach returned before the guest let go")
        t1 = time.monotonic()
        check("hp" in virsh(uri, "list").stdout and m4 in iflist(uri, "hp"),
              "list and domiflist during a pending detach")
        served = time.monotonic() - t1
        check(served < 3 and worker.is_alive(),
              f"calls during a pending detach took {served:.1f} s")
        worker.join(timeout=30)
        check(detach["p"].returncode == 0, f"detach failed: {detach['p'].stderr}")
        waited = detach["t"]
        check(waited >= UNPLUG_TIMEOUT - 0.5, f"detach returned after {waited:.1f} s")
        ev.none("a detach the guest ignored")
        check(m4 in iflist(uri, "hp") and live_iface(uri, "hp", m4) is not None and
              status_has(d, "hp", m4) and tap_exists(d, tap4),
              "a NIC the guest still holds must stay, with its tap")
        # A second request while one is pending: libvirt's error.
        p = virsh_fails(uri, "detach-interface", "hp", "network", "--mac", m4,
                        expect="already in the process of unplug")
        check("internal error" in p.stderr, f"error class: {p.stderr}")
        check(m4 in iflist(uri, "hp"), "a refused detach removed the NIC")
        # A reset completes the unplug (kite ejects); the daemon finishes it.
        virsh(uri, "reset", "hp")
        removed(d, ev, "hp", m4, a4, tap4)

        # A client that goes away while its detach waits: the daemon keeps
        # serving, and the answer goes nowhere when the removal completes
        # (here by a reset: the rebooted guest might also eject by itself).
        m7 = "52:54:00:aa:00:07"
        attach(uri, "hp", "network", "hpnet", "--model", "e1000", "--mac", m7)
        iface, a7, _ = plugged(d, ev, "hp", m7, "network")
        tap7 = iface.find("target").get("dev")
        gone = subprocess.Popen(["virsh", "-q", "-c", uri, "detach-interface", "hp", "network",
                                 "--mac", m7], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(1)
        gone.kill()
        gone.wait()
        check("hp" in virsh(uri, "list").stdout, "the daemon after a client left mid-detach")
        virsh(uri, "reset", "hp")
        removed(d, ev, "hp", m7, a7, tap7)

        # A failed device_add (a PCI slot kite cannot give) takes back the
        # netdev and our tap.
        before = vnet_taps(d)
        bad = write_file(d.root, "bad.xml", """<interface type='network'>
<mac address='52:54:00:aa:00:05'/><source network='hpnet'/><model type='virtio'/>
<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></interface>""")
        virsh_fails(uri, "attach-device", "hp", bad, "--live")
        check(vnet_taps(d) == before, f"failed attach left taps: {before} -> {vnet_taps(d)}")
        check("52:54:00:aa:00:05" not in iflist(uri, "hp"), "failed attach left the NIC")

        # Destroy deletes the tap of a hot-plugged NIC, pending or not.
        m6 = "52:54:00:aa:00:06"
        attach(uri, "hp", "network", "hpnet", "--mac", m6)
        iface, _, _ = plugged(d, ev, "hp", m6, "network")
        tap6 = iface.find("target").get("dev")
        virsh(uri, "destroy", "hp")
        check(not tap_exists(d, tap6), f"tap {tap6} left behind after destroy")
        check(vnet_taps(d) == [], f"taps after destroy: {vnet_taps(d)}")
        ev.close()


def qmp(sock, *commands):
    """Run commands on kite's monitor ourselves (the daemon is away)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    f = s.makefile("rw")
    json.loads(f.readline())
    answers = []
    for cmd in ("qmp_capabilities",) + commands:
        f.write(json.dumps({"execute": cmd}) + "\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                answers.append(msg)
                break
    s.close()
    return answers[1:]


def pci_ids(answer):
    """qdev ids in a query-pci answer."""
    return {dev.get("qdev_id") for bus in answer.get("return", []) for dev in bus["devices"]}


def restart_pending():
    """A daemon restart between device_del and the guest's eject: a removal
    completed while no daemon listened is finished on adoption, one still
    pending completes through the event with the new daemon."""
    d = Daemon()
    d.start()
    try:
        uri = d.uri
        log = d.path("r-serial.log")
        virsh(uri, "define", write_file(d.root, "r.xml",
                                         hp_domain_xml("r", "pci-list hold", log)))
        virsh(uri, "start", "r")
        ma, mb = "52:54:00:bb:00:01", "52:54:00:bb:00:02"
        attach_user(d, "r", ma)
        attach_user(d, "r", mb)
        alias_a = live_iface(uri, "r", ma).find("alias").get("name")
        alias_b = live_iface(uri, "r", mb).find("alias").get("name")
        virsh(uri, "detach-interface", "r", "user", "--mac", ma)
        check(ma in iflist(uri, "r"), "an unplug the guest ignores completed")

        # Away: the machine resets (kite ejects ma) and nobody hears of it.
        # kite's own view, while its monitor is free: both NICs, then one.
        d.stop()
        sock = d.path("run", "kite", "domains", "r", "qmp.sock")
        pci_before, reset = qmp(sock, "query-pci", "system_reset")
        check("return" in reset, f"system_reset: {reset}")
        check({alias_a, alias_b} <= pci_ids(pci_before), f"query-pci before: {pci_before}")
        # the reset happens when kite's machine gets to it, not in the command
        wait_for(lambda: pci_ids(qmp(sock, "query-pci")[0]) & {alias_a, alias_b} == {alias_b},
                 f"kite to eject {alias_a} and keep {alias_b} at the reset", timeout=30,
                 interval=0.1)
        d.start()
        check(ma not in iflist(uri, "r") and not status_has(d, "r", ma),
              "a NIC ejected while the daemon was away is still listed")
        check(mb in iflist(uri, "r"), "the other NIC was lost in the adoption")

        # Pending across a restart: the daemon stops while the detach
        # waits (its client is told so), the NIC is still listed after the
        # restart, a second detach is refused (kite knows), the reset
        # completes it with the new daemon.
        waiting = subprocess.Popen(["virsh", "-q", "-c", uri, "detach-interface", "r", "user",
                                    "--mac", mb], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        d.stop()
        _, err = waiting.communicate(timeout=30)
        check(waiting.returncode != 0 and "the daemon is stopping" in err,
              f"detach pending at the daemon's stop: {waiting.returncode} {err!r}")
        d.start()
        check(mb in iflist(uri, "r"), "a pending unplug completed by itself")
        virsh_fails(uri, "detach-interface", "r", "user", "--mac", mb,
                    expect="already in the process of unplug")
        ev = Events(uri, "r")
        virsh(uri, "reset", "r")
        ev.expect(("removed", "r", alias_b), "device-removed after the restart")
        check(mb not in iflist(uri, "r") and not status_has(d, "r", mb),
              "the pending NIC outlived the reset")
        ev.close()
        virsh(uri, "destroy", "r")
    except BaseException:
        print("---- daemon log ----\n" + d.logtext())
        raise
    finally:
        d.cleanup()


def main():
    need_kite()
    event_loop()
    libvirt.registerErrorHandler(lambda *a: None, None)
    basic()
    hotplug_guest()
    restart_pending()


run(main)
