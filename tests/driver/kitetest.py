# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of the virtkited tests: a private daemon per test (its own
state root and socket directory), virsh and raw-socket clients.

Environment (set by meson): VIRTKITED (the daemon), KITE (the emulator,
may not exist yet), GUEST_ELF (the test guest).
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

VIRTKITED = os.environ.get("VIRTKITED", "virtkited")
KITE = os.environ.get("KITE", "")
GUEST_ELF = os.environ.get("GUEST_ELF", "")
# tests/emulator's tiny PVH kernel writer (e.g. a guest that powers off)
MKPVH = os.environ.get("MKPVH", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "..", "emulator", "mkpvh.py"))

SKIP = 77

PROG_REMOTE = 0x20008086
PROG_KEEPALIVE = 0x6B656570


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def need_kite():
    """Exit with meson's skip code when the emulator or the guest is missing."""
    if not KITE or not os.access(KITE, os.X_OK):
        print(f"SKIP: kite emulator not built ({KITE or 'KITE unset'})")
        sys.exit(SKIP)
    if not GUEST_ELF or not os.path.exists(GUEST_ELF):
        print(f"SKIP: test guest not built ({GUEST_ELF or 'GUEST_ELF unset'})")
        sys.exit(SKIP)


class Daemon:
    """A virtkited with private directories, stopped (and cleaned) on exit."""

    def __init__(self, emulator=None, extra_args=(), session=False, env=None, root=None,
                 netns=False, default_network=False):
        self.root = root or tempfile.mkdtemp(prefix="virtkited-test-")
        os.makedirs(self.root, exist_ok=True)
        self.sockdir = os.path.join(self.root, "sock")
        self.emulator = emulator if emulator is not None else (KITE or "/nonexistent/kite")
        self.log = os.path.join(self.root, "daemon.log")
        self.session = session
        self.extra_args = list(extra_args)
        # Most tests count networks: only the tests of libvirt's "default"
        # network let the daemon define it.
        if not default_network:
            self.extra_args.append("--no-default-network")
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        # A network namespace of its own: bridges, nft tables and dnsmasq
        # the daemon creates never touch the host.
        self.netns = netns

    def in_netns(self, *cmd):
        """Run cmd in the daemon's network namespace."""
        args = (["nsenter", "-t", str(self.proc.pid), "-n"] if self.netns else []) + list(cmd)
        return subprocess.run(args, capture_output=True, text=True, timeout=30)

    @property
    def sock(self):
        return os.path.join(self.sockdir, "virtkited-sock")

    @property
    def sock_ro(self):
        return os.path.join(self.sockdir, "virtkited-sock-ro")

    @property
    def uri(self):
        return f"kite:///system?socket={self.sock}"

    @property
    def uri_ro(self):
        return f"kite:///system?socket={self.sock_ro}"

    def start(self):
        args = [VIRTKITED, "--verbose", "--state-root", self.root,
                "--listen-dir", self.sockdir, "--emulator", self.emulator,
                "--log-file", self.log] + self.extra_args
        if self.session:
            args.append("--session")
        if self.netns:
            args = ["unshare", "--net", "--"] + args
        self.proc = subprocess.Popen(args, env=self.env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"virtkited exited with {self.proc.returncode}: {self.logtext()}")
            if os.path.exists(self.sock) and self._connectable():
                return self
            time.sleep(0.02)
        raise Failure("virtkited did not create its socket: " + self.logtext())

    def _connectable(self):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def logtext(self):
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def cleanup(self):
        self.stop()
        kill_domains(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("---- daemon log ----\n" + self.logtext() + "\n")
        self.cleanup()
        return False


def kill_domains(root):
    """Kill what a failed test left running under its private root: kite
    processes and dnsmasq instances (their command lines name the root)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if root + "/" in cmdline and "virtkited" not in cmdline.split("\0")[0]:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def virsh(uri, *args, ro=False, check_rc=True, timeout=60, input=None):
    cmd = ["virsh", "-q"] + (["-r"] if ro else []) + ["-c", uri] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check_rc and p.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def virsh_fails(uri, *args, expect=None, ro=False):
    p = virsh(uri, *args, ro=ro, check_rc=False)
    check(p.returncode != 0, f"virsh {' '.join(args)} should fail but printed {p.stdout!r}")
    if expect:
        check(expect in p.stderr, f"virsh {' '.join(args)}: expected {expect!r} in {p.stderr!r}")
    return p


# ---------------------------------------------------------------- raw RPC

def xdr_u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def xdr_string(s):
    b = s.encode() if isinstance(s, str) else s
    return xdr_u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def packet(proc, payload=b"", prog=PROG_REMOTE, vers=1, ptype=0, serial=0, status=0):
    body = struct.pack(">IIiiIi", prog, vers, proc, ptype, serial, status) + payload
    return struct.pack(">I", len(body) + 4) + body


class Raw:
    """A raw libvirt RPC connection."""

    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.serial = 0

    def send(self, data):
        self.s.sendall(data)

    def call(self, proc, payload=b"", **kw):
        kw.setdefault("serial", self.serial)
        self.serial += 1
        self.send(packet(proc, payload, **kw))
        return self.recv()

    def recv(self):
        """(header tuple, payload) of the next packet, or None at EOF."""
        head = self._read(4)
        if head is None:
            return None
        (length,) = struct.unpack(">I", head)
        body = self._read(length - 4)
        if body is None or len(body) < 24:
            return None
        return struct.unpack(">IIiiIi", body[:24]), body[24:]

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def at_eof(self):
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return True

    def open(self, flags=0, name="kite:///system"):
        self.call(66)
        r = self.call(1, xdr_u32(1) + xdr_string(name) + xdr_u32(flags))
        check(r is not None and r[0][5] == 0, f"connect_open failed: {r}")

    def close(self):
        self.s.close()


def decode_error(payload):
    """(code, domain, message) of a remote_error payload."""
    code, dom, present = struct.unpack(">iiI", payload[:12])
    msg = None
    if present:
        (n,) = struct.unpack(">I", payload[12:16])
        msg = payload[16:16 + n].decode()
    return code, dom, msg


def run(main):
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print("PASS")


def free_tcp_port():
    """A host TCP port nobody listens on right now (for <portForward>)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def domain_xml(name, uuid=None, cmdline="hello", mac="52:54:00:12:34:56", nic=True,
               serial=True, emulator=None, forward=None, features=None):
    """forward=(host_port, guest_port): a TCP <portForward> on the user NIC,
    bound to 127.0.0.1. features: the inside of <features>, e.g. '<acpi/>'."""
    parts = ["<domain type='kvm'>", f"  <name>{name}</name>"]
    if uuid:
        parts.append(f"  <uuid>{uuid}</uuid>")
    parts += [
        "  <memory unit='KiB'>65536</memory>",
        "  <vcpu>1</vcpu>",
        "  <os>",
        "    <type arch='x86_64' machine='pc'>hvm</type>",
        f"    <kernel>{GUEST_ELF or '/nonexistent/guest.elf'}</kernel>",
        f"    <cmdline>{cmdline}</cmdline>",
        "  </os>",
    ]
    if features is not None:
        parts.append(f"  <features>{features}</features>")
    parts += [
        "  <devices>",
    ]
    if emulator:
        parts.append(f"    <emulator>{emulator}</emulator>")
    if nic:
        parts += [
            "    <interface type='user'>",
            f"      <mac address='{mac}'/>",
            "      <model type='virtio'/>",
        ]
        if forward:
            parts += [
                "      <portForward proto='tcp' address='127.0.0.1'>",
                f"        <range start='{forward[0]}' to='{forward[1]}'/>",
                "      </portForward>",
            ]
        parts += [
            "    </interface>",
        ]
    if serial:
        parts += [
            "    <serial type='pty'><target port='0'/></serial>",
            "    <console type='pty'><target type='serial' port='0'/></console>",
        ]
    parts += ["  </devices>", "</domain>", ""]
    return "\n".join(parts)


def write_file(dirname, name, text):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_for(pred, what, timeout=60, interval=0.05):
    """Hang guard only: polls pred() until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise Failure(f"timed out waiting for {what}")


def dominfo(uri, name):
    out = virsh(uri, "dominfo", name).stdout
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
