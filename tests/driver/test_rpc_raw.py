#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Malformed and unusual packets on a raw socket: each gets an error reply
(or a clean close) and the daemon keeps serving other clients."""

import socket
import struct

from kitetest import (PROG_KEEPALIVE, Daemon, Raw, check, decode_error, packet, run,
                      virsh, xdr_string, xdr_u32)

VIR_ERR_NO_SUPPORT = 3
VIR_ERR_INVALID_CONN = 6
VIR_ERR_OPERATION_DENIED = 29
VIR_ERR_RPC = 39


def expect_error(reply, code, what):
    check(reply is not None, f"{what}: no reply")
    (prog, vers, proc, ptype, serial, status), payload = reply
    check(ptype == 1 and status == 1, f"{what}: expected an error reply, got type {ptype} status {status}")
    ecode, edom, msg = decode_error(payload)
    check(ecode == code, f"{what}: error code {ecode} ({msg}), expected {code}")
    check(msg, f"{what}: error without a message")
    return msg


def main():
    with Daemon() as d:
        # Handshake as virsh does it, then a keepalive ping.
        c = Raw(d.sock)
        r = c.call(66)
        check(r[0][5] == 0 and r[1] == xdr_u32(1) + xdr_u32(0), f"auth_list: {r}")
        r = c.call(60, xdr_u32(10))
        check(r[1] == xdr_u32(1), "feature 10 (keepalive) should be 1")
        r = c.call(23, xdr_string("x"))
        expect_error(r, VIR_ERR_INVALID_CONN, "call before connect_open")
        c.open()
        c.send(packet(1, prog=PROG_KEEPALIVE, ptype=2))
        r = c.recv()
        check(r[0][0] == PROG_KEEPALIVE and r[0][2] == 2 and r[0][3] == 2, f"PING answered by {r[0]}")

        # Unknown procedure and unknown program: NO_SUPPORT, connection stays.
        msg = expect_error(c.call(9999), VIR_ERR_NO_SUPPORT, "unknown procedure")
        check("9999" in msg, f"message should name the procedure: {msg}")
        expect_error(c.call(1, prog=0x12345678), VIR_ERR_NO_SUPPORT, "unknown program")
        expect_error(c.call(3, vers=2), VIR_ERR_NO_SUPPORT, "unknown version")
        r = c.call(3)  # connect_get_type still works
        check(r[0][5] == 0 and r[1] == xdr_string("KITE"), f"get_type after errors: {r}")

        # Truncated arguments: error reply naming the problem, then close.
        r = c.call(23, xdr_u32(100) + b"abc")
        msg = expect_error(r, VIR_ERR_RPC, "truncated payload")
        check("malformed" in msg, f"truncated payload message: {msg}")
        check(c.at_eof(), "connection should close after a malformed packet")

        # Trailing garbage after valid arguments.
        c = Raw(d.sock)
        c.open()
        expect_error(c.call(23, xdr_string("x") + b"\0\0\0\0"), VIR_ERR_RPC, "trailing bytes")
        check(c.at_eof(), "connection should close after trailing bytes")

        # A string whose length runs past the packet / is absurd.
        c = Raw(d.sock)
        c.open()
        expect_error(c.call(23, xdr_u32(0xFFFFFFF0)), VIR_ERR_RPC, "huge string length")

        # Length word smaller than the header, and larger than the limit.
        for length in (8, 27, 0x7FFFFFFF, 32 * 1024 * 1024 + 1):
            c = Raw(d.sock)
            c.send(struct.pack(">I", length) + b"\0" * 24)
            msg = expect_error(c.recv(), VIR_ERR_RPC, f"length {length}")
            check(str(length) in msg, f"bad length message should name it: {msg}")
            check(c.at_eof(), f"length {length}: connection should close")

        # A reply-type packet from a client is a protocol error.
        c = Raw(d.sock)
        expect_error(c.call(3, ptype=1), VIR_ERR_RPC, "reply from client")
        check(c.at_eof(), "connection should close after a reply-type packet")

        # A client that vanishes mid-packet.
        c = Raw(d.sock)
        c.send(struct.pack(">I", 100) + b"\0" * 10)
        c.close()

        # Read-only socket: mutations refused even when the client does
        # not ask for read-only.
        c = Raw(d.sock_ro)
        c.open(flags=0)
        msg = expect_error(c.call(11, xdr_string("<domain/>")), VIR_ERR_OPERATION_DENIED,
                           "define on the read-only socket")
        check("read only access prevents virDomainDefineXML" in msg, msg)
        r = c.call(273, xdr_u32(1) + xdr_u32(3))
        check(r[0][5] == 0, "listing must work read-only")

        # Wrong URI scheme.
        c = Raw(d.sock)
        c.call(66)
        r = c.call(1, xdr_u32(1) + xdr_string("qemu:///system") + xdr_u32(0))
        expect_error(r, VIR_ERR_NO_SUPPORT, "connect_open with another driver's URI")

        check(d.alive(), "daemon died")
        p = virsh(d.uri, "hostname")
        check(p.stdout.strip() == socket.gethostname(), f"virsh hostname after the abuse: {p.stdout}")


run(main)
