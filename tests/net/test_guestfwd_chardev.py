#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""guestfwd= to a character device (S12, QEMU 7.2's
guestfwd=[tcp]:server:port-dev with dev a chardev): the test guest's TCP
connection to 10.0.2.100:8080 reaches a host unix-socket server through
`-chardev socket,id=c0,path=...` named as `chardev:c0`, and the reply comes
back; the S12 `-stdio` form still shows the guest's data on stdout;
`file:PATH` stores what the guest sends; an unknown chardev id is a
start-up error naming it. The chardev cases also run under QEMU (TCG) when
it is installed, so kite is checked against the behaviour it copies.

    test_guestfwd_chardev.py --kite KITE --guest GUEST_ELF
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import harness  # noqa: E402

ARGS = None


class UnixService:
    """Listens on a unix socket; answers the first line received on any
    connection with pong:LINE. The chardev connects when the emulator
    starts, long before the guest sends."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(90)
        self.received = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(90)
                    data = b""
                    while not data.endswith(b"\n"):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        continue
                    line = data.decode("utf-8", "replace").strip()
                    self.received.append(line)
                    conn.sendall(f"pong:{line}\n".encode())
                    return
        except OSError:
            pass

    def close(self):
        self.sock.close()


def emulators():
    emus = [harness.Emulator("kite", ARGS.kite)]
    if shutil.which("qemu-system-x86_64"):
        emus.append(harness.Emulator("qemu-tcg"))
    return emus


class GuestfwdChardev(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kite-guestfwd-")
        self.addCleanup(self.tmp.cleanup)

    def test_socket_chardev_by_id(self):
        for emu in emulators():
            with self.subTest(emulator=emu.kind):
                path = os.path.join(self.tmp.name, f"svc-{emu.kind}.sock")
                svc = UnixService(path)
                token = f"via-chardev-{emu.kind}"
                try:
                    res = harness.run_scenario(
                        emu, ARGS.guest, ["tcp-connect", "10.0.2.100", "8080", token],
                        nic="virtio",
                        netdev_opts=["guestfwd=tcp:10.0.2.100:8080-chardev:c0"],
                        extra_args=["-chardev", f"socket,id=c0,path={path}"])
                finally:
                    svc.close()
                self.assertTrue(res.passed, res.describe())
                self.assertEqual(svc.received, [token], res.describe())
                self.assertEqual(res.detail, f"reply=pong:{token}", res.describe())

    def test_file_target(self):
        out = os.path.join(self.tmp.name, "fwd.out")
        token = "into-a-file"
        res = harness.run_scenario(
            harness.Emulator("kite", ARGS.kite), ARGS.guest,
            ["tcp-connect", "10.0.2.100", "8080", token], nic="virtio",
            netdev_opts=[f"guestfwd=tcp:10.0.2.100:8080-file:{out}"])
        # The guest gets no reply (a file answers nothing); what matters is
        # that its bytes were written.
        with open(out, "rb") as f:
            self.assertEqual(f.read(), (token + "\n").encode(), res.describe())

    def test_s12_stdio_form_still_works(self):
        # S12's guestfwd=tcp:10.0.2.1:80-stdio style: what the guest sends
        # appears on kite's stdout (shared here with the serial port).
        token = "seen-on-stdio"
        res = harness.run_scenario(
            harness.Emulator("kite", ARGS.kite), ARGS.guest,
            ["tcp-connect", "10.0.2.100", "80", token], nic="virtio",
            netdev_opts=["guestfwd=tcp:10.0.2.100:80-stdio"])
        self.assertIn(token, res.lines, res.describe())

    def test_unknown_chardev_is_an_error(self):
        p = subprocess.run(
            [ARGS.kite, "-M", "pc", "-m", "64", "-display", "none", "-nodefaults", "-S",
             "-kernel", ARGS.guest,
             "-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:80-chardev:nosuch",
             "-device", "virtio-net-pci,netdev=n0"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nosuch", p.stderr)

    def test_netdev_del_releases_chardevs(self):
        # netdev_del lets go of chardev:ID (another netdev may take it) and
        # deletes the chardev a guestfwd made for itself (its id is free
        # again, as in QEMU), many times over.
        qmp_path = os.path.join(self.tmp.name, "qmp.sock")
        sock_path = os.path.join(self.tmp.name, "c0.sock")
        p = subprocess.Popen(
            [ARGS.kite, "-M", "pc", "-m", "64", "-display", "none", "-nodefaults", "-S",
             "-kernel", ARGS.guest,
             "-chardev", f"socket,id=c0,path={sock_path},server=on,wait=off",
             "-qmp", f"unix:{qmp_path},server=on,wait=off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(200):
                if os.path.exists(qmp_path):
                    break
                time.sleep(0.02)
            s = socket.socket(socket.AF_UNIX)
            s.connect(qmp_path)
            f = s.makefile("rw")
            f.readline()

            def cmd(name, **args):
                f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
                f.flush()
                while True:
                    r = json.loads(f.readline())
                    if "event" not in r:
                        return r

            cmd("qmp_capabilities")
            out = os.path.join(self.tmp.name, "fwd.out")
            for i in range(5):
                r = cmd("netdev_add", type="user", id=f"u{i}",
                        guestfwd=[{"str": "tcp:10.0.2.100:80-chardev:c0"},
                                  {"str": f"tcp:10.0.2.100:81-file:{out}"}])
                self.assertEqual(r, {"return": {}}, f"cycle {i}")
                r = cmd("netdev_add", type="user", id=f"v{i}",
                        guestfwd=[{"str": "tcp:10.0.2.100:80-chardev:c0"}])
                self.assertIn("in use", r.get("error", {}).get("desc", ""), r)
                chardevs = [c["label"] for c in cmd("query-chardev")["return"]]
                self.assertIn("guestfwd.tcp.81", chardevs)
                self.assertEqual(cmd("netdev_del", id=f"u{i}"), {"return": {}})
                chardevs = [c["label"] for c in cmd("query-chardev")["return"]]
                self.assertNotIn("guestfwd.tcp.81", chardevs)
                self.assertIn("c0", chardevs)
            cmd("quit")
            f.close()
            s.close()
            p.wait(timeout=20)
            p.stdout.close()
            p.stderr.close()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    def test_bad_target_is_an_error(self):
        p = subprocess.run(
            [ARGS.kite, "-M", "pc", "-m", "64", "-display", "none", "-nodefaults", "-S",
             "-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:80-bogus:x"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bogus:x", p.stderr)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--kite", required=True)
    ap.add_argument("--guest", required=True)
    ARGS, rest = ap.parse_known_args()
    if not harness.kvm_usable():
        print("SKIP: /dev/kvm is not usable")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
