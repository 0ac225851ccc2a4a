# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the kite test guest under an emulator and collect its result.

The emulator is a parameter: QEMU with KVM, QEMU with TCG, or kite (which
takes the same command line). Other tests import this module:

    import harness
    emu = harness.Emulator('qemu-tcg')
    res = harness.run_scenario(emu, 'build/tests/guest/guest.elf',
                               ['ping', '10.0.2.2'], nic='virtio')
    assert res.passed, res.describe()

or, to interact with a running guest:

    with harness.GuestRun(emu, elf, ['link-watch', '20'], nic='e1000',
                          monitor=True) as run:
        run.wait_for(r'^LINK-READY')
        run.hmp('set_link n0 off')
        res = run.result()

Every wait has a timeout; on timeout the emulator is killed.
"""

import os
import re
import socket
import subprocess
import tempfile
import threading
import time

EMULATORS = ('qemu-kvm', 'qemu-tcg', 'kite')
# Short case-name suffix -> the emulator's -device model.
NIC_DEVICES = {
    'virtio': 'virtio-net-pci',
    'e1000': 'e1000',
    'e1000e': 'e1000e',
    'rtl8139': 'rtl8139',
    'pcnet': 'pcnet',
    'ne2k': 'ne2k_pci',
    'i82551': 'i82551',
    'i82557b': 'i82557b',
    'i82559er': 'i82559er',
}
RESULT_RE = re.compile(r'^KTEST (\S+) (PASS|FAIL)(?: (.*))?$')

# QEMU's isa-debug-exit makes the emulator exit with (code << 1) | 1.
EXIT_PASS = 1
EXIT_FAIL = 3


class HarnessError(Exception):
    pass


class Emulator:
    """Which program boots the guest, and how it is accelerated."""

    def __init__(self, kind, binary=None):
        if kind not in EMULATORS:
            raise HarnessError(f'unknown emulator {kind!r} (expected one of {", ".join(EMULATORS)})')
        if kind == 'kite' and not binary:
            raise HarnessError('emulator kite needs the path of the kite binary')
        self.kind = kind
        self.binary = binary or 'qemu-system-x86_64'

    @property
    def uses_kvm(self):
        return self.kind in ('qemu-kvm', 'kite')

    def accel_args(self):
        return ['-accel', 'tcg'] if self.kind == 'qemu-tcg' else ['-enable-kvm']

    def __str__(self):
        return self.kind


def kvm_usable():
    return os.access('/dev/kvm', os.R_OK | os.W_OK)


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def build_command(emu, guest_elf, scenario, nic=None, netdev_opts=(), extra_args=(),
                  monitor_path=None, mem_mb=128, nic_opts=()):
    """The emulator command line; valid for QEMU and kite alike.
    'nic_opts' are extra properties of the card (e.g. 'mac=...')."""
    cmd = [emu.binary] + emu.accel_args() + [
        '-M', 'pc', '-m', str(mem_mb),
        '-display', 'none', '-nodefaults', '-no-reboot',
        '-serial', 'stdio',
        '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
        '-kernel', str(guest_elf),
        '-append', ' '.join(scenario),
    ]
    if nic:
        if nic not in NIC_DEVICES:
            raise HarnessError(f'unknown nic {nic!r} (expected one of {", ".join(NIC_DEVICES)})')
        cmd += ['-netdev', ','.join(['user', 'id=n0'] + list(netdev_opts)),
                '-device', ','.join([NIC_DEVICES[nic], 'netdev=n0'] + list(nic_opts))]
    if monitor_path:
        cmd += ['-monitor', f'unix:{monitor_path},server=on,wait=off']
    return cmd + list(extra_args)


class Result:
    """What one guest run produced.

    status: PASS or FAIL (from the KTEST line), TIMEOUT (killed), or
    NORESULT (the emulator exited without a KTEST line)."""

    def __init__(self, status, name, detail, exit_code, lines, stderr, elapsed, cmd):
        self.status = status
        self.name = name
        self.detail = detail
        self.exit_code = exit_code
        self.lines = lines
        self.stderr = stderr
        self.elapsed = elapsed
        self.cmd = cmd

    @property
    def passed(self):
        return self.status == 'PASS' and self.exit_code == EXIT_PASS

    @property
    def output(self):
        return '\n'.join(self.lines)

    def describe(self):
        cmd = ' '.join(self.cmd)
        return (f'status={self.status} exit={self.exit_code} detail={self.detail!r} '
                f'elapsed={self.elapsed:.1f}s\ncommand: {cmd}\n'
                f'--- serial ---\n{self.output}\n--- stderr ---\n{self.stderr}')


class GuestRun:
    """One running emulator with the guest; use as a context manager."""

    def __init__(self, emu, guest_elf, scenario, nic=None, netdev_opts=(), extra_args=(),
                 monitor=False, timeout=None, env=None, nic_opts=()):
        self.emu = emu
        self.timeout = timeout or (120 if emu.uses_kvm else 60)
        self.tmpdir = tempfile.TemporaryDirectory(prefix='kite-guest-')
        self.monitor_path = os.path.join(self.tmpdir.name, 'monitor.sock') if monitor else None
        self.cmd = build_command(emu, guest_elf, scenario, nic, netdev_opts, extra_args,
                                 self.monitor_path, nic_opts=nic_opts)
        self.env = env
        self.lines = []
        self.stderr_chunks = []
        self.cond = threading.Condition()
        self.eof = False
        self.proc = None
        self.mon = None
        self.started = None

    # -- lifecycle --
    def start(self):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        if self.mon:
            try:
                self.mon.close()
            except OSError:
                pass
            self.mon = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    f.close()
                except (OSError, ValueError):
                    pass
        self.tmpdir.cleanup()

    def _read_stdout(self):
        buf = b''
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b''):
            buf += chunk
            *complete, buf = buf.split(b'\n')
            with self.cond:
                for raw in complete:
                    self.lines.append(raw.decode('utf-8', 'replace').rstrip('\r'))
                self.cond.notify_all()
        with self.cond:
            if buf:
                self.lines.append(buf.decode('utf-8', 'replace').rstrip('\r'))
            self.eof = True
            self.cond.notify_all()

    def _read_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b''):
            self.stderr_chunks.append(chunk)

    def _remaining(self):
        return self.started + self.timeout - time.monotonic()

    # -- serial --
    def wait_for(self, pattern, timeout=None):
        """Waits for a serial line matching 'pattern' (from the start of
        the output); returns the match. Raises HarnessError on timeout or
        when the emulator exits first."""
        rx = re.compile(pattern)
        limit = time.monotonic() + min(timeout or self.timeout, max(self._remaining(), 0))
        seen = 0
        with self.cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.eof:
                    raise HarnessError(f'emulator exited before a line matching {pattern!r}')
                left = limit - time.monotonic()
                if left <= 0:
                    raise HarnessError(f'no line matching {pattern!r} within the timeout')
                self.cond.wait(left)

    def finished(self):
        """Whether the guest printed its KTEST line or the emulator ended."""
        with self.cond:
            return self.eof or any(RESULT_RE.match(line) for line in self.lines)

    def send_serial(self, data):
        self.proc.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.proc.stdin.flush()

    # -- monitor --
    def hmp(self, command, timeout=10):
        """Runs one human monitor command; returns its output."""
        if not self.monitor_path:
            raise HarnessError('this run has no monitor (pass monitor=True)')
        if not self.mon:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.monitor_path)
                    break
                except OSError:
                    s.close()
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise HarnessError('cannot connect to the monitor')
                    time.sleep(0.05)
            s.settimeout(timeout)
            self.mon = s
            self._hmp_read_prompt()
        self.mon.sendall(command.encode() + b'\n')
        out = self._hmp_read_prompt()
        # The monitor echoes the command line first; drop it.
        text = out.decode('utf-8', 'replace').replace('\r', '')
        text = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', text)
        lines = text.split('\n')
        if lines and command in lines[0]:
            lines = lines[1:]
        return '\n'.join(lines)

    def _hmp_read_prompt(self):
        data = b''
        while not data.endswith(b'(qemu) '):
            try:
                chunk = self.mon.recv(65536)
            except socket.timeout:
                raise HarnessError('monitor did not answer') from None
            if not chunk:
                raise HarnessError('monitor closed the connection')
            data += chunk
        return data[:-len(b'(qemu) ')]

    # -- result --
    def result(self, timeout=None):
        """Waits for the KTEST line and the emulator's exit."""
        status = name = detail = None
        try:
            m = self.wait_for(RESULT_RE.pattern, timeout)
            name, status, detail = m.group(1), m.group(2), m.group(3) or ''
        except HarnessError:
            status = 'NORESULT' if self.eof else 'TIMEOUT'
        exit_code = None
        if status != 'TIMEOUT':
            try:
                exit_code = self.proc.wait(timeout=max(5, min(15, self._remaining())))
            except subprocess.TimeoutExpired:
                status = 'TIMEOUT' if status == 'NORESULT' else status
        if exit_code is None:
            self.proc.kill()
            self.proc.wait()
        with self.cond:
            # Let the reader drain what is left.
            self.cond.wait_for(lambda: self.eof, timeout=2)
            lines = list(self.lines)
        stderr = b''.join(self.stderr_chunks).decode('utf-8', 'replace')
        return Result(status, name, detail, exit_code, lines, stderr,
                      time.monotonic() - self.started, self.cmd)


def run_scenario(emu, guest_elf, scenario, nic=None, netdev_opts=(), extra_args=(),
                 timeout=None, nic_opts=()):
    """Boots the guest with 'scenario' (a list: name then arguments) and
    returns its Result."""
    with GuestRun(emu, guest_elf, scenario, nic, netdev_opts, extra_args,
                  timeout=timeout, nic_opts=nic_opts) as run:
        return run.result()
