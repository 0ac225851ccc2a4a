#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The NIC models on kite's command line and monitor (S1, S2, S5, S6, S29,
S31).

usage: test_cmdline.py [TEST...]

  help       -device help and -net nic,model=help list the models, -device
             MODEL,help lists mac/netdev/addr
  net-nic    -net nic,model=M,macaddr=..,addr=.. puts M in that slot with
             that MAC; info network shows it on hub 0
  nic        -nic M,mac=.. creates M with its own backend
  device     -device M,netdev=..,mac=..,addr=..,id=..; info qtree shows the
             id, mac, netdev and PCI ids; query-pci has the ids
  default-macs  several NICs without mac= count up from 52:54:00:12:34:56
  errors     bad mac=, unknown netdev, occupied slot: clear errors, exit 1
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nictest as T  # noqa: E402
from drivers import DRIVERS  # noqa: E402

IDS = {'rtl8139': (0x10ec, 0x8139), 'ne2k_pci': (0x10ec, 0x8029), 'pcnet': (0x1022, 0x2000),
       'i82551': (0x8086, 0x1209), 'i82557b': (0x8086, 0x1229), 'i82559er': (0x8086, 0x1209),
       'e1000e': (0x8086, 0x10d3)}
MODELS = list(IDS)


def kite(*args, timeout=20):
    return subprocess.run([T.KITE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=timeout)


def t_help():
    r = kite('-device', 'help')
    T.check_eq(r.returncode, 0, '-device help exit status')
    net = r.stdout.split('Network devices:')[1].split('\n\n')[0]
    for m in MODELS:
        T.check(re.search(rf'^name "{m}", bus PCI', net, re.M),
                f'-device help does not list {m} under Network devices:\n{net}')
    r = kite('-net', 'nic,model=help')
    T.check_eq(r.returncode, 0, '-net nic,model=help exit status')
    listed = r.stdout.split()
    for m in MODELS:
        T.check(m in listed, f'-net nic,model=help does not list {m}: {r.stdout!r}')
    r2 = kite('-nic', 'user,model=?')
    T.check_eq(r2.stdout, r.stdout, '-nic model=? output vs -net nic,model=help')
    for m in MODELS:
        r = kite('-device', f'{m},help')
        T.check_eq(r.returncode, 0, f'-device {m},help exit status')
        for prop in ('mac=', 'netdev=', 'addr='):
            T.check(prop in r.stdout, f'-device {m},help lacks {prop}: {r.stdout}')
    return f'{len(MODELS)} models listed'


def hmp_network(m):
    return m.qmp.hmp('info network')


def t_net_nic():
    for i, model in enumerate(MODELS):
        mac = f'52:54:00:aa:bb:{i:02x}'
        slot = 8 + i
        with T.Machine('kite', ['-net', f'nic,model={model},macaddr={mac},addr={slot:x}',
                                '-net', 'user']) as m:
            vendor, device = IDS[model]
            T.check_eq(m.cfg_read(slot << 3, 0), device << 16 | vendor,
                       f'{model}: PCI id in slot {slot:#x}')
            drv = DRIVERS[model](m)
            T.check_eq(drv.devfn, slot << 3, f'{model}: slot')
            T.check_eq(drv.read_mac(), T.mac_bytes(mac), f'{model}: MAC from macaddr=')
            net = hmp_network(m)
            T.check(f'{model}.0: index=0,type=nic,model={model},macaddr={mac}' in net,
                    f'{model}: info network:\n{net}')
            T.check('hub 0' in net, f'{model}: no hub 0 in info network:\n{net}')
    return 'all models'


def t_nic():
    for model in MODELS:
        with T.Machine('kite', ['-nic', f'user,model={model},mac=52:54:00:00:00:42']) as m:
            drv = DRIVERS[model](m)
            T.check_eq(drv.read_mac(), bytes.fromhex('525400000042'), f'{model}: MAC')
            net = hmp_network(m)
            T.check(f'model={model},macaddr=52:54:00:00:00:42' in net,
                    f'{model}: info network:\n{net}')
    return 'all models'


def t_device():
    for model in MODELS:
        args = ['-netdev', 'user,id=n0', '-device',
                f'{model},netdev=n0,mac=52:54:00:12:34:99,addr=0x9,id=mynic,bootindex=1']
        with T.Machine('kite', args) as m:
            vendor, device = IDS[model]
            T.check_eq(m.cfg_read(9 << 3, 0), device << 16 | vendor, f'{model}: slot 9')
            qtree = m.qmp.hmp('info qtree')
            block = qtree.split(f'dev: {model}, id "mynic"')
            T.check(len(block) == 2, f'{model}: no "dev: {model}, id \\"mynic\\"" in qtree')
            block = block[1].split('dev:')[0]
            for want in ('mac = "52:54:00:12:34:99"', 'netdev = "n0"', 'addr = 09.0',
                         f'pci id {vendor:04x}:{device:04x}'):
                T.check(want in block, f'{model}: info qtree lacks {want!r}:\n{block}')
            pci = m.qmp.cmd('query-pci')
            devs = [d for b in pci for d in b['devices'] if d['slot'] == 9]
            T.check(devs and devs[0]['id']['device'] == device and
                    devs[0]['id']['vendor'] == vendor, f'{model}: query-pci slot 9: {devs}')
            T.check_eq(devs[0].get('qdev_id'), 'mynic', f'{model}: query-pci qdev_id')
            net = hmp_network(m)
            # As in QEMU, a NIC created with id= carries that id as its name.
            T.check(re.search(rf'mynic: index=0,type=nic,model={model},'
                              r'macaddr=52:54:00:12:34:99', net), f'{model}: info network:\n{net}')
            T.check(' \\ n0: index=0,type=user' in net, f'{model}: backend not shown as peer:\n{net}')
    return 'all models'


def t_default_macs():
    args = []
    for model in MODELS:
        args += ['-device', model]
    with T.Machine('kite', args) as m:
        seen = {}
        for model in MODELS:
            nth = sum(1 for x in seen if IDS[x] == IDS[model])
            drv = DRIVERS[model](m, nth)
            seen[model] = drv.read_mac()
        macs = [seen[model] for model in MODELS]
        want = [bytes.fromhex('5254001234') + bytes([0x56 + i]) for i in range(len(MODELS))]
        T.check_eq(macs, want, 'default MACs in creation order')
    return 'counting up from 52:54:00:12:34:56'


def t_errors():
    for model in MODELS:
        r = kite('-accel', 'qtest', '-nodefaults', '-device', f'{model},mac=01:00:00:00:00:01')
        T.check(r.returncode != 0 and 'multicast' in r.stderr,
                f'{model}: multicast MAC: rc={r.returncode} {r.stderr!r}')
        r = kite('-accel', 'qtest', '-nodefaults', '-device', f'{model},netdev=nope')
        T.check(r.returncode != 0 and "'nope'" in r.stderr,
                f'{model}: unknown netdev: rc={r.returncode} {r.stderr!r}')
        r = kite('-accel', 'qtest', '-nodefaults', '-device', f'{model},mac=52:54:00:zz:00:01')
        T.check(r.returncode != 0 and 'mac' in r.stderr,
                f'{model}: malformed mac: rc={r.returncode} {r.stderr!r}')
        r = kite('-accel', 'qtest', '-nodefaults', '-device', f'{model},addr=5',
                 '-device', f'{model},addr=5')
        T.check(r.returncode != 0 and 'slot 5' in r.stderr,
                f'{model}: slot taken: rc={r.returncode} {r.stderr!r}')
        r = kite('-accel', 'qtest', '-nodefaults', '-netdev', 'user,id=n0',
                 '-device', f'{model},netdev=n0', '-device', f'{model},netdev=n0')
        T.check(r.returncode != 0 and 'in use' in r.stderr,
                f'{model}: netdev used twice: rc={r.returncode} {r.stderr!r}')
    return 'all models'


TESTS = {'help': t_help, 'net-nic': t_net_nic, 'nic': t_nic, 'device': t_device,
         'default-macs': t_default_macs, 'errors': t_errors}

if __name__ == '__main__':
    T.main(TESTS)
