#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""PCI hot-plug: device_add/device_del through QMP and HMP, seen from the
guest's side of QEMU's PIIX4 ACPI hot-plug controller (GPE0 at 0xafe0, the
up/down/eject registers at 0xae00), driven through qtest (no vCPU), and the
DSDT that describes it, checked with ACPICA's own disassembler and
interpreter (iasl, acpiexec) when they are installed."""
import base64
import os
import re
import shutil
import struct
import subprocess
import time

from kitetest import KITE, QMP, check, main, tmpdir, unix_connect, wait_for_path
from test_qtest import QTest

GPE0 = 0xafe0
PCIU, PCID, B0EJ, PCIRMV, BNUM = 0xae00, 0xae04, 0xae08, 0xae0c, 0xae10
SCI = 9


class Machine(QTest):
    """qtest machine with a QMP socket next to it."""

    def __init__(self, *extra):
        d = tmpdir()
        self.qmp_path = os.path.join(d, 'qmp.sock')
        super().__init__('-qmp', f'unix:{self.qmp_path},server=on,wait=off', *extra)
        self.qmp = QMP(self.qmp_path)
        check(self.qmp.cmd('qmp_capabilities').get('return') == {}, 'qmp_capabilities')

    def qcmd(self, command, **args):
        return self.qmp.cmd(command, args)

    def qok(self, command, **args):
        r = self.qmp.cmd(command, args)
        check('return' in r, f'{command} {args} failed: {r}')
        return r['return']

    def qerr(self, command, **args):
        r = self.qmp.cmd(command, args)
        check('error' in r, f'{command} {args} should fail, got {r}')
        return r['error']

    def hmp(self, line):
        return self.qok('human-monitor-command', **{'command-line': line})

    def inw(self, port):
        return int(self.cmd_ok(f'inw 0x{port:x}'), 16)

    def outw(self, port, v):
        self.cmd_ok(f'outw 0x{port:x} 0x{v:x}')

    def cmd_ok(self, line):
        r = self.cmd(line)
        check(r == 'OK' or r.startswith('OK '), f'{line!r} -> {r!r}')
        return r[3:]

    def vendor(self, slot):
        return self.pci_cfg(slot << 3, 0) & 0xffff

    def gpe_pending(self):
        return bool(self.inw(GPE0) & 2)

    def gpe_ack(self):
        self.outw(GPE0, 2)
        check(not self.gpe_pending(), 'GPE0 status bit 1 must clear on write-1')

    def bars(self, slot):
        """[(bar index, is_io, address, size)] as the guest would size them."""
        out = []
        devfn = slot << 3
        i = 0
        while i < 6:
            off = 0x10 + 4 * i
            orig = self.pci_cfg(devfn, off)
            self.outl(0xcf8, 0x80000000 | devfn << 8 | off)
            self.outl(0xcfc, 0xffffffff)
            mask = self.inl(0xcfc)
            self.outl(0xcfc, orig)
            if mask == 0:
                i += 1
                continue
            io = orig & 1
            if io:
                size = (~(mask & 0xfffffffc) + 1) & 0xffff
                out.append((i, True, orig & 0xfffffffc, size))
                i += 1
            else:
                size = (~(mask & 0xfffffff0) + 1) & 0xffffffff
                addr = orig & 0xfffffff0
                is64 = (orig >> 1) & 3 == 2
                if is64:
                    addr |= self.pci_cfg(devfn, off + 4) << 32
                out.append((i, False, addr, size))
                i += 2 if is64 else 1
        return out


def overlaps(a, b):
    return a[2] < b[2] + b[3] and b[2] < a[2] + a[3]


def all_bars(m):
    found = []
    for slot in range(32):
        if m.vendor(slot) != 0xffff:
            found += [(slot,) + b for b in m.bars(slot)]
    return found


def check_no_overlap(m):
    bars = all_bars(m)
    for x in range(len(bars)):
        for y in range(x + 1, len(bars)):
            a, b = bars[x][1:], bars[y][1:]
            if a[1] == b[1] and overlaps(a, b):
                raise AssertionError(f'BARs overlap: {bars[x]} and {bars[y]}')
    return bars


def plug_unplug_qmp():
    """QMP: plug an e1000 and a virtio-net-pci next to a cold-plugged NIC,
    the guest's view of every step, eject, DEVICE_DELETED, netdev free."""
    m = Machine('-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0,id=cold')
    check(m.vendor(2) == 0x8086, 'cold-plugged e1000 in slot 2')
    check(not m.gpe_pending(), 'no GPE before any hot-plug')
    rmv = m.inl(PCIRMV)
    check(rmv & 0b11 == 0 and rmv & (1 << 2) and rmv & (1 << 31),
          f'PCIRMV must offer slots 2-31 but not 0/1: {rmv:#x}')

    m.qok('netdev_add', type='user', id='hp0')
    m.qok('device_add', driver='e1000', netdev='hp0', id='hpnic', mac='52:54:00:aa:bb:01')
    check(m.gpe_pending(), 'device_add must raise GPE 1')
    up = m.inl(PCIU)
    check(up == 1 << 3, f'PCIU must name slot 3 (first free), got {up:#x}')
    check(m.inl(PCIU) == 0, 'reading PCIU clears it (QEMU non-legacy mode)')
    m.gpe_ack()
    check(m.vendor(3) == 0x8086 and m.pci_cfg(3 << 3, 0) >> 16 == 0x100e, 'e1000 in slot 3')
    cmd = m.pci_cfg(3 << 3, 4) & 0xffff
    check(cmd & 3 == 3, f'hot-added device decodes memory and I/O: COMMAND {cmd:#x}')
    bars = check_no_overlap(m)
    check(len([b for b in bars if b[0] == 3]) == 2, f'e1000 has two BARs: {bars}')

    # the NIC is on the net layer, peered with hp0
    net = m.hmp('info network')
    check(re.search(r'hpnic: index=0,type=nic,model=e1000,macaddr=52:54:00:aa:bb:01', net),
          f'info network lacks the new NIC: {net!r}')
    pci = m.hmp('info pci')
    check('Bus  0, device   3, function 0:' in pci, pci)
    e = m.qerr('netdev_del', id='hp0')
    check('in use' in e['desc'], f'netdev of a plugged NIC cannot go: {e}')

    # a second one, with an explicit slot
    m.qok('device_add', driver='virtio-net-pci', id='vnic', addr='0x9')
    check(m.inl(PCIU) == 1 << 9, 'PCIU names slot 9')
    m.gpe_ack()
    check(m.vendor(9) == 0x1af4, 'virtio-net-pci in slot 9')
    check_no_overlap(m)

    # unplug request: nothing goes until the guest ejects
    m.qok('device_del', id='hpnic')
    check(m.gpe_pending(), 'device_del must raise GPE 1')
    check(m.inl(PCID) == 1 << 3, 'PCID names slot 3')
    check(m.inl(PCID) == 1 << 3, 'PCID is not cleared by reading')
    m.gpe_ack()
    check(m.vendor(3) == 0x8086, 'device stays until ejected')
    e = m.qerr('device_del', id='hpnic')
    check(e['desc'] == 'Device hpnic is already in the process of unplug', str(e))
    check(not m.qmp.events or all(ev['event'] != 'DEVICE_DELETED' for ev in m.qmp.events),
          'no DEVICE_DELETED before the eject')

    m.outl(B0EJ, 1 << 3)
    ev = m.qmp.wait_event('DEVICE_DELETED', timeout=5)
    check(ev['data'] == {'device': 'hpnic', 'path': '/machine/peripheral/hpnic'}, str(ev))
    check(m.vendor(3) == 0xffff, 'slot 3 empty after eject')
    check(m.inl(PCID) == 0, 'PCID cleared by the eject')
    net = m.hmp('info network')
    check('hpnic' not in net, f'NIC still on the net layer: {net!r}')
    pci = m.hmp('info pci')
    check('device   3' not in pci, pci)
    m.qok('netdev_del', id='hp0')

    # the slot and the MAC can be used again
    m.qok('netdev_add', type='user', id='hp1')
    m.qok('device_add', driver='rtl8139', netdev='hp1', id='again')
    check(m.inl(PCIU) == 1 << 3, 'slot 3 reused')
    m.gpe_ack()
    check(m.vendor(3) == 0x10ec, 'rtl8139 in slot 3')
    check_no_overlap(m)

    # the guest may eject on its own (no device_del): the device goes too
    m.outl(B0EJ, 1 << 9)
    ev = m.qmp.wait_event('DEVICE_DELETED', timeout=5)
    check(ev['data']['device'] == 'vnic', str(ev))
    check(m.vendor(9) == 0xffff, 'virtio slot empty')

    # ejecting built-in or empty slots does nothing
    m.outl(B0EJ, 0b11 | 1 << 20)
    check(m.vendor(0) == 0x8086 and m.vendor(1) == 0x8086, 'host/ISA bridge survive B0EJ')
    check(m.vendor(2) == 0x8086, 'cold-plugged NIC untouched')
    m.finish()


def errors_leave_nothing():
    """Bad device_add/device_del: clear errors, nothing plugged, nothing
    claimed, no GPE."""
    m = Machine('-device', 'isa-debug-exit,iobase=0xf4,iosize=4,id=dbg')
    m.qok('netdev_add', type='user', id='n1')
    before = m.hmp('info pci')
    cases = [
        (dict(driver='e1000', netdev='nope', id='x1'),
         "Property 'e1000.netdev' can't find value 'nope'"),
        (dict(driver='no-such-nic', id='x2'), "'no-such-nic' is not a valid device model name"),
        (dict(driver='e1000', netdev='n1', id='x3', speed='fast'), 'speed'),
        (dict(driver='e1000', netdev='n1', id='x4', addr='0x0'), 'slot 0'),
        (dict(driver='e1000', netdev='n1', id='dbg'), "Duplicate device ID 'dbg'"),
        (dict(driver='isa-debug-exit', id='x5'), "Bus 'isa.0' does not support hotplugging"),
        (dict(driver='PIIX3'), "Parameter 'driver' expects a pluggable device type"),
        (dict(driver='virtio-net-pci', netdev='n1', id='x6', vectors='999'), 'vectors'),
    ]
    for args, want in cases:
        e = m.qerr('device_add', **args)
        check(want in e['desc'], f'device_add {args}: {e}')
    e = m.qerr('device_add', id='x7')
    check(e['desc'] == "Parameter 'driver' is missing", str(e))
    e = m.qerr('device_add', driver='e1000', id='x8', mac=['not', 'a', 'string'])
    check("'mac'" in e['desc'], str(e))
    check(m.hmp('info pci') == before, 'a failed device_add left a device behind')
    check(not m.gpe_pending() and m.inl(PCIU) == 0, 'a failed device_add raised an event')
    # the netdev was not left claimed
    m.qok('device_add', driver='e1000', netdev='n1', id='good')
    m.gpe_ack()

    e = m.qerr('device_del', id='ghost')
    check(e == {'class': 'DeviceNotFound', 'desc': "Device 'ghost' not found"}, str(e))
    e = m.qerr('device_del', id='dbg')
    check(e['desc'] == "Bus 'isa.0' does not support hotplugging", str(e))
    e = m.qerr('device_del')
    check(e['desc'] == "Parameter 'id' is missing", str(e))
    # HMP forms
    out = m.hmp('device_add e1000,id=h1,netdev=nope')
    check(out.startswith('Error: ') and 'nope' in out, repr(out))
    out = m.hmp('device_del ghost')
    check(out == "Error: Device 'ghost' not found\r\n" or
          out == "Error: Device 'ghost' not found\n", repr(out))
    out = m.hmp('device_add virtio-net-pci,id=h2')
    check(out == '', repr(out))
    check(m.inl(PCIU) != 0, 'HMP device_add plugs too')
    out = m.hmp('device_del h2')
    check(out == '', repr(out))
    check(m.inl(PCID) != 0, 'HMP device_del requests too')
    m.finish()


def sci_and_reset():
    """GPE 1 raises SCI only when enabled; a reset completes pending
    unplugs (nobody is left to eject) and clears the event state."""
    m = Machine()
    m.cmd_ok('irq_intercept_in ioapic')
    m.qok('device_add', driver='e1000', id='a')
    check(f'IRQ raise {SCI}' not in m.irqs, f'SCI without GPE enable: {m.irqs}')
    m.outw(GPE0 + 2, 2)  # enable GPE 1
    m.inl(PCIU)
    check(f'IRQ raise {SCI}' in m.irqs, f'SCI not raised once GPE 1 is enabled: {m.irqs}')
    m.irqs.clear()
    m.gpe_ack()
    m.inl(PCIU)
    check(f'IRQ lower {SCI}' in m.irqs, f'SCI not lowered by the ack: {m.irqs}')
    m.qok('device_add', driver='e1000', id='b')
    m.qok('device_del', id='a')
    m.qok('system_reset')
    ev = m.qmp.wait_event('DEVICE_DELETED', timeout=5)
    check(ev['data']['device'] == 'a', str(ev))
    check(m.vendor(2) == 0xffff, 'device with a pending unplug gone after reset')
    check(m.pci_cfg(3 << 3, 0) & 0xffff == 0x8086, 'other hot-plugged device stays')
    check(m.inl(PCIU) == 0 and m.inl(PCID) == 0, 'event state cleared by reset')
    check(m.inw(GPE0) == 0 and m.inw(GPE0 + 2) == 0, 'GPE0 cleared by reset')
    check_no_overlap(m)
    m.finish()


def no_acpi_no_hotplug():
    m = Machine('-no-acpi', '-device', 'e1000,id=cold')
    e = m.qerr('device_add', driver='e1000', id='x')
    check(e['desc'] == "Bus 'pci.0' does not support hotplugging", str(e))
    e = m.qerr('device_del', id='cold')
    check(e['desc'] == "Bus 'pci.0' does not support hotplugging", str(e))
    check(m.inl(PCIU) == 0xffffffff, 'no hot-plug controller without ACPI')
    m.finish()


def many_cycles():
    """Plug and eject 40 times (more than there are slots): every slot is
    freed, nothing accumulates in the net layer or the BAR space."""
    m = Machine()
    models = ['e1000', 'virtio-net-pci', 'rtl8139', 'e1000e', 'pcnet', 'ne2k_pci', 'i82551',
              'e1000-82545em']
    for i in range(40):
        model = models[i % len(models)]
        m.qok('netdev_add', type='user', id=f'c{i}')
        m.qok('device_add', driver=model, netdev=f'c{i}', id=f'd{i}')
        slots = m.inl(PCIU)
        check(slots == 1 << 2, f'cycle {i}: {model} expected in slot 2, PCIU {slots:#x}')
        check_no_overlap(m)
        m.qok('device_del', id=f'd{i}')
        m.outl(B0EJ, m.inl(PCID))
        ev = m.qmp.wait_event('DEVICE_DELETED', timeout=5)
        check(ev['data']['device'] == f'd{i}', str(ev))
        m.qok('netdev_del', id=f'c{i}')
        m.gpe_ack()
    net = m.hmp('info network')
    check(net.strip() == '', f'net clients left: {net!r}')
    m.finish()


def read_tables(m, tmp):
    """Find the RSDP in the BIOS area of a paused KVM machine and save
    every table through QMP pmemsave."""
    def mem(addr, size):
        path = os.path.join(tmp, 'mem.bin')
        r = m.cmd('pmemsave', {'val': addr, 'size': size, 'filename': path})
        check('return' in r, f'pmemsave: {r}')
        with open(path, 'rb') as f:
            return f.read()
    area = mem(0xe0000, 0x20000)
    at = area.find(b'RSD PTR ')
    check(at >= 0, 'no RSDP in 0xe0000-0xfffff')
    rsdt = struct.unpack_from('<I', area, at + 16)[0]
    hdr = mem(rsdt, 36)
    n = (struct.unpack_from('<I', hdr, 4)[0] - 36) // 4
    tables = {}
    for a in struct.unpack('<%dI' % n, mem(rsdt + 36, 4 * n)):
        h = mem(a, 36)
        tables[h[:4].decode()] = mem(a, struct.unpack_from('<I', h, 4)[0])
    fadt = tables['FACP']
    dsdt = struct.unpack_from('<I', fadt, 40)[0]
    h = mem(dsdt, 36)
    tables['DSDT'] = mem(dsdt, struct.unpack_from('<I', h, 4)[0])
    return tables


def dsdt_acpica():
    """The DSDT kite builds: iasl disassembles it without complaint and
    shows the hot-plug slots, PCNT, _E01 and _CRS; acpiexec loads it and runs
    the methods; the FADT points at the GPE0 block."""
    iasl, acpiexec = shutil.which('iasl'), shutil.which('acpiexec')
    if not iasl or not acpiexec:
        print('skipped: iasl/acpiexec (acpica-tools) not installed')
        raise SystemExit(77)
    tmp = tmpdir()
    guest = os.environ.get('GUEST_ELF')
    qmp_path = os.path.join(tmp, 'qmp.sock')
    p = subprocess.Popen([KITE, '-enable-kvm', '-m', '64', '-display', 'none', '-nodefaults',
                          '-S', '-kernel', guest, '-qmp', f'unix:{qmp_path},server=on,wait=off'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_path(qmp_path, p)
        m = QMP(qmp_path)
        m.cmd('qmp_capabilities')
        tables = read_tables(m, tmp)
        e = m.cmd('pmemsave', {'val': 0x7ffffff0, 'size': 64,
                               'filename': os.path.join(tmp, 'x')})
        check('error' in e and 'outside guest RAM' in e['error']['desc'], str(e))
        check(not os.path.exists(os.path.join(tmp, 'x')), 'a failed pmemsave left its file')
        e = m.cmd('pmemsave', {'val': 0, 'size': 16, 'filename': '/nonexistent/dir/f'})
        check('error' in e and "Could not open '/nonexistent/dir/f'" in e['error']['desc'],
              str(e))
        e = m.cmd('pmemsave', {'val': 0, 'size': -1, 'filename': os.path.join(tmp, 'y')})
        check('error' in e and "'size'" in e['error']['desc'], str(e))
        m.cmd('quit')
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    fadt = tables['FACP']
    gpe0_blk, gpe0_len = struct.unpack_from('<I', fadt, 80)[0], fadt[92]
    check((gpe0_blk, gpe0_len) == (GPE0, 4), f'FADT GPE0_BLK {gpe0_blk:#x} len {gpe0_len}')
    dsdt = os.path.join(tmp, 'dsdt.aml')
    with open(dsdt, 'wb') as f:
        f.write(tables['DSDT'])
    r = subprocess.run([iasl, '-d', dsdt], capture_output=True, text=True, cwd=tmp)
    check(r.returncode == 0, f'iasl -d failed: {r.stdout}{r.stderr}')
    with open(os.path.join(tmp, 'dsdt.dsl')) as f:
        asl = f.read()
    for want in [r'OperationRegion \(PCST, SystemIO, 0xAE00, 0x08\)',
                 r'OperationRegion \(SEJ_?, SystemIO, 0xAE08, 0x04\)',
                 r'Device \(S18\)\s*\{\s*Name \(_ADR, 0x00030000\)',
                 r'Name \(_SUN, 0x1F\)',
                 r'Method \(_EJ0, 1',
                 r'B0EJ = 0x80000000',
                 r'Notify \(S10, 0x03\)',
                 r'Method \(_E01, 0',
                 r'\\_SB\.PCI0\.PCNT \(\)',
                 r'WordBusNumber \(ResourceProducer',
                 r'DWordMemory \(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, '
                 r'ReadWrite,\s*0x00000000,\s*// Granularity\s*0xC0000000,\s*// Range Minimum'
                 r'\s*0xFEBFFFFF',
                 r'WordIO \(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,'
                 r'\s*0x0000,\s*// Granularity\s*0x0D00,\s*// Range Minimum\s*0xFFFF',
                 r'IO \(Decode16,\s*0x0CF8,\s*// Range Minimum\s*0x0CF8']:
        check(re.search(want, asl), f'DSDT lacks {want!r} (see {tmp}/dsdt.dsl)')
    check(asl.count('Device (S') == 30, 'slots 2-31 described')
    # the interpreter runs what the guest's OS would run
    script = os.path.join(tmp, 'cmds')
    r = subprocess.run([acpiexec, '-b', 'evaluate \\_SB.PCI0._CRS; execute \\_GPE._E01; '
                        'execute \\_SB.PCI0.S18._EJ0 1', dsdt],
                       capture_output=True, text=True, cwd=tmp, timeout=60)
    out = r.stdout + r.stderr
    check(r.returncode == 0 and 'AE_' not in out.replace('AE_OK', ''),
          f'acpiexec reported errors:\n{out[-4000:]}')
    del script


TESTS = {f.__name__: f for f in [plug_unplug_qmp, errors_leave_nothing, sci_and_reset,
                                   no_acpi_no_hotplug, many_cycles, dsdt_acpica]}

if __name__ == '__main__':
    main(TESTS)
