#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Read-only access: the -ro socket and VIR_CONNECT_RO refuse every change
(the server checks, not only the client library)."""

import os

from kitetest import (Daemon, Raw, check, decode_error, domain_xml, run, virsh, virsh_fails,
                      write_file, xdr_string, xdr_u32)


def main():
    with Daemon() as d:
        f = write_file(d.root, "a.xml", domain_xml("ro-test"))
        virsh(d.uri, "define", f)
        st = os.stat(d.sock)
        check(oct(st.st_mode & 0o777) == "0o600", f"rw socket mode {oct(st.st_mode)}")
        st = os.stat(d.sock_ro)
        check(oct(st.st_mode & 0o777) == "0o666", f"ro socket mode {oct(st.st_mode)}")

        ro = d.uri_ro
        check("ro-test" in virsh(ro, "list", "--all", ro=True).stdout, "ro list")
        check("<name>ro-test</name>" in virsh(ro, "dumpxml", "ro-test", ro=True).stdout, "ro dumpxml")
        for args in (["define", f], ["undefine", "ro-test"], ["start", "ro-test"],
                     ["destroy", "ro-test"], ["reset", "ro-test"], ["autostart", "ro-test"],
                     ["dumpxml", "--security-info", "ro-test"], ["net-define", f]):
            virsh_fails(ro, *args, ro=True, expect="operation forbidden")

        # Without the client library's own check: raw calls on both paths.
        for path, flags in ((d.sock_ro, 0), (d.sock, 1)):
            c = Raw(path)
            c.open(flags=flags)
            for proc, payload, api in (
                    (11, xdr_string(domain_xml("x")), "virDomainDefineXML"),
                    (41, xdr_string("<network/>"), "virNetworkDefineXML")):
                r = c.call(proc, payload)
                code, _, msg = decode_error(r[1])
                check(r[0][5] == 1 and code == 29, f"{api} on {path} flags {flags}: {code} {msg}")
                check(f"read only access prevents {api}" in msg, msg)
            # Secure XML is refused too.
            r = c.call(23, xdr_string("ro-test"))
            check(r[0][5] == 0, "lookup on read-only connection")
            r = c.call(14, r[1] + xdr_u32(1))
            check(r[0][5] == 1 and decode_error(r[1])[0] == 29, "secure XML on read-only")
        check("ro-test" in virsh(d.uri, "list", "--all").stdout, "domain survived")


run(main)
