# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared plumbing for the netmodels tests: namespaces, the tool, checks.

Every test creates its own namespaces, named after the test and its pid so
that tests can run concurrently, and deletes them (and anything still
running in them) at the end, whatever happened.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.environ.get("NETMODEL_TOOL", "")
HELPER = os.path.join(HERE, "nshelper.py")
PYTHON = "/usr/bin/python3"


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def run(argv, check_rc=True, input=None, timeout=60):
    p = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def pid_alive(pid):
    """True for a running process; zombies (whose parent may be a non-reaping init) are gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def config_path(name):
    return os.path.join(HERE, "configs", name)


def load_config(name):
    with open(config_path(name)) as f:
        return json.load(f)


class Env:
    def __init__(self, test):
        self.test = test
        self.tag = f"{test}-{os.getpid()}"
        self.namespaces = []
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix=f"kite-nm-{test}-")

    # --- namespaces -------------------------------------------------------
    def netns(self, role):
        name = f"knm-{self.tag}-{role}"
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def ip(self, ns, *args, check_rc=True):
        return run(["ip", "-n", ns, *args], check_rc=check_rc)

    def sh(self, ns, argv, check_rc=True, input=None, timeout=60):
        return run(["ip", "netns", "exec", ns, *argv], check_rc=check_rc, input=input,
                   timeout=timeout)

    def veth(self, ns_a, name_a, ns_b, name_b, mac_b=None, addr_a=None, addr_b=None):
        self.ip(ns_a, "link", "add", name_a, "type", "veth", "peer", "name", name_b,
                "netns", ns_b)
        if mac_b:
            self.ip(ns_b, "link", "set", name_b, "address", mac_b)
        if addr_a:
            self.ip(ns_a, "addr", "add", addr_a, "dev", name_a)
        if addr_b:
            self.ip(ns_b, "addr", "add", addr_b, "dev", name_b)
        self.ip(ns_a, "link", "set", name_a, "up")
        self.ip(ns_b, "link", "set", name_b, "up")

    # --- the tool under test -----------------------------------------------
    def tool(self, ns, *args, expect=None, input=None):
        """Runs netmodel-tool in NS; EXPECT None = must succeed, else the error code."""
        p = self.sh(ns, [TOOL, *args], check_rc=False, input=input)
        # sanitizer builds: a report fails the test even on an expected error path
        check("Sanitizer" not in p.stderr and "runtime error" not in p.stderr,
              f"netmodel-tool {' '.join(args)}: sanitizer report:\n{p.stderr}")
        if expect is None:
            check(p.returncode == 0,
                  f"netmodel-tool {' '.join(args)} failed: {p.stderr.strip()}")
        else:
            check(p.returncode == 1,
                  f"netmodel-tool {' '.join(args)} exited {p.returncode}, expected error "
                  f"{expect}: {p.stderr.strip()}")
            check(p.stderr.startswith(f"error: {expect}:"),
                  f"netmodel-tool {' '.join(args)}: expected {expect}, got: "
                  f"{p.stderr.strip()}")
        return p

    def write_config(self, cfg, name="net.json"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def state_dir(self, name="state"):
        return os.path.join(self.tmp, name)

    # --- helpers in namespaces ---------------------------------------------
    def helper(self, ns, *args, timeout=60):
        return self.sh(ns, [PYTHON, HELPER, *args], timeout=timeout).stdout.strip()

    def serve(self, ns, port):
        p = subprocess.Popen(["ip", "netns", "exec", ns, PYTHON, HELPER, "serve", str(port)],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        check(p.stdout.readline().strip() == "ready", "peer server did not start")
        return p

    def dhcp(self, ns, iface, mac, hostname):
        out = self.helper(ns, "dhcp", iface, mac, hostname)
        return dict(kv.split("=", 1) for kv in out.split())

    # --- "nothing of ours left" ----------------------------------------------
    def live_pids_mentioning(self, text):
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().decode(errors="replace")
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if text in cmd and state not in ("Z", "X"):
                pids.append(int(pid))
        return pids

    def assert_clean(self, ns, state_dir, bridge=None):
        links = json.loads(self.ip(ns, "-j", "-d", "link", "show").stdout)
        for link in links:
            check(not link.get("ifalias", "").startswith("kite:network:"),
                  f"leftover kite link {link['ifname']} in {ns}")
            check(link["ifname"] != bridge, f"leftover bridge {bridge} in {ns}")
        rules = self.sh(ns, ["nft", "list", "ruleset"]).stdout
        check("kite" not in rules, f"leftover nft rules in {ns}:\n{rules}")
        check(not self.live_pids_mentioning(state_dir),
              f"leftover processes using {state_dir}")
        left = os.listdir(state_dir) if os.path.isdir(state_dir) else []
        check(not left, f"leftover files in {state_dir}: {left}")

    def cleanup(self):
        for p in self.procs:
            p.kill()
            p.wait()
        # anything still running in our namespaces (e.g. a dnsmasq after a failure)
        for ns in self.namespaces:
            pids = run(["ip", "netns", "pids", ns], check_rc=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        for pid in self.live_pids_mentioning(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for ns in self.namespaces:
            run(["ip", "netns", "del", ns], check_rc=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


WAN_HOST = "198.51.100.1"
WAN_PEER = "198.51.100.2"
SERVER_PORT = 7777


def make_wan(env, host_ns):
    """A "WAN" namespace behind the host's uplink; the host's default route goes there."""
    wan = env.netns("wan")
    env.veth(host_ns, "up0", wan, "eth0", addr_a=f"{WAN_HOST}/24", addr_b=f"{WAN_PEER}/24")
    env.ip(host_ns, "route", "add", "default", "via", WAN_PEER)
    return wan


def add_guest(env, host_ns, bridge, role, mac):
    """A "guest" namespace whose eth0 is a veth port of BRIDGE (attached by the library)."""
    guest = env.netns(role)
    port = f"{role[:8]}p"
    env.veth(host_ns, port, guest, "eth0", mac_b=mac)
    env.tool(host_ns, "tap-attach", port, bridge, "0")
    return guest


def main(test_name, body):
    """Runs BODY(env) with cleanup; exit 0 pass, 1 fail, 77 skip."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    if not TOOL or not os.access(TOOL, os.X_OK):
        print("SKIP: NETMODEL_TOOL not set")
        sys.exit(77)
    env = Env(test_name)
    started = time.monotonic()
    try:
        body(env)
    except TestFailure as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    finally:
        env.cleanup()
    print(f"PASS ({time.monotonic() - started:.1f} s)")
