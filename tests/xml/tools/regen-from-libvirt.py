#!/usr/bin/python3
"""Produce expected outputs of tests/xml from a real libvirtd 9.0.

Not part of the test suite (it needs root and a private libvirtd, see
private-libvirtd.sh); run it by hand when adding a test case:

  regen-from-libvirt.py --pid PID domain tests/xml/xml2xml/foo.xml ...
      writes foo-out.xml: `virsh dumpxml --inactive` after `virsh define`
  regen-from-libvirt.py --pid PID network tests/xml/netxml2xml/foo.xml ...
      writes foo-out.xml: `virsh net-dumpxml --inactive` after net-define
  regen-from-libvirt.py --pid PID live tests/xml/xml2xml/foo.xml ...
      writes foo-out.xml and foo-live-out.xml: `virsh dumpxml` of the
      started domain (it must be startable: type='qemu', no disks), with
      what only QEMU's driver adds removed (<resource>, <seclabel>, the
      CPU model expansion) and the runtime numbers renumbered the way the
      test simulates a start (id 1, vnet0.., /dev/pts/0.., port ids); for
      type='network' the private daemon needs a network 'default' with
      <forward mode='bridge'/> on br0 (no firewall needed)
  regen-from-libvirt.py --pid PID argv tests/xml/xml2argv/foo.xml
      starts the domain, prints the command line libvirt ran (JSON as
      libvirt wrote it) so the .args file can be checked against it
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys


def virsh(pid, *args, check=True):
    cmd = ["nsenter", "-t", str(pid), "-m", "-n", "virsh", "-c", "qemu:///system"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode:
        raise SystemExit("virsh %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def name_of(path, root):
    text = open(path).read()
    m = re.search(r"<name>([^<]*)</name>", text)
    if not m:
        raise SystemExit("%s: no <name>" % path)
    return m.group(1)


def renumber(text, pattern, fmt):
    seen = {}
    def sub(m):
        seen.setdefault(m.group(0), fmt % len(seen))
        return seen[m.group(0)]
    return re.sub(pattern, sub, text)


def normalize_live(xml):
    xml = re.sub(r"<domain type='(\w+)' id='\d+'>", r"<domain type='\1' id='1'>", xml)
    xml = re.sub(r"\n  <resource>\n.*?\n  </resource>", "", xml, flags=re.S)
    xml = re.sub(r"\n  <seclabel .*?</seclabel>", "", xml, flags=re.S)
    # QEMU's driver expands the CPU model at start; kite does not
    xml = xml.replace("check='full'>", "check='none'>")
    xml = re.sub(r"\n    <feature policy='require' name='(hypervisor|lahf_lm)'/>", "", xml)
    xml = renumber(xml, r"vnet\d+", "vnet%d")
    xml = renumber(xml, r"/dev/pts/\d+", "/dev/pts/%d")
    xml = renumber(xml, r"portid='[0-9a-f-]{36}'", "portid='00000000-0000-4000-8000-%012d'")
    return xml.rstrip("\n") + "\n"


def last_command_line(log, name):
    """The last QEMU command line in a libvirt domain log, as a list."""
    start = log.rfind("-name guest=%s," % name)
    if start < 0:
        raise SystemExit("no command line for %s in the log" % name)
    begin = log.rfind("\n", 0, log.rfind("\nLC_ALL=", 0, start) + 1)
    end = log.find("-msg timestamp=on", start) + len("-msg timestamp=on")
    text = log[begin:end].replace("\\\n", " ")
    return shlex.split(text)


def keyval(obj, first):
    """libvirt's JSON -netdev/-device argument in QEMU's keyval form."""
    parts = [str(obj.pop(first))]
    for k, v in obj.items():
        if v is True:
            v = "on"
        elif v is False:
            v = "off"
        parts.append("%s=%s" % (k, str(v).replace(",", ",,")))
    return ",".join(parts)


def serial_file_paths(xml_path):
    """Source paths of the file serial ports, by serial index."""
    text = open(xml_path).read()
    paths = []
    for m in re.finditer(r"<serial type='(\w+)'>(.*?)</serial>|<serial type='\w+'/>", text, re.S):
        p = re.search(r"<source path='([^']*)'", m.group(2) or "")
        paths.append(p.group(1) if m.group(1) == "file" and p else None)
    return paths


def kite_args(log, name, xml_path):
    """The command line kite gets for what libvirt gave QEMU: the same
    arguments in the same order, in keyval form, without what only QEMU's
    driver uses (master key and memory backend objects, -overcommit,
    -audiodev, -sandbox, -msg, environment); emulator /usr/bin/kite, the
    monitor on the socket path the test context gives. The tap fds libvirt
    passed become the .ctx of the test."""
    argv = last_command_line(log, name)
    serial_paths = serial_file_paths(xml_path)
    fdsets = {}
    while "=" in argv[0]:
        argv.pop(0)   # environment
    argv[0] = "/usr/bin/kite"
    out = [argv[0]]
    ctx = []
    net = 0
    i = 1
    while i < len(argv):
        opt = argv[i]
        val = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else None
        if opt == "-add-fd":
            # libvirt opens serial log files itself; kite gets the path
            m = re.match(r"set=(\d+),fd=\d+,opaque=serial(\d+)-source", val or "")
            if m:
                fdsets[m.group(1)] = serial_paths[int(m.group(2))]
        if opt in ("-object", "-overcommit", "-audiodev", "-sandbox", "-msg", "-add-fd"):
            i += 2
            continue
        if val is None:
            out.append(opt)
            i += 1
            continue
        if opt == "-machine":
            val = ",".join(p for p in val.split(",") if not p.startswith("memory-backend="))
        if opt == "-chardev" and val.startswith("socket,id=charmonitor,fd="):
            val = "socket,id=charmonitor,path=/var/lib/kite/domain-1/monitor.sock,server=on,wait=off"
        for setno, path in fdsets.items():
            val = val.replace("path=/dev/fdset/%s," % setno, "path=%s," % path)
        if val.startswith("{"):
            obj = json.loads(val)
            if opt == "-netdev":
                if "fd" in obj:
                    ctx.append("net%d.tap_fd=%s" % (net, obj["fd"]))
                if "fds" in obj:
                    ctx.append("net%d.tap_fds=%s" % (net, obj["fds"]))
                net += 1
                val = keyval(obj, "type")
            else:
                val = keyval(obj, "driver")
        out += [opt, val]
        i += 2
    if ctx:
        ctx.insert(0, "nets=%d" % net)
    return out, "".join(c + "\n" for c in ctx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", required=True, type=int)
    ap.add_argument("kind", choices=["domain", "network", "argv", "live"])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    for path in a.files:
        path = os.path.abspath(path)
        name = name_of(path, a.kind)
        out = path[:-4] + "-out.xml"
        if a.kind == "network":
            virsh(a.pid, "net-define", path)
            xml = virsh(a.pid, "net-dumpxml", "--inactive", name).stdout
            virsh(a.pid, "net-undefine", name)
        else:
            virsh(a.pid, "define", path)
            if a.kind == "argv":
                virsh(a.pid, "start", name, check=False)
                log = subprocess.run(["nsenter", "-t", str(a.pid), "-m", "cat",
                                      "/var/log/libvirt/qemu/%s.log" % name],
                                     capture_output=True, text=True).stdout
                virsh(a.pid, "destroy", name, check=False)
                virsh(a.pid, "undefine", name)
                args, ctx = kite_args(log, name, path)
                with open(path[:-4] + ".args", "w") as f:
                    f.write("".join(x + "\n" for x in args))
                with open(path[:-4] + ".ctx", "w") as f:
                    f.write(ctx)
                print("wrote", path[:-4] + ".args")
                continue
            xml = virsh(a.pid, "dumpxml", "--inactive", name).stdout
            if a.kind == "live":
                virsh(a.pid, "start", name)
                live = normalize_live(virsh(a.pid, "dumpxml", name).stdout)
                virsh(a.pid, "destroy", name)
                with open(path[:-4] + "-live-out.xml", "w") as f:
                    f.write(live)
                print("wrote", path[:-4] + "-live-out.xml")
            virsh(a.pid, "undefine", name)
        # virsh adds one blank line after the document
        with open(out, "w") as f:
            f.write(xml.rstrip("\n") + "\n")
        print("wrote", out)


if __name__ == "__main__":
    sys.exit(main())
