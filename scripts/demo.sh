#!/bin/bash
# The main job: boot the test guest in kite with user-mode networking and a
# port forward, then show what the network did from both sides.
#   scripts/demo.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
kite=$build/emulator/kite
guest=$build/tests/guest/guest.elf
port=${KITE_DEMO_PORT:-17777}
accel=-enable-kvm
[ -r /dev/kvm ] && [ -w /dev/kvm ] || accel="-accel tcg"

run_dir=$(mktemp -d /tmp/kite-demo.XXXXXX)
cleanup() {
	[ -n "${kite_pid:-}" ] && kill "$kite_pid" 2>/dev/null && wait "$kite_pid" 2>/dev/null
	rm -rf "$run_dir"
}
trap cleanup EXIT

banner() { printf '\n=== %s ===\n' "$*"; }

banner "1. guest asks for a DHCP lease (kite -netdev user, virtio-net)"
"$kite" $accel -m 64 -display none -nodefaults -no-reboot -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest" -append "dhcp" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0 || true

banner "2. guest pings the user-mode gateway 10.0.2.2 (e1000)"
"$kite" $accel -m 64 -display none -nodefaults -no-reboot -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest" -append "ping 10.0.2.2" \
	-netdev user,id=n0 -device e1000,netdev=n0 || true

banner "3. host reaches the guest's TCP echo service through hostfwd=tcp::$port-:7"
"$kite" $accel -m 64 -display none -nodefaults -no-reboot -serial "file:$run_dir/serial.log" \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest" -append "tcp-echo-server 7" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:7" -device virtio-net-pci,netdev=n0 \
	-monitor "unix:$run_dir/hmp.sock,server=on,wait=off" &
kite_pid=$!
/usr/bin/python3 - "$port" "$run_dir/serial.log" "$run_dir/hmp.sock" <<'PY'
import socket, sys, time
port, log, hmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
deadline = time.time() + 60
while time.time() < deadline:          # wait until the guest has its lease
    try:
        if "LISTEN" in open(log).read():
            break
    except FileNotFoundError:
        pass
    time.sleep(0.2)
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"hello from the host\n")
print("host sent:     hello from the host")
print("guest echoed: ", s.recv(100).decode().strip())
# kite's human monitor, as QEMU's: what the hub looks like while it runs
m = socket.socket(socket.AF_UNIX)
m.connect(hmp)
m.sendall(b"info network\n")
time.sleep(0.5)
out = m.recv(65536).decode(errors="replace").replace("\r", "")
print("(kite) info network")
print("\n".join(l for l in out.splitlines() if l and not l.startswith(("(qemu)", "QEMU"))))
m.close()
s.sendall(b"quit\n")
s.close()
PY
wait "$kite_pid" || true
kite_pid=
echo "--- guest serial ---"
cat "$run_dir/serial.log"
