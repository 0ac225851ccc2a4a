# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive tests/net/net-harness (kite's network layer with test NICs) and
build the few frames the tests need (ARP, DHCP, ICMP, TCP SYN)."""

import json
import os
import queue
import select
import socket
import struct
import subprocess
import threading
import time

HANG_GUARD = 20  # seconds; only against hangs, never a pass condition


class Harness:
    def __init__(self, binary, args, netns=None, env=None):
        cmd = [binary] + list(args)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        self.stderr_lines = []
        threading.Thread(target=self._reader, daemon=True).start()
        self.err_thread = threading.Thread(target=self._err_reader, daemon=True)
        self.err_thread.start()
        first = self.next_line()
        if first != "READY":
            self.proc.wait(timeout=HANG_GUARD)
            raise RuntimeError("harness did not start: %r %s" % (first, self.stderr()))

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _err_reader(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def stderr(self):
        return "\n".join(self.stderr_lines)

    def next_line(self, timeout=HANG_GUARD):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no output from harness in %ss" % timeout)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _until_end(self):
        out = []
        while True:
            line = self.next_line()
            if line is None:
                raise RuntimeError("harness exited: " + self.stderr())
            if line == "END":
                return out
            if line.startswith(("RX ", "LINK ", "EVENT ")):
                self.pending.append(line)
            else:
                out.append(line)

    pending = None

    def hmp(self, cmdline):
        self.pending = self.pending or []
        self.send("HMP " + cmdline)
        return "\n".join(self._until_end()) + "\n"

    def qmp(self, execute, **arguments):
        self.pending = self.pending or []
        req = {"execute": execute}
        if arguments:
            req["arguments"] = arguments
        self.send("QMP " + json.dumps(req))
        return json.loads(self._until_end()[-1])

    def stats(self, name):
        self.pending = self.pending or []
        self.send("STATS " + name)
        line = self._until_end()[0]
        return {k: int(v) for k, v in (kv.split("=") for kv in line.split())}

    def tx(self, nic, frame):
        self.send("TX %s %s" % (nic, frame.hex()))

    def events(self, timeout=HANG_GUARD):
        """Yield RX/LINK/EVENT lines as they come, until timeout."""
        self.pending = self.pending or []
        deadline = time.monotonic() + timeout
        while True:
            if self.pending:
                yield self.pending.pop(0)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return
            if line is None:
                return
            yield line

    def wait_rx(self, nic, match, timeout=HANG_GUARD):
        """First frame to 'nic' for which match(frame) is true, or None."""
        for line in self.events(timeout):
            if line.startswith("RX %s " % nic):
                frame = bytes.fromhex(line.split()[2])
                if match(frame):
                    return frame
        return None

    def quit(self):
        if self.proc.poll() is None:
            self.send("QUIT")
        try:
            status = self.proc.wait(timeout=HANG_GUARD)
            # Under -Db_sanitize a report is a failure even if the test
            # itself saw the right frames.
            self.err_thread.join(timeout=HANG_GUARD)
            bad = [l for l in self.stderr_lines if "Sanitizer" in l or "runtime error" in l]
            if bad:
                raise AssertionError("sanitizer report from net-harness:\n" + self.stderr())
            return status
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip(s):
    return socket.inet_aton(s)


BCAST = b"\xff" * 6


def eth(dst, src, ethertype, payload):
    frame = dst + src + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def arp_request(src_mac, src_ip, target_ip):
    payload = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + ip(src_ip) + \
        b"\0" * 6 + ip(target_ip)
    return eth(BCAST, src_mac, 0x0806, payload)


def is_arp_reply_from(frame, sender_ip):
    return (len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\0\x02"
            and frame[28:32] == ip(sender_ip))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      ip(src), ip(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def udp(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo + hdr + payload) or 0xffff
    return struct.pack("!HHHH", sport, dport, length, csum) + payload


def icmp_echo(ident, seq, data=b"kite-ping"):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def dhcp_message(client_mac, mtype, xid=0x4b495445, requested=None, ciaddr="0.0.0.0",
                 server=None, dst_mac=BCAST, dst_ip="255.255.255.255"):
    """A DHCP client message of type mtype (1 DISCOVER, 3 REQUEST, 7 RELEASE)."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        ip(ciaddr), b"\0" * 4, b"\0" * 4, b"\0" * 4,
                        client_mac + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    options = b"\x63\x82\x53\x63" + bytes([53, 1, mtype])
    if requested:
        options += b"\x32\x04" + ip(requested)
    if server:
        options += b"\x36\x04" + ip(server)
    options += b"\x37\x03\x01\x03\x06" + b"\xff"
    payload = udp(ciaddr, dst_ip, 68, 67, bootp + options)
    return eth(dst_mac, client_mac, 0x0800, ipv4(ciaddr, dst_ip, 17, payload))


def dhcp_discover(client_mac, xid=0x4b495445):
    return dhcp_message(client_mac, 1, xid)


def parse_dhcp(frame):
    """(message type, yiaddr, {option: bytes}) of a DHCP reply, or None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 15) * 4
    udp_off = 14 + ihl
    if struct.unpack("!H", frame[udp_off + 2:udp_off + 4])[0] != 68:
        return None
    bootp = frame[udp_off + 8:]
    yiaddr = socket.inet_ntoa(bootp[16:20])
    opts, i = {}, 240
    while i < len(bootp) and bootp[i] != 0xff:
        if bootp[i] == 0:
            i += 1
            continue
        code, length = bootp[i], bootp[i + 1]
        opts[code] = bootp[i + 2:i + 2 + length]
        i += 2 + length
    return opts.get(53, b"\0")[0], yiaddr, opts


def tcp_syn(src, dst, sport, dport, seq=1000):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    csum = checksum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:]


def tcp_of(frame):
    """(src ip, dst ip, sport, dport, flags) of an IPv4 TCP frame, or None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    t = 14 + ihl
    sport, dport = struct.unpack("!HH", frame[t:t + 4])
    return (socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), sport, dport,
            frame[t + 13])


def tshark_lens(path):
    """frame.len and frame.cap_len of every frame in a pcap, via tshark."""
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.len",
                          "-e", "frame.cap_len"], capture_output=True, text=True,
                         timeout=HANG_GUARD, check=True).stdout
    return [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]


def wait_until(cond, timeout=HANG_GUARD, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        r, _, _ = select.select([sock], [], [], HANG_GUARD)
        if not r:
            raise TimeoutError("peer sent nothing")
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


def recv_framed(sock):
    (length,) = struct.unpack("!I", recv_exact(sock, 4))
    return recv_exact(sock, length)


def framed(frame):
    return struct.pack("!I", len(frame)) + frame
