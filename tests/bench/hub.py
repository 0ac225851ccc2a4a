#!/usr/bin/python3
"""Hub benchmark (no guest): frames/s through a hub between two dgram
back ends, kite against QEMU 7.2 in the same run.

Neither emulator runs a guest (see run()) and the same network
options: dgram back end A <-> hub 0 <-> dgram back end B. This script sends
frames into A's UDP socket as fast as the kernel takes them, for a fixed
time, and counts what leaves B. It reports frames/s received per frame
size, with and without a pcap dump on the hub, and the kite/QEMU ratio.
Not a test: it never fails on a number.

usage: hub.py KITE_BINARY [--seconds S]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def netdev_args(a_local, a_remote, b_local, b_remote, dump):
    args = [
        "-netdev", f"dgram,id=a,local.type=inet,local.host=127.0.0.1,local.port={a_local},"
                   f"remote.type=inet,remote.host=127.0.0.1,remote.port={a_remote}",
        "-netdev", f"dgram,id=b,local.type=inet,local.host=127.0.0.1,local.port={b_local},"
                   f"remote.type=inet,remote.host=127.0.0.1,remote.port={b_remote}",
        "-netdev", "hubport,id=pa,hubid=0,netdev=a",
        "-netdev", "hubport,id=pb,hubid=0,netdev=b",
    ]
    if dump:
        # QEMU 7.2 no longer has -net dump; filter-dump is the form both take.
        args += ["-object", f"filter-dump,id=f0,netdev=a,file={dump},maxlen=64"]
    return args


def run(binary, size, seconds, dump_dir):
    a_local, a_remote, b_local, b_remote = (free_udp_port() for _ in range(4))
    dump = os.path.join(dump_dir, f"{os.path.basename(binary)}-{size}.pcap") if dump_dir else None
    # No guest work: kite runs without a vCPU (qtest). Debian's QEMU 7.2 has
    # no qtest accelerator, and it holds every frame while the VM is stopped
    # (-S), so it runs SeaBIOS under TCG, which halts with no boot device.
    is_kite = "kite" in os.path.basename(binary)
    accel = ["-accel", "qtest"] if is_kite else ["-accel", "tcg"]
    argv = [binary] + accel + ["-display", "none", "-nodefaults", "-M", "pc", "-m", "16"] + netdev_args(a_local, a_remote, b_local, b_remote, dump)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", a_remote))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", b_remote))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(0.5)
    time.sleep(0.5 if is_kite else 3)
    if proc.poll() is not None:
        raise RuntimeError(f"{binary} exited: {proc.stderr.read().decode()}")
    frame = b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x00" + b"x" * (size - 14)
    received = 0
    stop = threading.Event()

    def sink():
        nonlocal received
        while not stop.is_set():
            try:
                rx.recv(65536)
                received += 1
            except socket.timeout:
                pass

    t = threading.Thread(target=sink)
    t.start()
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        for _ in range(64):
            try:
                tx.sendto(frame, ("127.0.0.1", a_local))
                sent += 1
            except BlockingIOError:
                pass
    time.sleep(0.3)
    stop.set()
    t.join()
    elapsed = time.monotonic() - start
    proc.terminate()
    proc.wait(5)
    return sent / elapsed, received / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kite")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for dump in (False, True):
            for size in (64, 512, 1514):
                rates = {}
                for name, binary in (("kite", args.kite), ("qemu", "qemu-system-x86_64")):
                    try:
                        rates[name] = run(binary, size, args.seconds, tmp if dump else None)
                    except (RuntimeError, OSError) as e:
                        print(f"{name}: {e}")
                line = f"size {size:5d} dump={'on ' if dump else 'off'}"
                for name, (sent, got) in rates.items():
                    line += f"  {name}: {got:9.0f} frames/s (offered {sent:9.0f})"
                if len(rates) == 2 and rates["qemu"][1] > 0:
                    line += f"  ratio kite/qemu x{rates['kite'][1] / rates['qemu'][1]:.2f}"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
