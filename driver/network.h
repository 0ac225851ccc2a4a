/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtual networks: definitions stored under <etc>/networks, their active
 * state under <run>/networks. Bringing a network up on the host is the
 * job of netmodels/; until that is wired in, a start is refused with an
 * error rather than reported as done.
 */
#ifndef KITE_DRIVER_NETWORK_H
#define KITE_DRIVER_NETWORK_H

#include <glib.h>
#include <stdbool.h>

#include "kite-xml.h"
#include "rpc.h"

struct network {
	KiteNetworkDef *def;
	bool persistent;
	bool autostart;
	bool active;
};

void networks_init(void);
GPtrArray *networks_list(void);
struct network *network_find_name(const char *name);
struct network *network_find_uuid(const uint8_t *uuid);
struct network *network_lookup(const struct wire_ref *ref, GError **err);

struct network *network_define(const char *xml, GError **err);
struct network *network_create_transient(const char *xml, GError **err);
bool network_undefine(struct network *n, GError **err);
bool network_start(struct network *n, GError **err);
bool network_stop(struct network *n, GError **err);
bool network_set_autostart(struct network *n, bool on, GError **err);
char *network_get_xml(struct network *n, unsigned flags);
/* DHCP leases of an active network: KiteNetLease (kite-netmodel.h). */
GPtrArray *network_leases(struct network *n, GError **err);
/* Where netmodels keeps the state of active networks. */
char *network_state_dir(void);
/* After networks_init and before domains: adopt running networks, then
 * start the autostart ones. */
void networks_resume(void);
/* First start of a daemon with an empty store: define (not start)
 * libvirt's "default" network, once per etc directory. */
void networks_define_default(void);

#endif
