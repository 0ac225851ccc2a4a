#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Register-level checks through the qtest protocol (no vCPU), and a
garbage writer that throws random values at every device; kite must
answer every command and exit cleanly afterwards."""
import os
import random
import signal
import subprocess
import time

from kitetest import KITE, QMP, check, main, tmpdir, unix_connect


class QTest:
    def __init__(self, *extra, env=None):
        self.dir = tmpdir()
        self.path = os.path.join(self.dir, 'qtest.sock')
        self.proc = subprocess.Popen([KITE, '-accel', 'qtest', '-qtest',
                                      f'unix:{self.path},server=on,wait=off', '-m', '64',
                                      '-nodefaults', '-display', 'none', *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.sock = unix_connect(self.path)
        self.file = self.sock.makefile('rwb')
        self.irqs = []

    def cmd(self, line):
        self.file.write(line.encode() + b'\n')
        self.file.flush()
        while True:
            r = self.file.readline().decode()
            check(r, f'qtest connection closed after {line!r}')
            r = r.rstrip('\n')
            if r.startswith('IRQ '):
                self.irqs.append(r)
                continue
            return r

    def ok(self, line):
        r = self.cmd(line)
        check(r == 'OK' or r.startswith('OK '), f'{line!r} -> {r!r}')
        return r[3:]

    def inb(self, port):
        return int(self.ok(f'inb 0x{port:x}'), 16)

    def inl(self, port):
        return int(self.ok(f'inl 0x{port:x}'), 16)

    def inw(self, port):
        return int(self.ok(f'inw 0x{port:x}'), 16)

    def outb(self, port, v):
        self.ok(f'outb 0x{port:x} 0x{v:x}')

    def outl(self, port, v):
        self.ok(f'outl 0x{port:x} 0x{v:x}')

    def pci_cfg(self, devfn, off):
        self.outl(0xcf8, 0x80000000 | devfn << 8 | (off & 0xfc))
        return self.inl(0xcfc)

    def finish(self):
        """SIGTERM: kite must exit 0 like QEMU's qtest."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        err = self.proc.stderr.read().decode()
        check(rc == 0, f'exit {rc} after SIGTERM, stderr {err!r}')
        check('terminating on signal 15' in err, err)
        check(not os.path.exists(self.path), 'qtest socket left behind')


def serial_registers():
    q = QTest('-serial', 'null')
    check(q.inb(0x3fd) == 0x60, 'LSR after reset must be THRE|TEMT (0x60)')
    check(q.inb(0x3fa) == 0x01, 'IIR after reset: no interrupt pending')
    q.outb(0x3ff, 0x5a)
    check(q.inb(0x3ff) == 0x5a, 'scratch register')
    # loopback: MCR LOOP|RTS|OUT2 shows up in MSR as CTS|DCD
    q.outb(0x3fc, 0x1a)
    check(q.inb(0x3fe) & 0xf0 == 0x90, 'loopback MSR')
    q.outb(0x3f8, 0x41)
    check(q.inb(0x3fd) & 1 == 1, 'loopback data ready')
    check(q.inb(0x3f8) == 0x41, 'loopback data')
    # THR empty interrupt on IRQ 4 once enabled
    q.ok('irq_intercept_in ioapic')
    q.outb(0x3fc, 0x08)
    q.outb(0x3f9, 0x02)
    check(q.inb(0x3fa) & 0x0f == 0x02, 'IIR reports THRI')
    check('IRQ raise 4' in q.irqs, f'no IRQ 4 raise: {q.irqs}')
    check(q.inb(0x3fa) & 0x0f == 0x01, 'reading IIR cleared THRI')
    check('IRQ lower 4' in q.irqs, f'no IRQ 4 lower: {q.irqs}')
    q.finish()


def pci_host_bridge():
    q = QTest()
    check(q.pci_cfg(0, 0) == 0x12378086, 'host bridge id')
    check(q.pci_cfg(0, 8) >> 8 == 0x060000, 'host bridge class')
    check(q.pci_cfg(8, 0) == 0x70008086, 'ISA bridge id')
    check(q.pci_cfg(8, 8) >> 8 == 0x060100, 'ISA bridge class')
    check(q.pci_cfg(2 << 3, 0) == 0xffffffff, 'empty slot reads all ones')
    # read-only id: writes are ignored
    q.outl(0xcf8, 0x80000000)
    q.outl(0xcfc, 0xdeadbeef)
    check(q.pci_cfg(0, 0) == 0x12378086, 'vendor/device id is read-only')
    q.finish()


def fw_cfg_and_rtc():
    q = QTest('-smp', '3', '-m', '96')
    q.ok('outw 0x510 0x0')
    sig = bytes(q.inb(0x511) for _ in range(4))
    check(sig == b'QEMU', f'fw_cfg signature {sig!r}')
    q.ok('outw 0x510 0x5')
    check(q.inb(0x511) | q.inb(0x511) << 8 == 3, 'fw_cfg NB_CPUS')
    q.ok('outw 0x510 0x3')
    ram = sum(q.inb(0x511) << (8 * i) for i in range(8))
    check(ram == 96 << 20, f'fw_cfg RAM size {ram}')
    q.outb(0x70, 0x0d)
    check(q.inb(0x71) == 0x80, 'RTC register D: valid RAM and time')
    q.outb(0x70, 0x0b)
    check(q.inb(0x71) & 0x02, 'RTC 24-hour mode')
    q.finish()


def rtc_base():
    """-rtc base=DATE starts the RTC at that date; base=localtime follows
    the TZ kite runs under (BCD registers, 24-hour mode)."""
    def rtc(q):
        regs = {}
        for name, idx in (('sec', 0), ('min', 2), ('hour', 4), ('day', 7), ('mon', 8),
                          ('year', 9), ('century', 0x32)):
            q.outb(0x70, idx)
            v = q.inb(0x71)
            regs[name] = (v >> 4) * 10 + (v & 15)
        return regs

    q = QTest('-rtc', 'base=2006-06-17T16:01:21')
    r = rtc(q)
    q.finish()
    check((r['century'], r['year'], r['mon'], r['day'], r['hour']) == (20, 6, 6, 17, 16) and
          r['min'] in (1, 2), f'base=2006-06-17T16:01:21 reads {r}')
    # Far from UTC on purpose: the hour must differ from base=utc's. A
    # POSIX TZ string (12 hours east of UTC) needs no time zone database.
    env = dict(os.environ, TZ='KITE-12')
    utc, local = QTest('-rtc', 'base=utc'), QTest('-rtc', 'base=localtime', env=env)
    ru, rl = rtc(utc), rtc(local)
    utc.finish()
    local.finish()
    check((ru['hour'] + 12) % 24 == rl['hour'] or
          (ru['min'] == 59 and (ru['hour'] + 13) % 24 == rl['hour']),
          f'base=utc {ru} vs base=localtime in UTC+12 {rl}')


def globals_and_acpi():
    """-global gives -device defaults (an explicit property still wins); a
    NIC's net client is named by its id, as in QEMU; -no-acpi leaves the
    machine without the PIIX4 PM block, so its ports read as unassigned."""
    d = tmpdir()
    sock = os.path.join(d, 'qmp.sock')
    q = QTest('-qmp', f'unix:{sock},server=on,wait=off',
              '-global', 'e1000.mac=52:54:00:00:00:07', '-netdev', 'user,id=n1',
              '-netdev', 'user,id=n2', '-device', 'e1000,netdev=n1,id=nic1',
              '-device', 'e1000,netdev=n2,id=nic2,mac=52:54:00:00:00:08')
    m = QMP(sock)
    m.cmd('qmp_capabilities')
    nics = {c['name']: c['macaddr'] for c in m.cmd('query-kite-net-stats')['return']
            if c['type'] == 'nic'}
    check(nics == {'nic1': '52:54:00:00:00:07', 'nic2': '52:54:00:00:00:08'}, nics)
    check(q.inb(0x604) != 0xff, 'PM1a control register missing with ACPI')
    m.close()
    q.finish()
    q = QTest('-no-acpi', '-qmp', f'unix:{sock}2,server=on,wait=off')
    check(q.inb(0x604) == 0xff, 'PM1a control register present with -no-acpi')
    m = QMP(sock + '2')
    m.cmd('qmp_capabilities')
    check(m.cmd('system_powerdown') == {'return': {}}, 'system_powerdown')
    m.wait_event('POWERDOWN')
    m.close()
    q.finish()


def memory_commands():
    q = QTest()
    q.ok('writel 0x1000 0x12345678')
    check(q.ok('readl 0x1000') == '0x0000000012345678', 'readl')
    q.ok('write 0x2000 4 0xdeadbeef')
    check(q.ok('read 0x2000 4') == '0xdeadbeef', 'read')
    q.ok('b64write 0x3000 3 AQID')
    check(q.ok('b64read 0x3000 3') == 'AQID', 'b64read')
    q.ok('memset 0x4000 8 0x5a')
    check(q.ok('readq 0x4000') == '0x5a5a5a5a5a5a5a5a', 'memset')
    check(q.ok('clock_step 1000') == '1000', 'clock_step')
    check(q.ok('clock_set 5000') == '5000', 'clock_set')
    check(q.cmd('frobnicate 1').startswith('FAIL'), 'unknown command fails')
    check(q.cmd('readl zzz').startswith('FAIL'), 'bad argument fails')
    q.finish()


def garbage_writer():
    """Random values at every port of every device, every config register
    of every PCI function, and the MMIO windows; kite must survive."""
    rng = random.Random(int(os.environ.get('KITE_GARBAGE_SEED', '20240607')))
    q = QTest('-serial', 'null', '-device', 'isa-serial,iobase=0x2f8,irq=3',
              '-device', 'kite-testdev',
              *sum((['-device', d] for d in os.environ.get('KITE_GARBAGE_DEVICES', '').split()),
                   []))
    q.ok('irq_intercept_in ioapic')
    ports = ([0x3f8 + i for i in range(8)] + [0x2f8 + i for i in range(8)] +
             [0x60, 0x64, 0x70, 0x71, 0x510, 0x511, 0x61] +
             [0x600 + i for i in range(12)] + [0xcf8, 0xcf9, 0xcfc, 0xcfd, 0xcfe, 0xcff])
    for _ in range(3000):
        port = rng.choice(ports)
        width = rng.choice('bwl')
        if width == 'b' and port == 0x64:
            continue  # 0xfe would reset: covered below
        v = rng.getrandbits({'b': 8, 'w': 16, 'l': 32}[width])
        if port == 0x604:
            v &= ~0x2000  # SLP_EN: a legitimate power-off, tested elsewhere
        if port == 0x605:
            v &= ~0x20
        if rng.random() < 0.5:
            q.ok(f'out{width} 0x{port:x} 0x{v:x}')
        else:
            q.ok(f'in{width} 0x{port:x}')
    # PCI config space of every function, including BARs and capabilities
    for devfn in range(0, 256):
        for _ in range(4):
            off = rng.randrange(0, 256, 4)
            q.outl(0xcf8, 0x80000000 | devfn << 8 | off)
            q.outl(0xcfc, rng.getrandbits(32))
            q.inl(0xcfc)
    # BAR windows: PCI MMIO hole, IOAPIC/LAPIC area, I/O window
    for _ in range(2000):
        addr = rng.choice([rng.randrange(0xc0000000, 0xc1000000),
                           rng.randrange(0xfe000000, 0x100000000 - 8),
                           rng.randrange(0, 64 << 20)])
        width = rng.choice('bwlq')
        if rng.random() < 0.5:
            q.ok(f'write{width} 0x{addr:x} 0x{rng.getrandbits(32):x}')
        else:
            q.ok(f'read{width} 0x{addr:x}')
        port = rng.randrange(0xc000, 0x10000)
        q.ok(f'outb 0x{port:x} 0x{rng.getrandbits(8):x}')
    # reset through the keyboard controller and the PIIX reset register
    q.outb(0x64, 0xfe)
    q.outb(0xcf9, 0x06)
    q.ok('clock_step 1000000')
    check(q.proc.poll() is None, 'kite died')
    q.finish()


def pci_framework():
    """BAR assignment, sizing and moves, INTx routing, MSI, MSI-X and the
    ioeventfd doorbell, on kite-testdev (see emulator/testdev.c)."""
    q = QTest('-device', 'kite-testdev')
    fn = 2 << 3  # first free slot with -nodefaults
    check(q.pci_cfg(fn, 0) == 0x00fe1b36, 'testdev id')

    def cfg_write(off, v):
        q.outl(0xcf8, 0x80000000 | fn << 8 | off)
        q.outl(0xcfc, v)

    cmd = q.pci_cfg(fn, 4) & 0xffff
    check(cmd & 3 == 3, f'kite enables I/O and memory decoding (COMMAND={cmd:#x})')
    bar0, bar1 = q.pci_cfg(fn, 0x10), q.pci_cfg(fn, 0x14)
    bar2lo, bar2hi = q.pci_cfg(fn, 0x18), q.pci_cfg(fn, 0x1c)
    check(0xc0000000 <= bar0 < 0xfec00000 and bar0 & 0xfff == 0, f'BAR0 {bar0:#x}')
    check(bar1 & 1 and 0xc000 <= bar1 & ~3 < 0x10000, f'BAR1 {bar1:#x}')
    check(bar2lo & 0x6 == 0x4 and bar2lo & ~0xf and bar2hi == 0, f'BAR2 {bar2hi:#x}{bar2lo:#x}')
    mmio = bar0 & ~0xf
    q.ok(f'writel 0x{mmio + 0x100:x} 0xcafef00d')
    check(q.ok(f'readl 0x{mmio + 0x100:x}') == '0x00000000cafef00d', 'BAR0 scratch')
    io = bar1 & ~3
    q.outl(io + 4, 0x11223344)
    check(q.inl(io + 4) == 0x11223344, 'BAR1 scratch')
    # sizing
    cfg_write(0x10, 0xffffffff)
    check(q.pci_cfg(fn, 0x10) == 0xfffff000, f'BAR0 size mask {q.pci_cfg(fn, 0x10):#x}')
    check(q.ok(f'readl 0x{mmio + 0x100:x}') == '0x00000000ffffffff', 'decoding while sizing')
    cfg_write(0x14, 0xffffffff)
    check(q.pci_cfg(fn, 0x14) == 0xffffff01, 'BAR1 size mask')
    cfg_write(0x18, 0xffffffff)
    cfg_write(0x1c, 0xffffffff)
    check(q.pci_cfg(fn, 0x18) == 0xffffc004 and q.pci_cfg(fn, 0x1c) == 0xffffffff,
          'BAR2 64-bit size mask')
    cfg_write(0x18, bar2lo)
    cfg_write(0x1c, bar2hi)
    cfg_write(0x14, bar1)
    # move BAR0: the registers follow, the old address is dead
    cfg_write(0x10, 0xd0000000)
    check(q.ok('readl 0xd0000100') == '0x00000000cafef00d', 'BAR0 after move')
    check(q.ok(f'readl 0x{mmio + 0x100:x}') == '0x00000000ffffffff', 'old BAR0 address')
    cfg_write(0x04, cmd & ~2)  # memory decoding off
    check(q.ok('readl 0xd0000100') == '0x00000000ffffffff', 'memory decoding off')
    cfg_write(0x04, cmd)
    mmio = 0xd0000000
    # INTx: slot 2 pin A -> PIRQB -> GSI 10
    line = q.pci_cfg(fn, 0x3c) & 0xff
    check(line == 10 and (q.pci_cfg(fn, 0x3c) >> 8) & 0xff == 1, f'INTERRUPT_LINE {line}')
    q.ok('irq_intercept_in ioapic')
    q.ok(f'writel 0x{mmio:x} 1')
    check(q.irqs[-1:] == ['IRQ raise 10'], f'INTx raise: {q.irqs}')
    check(q.pci_cfg(fn, 4) >> 16 & 0x08, 'STATUS.INTERRUPT set')
    cfg_write(0x04, cmd | 0x400)  # INTX_DISABLE
    check(q.irqs[-1:] == ['IRQ lower 10'], f'INTX_DISABLE lowers: {q.irqs}')
    cfg_write(0x04, cmd)
    q.ok(f'writel 0x{mmio:x} 0')
    check(q.irqs[-2:] == ['IRQ raise 10', 'IRQ lower 10'], f'INTx: {q.irqs}')
    # capabilities: find MSI (5) and MSI-X (0x11)
    caps = {}
    ptr = q.pci_cfg(fn, 0x34) & 0xff
    while ptr:
        v = q.pci_cfg(fn, ptr)
        caps[v & 0xff] = ptr
        ptr = (v >> 8) & 0xff
    check(5 in caps and 0x11 in caps, f'capabilities {caps}')
    msix = caps[0x11]
    table = (bar2lo & ~0xf)
    # vector 0 -> RAM 0x5000 data 0xabcd, unmasked; vector 1 masked
    for vec, addr, data, ctrl in ((0, 0x5000, 0xabcd, 0), (1, 0x5010, 0x1234, 1)):
        base = table + vec * 16
        q.ok(f'writel 0x{base:x} 0x{addr:x}')
        q.ok(f'writel 0x{base + 4:x} 0')
        q.ok(f'writel 0x{base + 8:x} 0x{data:x}')
        q.ok(f'writel 0x{base + 12:x} 0x{ctrl:x}')
    ctl = q.pci_cfg(fn, msix)
    cfg_write(msix, ctl | 0x80000000)  # MSI-X enable
    q.ok(f'writel 0x{mmio + 4:x} 0')
    check(q.ok('readl 0x5000') == '0x000000000000abcd', 'MSI-X vector 0 delivered')
    q.ok(f'writel 0x{mmio + 4:x} 1')
    check(q.ok('readl 0x5010') == '0x0000000000000000', 'masked vector not delivered')
    pba = table + 0x2000
    check(int(q.ok(f'readl 0x{pba:x}'), 16) & 2, 'pending bit of masked vector')
    q.ok(f'writel 0x{table + 16 + 12:x} 0')  # unmask vector 1
    check(q.ok('readl 0x5010') == '0x0000000000001234', 'pending vector delivered on unmask')
    check(int(q.ok(f'readl 0x{pba:x}'), 16) & 2 == 0, 'pending bit cleared')
    # out-of-range vectors are ignored
    q.ok(f'writel 0x{mmio + 4:x} 0x7fffffff')
    cfg_write(msix, ctl & ~0x80000000)
    # MSI: address 0x6000, data 0x40, enable, notify vector 0
    msi = caps[5]
    cfg_write(msi + 4, 0x6000)
    cfg_write(msi + 8, 0)
    cfg_write(msi + 12, 0x40)
    cfg_write(msi, q.pci_cfg(fn, msi) | 0x10000)
    q.ok(f'writel 0x{mmio + 0x10:x} 0')
    check(q.ok('readl 0x6000') == '0x0000000000000040', 'MSI delivered')
    # doorbell through the ioeventfd
    for _ in range(3):
        q.ok(f'writel 0x{mmio + 8:x} 1')
    for _ in range(100):
        n = int(q.ok(f'readl 0x{mmio + 0xc:x}'), 16)
        if n >= 1:
            break
        time.sleep(0.01)
    check(1 <= n <= 3, f'doorbell count {n}')
    q.finish()


def virtual_clock_timers():
    """Device timers follow qtest's virtual clock: an rtl8139 timer
    interrupt programmed for 1 ms never fires on host time, and fires at
    the clock_step that reaches it, its IRQ line reported before the OK;
    clock_step without a value goes to the next deadline."""
    q = QTest('-device', 'rtl8139,id=r0')
    q.ok('irq_intercept_in ioapic')
    fn = 2 << 3
    io = q.pci_cfg(fn, 0x10) & ~3
    check(0xc000 <= io < 0x10000, f'rtl8139 I/O BAR at {io:#x}')
    gsi = q.pci_cfg(fn, 0x3c) & 0xff
    q.ok(f'outw 0x{io + 0x3c:x} 0x4000')   # IMR: TimeOut
    q.ok(f'outl 0x{io + 0x48:x} 0x0')      # TCTR: restart the counter
    q.ok(f'outl 0x{io + 0x54:x} 0x{33000:x}')  # TimerInt: 33000 PCI clocks = 1 ms
    time.sleep(0.3)
    q.ok('clock_step 500000')
    check(not q.irqs, f'timer fired before its time: {q.irqs}')
    check(q.inw(io + 0x3e) & 0x4000 == 0, 'ISR.TimeOut set early')
    r = q.cmd('clock_step')
    check(r == 'OK 1000000', f'clock_step without a value goes to the deadline: {r!r}')
    check(q.irqs == [f'IRQ raise {gsi}'], f'timer IRQ at its deadline: {q.irqs}')
    check(q.inw(io + 0x3e) & 0x4000, 'ISR.TimeOut')
    q.finish()


def stdio_eof_exits():
    """-qtest stdio: the end of the input is the test hanging up; kite
    exits 0 like QEMU."""
    p = subprocess.run([KITE, '-accel', 'qtest', '-qtest', 'stdio', '-nodefaults', '-display',
                        'none', '-m', '64'], input=b'clock_step 7\nreadb 0x0\n',
                       capture_output=True, timeout=20)
    check(p.returncode == 0, f'exit {p.returncode}: {p.stderr!r}')
    check(p.stdout == b'OK 7\nOK 0x0000000000000000\n', f'answers {p.stdout!r}')


TESTS = {
    'stdio_eof_exits': stdio_eof_exits,
    'virtual_clock_timers': virtual_clock_timers,
    'pci_framework': pci_framework,
    'serial_registers': serial_registers,
    'pci_host_bridge': pci_host_bridge,
    'fw_cfg_and_rtc': fw_cfg_and_rtc,
    'rtc_base': rtc_base,
    'globals_and_acpi': globals_and_acpi,
    'memory_commands': memory_commands,
    'garbage_writer': garbage_writer,
}

if __name__ == '__main__':
    main(TESTS)
