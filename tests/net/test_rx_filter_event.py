#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NIC_RX_FILTER_CHANGED (QMP event), QEMU semantics: when the guest changes
a virtio-net's rx filter through the control queue (promiscuous mode, MAC
table), the event is sent once, and not again until query-rx-filter has
been issued for that NIC. A command that is not a filter change (or fails
early) sends nothing. virtio-net is driven through qtest with its legacy
(I/O BAR) interface by tests/nic's machinery; the same steps run on QEMU
7.2 when it is installed, as the reference.

Environment: KITE (binary), QEMU (optional), as tests/nic/nictest.py.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "nic"))
import nictest  # noqa: E402
from nictest import check, check_eq  # noqa: E402

# legacy virtio PCI registers (BAR0, I/O)
HOST_FEATURES, GUEST_FEATURES, QUEUE_PFN, QUEUE_SIZE, QUEUE_SEL, QUEUE_NOTIFY = (
    0x00, 0x04, 0x08, 0x0C, 0x0E, 0x10)
STATUS = 0x12
F_CTRL_VQ, F_CTRL_RX = 17, 18
CTRL_QUEUE = 2  # rx 0, tx 1, control 2 without multiqueue
CTRL_RX, CTRL_RX_PROMISC = 0, 0
CTRL_MAC, CTRL_MAC_TABLE_SET = 1, 0
CTRL_ANNOUNCE, CTRL_ANNOUNCE_ACK = 3, 0
RING = 0x100000  # guest-physical home of the control queue
BUF = 0x180000  # command and ack buffers


class VirtioCtrl:
    def __init__(self, m):
        self.m = m
        qt = m.qt
        devfn = m.find(0x1AF4, 0x1000)
        bars = m.setup_pci(devfn)
        self.io = bars[0][1]
        qt.outb(self.io + STATUS, 0)  # reset
        qt.outb(self.io + STATUS, 1 | 2)  # ACKNOWLEDGE | DRIVER
        host = qt.inl(self.io + HOST_FEATURES)
        want = (1 << F_CTRL_VQ) | (1 << F_CTRL_RX)
        check(host & want == want, f"{m.kind}: no control queue/rx mode: {host:#x}")
        qt.outl(self.io + GUEST_FEATURES, want)
        qt.outw(self.io + QUEUE_SEL, CTRL_QUEUE)
        self.size = qt.inw(self.io + QUEUE_SIZE)
        check(self.size > 0, f"{m.kind}: control queue has no size")
        qt.memset(RING, 0x4000 + 16 * self.size * 2, 0)
        qt.outl(self.io + QUEUE_PFN, RING >> 12)
        self.avail = RING + 16 * self.size
        self.used = (self.avail + 6 + 2 * self.size + 4095) & ~4095
        qt.outb(self.io + STATUS, 1 | 2 | 4)  # DRIVER_OK
        self.n = 0

    def command(self, cls, cmd, data):
        """Post class/command/data and an ack byte; returns the ack."""
        qt = self.m.qt
        head = (2 * self.n) % self.size
        cmd_addr = BUF + 0x1000 * (self.n % 8)
        ack_addr = cmd_addr + 0x800
        qt.memwrite(cmd_addr, bytes([cls, cmd]) + data)
        qt.memwrite(ack_addr, b"\xee")
        qt.memwrite(RING + 16 * head,
                    struct.pack("<QIHH", cmd_addr, 2 + len(data), 1, head + 1))
        qt.memwrite(RING + 16 * (head + 1), struct.pack("<QIHH", ack_addr, 1, 2, 0))
        qt.memwrite(self.avail + 4 + 2 * (self.n % self.size), struct.pack("<H", head))
        self.n += 1
        qt.memwrite(self.avail + 2, struct.pack("<H", self.n & 0xFFFF))
        qt.outw(self.io + QUEUE_NOTIFY, CTRL_QUEUE)
        nictest.wait_until(
            lambda: struct.unpack("<H", qt.memread(self.used + 2, 2))[0] == self.n,
            what=f"{self.m.kind}: control command {self.n} to be used")
        return qt.memread(ack_addr, 1)[0]


def events(m):
    """Filter events seen so far (a command makes QMP deliver those pending)."""
    m.qmp.cmd("query-status")
    return [e for e in m.qmp.events if e["event"] == "NIC_RX_FILTER_CHANGED"]


def mac_table(macs):
    out = struct.pack("<I", len(macs)) + b"".join(macs)
    return out + struct.pack("<I", 0)  # no multicast entries


def run(kind):
    args = ["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=nic0"]
    with nictest.Machine(kind, args) as m:
        v = VirtioCtrl(m)
        check_eq(events(m), [], f"{kind}: events before any change")
        # not a filter change: no event
        check_eq(v.command(CTRL_ANNOUNCE, CTRL_ANNOUNCE_ACK, b""), 1,
                 f"{kind}: ack of an unsupported announce ack")
        check_eq(events(m), [], f"{kind}: events after a non-filter command")

        check_eq(v.command(CTRL_RX, CTRL_RX_PROMISC, b"\x01"), 0, f"{kind}: promisc on ack")
        got = nictest.wait_until(lambda: events(m), what=f"{kind}: NIC_RX_FILTER_CHANGED")
        check_eq(len(got), 1, f"{kind}: events after promisc on")
        check_eq(got[0]["data"]["name"], "nic0", f"{kind}: event name")
        check("path" in got[0]["data"], f"{kind}: event has no path: {got[0]}")

        # changed again before anyone asked: no second event
        check_eq(v.command(CTRL_MAC, CTRL_MAC_TABLE_SET,
                           mac_table([bytes.fromhex("525400aabbcc")])), 0,
                 f"{kind}: MAC table ack")
        check_eq(len(events(m)), 1, f"{kind}: events before query-rx-filter")

        filt = m.qmp.cmd("query-rx-filter", {"name": "nic0"})
        check_eq(filt[0]["promiscuous"], True, f"{kind}: query-rx-filter promiscuous")
        check_eq(filt[0]["unicast-table"], ["52:54:00:aa:bb:cc"], f"{kind}: unicast table")

        # queried: the next change notifies again, once
        check_eq(v.command(CTRL_RX, CTRL_RX_PROMISC, b"\x00"), 0, f"{kind}: promisc off ack")
        got = nictest.wait_until(lambda: len(events(m)) == 2 and events(m),
                                 what=f"{kind}: second NIC_RX_FILTER_CHANGED")
        check_eq(len(got), 2, f"{kind}: events after query and change")
        check_eq(v.command(CTRL_RX, CTRL_RX_PROMISC, b"\x01"), 0, f"{kind}: promisc on ack")
        check_eq(len(events(m)), 2, f"{kind}: events after a change not yet queried")
        return got[0]["data"]["path"]


def test_rx_filter_event():
    paths = {kind: run(kind) for kind in nictest.emulators()}
    check_eq(paths["kite"], "/machine/peripheral/nic0/virtio-backend", "kite: event path")
    if "qemu" not in paths:
        return "QEMU missing: kite only"
    check_eq(paths["kite"], paths["qemu"], "event path, kite vs QEMU")
    return None


if __name__ == "__main__":
    nictest.main({"rx-filter-event": test_rx_filter_event})
