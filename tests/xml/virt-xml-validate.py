#!/usr/bin/python3
"""Run libvirt's virt-xml-validate on what kite formats.

usage: virt-xml-validate.py TEST_XML VIRT_XML_VALIDATE DIR... [--network DIR...]

For every input NAME.xml (not *-out.xml) in the domain directories, the
persistent and the live output of `test-xml format` must validate as
'domain'; for the network directories the output must validate as
'network'. Inputs kite refuses are skipped (the other tests cover them).
"""
import os
import subprocess
import sys
import tempfile


def main():
    test_xml, validator = sys.argv[1], sys.argv[2]
    kind = "domain"
    jobs = []
    for arg in sys.argv[3:]:
        if arg == "--network":
            kind = "network"
            continue
        for n in sorted(os.listdir(arg)):
            if n.endswith(".xml") and not n.endswith("-out.xml"):
                jobs.append((kind, os.path.join(arg, n)))
    checked = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in jobs:
            modes = [[]] if kind == "network" else [[], ["--live"]]
            for mode in modes:
                args = [test_xml, "format"] + mode
                if kind == "network":
                    args.append("--network")
                r = subprocess.run(args + [path], capture_output=True, text=True)
                if r.returncode:
                    continue
                out = os.path.join(tmp, "out.xml")
                with open(out, "w") as f:
                    f.write(r.stdout)
                v = subprocess.run([validator, out, kind], capture_output=True, text=True)
                checked += 1
                if v.returncode:
                    failed += 1
                    print("FAIL %s %s: %s" % (path, " ".join(mode),
                                              (v.stderr or v.stdout).strip()))
    print("%d outputs validated, %d failed" % (checked, failed))
    if checked == 0:
        print("nothing validated")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
