#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Command-line handling: every case of bad-options.txt must fail cleanly
(exit 1, "kite: " message naming the culprit, no crash), and the help
options must list what kite implements."""
import os
import shlex
import signal
import subprocess

from kitetest import EXIT_PASS, base_args, check, main, make_pvh, run, tmpdir

HERE = os.path.dirname(os.path.abspath(__file__))


def bad_options():
    d = tmpdir()
    subst = {
        'kernel': make_pvh(os.path.join(d, 'k.elf')),
        'nonote': make_pvh(os.path.join(d, 'nonote.elf'), '--no-note'),
        'badseg': make_pvh(os.path.join(d, 'badseg.elf'), '--bad-segment'),
        'trunc': make_pvh(os.path.join(d, 'trunc.elf'), '--truncated'),
        'text': os.path.join(d, 'text.txt'),
        'tmp': d,
    }
    with open(subst['text'], 'w') as f:
        f.write('this is not a kernel\n' * 100)
    failures = []
    n = 0
    with open(os.path.join(HERE, 'bad-options.txt')) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            expected, args = (s.strip() for s in line.split(' | ', 1))
            expected = expected.format(**subst)
            # -nodefaults: each case is about its own option, not about the
            # default serial port and network card
            argv = ['-nodefaults'] + [a.format(**subst) for a in shlex.split(args)]
            n += 1
            try:
                r = run(argv, timeout=20)
            except subprocess.TimeoutExpired:
                failures.append(f'{args}: still running after 20 s instead of failing')
                continue
            err = r.stderr
            problems = []
            if r.returncode != 1:
                problems.append(f'exit {r.returncode}' +
                                (' (signal %s)' % signal.Signals(-r.returncode).name
                                 if r.returncode < 0 else ''))
            if not err.startswith('kite: '):
                problems.append('message does not start with "kite: "')
            if expected not in err:
                problems.append(f'expected {expected!r}')
            if problems:
                failures.append(f'{args}: {"; ".join(problems)}; stderr {err!r}')
    check(n > 50, f'only {n} cases read')
    check(not failures, '\n'.join(failures))


def good_options():
    """Every line of good-options.txt boots the tiny kernel to its end."""
    d = tmpdir()
    kernel = make_pvh(os.path.join(d, 'k.elf'), '--message', 'KTEST hello PASS tiny')
    failures = []
    n = 0
    with open(os.path.join(HERE, 'good-options.txt')) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            n += 1
            case_dir = os.path.join(d, str(n))
            os.mkdir(case_dir)
            args = [a.format(tmp=case_dir) for a in shlex.split(line)]
            try:
                r = run(base_args(kernel, '-serial', 'stdio', *args), timeout=60)
            except subprocess.TimeoutExpired:
                failures.append(f'{line}: still running after 60 s')
                continue
            if r.returncode != EXIT_PASS or not r.stdout.startswith('KTEST hello PASS tiny'):
                failures.append(f'{line}: exit {r.returncode}, stdout {r.stdout!r}, '
                                f'stderr {r.stderr!r}')
    check(n >= 20, f'only {n} cases read')
    check(not failures, '\n'.join(failures))


def device_help():
    r = run(['-device', 'help'])
    check(r.returncode == 0, f'exit {r.returncode}')
    check('name "isa-debug-exit", bus ISA' in r.stdout, r.stdout)
    check('name "isa-serial", bus ISA' in r.stdout, r.stdout)
    # built-in devices that cannot be created are not offered
    check('"i8042"' not in r.stdout and '"PIIX3"' not in r.stdout, r.stdout)
    r = run(['-device', 'isa-debug-exit,help'])
    check(r.returncode == 0, f'exit {r.returncode}')
    lines = r.stdout.splitlines()
    check(lines[0] == 'isa-debug-exit options:', lines[0])
    check(any(l.strip().startswith('iobase=<uint16>') and '(default: 1281)' in l
              for l in lines), r.stdout)
    check(any(l.strip().startswith('iosize=<uint16>') for l in lines), r.stdout)


def misc_help():
    for args, want in ((['-version'], 'QEMU emulator version 7.2.0'),
                       (['-help'], 'usage: kite'),
                       (['-machine', 'help'], 'pc-i440fx-7.2'),
                       (['-cpu', 'help'], 'qemu64'),
                       (['-d', 'help'], 'guest_errors')):
        r = run(args)
        check(r.returncode == 0 and want in r.stdout, f'{args}: {r.returncode} {r.stdout!r}')


TESTS = {'bad_options': bad_options, 'good_options': good_options, 'device_help': device_help,
         'misc_help': misc_help}

if __name__ == '__main__':
    main(TESTS)
