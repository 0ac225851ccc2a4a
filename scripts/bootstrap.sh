#!/bin/bash
# Kite's one entry point on a fresh Debian 12 machine (as root):
#   scripts/bootstrap.sh demo   install dependencies, build, run the demo
#   scripts/bootstrap.sh test   install dependencies, build with ASan+UBSan, run every test
# Both steps are idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

# Debian 12 packages, and why each is here (README.md repeats this list).
packages=(
	build-essential meson ninja-build pkg-config gettext   # toolchain, i18n
	libglib2.0-dev libjson-glib-dev                        # main loops, QMP JSON
	libxml2-dev libxml2-utils                              # domain/network XML, xmllint
	libslirp-dev                                           # -netdev user
	libnl-3-dev libnl-route-3-dev libnftables-dev          # bridges, taps, NAT
	libtirpc-dev libc-dev-bin                              # XDR for libvirt's RPC
	libpcap-dev                                            # pcap reading in tests
	clang                                                  # libFuzzer targets
	qemu-system-x86 qemu-utils                             # the reference emulator (oracle)
	libvirt-clients libvirt-daemon libvirt-dev python3-libvirt  # virsh, schemas, python API
	tshark dnsmasq-base iproute2 nftables bridge-utils     # oracles and host networking
	acpica-tools                                           # iasl/acpiexec check kite's DSDT
	socat netcat-openbsd python3 busybox procps psmisc time strace
	virt-manager xvfb xauth imagemagick                    # virt-manager against virtkited, under Xvfb
)

install_deps() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bootstrap: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() { # build DIR [meson options...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
}

case "${1:-}" in
demo)
	install_deps
	build build
	exec "$top/scripts/demo.sh" "$top/build"
	;;
test)
	install_deps
	build build-asan -Db_sanitize=address,undefined
	rc=0
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		meson test -C build-asan --print-errorlogs --num-processes 2 \
		--timeout-multiplier 2 || rc=$?
	/usr/bin/python3 "$top/scripts/test-summary.py" build-asan/meson-logs/testlog.json
	exit $rc
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
