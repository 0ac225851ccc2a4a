# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of kite's emulator tests (stdlib only).

The build passes the paths through the environment: KITE (the binary),
MKPVH (tiny PVH kernel generator), GUEST_ELF (the test guest, may be
missing while it is not built).
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

KITE = os.environ.get('KITE', 'kite')
MKPVH = os.environ.get('MKPVH', os.path.join(os.path.dirname(__file__), 'mkpvh.py'))
GUEST_ELF = os.environ.get('GUEST_ELF', '')

# isa-debug-exit: (code << 1) | 1
EXIT_PASS = 1
EXIT_FAIL = 3


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def tmpdir():
    return tempfile.mkdtemp(prefix='kite-test-')


def make_pvh(path, *args):
    subprocess.run([sys.executable, MKPVH, path, *args], check=True)
    return path


def base_args(kernel, *extra):
    return ['-enable-kvm', '-m', '64', '-display', 'none', '-nodefaults',
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-kernel', kernel, *extra]


def idle_args(kernel, *extra):
    """A machine whose kernel prints, then halts forever (no isa-debug-exit)."""
    return ['-enable-kvm', '-m', '64', '-display', 'none', '-nodefaults', '-kernel', kernel,
            *extra]


def run(args, timeout=60, stdin=subprocess.DEVNULL):
    """Run kite to completion; returns CompletedProcess with text output."""
    return subprocess.run([KITE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=stdin, timeout=timeout, text=True, errors='replace')


def wait_for_path(path, proc=None, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if proc is not None and proc.poll() is not None:
            raise TestFailure(f'kite exited early ({proc.returncode}): '
                              f'{proc.stderr.read() if proc.stderr else ""}')
        time.sleep(0.02)
    raise TestFailure(f'{path} did not appear')


def unix_connect(path, timeout=10):
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


class QMP:
    """A QMP client that keeps events apart from replies."""

    def __init__(self, path, timeout=20):
        self.sock = unix_connect(path, timeout)
        self.file = self.sock.makefile('rwb')
        self.events = []
        self.greeting = self._read()

    def _read(self):
        line = self.file.readline()
        if not line:
            raise TestFailure('QMP connection closed')
        check(line.endswith(b'\r\n'), f'QMP line does not end in CRLF: {line!r}')
        return json.loads(line)

    def send(self, command, arguments=None, id=None):
        msg = {'execute': command}
        if arguments is not None:
            msg['arguments'] = arguments
        if id is not None:
            msg['id'] = id
        self.file.write(json.dumps(msg).encode() + b'\n')
        self.file.flush()

    def cmd(self, command, arguments=None, id=None):
        """Send and return the reply; events seen meanwhile are kept."""
        self.send(command, arguments, id)
        while True:
            msg = self._read()
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def wait_event(self, name, timeout=20):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] == name:
                    return self.events.pop(i)
            if time.monotonic() > end:
                raise TestFailure(f'no {name} event (have {self.events})')
            self.sock.settimeout(max(0.1, end - time.monotonic()))
            self.events.append(self._read())

    def close(self):
        self.file.close()
        self.sock.close()


def main(tests):
    """Run the named test functions (argv[1:] selects; default all)."""
    names = sys.argv[1:] or list(tests)
    failed = 0
    for name in names:
        try:
            tests[name]()
            print(f'ok {name}')
        except Exception as e:  # report every failure, then exit non-zero
            failed += 1
            print(f'FAIL {name}: {type(e).__name__}: {e}')
    sys.exit(1 if failed else 0)
