#!/bin/bash
# Kite's demo, run by `scripts/bootstrap.sh demo`:
#   scripts/demo.sh BUILD_DIR
#
# Part 1: kite alone, with a QEMU command line: the test guest asks the
#         user-mode network for a DHCP lease.
# Part 2: the same guest managed by virtkited through the stock virsh:
#         define, start, look at it, reach its TCP echo service through a
#         port forward, watch the NIC counters, take the link down and up,
#         ask for a shutdown, destroy, undefine. Nothing is left behind.
#
# Environment: KITE_DEMO_PORT (host port of the forward, default 17777).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
kite=$build/emulator/kite
virtkited=$build/driver/virtkited
guest=$build/tests/guest/guest.elf
py=/usr/bin/python3
for f in "$kite" "$virtkited" "$guest"; do
	[ -e "$f" ] || { echo "demo: $f is missing: build first (ninja -C $build)" >&2; exit 1; }
done
accel=-enable-kvm
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "demo: kite needs /dev/kvm" >&2; exit 1; }

banner() { printf '\n=== %s ===\n' "$*"; }

# A host port for the forward: the asked one if free, else any free one.
port=$("$py" - "${KITE_DEMO_PORT:-17777}" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
)

state=$(mktemp -d /tmp/kite-demo.XXXXXX)
daemon_pid=
made_run_libvirt=
uri=
cleanup() {
	set +e
	if [ -n "$uri" ] && [ -n "$daemon_pid" ]; then
		virsh -q -c "$uri" destroy kite-demo >/dev/null 2>&1
		virsh -q -c "$uri" undefine kite-demo >/dev/null 2>&1
	fi
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	fi
	# a kite that outlived a failed demo: virtkited recorded its pid
	for f in "$state"/root/run/kite/domains/*/pid; do
		[ -f "$f" ] && kill -9 "$(head -n1 "$f" | cut -d' ' -f1)" 2>/dev/null
	done
	rm -rf "$state"
	[ -n "$made_run_libvirt" ] && rmdir /run/libvirt 2>/dev/null
}
trap cleanup EXIT

# ---------------------------------------------------------------- part 1
banner "Part 1: kite alone. The guest asks for a DHCP lease (-netdev user, virtio-net)"
echo "\$ kite $accel -m 64 -display none -nodefaults -no-reboot -serial stdio \\"
echo "    -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel guest.elf -append dhcp \\"
echo "    -netdev user,id=n0 -device virtio-net-pci,netdev=n0"
"$kite" $accel -m 64 -display none -nodefaults -no-reboot -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest" -append "dhcp" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0 || true

# ---------------------------------------------------------------- part 2
banner "Part 2: virtkited, driven by the stock virsh"
# The standard socket makes plain `virsh -c kite:///system` work. If a
# virtkited already serves it, the demo leaves it alone and uses a private
# socket of its own (?socket=...).
std_sock=/run/libvirt/virtkited-sock
if [ -S "$std_sock" ] && "$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$std_sock" 2>/dev/null; then
	listen=$state/sock
	uri="kite:///system?socket=$listen/virtkited-sock"
	echo "(a virtkited already serves $std_sock: this demo uses a private socket)"
else
	listen=/run/libvirt
	[ -d /run/libvirt ] || made_run_libvirt=1
	uri="kite:///system"
fi
echo "\$ virtkited --state-root $state/root --listen-dir $listen --emulator $kite &"
"$virtkited" --state-root "$state/root" --listen-dir "$listen" --emulator "$kite" \
	--pid-file "$state/virtkited.pid" --log-file "$state/virtkited.log" &
daemon_pid=$!
for _ in $(seq 200); do
	[ -S "$listen/virtkited-sock" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$state/virtkited.log" >&2; exit 1; }
	sleep 0.05
done

v() { # run and show one virsh command
	echo "\$ virsh -c $uri $*"
	virsh -c "$uri" "$@"
}

sed -e "s|@GUEST_ELF@|$guest|" -e "s|@HOST_PORT@|$port|" "$top/examples/demo-domain.xml" \
	>"$state/demo-domain.xml"
echo "(examples/demo-domain.xml with the guest's path and host port $port filled in)"
v define "$state/demo-domain.xml"
v start kite-demo
kite_pid=$(head -n1 "$state/root/run/kite/domains/kite-demo/pid" | cut -d' ' -f1)
v list
v dominfo kite-demo
v domiflist kite-demo
# the lease exists once the guest's DHCP is through: wait for it quietly
for _ in $(seq 300); do
	virsh -q -c "$uri" domifaddr kite-demo 2>/dev/null | grep -q 10.0.2.15 && break
	sleep 0.1
done
v domifaddr kite-demo
v domifstat kite-demo 52:54:00:4b:49:54

banner "The host reaches the guest's echo service through <portForward> 127.0.0.1:$port -> 7"
"$py" - "$uri" "$port" <<'PY'
import socket, subprocess, sys, time
uri, port = sys.argv[1], int(sys.argv[2])

def virsh(*args):
    print("$ virsh -c %s %s" % (uri, " ".join(args)), flush=True)
    subprocess.run(["virsh", "-c", uri, *args], check=True)

def show(text):
    return text if len(text) <= 40 else "%s... (%d bytes)" % (text[:24], len(text))

def echo(s, text, wait):
    """Send a line; print what comes back within `wait` seconds."""
    s.sendall(text.encode() + b"\n")
    print("host sent:     %s" % show(text), flush=True)
    s.settimeout(wait)
    got = b""
    try:
        while len(got) <= len(text):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        if not got:
            print("(no echo within %d s)" % wait, flush=True)
            return False
    print("guest echoed:  %s" % show(got.decode().rstrip("\n")), flush=True)
    return True

s = socket.create_connection(("127.0.0.1", port), timeout=30)
echo(s, "hello from the host", 30)
echo(s, "kite " * 2000, 30)
print(flush=True)
virsh("domif-setlink", "kite-demo", "52:54:00:4b:49:54", "down")
virsh("domif-getlink", "kite-demo", "52:54:00:4b:49:54")
# With the link down nothing reaches the guest; TCP keeps the data and
# retransmits it once the link is back.
echo(s, "anyone there while the link is down?", 3)
virsh("domif-setlink", "kite-demo", "52:54:00:4b:49:54", "up")
virsh("domif-getlink", "kite-demo", "52:54:00:4b:49:54")
s.settimeout(60)
print("guest echoed:  %s  (TCP retransmitted it once the link was up)"
      % s.recv(4096).decode().strip(), flush=True)
s.sendall(b"quit\n")
s.close()
PY
v domifstat kite-demo 52:54:00:4b:49:54

banner "Shutdown, destroy, undefine"
echo "(virsh shutdown presses the ACPI power button; this guest has no ACPI driver,"
echo " so the request is delivered and the guest keeps running: virsh destroy ends it)"
v shutdown kite-demo
v domstate kite-demo
v destroy kite-demo
v undefine kite-demo
v list --all

banner "Stopping virtkited"
kill "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=
left=()
[ -e "$state/virtkited.pid" ] && left+=("pid file")
[ -e "$listen/virtkited-sock" ] && left+=("socket $listen/virtkited-sock")
[ -e "$listen/virtkited-sock-ro" ] && left+=("socket $listen/virtkited-sock-ro")
kill -0 "$kite_pid" 2>/dev/null && left+=("kite (pid $kite_pid)")
[ -e "$state/root/run/kite/domains/kite-demo" ] && left+=("the domain's run directory")
if [ ${#left[@]} -eq 0 ]; then
	echo "virtkited stopped: no pid file, socket, kite process or domain state left"
else
	echo "demo: left behind: ${left[*]}" >&2
	exit 1
fi
