#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virDomainOpenConsole: bytes both ways between a client stream and the
guest's serial port; a second session needs --force."""

import threading
import time
import xml.etree.ElementTree as ET

import libvirt

from kitetest import Daemon, check, domain_xml, need_kite, run, virsh, write_file


def main():
    need_kite()
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    with Daemon() as d:
        f = write_file(d.root, "c.xml", domain_xml("con", cmdline="pci-list hold"))
        virsh(d.uri, "define", f)
        virsh(d.uri, "start", "con")
        conn = libvirt.open(d.uri)
        dom = conn.lookupByName("con")
        st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, st, 0)
        x = ET.fromstring(dom.XMLDesc(0))
        pty = x.find("devices/serial/source").get("path")
        check(pty.startswith("/dev/pts/"), f"live XML serial source: {pty}")

        # A second session without force is refused.
        st2 = conn.newStream(0)
        try:
            dom.openConsole(None, st2, 0)
            raise AssertionError("second console session accepted without force")
        except libvirt.libvirtError as e:
            check("Active console session" in str(e), str(e))

        got = b""
        deadline = time.monotonic() + 120
        while b"PCI-LIST-HOLD" not in got and time.monotonic() < deadline:
            chunk = st.recv(4096)
            if chunk in (-2, None):
                time.sleep(0.05)
                continue
            if chunk == b"":
                break
            got += chunk
        check(b"KTEST-START pci-list" in got and b"PCI-LIST-HOLD" in got,
              f"console output: {got[-300:]!r}")
        # The guest waits for one byte on COM1, then passes and exits.
        st.send(b"x")
        while b"KTEST pci-list PASS" not in got and time.monotonic() < deadline:
            chunk = st.recv(4096)
            if chunk in (-2, None):
                time.sleep(0.05)
                continue
            if chunk == b"":
                break
            got += chunk
        check(b"KTEST pci-list PASS" in got, f"after input: {got[-300:]!r}")
        # Stopping the domain ends the stream (end of file, not an error).
        virsh(d.uri, "destroy", "con")
        eof = False
        while time.monotonic() < deadline:
            chunk = st.recv(4096)
            if chunk == b"":
                eof = True
                break
            time.sleep(0.05)
        check(eof, "stream did not end when the domain stopped")
        st.finish()
        conn.close()


run(main)
