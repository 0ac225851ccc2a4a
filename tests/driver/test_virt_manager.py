#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virt-manager, the real GUI, under Xvfb against a private virtkited.

A daemon with the demo domain (the test guest serving TCP echo on port 7)
defined and running; `virt-manager --no-fork --debug --connect URI` under
xvfb-run. The test follows virt-manager's debug log until the connection is
Active and the domain is listed as Running, then waits (through the daemon's
call log) until virt-manager has polled the connection once more after its
first tick, takes a screenshot of the whole display, checks that the manager
window exists, and fails on any error in virt-manager's log that is not a
tolerated NO_SUPPORT answer (libvirt-rpc.md section 6: storage and node
device APIs are absent from kite and virt-manager copes).

Artifacts (paths printed): BUILD/tests/driver/virt-manager/screenshot.png,
virt-manager.log and daemon.log.

Skips (77) when virt-manager, xvfb-run or ImageMagick's import is missing,
or when the emulator is not built.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import kitetest
from kitetest import Failure, check, virsh

DOMAIN = "kite-demo"
# libvirt's message for VIR_ERR_NO_SUPPORT: the only error virt-manager may
# log about this connection.
NO_SUPPORT = "this function is not supported by the connection driver"
# One virt-manager log record: "[date virt-manager PID] LEVEL (module:line) text"
RECORD = re.compile(r"^\[[^\]]*virt-manager \d+\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
# A Python exception line ending a traceback ("libvirt.libvirtError: ...")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")
HANG_GUARD = 40  # seconds, for the whole wait on virt-manager


def tools_present():
    for tool in ("virt-manager", "xvfb-run", "import"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} is not installed "
                  "(apt-get install virt-manager xvfb xauth imagemagick)")
            sys.exit(kitetest.SKIP)


def artifact_dir():
    build = os.environ.get("KITE_BUILD_ROOT") or tempfile.gettempdir()
    path = os.path.join(build, "tests", "driver", "virt-manager")
    os.makedirs(path, exist_ok=True)
    return path


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def records(text):
    """virt-manager's log as records: a header line and its continuation
    lines (multi-line XML, tracebacks). Lines before the first header and
    GLib's own "(virt-manager:PID): ..." messages are records of their own."""
    out = []
    for line in text.splitlines():
        if RECORD.match(line) or line.startswith("(virt-manager:") or not out:
            out.append([line])
        else:
            out[-1].append(line)
    return ["\n".join(r) for r in out]


def is_error(record):
    head = record.split("\n", 1)[0]
    m = RECORD.match(head)
    if m and m.group(1) in ("ERROR", "CRITICAL"):
        return True
    return bool(re.search(r"Traceback|libvirtError|\berror\b", record, re.IGNORECASE))


def tolerated(record):
    """An error record is tolerated when it is about a NO_SUPPORT answer:
    the message says so and every exception line in it does too."""
    if NO_SUPPORT not in record:
        return False
    return all(NO_SUPPORT in line for line in record.splitlines()
               if EXCEPTION_LINE.match(line))


def glib_noise(record):
    # GLib warnings of the headless session (no D-Bus for dconf): not ours
    return record.startswith("(virt-manager:") and "dconf" in record


def calls(daemon_log, proc):
    return len(re.findall(rf"\bprog 0x20008086 proc {proc} type 0\b", daemon_log))


class VirtManager:
    """virt-manager under xvfb-run in a session of its own, so that the
    whole group (xvfb-run, Xvfb, virt-manager) is ended together."""

    def __init__(self, uri, workdir):
        self.workdir = workdir
        self.log = os.path.join(workdir, "virt-manager.log")
        self.xenv = os.path.join(workdir, "display")
        home = os.path.join(workdir, "home")
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ)
        # a throw-away home: virt-manager keeps its own log and settings
        # there; in-memory GSettings, since there is no D-Bus for dconf
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"),
                   GSETTINGS_BACKEND="memory", NO_AT_BRIDGE="1")
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        # The inner shell records the display xvfb-run picked (-a) and its
        # cookie file, so the screenshot can be taken on that display.
        inner = 'printf "%s\\n%s\\n" "$DISPLAY" "$XAUTHORITY" > "$0"; exec "$@"'
        argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "sh", "-c", inner, self.xenv,
                "virt-manager", "--no-fork", "--debug", "--connect", uri]
        self.out = open(self.log, "w")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self):
        return read(self.log)

    def display_env(self):
        lines = read(self.xenv).splitlines()
        check(len(lines) >= 2 and lines[0], "xvfb-run did not report its display")
        env = dict(os.environ)
        env["DISPLAY"], env["XAUTHORITY"] = lines[0], lines[1]
        return env

    def stop(self):
        if self.proc.poll() is None:
            # SIGTERM to the group: xvfb-run's trap then stops its Xvfb
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # whatever of the group outlived xvfb-run (Xvfb, virt-manager)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        # until init has reaped them all (a hang guard, not a timing need)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.out.close()


def wait_for(what, cond, vmm, deadline):
    while time.monotonic() < deadline:
        if cond():
            return
        if vmm.proc.poll() is not None:
            raise Failure(f"virt-manager exited ({vmm.proc.returncode}) before {what}")
        time.sleep(0.1)
    raise Failure(f"virt-manager: no sign of {what} within {HANG_GUARD} s")


def run(daemon, outdir):
    guest = os.path.abspath(kitetest.GUEST_ELF)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "examples", "demo-domain.xml")
    # The forward's host port: any free one (nothing connects to it here).
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    xml = read(src).replace("@GUEST_ELF@", guest).replace("@HOST_PORT@", str(port))
    check(DOMAIN in xml, f"{src} is not the demo domain")
    with open(daemon.path("demo-domain.xml"), "w") as f:
        f.write(xml)
    virsh(daemon.uri, "define", daemon.path("demo-domain.xml"))
    virsh(daemon.uri, "start", DOMAIN)
    state = virsh(daemon.uri, "domstate", DOMAIN).stdout.strip()
    check(state == "running", f"{DOMAIN} is {state!r} after virsh start")

    vmm = VirtManager(daemon.uri, daemon.path())
    try:
        deadline = time.monotonic() + HANG_GUARD
        active = f"conn={daemon.uri} changed to state=Active"
        listed = f"domain={DOMAIN} status=Running added"
        wait_for("the connection going Active", lambda: active in vmm.text(), vmm, deadline)
        print("virt-manager: connection Active")
        wait_for(f"{DOMAIN} listed as Running", lambda: listed in vmm.text(), vmm, deadline)
        print(f"virt-manager: {DOMAIN} listed as Running")
        wait_for("the manager window", lambda: "Showing manager" in vmm.text(), vmm, deadline)
        # node_get_info (6) starts each of virt-manager's ticks: two of them
        # mean the first 3-second poll after the initial tick has been served.
        wait_for("a second poll of the connection",
                 lambda: calls(read(daemon.log), 6) >= 2, vmm, deadline)
        print(f"virt-manager: polled (node_get_info x{calls(read(daemon.log), 6)}, "
              f"get_all_domain_stats x{calls(read(daemon.log), 344)}, "
              f"domain_get_info x{calls(read(daemon.log), 16)})")

        env = vmm.display_env()
        shot = os.path.join(outdir, "screenshot.png")
        p = subprocess.run(["import", "-window", "root", shot], env=env,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"import -window root failed: {p.stderr.strip()}")
        print(f"screenshot: {shot}")
        # The manager window is mapped on that display (import finds windows
        # by name), and the screen is not an empty framebuffer.
        p = subprocess.run(["import", "-window", "Virtual Machine Manager",
                            os.path.join(outdir, "manager-window.png")],
                           env=env, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0,
              f"no 'Virtual Machine Manager' window on {env['DISPLAY']}: {p.stderr.strip()}")
        p = subprocess.run(["identify", "-format", "%k", shot], capture_output=True,
                           text=True, timeout=30)
        colours = int(p.stdout.strip() or "0")
        check(colours > 16, f"the screenshot has only {colours} colours: nothing drawn?")
        check(vmm.proc.poll() is None, "virt-manager exited by itself")
    finally:
        vmm.stop()
        shutil.copy(vmm.log, os.path.join(outdir, "virt-manager.log"))
        print(f"virt-manager log: {os.path.join(outdir, 'virt-manager.log')}")

    log = read(vmm.log)
    bad, tolerated_n = [], 0
    for record in records(log):
        if glib_noise(record) or not is_error(record):
            continue
        if tolerated(record):
            tolerated_n += 1
        else:
            bad.append(record)
    print(f"virt-manager log: {tolerated_n} tolerated NO_SUPPORT record(s)")
    if bad:
        raise Failure("errors in virt-manager's log:\n" + "\n----\n".join(bad))
    check("state=Disconnected" not in log, "virt-manager lost the connection")
    # still the right answer from the daemon after virt-manager's calls
    check(virsh(daemon.uri, "domstate", DOMAIN).stdout.strip() == "running",
          f"{DOMAIN} is no longer running")


def main():
    tools_present()
    kitetest.need_kite()
    outdir = artifact_dir()
    daemon = kitetest.Daemon()
    try:
        daemon.start()
        run(daemon, outdir)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"FAIL: {e}")
        sys.stderr.write("---- daemon log ----\n" + daemon.logtext() + "\n")
        return 1
    finally:
        shutil.copy(daemon.log, os.path.join(outdir, "daemon.log")) \
            if os.path.exists(daemon.log) else None
        if daemon.alive():
            virsh(daemon.uri, "destroy", DOMAIN, check_rc=False)
            virsh(daemon.uri, "undefine", DOMAIN, check_rc=False)
        daemon.cleanup()
    print("PASS: virt-manager connected, listed the running domain, no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
