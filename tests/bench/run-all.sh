#!/bin/bash
# Builds kite (release) and runs every benchmark against QEMU 7.2, then
# prints a summary against the stated targets. Benchmarks never fail on a
# number: the exit status only says whether they could run.
#
# usage: tests/bench/run-all.sh [--no-build] [--quick] [BUILD_DIR]
#   BUILD_DIR   default: build-bench in the source tree (set up as release)
#   --no-build  use BUILD_DIR as it is (ninja -C BUILD bench passes this)
#   --quick     one run per case and shorter runs (a smoke run, noisier)
# Results (text and JSON) go to BUILD_DIR/bench-results/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=""
do_build=1
quick=0
for arg in "$@"; do
	case "$arg" in
	--no-build) do_build=0 ;;
	--quick) quick=1 ;;
	-*) echo "run-all.sh: unknown option '$arg'" >&2; exit 2 ;;
	*) build=$arg ;;
	esac
done
build=$(realpath -m "${build:-$src/build-bench}")

if [ "$do_build" = 1 ]; then
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" "$src" -Dbuildtype=release
	fi
	targets=(emulator/kite tests/guest/guest.elf)
	if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^tests/bench/udpflood:'; then
		targets+=(tests/bench/udpflood)
	fi
	ninja -C "$build" "${targets[@]}"
	if [ ! -x "$build/tests/bench/udpflood" ] ||
		[ "$here/udpflood.c" -nt "$build/tests/bench/udpflood" ]; then
		# tests/meson.build does not include this directory yet: build
		# the load tool by hand with the project's warnings.
		mkdir -p "$build/tests/bench"
		cc -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
			-o "$build/tests/bench/udpflood" "$here/udpflood.c"
	fi
fi
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' ||
	echo unknown)
if [ "$buildtype" != release ]; then
	echo "warning: $build is a '$buildtype' build; benchmark figures are meant for release" >&2
fi

out="$build/bench-results"
mkdir -p "$out"
export PYTHONDONTWRITEBYTECODE=1
hub_args=()
guest_args=(--runs 3)
boot_runs=3
if [ "$quick" = 1 ]; then
	hub_args=(--runs 1 --seconds 1)
	guest_args=(--runs 1 --count 20000)
	boot_runs=1
fi

status=0
echo "== boot (tests/bench/boot.py) =="
/usr/bin/python3 "$here/boot.py" "$build" --runs "$boot_runs" | tee "$out/boot.txt" || status=1
echo
echo "== hub (tests/bench/hub.py) =="
/usr/bin/python3 "$here/hub.py" "$build/emulator/kite" --udpflood "$build/tests/bench/udpflood" \
	--json "$out/hub.json" "${hub_args[@]}" | tee "$out/hub.txt" || status=1
echo
echo "== guest network (tests/bench/guestnet.py) =="
/usr/bin/python3 "$here/guestnet.py" "$build" --json "$out/guestnet.json" "${guest_args[@]}" |
	tee "$out/guestnet.txt" || status=1
echo
/usr/bin/python3 "$here/summary.py" "$out" | tee "$out/summary.txt" || status=1
exit $status
