#!/bin/sh
# Start a private libvirtd 9.0 (qemu + network drivers) for producing the
# expected outputs of tests/xml from the real thing. It runs in its own
# mount and network namespace: tmpfs over /run, /var/{lib,cache,log} and
# /etc/libvirt, a throw-away passwd with the libvirt-qemu user, and a
# bridge br0 to define bridged guests against. Nothing leaks to the host.
#
#   unshare -m -n --propagation private tests/xml/tools/private-libvirtd.sh &
#   then: regen-from-libvirt.py --pid $(pgrep -nf 'libvirtd -f /etc/libvirt') ...
# Stop it by killing that pid.
set -e
work=$(mktemp -d)
cp /etc/passwd /etc/group "$work"/
echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin' >> "$work"/passwd
echo 'libvirt-qemu:x:64055:' >> "$work"/group
mount --bind "$work"/passwd /etc/passwd
mount --bind "$work"/group /etc/group
mount -t tmpfs none /run
mount -t tmpfs none /var/lib
mount -t tmpfs none /var/cache
mount -t tmpfs none /var/log
mount -t tmpfs none /etc/libvirt
mkdir -p /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
cat > /etc/libvirt/qemu.conf <<EOC
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
EOC
cat > /etc/libvirt/libvirtd.conf <<EOC
unix_sock_group = "root"
EOC
ip link set lo up
ip link add br0 type bridge
ip link set br0 up
exec /usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf
