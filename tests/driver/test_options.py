#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Command line and configuration file of virtkited; session mode with an
idle timeout; one daemon per socket."""

import os
import pwd
import subprocess
import tempfile

from kitetest import VIRTKITED, Daemon, Failure, check, run, virsh, wait_for, write_file


def main():
    p = subprocess.run([VIRTKITED, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "--listen-dir" in p.stdout and "--state-root" in p.stdout,
          "--help")
    p = subprocess.run([VIRTKITED, "--version"], capture_output=True, text=True)
    check(p.returncode == 0 and p.stdout.startswith("virtkited"), "--version")
    p = subprocess.run([VIRTKITED, "--no-such-option"], capture_output=True, text=True)
    check(p.returncode == 2 and "no-such-option" in p.stderr, f"bad option: {p.stderr}")
    p = subprocess.run([VIRTKITED, "--timeout", "-3"], capture_output=True, text=True)
    check(p.returncode == 2, "negative timeout accepted")
    for bad in ("0", "-1", "3601"):
        p = subprocess.run([VIRTKITED, "--hook-timeout", bad], capture_output=True, text=True)
        check(p.returncode == 2 and "--hook-timeout" in p.stderr,
              f"--hook-timeout {bad}: {p.returncode} {p.stderr}")

    with tempfile.TemporaryDirectory() as tmp:
        conf = write_file(tmp, "bad.conf", "listen_dir = /tmp/x\nfrobnicate = 1\n")
        p = subprocess.run([VIRTKITED, "--config", conf], capture_output=True, text=True)
        check(p.returncode == 2 and "frobnicate" in p.stderr and "bad.conf:2" in p.stderr,
              f"unknown key: {p.stderr}")
        for text, key in (("hook_timeout = soon\n", "hook_timeout"),
                          ("default_network = maybe\n", "default_network")):
            conf = write_file(tmp, "bad.conf", text)
            p = subprocess.run([VIRTKITED, "--config", conf], capture_output=True, text=True)
            check(p.returncode == 2 and key in p.stderr and "bad.conf:1" in p.stderr,
                  f"bad {key}: {p.stderr}")

        # A config file naming the directories; a pid file.
        root = os.path.join(tmp, "root")
        conf = write_file(tmp, "good.conf",
                          f"# test\nstate_root = {root}\nlisten_dir = \"{root}/sock\"\n")
        pidfile = os.path.join(tmp, "virtkited.pid")
        d = Daemon(root=root, extra_args=["--config", conf, "--pid-file", pidfile])
        d.start()
        try:
            with open(pidfile) as f:
                check(int(f.read()) == d.proc.pid, "pid file content")
            virsh(d.uri, "hostname")
            # A second daemon on the same sockets refuses to start.
            p = subprocess.run([VIRTKITED, "--listen-dir", d.sockdir, "--state-root", root],
                               capture_output=True, text=True, timeout=30)
            check(p.returncode != 0 and "already" in p.stderr, f"second daemon: {p.stderr}")
            check(d.alive(), "first daemon died")
        finally:
            d.stop()
        check(not os.path.exists(pidfile), "pid file left after exit")

        # Session mode: socket under $XDG_RUNTIME_DIR/libvirt, idle timeout.
        # libvirt's client picks the session socket only for non-root
        # users, so as root both sides run as "nobody".
        rt = os.path.join(tmp, "xdg")
        os.makedirs(rt, mode=0o700)
        as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            os.chmod(tmp, 0o755)
            os.chown(rt, pw.pw_uid, pw.pw_gid)
            as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                       "--clear-groups"]
        env = dict(os.environ, XDG_RUNTIME_DIR=rt, HOME=rt, XDG_CONFIG_HOME=rt + "/cfg",
                   XDG_CACHE_HOME=rt + "/cache")
        s = subprocess.Popen(as_user + [VIRTKITED, "--timeout", "1"], env=env,
                             stderr=subprocess.PIPE, text=True)
        try:
            sock = os.path.join(rt, "libvirt", "virtkited-sock")
            wait_for(lambda: os.path.exists(sock), "session socket", timeout=20)
            p = subprocess.run(as_user + ["virsh", "-q", "-c", "kite:///session", "uri"],
                               env=env, capture_output=True, text=True, timeout=30)
            check(p.returncode == 0 and p.stdout.strip() == "kite:///session",
                  f"virsh on kite:///session: {p.stdout} {p.stderr}")
            p = subprocess.run(as_user + ["virsh", "-q", "-c", "kite:///session", "list",
                                          "--all"],
                               env=env, capture_output=True, text=True, timeout=30)
            check(p.returncode == 0, f"virsh list on kite:///session: {p.stderr}")
            check(not os.path.exists(os.path.join(rt, "libvirt", "virtkited-sock-ro")),
                  "session daemon must not create a read-only socket")
            try:
                rc = s.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise Failure("session daemon ignored --timeout")
            err = s.stderr.read()
            check(rc == 0 and "serving kite:///session" in err,
                  f"session daemon exit status {rc}: {err}")
            check(not os.path.exists(sock), "socket left after idle exit")
        finally:
            if s.poll() is None:
                s.kill()
                s.wait()


run(main)
