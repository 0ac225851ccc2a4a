#!/usr/bin/python3
"""Boot benchmark: kite against QEMU 7.2 (-M pc and -M microvm) in one run.

For the test guest's `hello` scenario it measures, per emulator, the wall
time from exec to the guest's first serial line (`KTEST-START`), to exit,
and the peak RSS of the emulator process, then prints ratios against kite.
This is a benchmark, not a test: it never fails on a number.

usage: boot.py BUILD_DIR [--runs N] [--accel kvm|tcg]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def run_once(argv):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first_line = None
    for raw in proc.stdout:
        if b"KTEST-START" in raw and first_line is None:
            first_line = time.monotonic() - start
    proc.wait()
    end = time.monotonic() - start
    # ru_maxrss of the child just reaped: RUSAGE_CHILDREN holds the maximum
    # over all children so far, so each run is its own python process.
    return first_line, end, proc.returncode


def measure(argv, runs):
    firsts, ends = [], []
    for _ in range(runs):
        first, end, _rc = run_once(argv)
        if first is not None:
            firsts.append(first)
        ends.append(end)
    rss = peak_rss(argv)
    return (statistics.median(firsts) if firsts else float("nan"),
            statistics.median(ends), rss)


def peak_rss(argv):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = [line for line in out.stderr.splitlines() if line.strip().isdigit()]
    return int(lines[-1]) if lines else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accel", default="kvm")
    args = ap.parse_args()
    guest = os.path.join(args.build, "tests/guest/guest.elf")
    kite = os.path.join(args.build, "emulator/kite")
    accel = ["-enable-kvm"] if args.accel == "kvm" else ["-accel", "tcg"]
    common = accel + ["-m", "64", "-display", "none", "-nodefaults", "-no-reboot",
                      "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                      "-kernel", guest, "-append", "hello"]
    cases = [
        ("kite -M pc", [kite, "-M", "pc"] + common),
        ("qemu -M pc", ["qemu-system-x86_64", "-M", "pc"] + common),
        ("qemu -M microvm", ["qemu-system-x86_64", "-M", "microvm"] + common),
    ]
    results = {}
    for name, argv in cases:
        if not os.path.exists(argv[0]) and "/" in argv[0]:
            print(f"{name}: {argv[0]} missing, skipped")
            continue
        results[name] = measure(argv, args.runs)
        first, end, rss = results[name]
        print(f"{name:18s} first line {first*1000:9.1f} ms  exit {end*1000:9.1f} ms  "
              f"peak RSS {rss/1024:7.1f} MiB")
    base = results.get("kite -M pc")
    if base:
        for name, (first, end, rss) in results.items():
            if name.startswith("kite"):
                continue
            print(f"ratio {name} / kite: first line x{first/base[0]:.1f}, "
                  f"exit x{end/base[1]:.1f}, RSS x{rss/base[2]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
