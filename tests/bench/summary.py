#!/usr/bin/python3
"""Summary of a run-all.sh run: the kite/QEMU ratios of every benchmark next
to the stated targets. Reads RESULTS_DIR/{boot.txt,hub.json,guestnet.json};
a missing file is reported, not an error. Never judges a number as failure:
"met"/"not met" only says where kite stands against the issue's target.

usage: summary.py RESULTS_DIR
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def verdict(ok):
    return "met" if ok else "NOT met"


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out = sys.argv[1]
    print("== summary (ratios kite/QEMU 7.2; benchmarks never fail on a number) ==")

    try:
        with open(os.path.join(out, "boot.txt")) as f:
            lines = [line.rstrip() for line in f if line.startswith(("kite", "qemu", "ratio"))]
        print("boot (hello scenario):")
        for line in lines:
            print("  " + line)
    except OSError:
        print("boot: no results")

    hub = load(os.path.join(out, "hub.json"))
    if hub:
        print("hub, dgram <-> hub <-> dgram (target: kite frames/s >= 2x QEMU):")
        for c in hub["cases"]:
            r = c.get("ratio")
            name = f"  {c['size']:5d} B dump {'on ' if c['dump'] else 'off'}"
            if not r:
                print(f"{name}: incomplete")
                continue
            extra = ""
            if "cpu_per_frame" in r:
                extra += f", cpu/frame x{r['cpu_per_frame']:.2f}"
            if "insn_per_frame" in r:
                extra += f", insn/frame x{r['insn_per_frame']:.2f}"
            print(f"{name}: frames/s x{r['frames_per_s']:.2f} "
                  f"({c['kite']['frames_per_s']:.0f} vs {c['qemu']['frames_per_s']:.0f})"
                  f"{extra} -> {verdict(r['frames_per_s'] >= 2)}")
    else:
        print("hub: no results")

    guest = load(os.path.join(out, "guestnet.json"))
    if guest:
        print("guest -> host UDP (target: frames/s >= 1x QEMU, host cpu/frame <= 0.5x):")
        for c in guest["cases"]:
            r = c.get("ratio")
            name = f"  {c['backend']:4} {c['nic']:6} {c['payload']:4d} B"
            if not r:
                print(f"{name}: incomplete")
                continue
            cpu = r.get("cpu_per_frame")
            line = (f"{name}: frames/s x{r['frames_per_s']:.2f} "
                    f"({c['kite']['frames_per_s']:.0f} vs {c['qemu']['frames_per_s']:.0f})")
            if cpu is not None:
                line += f", cpu/frame x{cpu:.2f}"
            if "insn_per_frame" in r:
                line += f", insn/frame x{r['insn_per_frame']:.2f}"
            ok = r["frames_per_s"] >= 1 and cpu is not None and cpu <= 0.5
            print(f"{line} -> {verdict(ok)}")
    else:
        print("guest network: no results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
