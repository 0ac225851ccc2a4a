#!/usr/bin/python3
"""Boot benchmark: kite against QEMU 7.2 (-M pc and -M microvm) in one run.

For the test guest's `hello` scenario it measures, per emulator, the wall
time from exec to the guest's first serial line (`KTEST-START`), to exit,
and the peak RSS of the emulator process, then prints ratios against kite.

"First instruction": a tiny PVH kernel (tests/emulator/mkpvh.py) whose
first few instructions write to COM1, so exec -> first serial byte is the
emulator's own start-up; the test guest's line comes only after its
ring-0 set-up, which this development host's nested KVM emulates slowly.

"RSS beyond guest memory": the same tiny kernel halts after printing; the
emulator's /proc/PID/smaps is read then, and the resident size of every
mapping except guest RAM (the anonymous mapping of -m's size) is summed:
what the emulator itself costs, whatever the guest touches.

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


def first_byte(argv):
    """exec -> first byte on the emulator's stdout (the guest's COM1)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.read(1)
    t = time.monotonic() - start
    proc.kill()
    proc.wait()
    return t


def rss_split(argv, ram_bytes):
    """(total RSS, guest RAM RSS, the rest, the rest's private part) in KiB,
    sampled once the tiny kernel has printed and halted. Shared library
    text counts in RSS in full although every VM shares it; "private"
    (Private_Clean + Private_Dirty) is what one more VM really costs."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        proc.stdout.readline()
        time.sleep(0.3)  # let start-up work that follows the print settle
        total = guest = private = 0
        size = rss = 0
        is_anon = False
        with open(f"/proc/{proc.pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if "-" in parts[0] and len(parts[0]) > 8 and not parts[0].endswith(":"):
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    size = hi - lo
                    is_anon = len(parts) < 6 or parts[5].startswith("/memfd:") or \
                        parts[5].startswith("[anon")
                elif parts[0] == "Rss:":
                    rss = int(parts[1])
                    total += rss
                    if is_anon and size == ram_bytes:
                        guest += rss
                elif parts[0] in ("Private_Clean:", "Private_Dirty:"):
                    if not (is_anon and size == ram_bytes):
                        private += int(parts[1])
        return total, guest, total - guest, private
    finally:
        proc.kill()
        proc.wait()


def tiny_cases(build, kite, accel, runs):
    mkpvh = os.path.join(os.path.dirname(__file__), "..", "emulator", "mkpvh.py")
    tiny = os.path.join(build, "tests", "bench", "tiny-first.elf")
    subprocess.run([sys.executable, mkpvh, tiny, "--message", "KTEST-START tiny"], check=True)
    common = accel + ["-m", "64", "-display", "none", "-nodefaults", "-no-reboot",
                      "-serial", "stdio", "-kernel", tiny]
    cases = [
        ("kite -M pc", [kite, "-M", "pc"] + common),
        ("qemu -M pc", ["qemu-system-x86_64", "-M", "pc"] + common),
        ("qemu -M microvm", ["qemu-system-x86_64", "-M", "microvm"] + common),
    ]
    firsts, splits = {}, {}
    for name, argv in cases:
        firsts[name] = statistics.median(first_byte(argv) for _ in range(runs))
        splits[name] = rss_split(argv, 64 << 20)
        total, guest, rest, private = splits[name]
        print(f"{name:18s} first instruction {firsts[name]*1000:8.1f} ms  RSS {total/1024:6.1f} "
              f"MiB = guest RAM {guest/1024:5.1f} + emulator {rest/1024:5.1f} MiB "
              f"(private {private/1024:5.1f} MiB)")
    base = "kite -M pc"
    for name in firsts:
        if name != base:
            print(f"ratio {name} / kite: first instruction x{firsts[name]/firsts[base]:.1f}, "
                  f"RSS beyond guest memory x{splits[name][2]/max(1, splits[base][2]):.1f}, "
                  f"private x{splits[name][3]/max(1, splits[base][3]):.1f}")


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
    print()
    tiny_cases(args.build, kite, accel, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
