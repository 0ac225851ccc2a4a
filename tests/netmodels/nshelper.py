#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Small network tools the netmodels tests run inside a namespace.

  nshelper.py dhcp IFACE MAC HOSTNAME     DHCP client over AF_PACKET; prints
                                          "ip=.. prefix=.. router=.. server=.."
  nshelper.py serve PORT                  UDP+TCP server: answers each request with
                                          "PEER_IP PEER_PORT"; prints "ready"
  nshelper.py ask udp|tcp HOST PORT [SPORT]  prints the server's answer, or
                                          "refused" / "timeout" / "unreachable"
  nshelper.py ping HOST                   ICMP echo; prints "reply", "unreachable"
                                          (ICMP error) or "noreply"
  nshelper.py dns SERVER NAME             A query; prints the addresses or "none"
"""
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def dhcp_packet(mac, xid, msg_type, hostname, requested=None, server=None):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), mac + bytes(10),
                        b"", b"")
    opts = [(53, bytes([msg_type])), (12, hostname.encode()), (55, bytes([1, 3, 6, 15, 54]))]
    if requested:
        opts.append((50, socket.inet_aton(requested)))
    if server:
        opts.append((54, socket.inet_aton(server)))
    payload = bootp + b"\x63\x82\x53\x63"
    for code, value in opts:
        payload += bytes([code, len(value)]) + value
    payload += b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(4), b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + struct.pack("!H", ETH_P_IP) + ip + udp


def parse_dhcp_reply(frame, xid):
    if len(frame) < 14 + 20 + 8 + 240 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0xF) * 4
    if ip[9] != 17:
        return None
    udp = ip[ihl:]
    if struct.unpack("!H", udp[2:4])[0] != 68:
        return None
    bootp = udp[8:]
    if bootp[0] != 2 or struct.unpack("!I", bootp[4:8])[0] != xid:
        return None
    if bootp[236:240] != b"\x63\x82\x53\x63":
        return None
    yiaddr = socket.inet_ntoa(bootp[16:20])
    opts = {}
    i = 240
    while i < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        if i + 1 >= len(bootp):
            break
        code, length = bootp[i], bootp[i + 1]
        opts[code] = bootp[i + 2:i + 2 + length]
        i += 2 + length
    return yiaddr, opts


def dhcp(iface, mac_str, hostname):
    mac = bytes(int(b, 16) for b in mac_str.split(":"))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, ETH_P_IP))
    xid = random.getrandbits(32)
    deadline = time.monotonic() + 20

    def exchange(packet, want):
        # resend every second: the bridge port or dnsmasq may not be ready yet
        while time.monotonic() < deadline:
            s.send(packet)
            until = time.monotonic() + 1
            while time.monotonic() < until:
                r, _, _ = select.select([s], [], [], max(0, until - time.monotonic()))
                if not r:
                    break
                got = parse_dhcp_reply(s.recv(4096), xid)
                if got and got[1].get(53, b"\0")[0] in want:
                    return got
        sys.exit("dhcp: no answer")

    yiaddr, opts = exchange(dhcp_packet(mac, xid, 1, hostname), (2,))
    server = socket.inet_ntoa(opts[54])
    yiaddr, opts = exchange(dhcp_packet(mac, xid, 3, hostname, yiaddr, server), (5, 6))
    if opts[53][0] == 6:
        sys.exit("dhcp: NAK")
    mask = struct.unpack("!I", opts.get(1, b"\xff\xff\xff\x00"))[0]
    prefix = bin(mask).count("1")
    router = socket.inet_ntoa(opts[3][:4]) if 3 in opts else "-"
    print(f"ip={yiaddr} prefix={prefix} router={router} server={server}")


def serve(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind(("0.0.0.0", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", port))
    t.listen(8)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([u, t], [], [])
        if u in r:
            data, peer = u.recvfrom(2048)
            u.sendto(f"{peer[0]} {peer[1]}".encode(), peer)
            print(f"udp {peer[0]} {peer[1]}", flush=True)
        if t in r:
            c, peer = t.accept()
            c.settimeout(5)
            try:
                c.recv(2048)
                c.sendall(f"{peer[0]} {peer[1]}".encode())
            except OSError:
                pass
            c.close()
            print(f"tcp {peer[0]} {peer[1]}", flush=True)


def ask(proto, host, port, sport=0):
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(3)
    if sport:
        s.bind(("0.0.0.0", sport))
    try:
        s.connect((host, port))
        for _ in range(3 if proto == "udp" else 1):
            s.send(b"hello")
            try:
                print(s.recv(2048).decode())
                return
            except socket.timeout:
                continue
        print("timeout")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, TimeoutError):
        print("timeout")
    except OSError as e:
        print(f"unreachable ({e})")


def ping(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    for seq in range(3):
        body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"kite-ping"
        body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        try:
            s.sendto(body, (host, 0))
        except OSError:
            time.sleep(1)
            continue
        until = time.monotonic() + 1
        while time.monotonic() < until:
            r, _, _ = select.select([s], [], [], max(0, until - time.monotonic()))
            if not r:
                break
            pkt, addr = s.recvfrom(2048)
            icmp = pkt[(pkt[0] & 0xF) * 4:]
            if addr[0] == host and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                print("reply")
                return
            # destination unreachable quoting our echo: a firewall said no
            inner = icmp[8:]
            if icmp[0] == 3 and len(inner) >= 28 and socket.inet_ntoa(inner[16:20]) == host:
                quoted = inner[(inner[0] & 0xF) * 4:]
                if len(quoted) >= 6 and struct.unpack("!H", quoted[4:6])[0] == ident:
                    print("unreachable")
                    return
    print("noreply")


def dns(server, name):
    qid = random.getrandbits(16)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(3):
        s.sendto(q, (server, 53))
        try:
            resp = s.recv(4096)
        except socket.timeout:
            continue
        if struct.unpack("!H", resp[:2])[0] != qid:
            continue
        ancount = struct.unpack("!H", resp[6:8])[0]
        i = 12
        while resp[i] != 0:  # question name
            i += resp[i] + 1
        i += 5
        addrs = []
        for _ in range(ancount):
            if resp[i] & 0xC0 == 0xC0:
                i += 2
            else:
                while resp[i] != 0:
                    i += resp[i] + 1
                i += 1
            rtype, _, _, rdlen = struct.unpack("!HHIH", resp[i:i + 10])
            i += 10
            if rtype == 1 and rdlen == 4:
                addrs.append(socket.inet_ntoa(resp[i:i + 4]))
            i += rdlen
        print(" ".join(addrs) if addrs else "none")
        return
    print("timeout")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dhcp":
        dhcp(*args)
    elif cmd == "serve":
        serve(int(args[0]))
    elif cmd == "ask":
        ask(args[0], args[1], int(args[2]), int(args[3]) if len(args) > 3 else 0)
    elif cmd == "ping":
        ping(args[0])
    elif cmd == "dns":
        dns(args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
