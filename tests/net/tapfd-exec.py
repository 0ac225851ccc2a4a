#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tapfd-exec.py IFNAME PROGRAM ARGS...: open tap IFNAME, then exec PROGRAM
with the tap fd inherited; '@FD@' in ARGS is replaced by its number (the
way a management layer passes fd= to kite)."""
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI))
os.set_inheritable(fd, True)
args = [a.replace("@FD@", str(fd)) for a in sys.argv[2:]]
os.execv(args[0], args)
