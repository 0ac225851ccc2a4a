#!/usr/bin/python3
"""Prints the suite's closing line, 'N passed, N failed, N skipped', from
meson's testlog.json, so a CI reader sees one plain verdict."""
import json
import sys

passed = failed = skipped = 0
failures = []
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        result = entry.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{entry.get('name')} ({result})")
for name in failures:
    print(f"FAILED: {name}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
