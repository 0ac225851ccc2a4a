#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Management daemon benchmark: virtkited + kite against libvirtd's qemu
driver + QEMU 7.2, in one run, through the same python3-libvirt client.

  (a) start: virDomainCreate of the test guest (`tcp-echo-server 7`, 64 MiB,
      direct kernel boot, serial port into a file) to the guest's first
      serial line appearing in that file (median of --runs)
  (b) list: `virsh list --all` (the whole command) and listAllDomains() with
      --domains defined domains
  (c) define+undefine rate: --rate-count definitions then as many
      undefinitions, operations per second
  (d) daemon RSS (VmRSS): idle (no domain) and with --domains defined

libvirtd runs privately in its own mount and network namespaces through
tests/xml/tools/private-libvirtd.sh (tmpfs over /run, /var/lib, /etc/libvirt:
nothing touches the host's libvirt); its client half runs in those namespaces
(nsenter). virtkited runs with a private state root and socket, on a tmpfs
like libvirtd's (--kite-state-dir to put it elsewhere).

A benchmark, not a test: it prints a table and ratios against the issue's
targets (start at least 10x faster than libvirt+QEMU, list of 1000 under
50 ms) and never fails on a number. Root only (namespaces).

usage: daemon.py BUILD_DIR [--runs N] [--domains N] [--rate-count N] [--skip-libvirtd]
                 [--kite-state-dir DIR] [--json FILE]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# python3-libvirt lives in Debian's python only
HERE = os.path.dirname(os.path.abspath(__file__))
PRIVATE_LIBVIRTD = os.path.join(HERE, "..", "xml", "tools", "private-libvirtd.sh")


def guest_xml(name, guest, serial_file=None):
    serial = (f"<serial type='file'><source path='{serial_file}'/><target port='0'/></serial>"
              if serial_file else "")
    return f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest}</kernel>
    <cmdline>tcp-echo-server 7</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <interface type='user'><model type='virtio'/></interface>
    {serial}
  </devices>
</domain>"""


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


# ------------------------------------------------------------ client half

def client(args):
    """Runs next to the daemon (in libvirtd's namespaces for libvirtd):
    does the measurements and prints them as one JSON object."""
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(args.uri)
    out = {"errors": []}
    out["rss_idle_kib"] = vmrss_kib(args.pid)

    # (a) start to first serial line
    starts = []
    for i in range(args.runs):
        serial = os.path.join(args.workdir, f"serial-{i}.log")
        if os.path.exists(serial):
            os.unlink(serial)
        dom = conn.defineXML(guest_xml(f"bench-start-{i}", args.guest, serial))
        t0 = time.monotonic()
        try:
            dom.create()
        except libvirt.libvirtError as e:
            out["errors"].append(f"start: {e}")
            dom.undefine()
            break
        t_api = time.monotonic() - t0
        first = None
        while time.monotonic() - t0 < 60:
            try:
                with open(serial, "rb") as f:
                    if b"\n" in f.read():
                        first = time.monotonic() - t0
                        break
            except OSError:
                pass
            time.sleep(0.001)
        dom.destroy()
        dom.undefine()
        if first is None:
            out["errors"].append("start: no serial line within 60 s")
            break
        starts.append((t_api, first))
    if starts:
        out["start_api_s"] = statistics.median(s[0] for s in starts)
        out["start_first_line_s"] = statistics.median(s[1] for s in starts)

    # (c) define+undefine rate (before the big population: an empty daemon)
    t0 = time.monotonic()
    doms = [conn.defineXML(guest_xml(f"bench-rate-{i}", args.guest))
            for i in range(args.rate_count)]
    t_def = time.monotonic() - t0
    t0 = time.monotonic()
    for d in doms:
        d.undefine()
    t_undef = time.monotonic() - t0
    out["define_per_s"] = args.rate_count / t_def
    out["undefine_per_s"] = args.rate_count / t_undef
    out["define_undefine_per_s"] = 2 * args.rate_count / (t_def + t_undef)

    # (b) and (d) with N domains
    t0 = time.monotonic()
    for i in range(args.domains):
        conn.defineXML(guest_xml(f"bench-{i:04d}", args.guest))
    out["populate_s"] = time.monotonic() - t0
    time.sleep(0.5)
    out["rss_loaded_kib"] = vmrss_kib(args.pid)
    virsh_t, api_t = [], []
    for _ in range(5):
        t0 = time.monotonic()
        p = subprocess.run(["virsh", "-q", "-c", args.uri, "list", "--all"],
                           capture_output=True, text=True)
        virsh_t.append(time.monotonic() - t0)
        rows = len([l for l in p.stdout.splitlines() if l.strip()])
        if p.returncode != 0 or rows != args.domains:
            out["errors"].append(f"virsh list --all: rc {p.returncode}, {rows} rows "
                                 f"{p.stderr.strip()}")
        t0 = time.monotonic()
        n = len(conn.listAllDomains(0))
        api_t.append(time.monotonic() - t0)
        if n != args.domains:
            out["errors"].append(f"listAllDomains: {n} domains")
    out["virsh_list_s"] = statistics.median(virsh_t)
    out["api_list_s"] = statistics.median(api_t)
    t0 = time.monotonic()
    for d in conn.listAllDomains(0):
        d.undefine()
    out["unpopulate_s"] = time.monotonic() - t0
    conn.close()
    print(json.dumps(out))
    return 0


# ------------------------------------------------------------ daemons

def wait_socket(path, proc, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def run_client(prefix, uri, pid, args, workdir):
    argv = prefix + ["/usr/bin/python3", os.path.abspath(__file__), "--client", "--uri", uri,
                     "--pid", str(pid), "--guest", args.guest, "--workdir", workdir,
                     "--runs", str(args.runs), "--domains", str(args.domains),
                     "--rate-count", str(args.rate_count)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        print(f"client failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_kite(args, work):
    # On a tmpfs by default, like the private libvirtd's /etc/libvirt and
    # /run: both daemons then write their definitions to memory, and
    # virtkited's fsync()s cost what they cost there (--kite-state-dir
    # /some/disk to see them on a disk).
    root = tempfile.mkdtemp(prefix="kite-bench-daemon-", dir=args.kite_state_dir)
    sockdir = os.path.join(root, "sock")
    log = os.path.join(root, "virtkited.log")
    daemon = subprocess.Popen([args.virtkited, "--state-root", root, "--listen-dir", sockdir,
                               "--emulator", args.kite, "--log-file", log],
                              stdin=subprocess.DEVNULL)
    try:
        sock = os.path.join(sockdir, "virtkited-sock")
        if not wait_socket(sock, daemon, 20):
            print("virtkited did not start:", open(log).read()[-2000:])
            return None
        time.sleep(0.2)
        return run_client([], f"kite:///system?socket={sock}", daemon.pid, args, root)
    finally:
        daemon.terminate()
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(root, ignore_errors=True)


def bench_libvirtd(args, work):
    root = os.path.join(work, "qemu")
    os.makedirs(root)
    log = open(os.path.join(root, "libvirtd.log"), "w")
    # unshare and sh exec, so this pid ends up being libvirtd's
    # TMPDIR: the script's scratch directory (its passwd copy) lands in
    # ours and goes with it
    daemon = subprocess.Popen(["unshare", "-m", "-n", "--propagation", "private",
                               "sh", PRIVATE_LIBVIRTD], stdin=subprocess.DEVNULL,
                              stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, TMPDIR=root))
    ns = ["nsenter", "-t", str(daemon.pid), "-m", "-n"]
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and daemon.poll() is None:
            p = subprocess.run(ns + ["virsh", "-c", "qemu:///system", "version"],
                               capture_output=True, text=True)
            if p.returncode == 0:
                ready = True
                break
            time.sleep(0.2)
        if not ready:
            log.flush()
            print("private libvirtd did not start:",
                  open(os.path.join(root, "libvirtd.log")).read()[-2000:])
            return None
        return run_client(ns, "qemu:///system", daemon.pid, args, root)
    finally:
        # the qemu processes of its domains die with libvirtd's destroy calls;
        # its tmpfs mounts vanish with the namespace
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v * 1000:.1f} ms"
    if unit == "MiB":
        return f"{v / 1024:.1f} MiB"
    return f"{v:.0f} {unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--rate-count", type=int, default=200)
    ap.add_argument("--skip-libvirtd", action="store_true")
    ap.add_argument("--kite-state-dir", default="/dev/shm",
                    help="where virtkited's state root is made (default: a tmpfs)")
    ap.add_argument("--json")
    # the client half (internal)
    ap.add_argument("--client", action="store_true")
    ap.add_argument("--uri")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--guest")
    ap.add_argument("--workdir")
    args = ap.parse_args()
    if args.client:
        return client(args)
    if not args.build:
        ap.error("BUILD_DIR is needed")
    build = os.path.abspath(args.build)
    args.kite = os.path.join(build, "emulator", "kite")
    args.virtkited = os.path.join(build, "driver", "virtkited")
    args.guest = os.path.join(build, "tests", "guest", "guest.elf")
    for f in (args.kite, args.virtkited, args.guest):
        if not os.path.exists(f):
            print(f"daemon.py: {f} is missing: build first")
            return 1
    if os.geteuid() != 0:
        print("daemon.py: needs root (namespaces for the private libvirtd)")
        return 1

    work = tempfile.mkdtemp(prefix="kite-bench-daemon-")
    try:
        results = {"kite": bench_kite(args, work)}
        results["qemu"] = None if args.skip_libvirtd else bench_libvirtd(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("start -> first serial line", "start_first_line_s", "ms", "low"),
        ("  (virDomainCreate returns)", "start_api_s", "ms", "low"),
        (f"virsh list --all ({args.domains})", "virsh_list_s", "ms", "low"),
        (f"listAllDomains ({args.domains})", "api_list_s", "ms", "low"),
        (f"define x{args.rate_count}", "define_per_s", "ops/s", "high"),
        (f"undefine x{args.rate_count}", "undefine_per_s", "ops/s", "high"),
        ("define+undefine", "define_undefine_per_s", "ops/s", "high"),
        (f"define {args.domains} (total)", "populate_s", "ms", "low"),
        ("daemon RSS idle", "rss_idle_kib", "MiB", "low"),
        (f"daemon RSS, {args.domains} domains", "rss_loaded_kib", "MiB", "low"),
    ]
    k, q = results["kite"] or {}, results["qemu"] or {}
    print(f"\n{'':34s} {'virtkited+kite':>16s} {'libvirtd+QEMU':>16s} {'advantage':>10s}")
    for label, key, unit, better in rows:
        kv, qv = k.get(key), q.get(key)
        adv = "-"
        if kv and qv:
            adv = f"{(qv / kv if better == 'low' else kv / qv):.1f}x"
        print(f"{label:34s} {fmt(kv, unit):>16s} {fmt(qv, unit):>16s} {adv:>10s}")
    print("(advantage: how many times better kite is; above 1 = kite better)")
    for side, r in (("kite", k), ("qemu", q)):
        for e in r.get("errors", []):
            print(f"{side}: error: {e}")
    print("\ntargets:")
    if k.get("start_first_line_s") and q.get("start_first_line_s"):
        ratio = q["start_first_line_s"] / k["start_first_line_s"]
        print(f"  start >= 10x faster than libvirt+QEMU: {ratio:.1f}x "
              f"({'met' if ratio >= 10 else 'NOT met'})")
    if k.get("virsh_list_s") is not None:
        print(f"  virsh list --all of {args.domains} < 50 ms: "
              f"{k['virsh_list_s'] * 1000:.1f} ms "
              f"({'met' if k['virsh_list_s'] < 0.05 else 'NOT met'}; "
              f"listAllDomains alone {k['api_list_s'] * 1000:.1f} ms)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if results["kite"] else 1


if __name__ == "__main__":
    sys.exit(main())
