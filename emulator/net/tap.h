/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TAP devices, shared by -netdev tap and -netdev bridge. */
#ifndef KITE_NET_TAP_H
#define KITE_NET_TAP_H

#include "net.h"

/*
 * A client around an open tap fd. downscript (may be NULL) runs with ifname
 * as $1 when the client goes away; then the fd is closed, which removes the
 * interface unless it was made persistent before kite attached.
 */
NetClient *net_tap_client_new(NetClientType type, const char *name, int queue_index, int fd,
			      const char *ifname, const char *downscript);
/* Whether the fd was opened with IFF_VNET_HDR. */
bool net_tap_fd_has_vnet_hdr(int fd);
/* Run script with ifname as $1; 0 or -1 with *err naming the script. */
int net_tap_run_script(const char *script, const char *ifname, GError **err);
/* The bridge helper (bridge.c): run it, receive the tap fd. */
int net_bridge_run_helper(const char *helper, const char *bridge, GError **err);
const char *net_bridge_default_helper(void);

#endif
