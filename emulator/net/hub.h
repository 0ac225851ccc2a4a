/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hubs: what old QEMU called a "vlan". Every frame entering one port leaves
 * through all the others. A hub is created by its first port.
 */
#ifndef KITE_NET_HUB_H
#define KITE_NET_HUB_H

#include "net.h"

typedef struct NetHub {
	int id;
	GList *ports; /* of NetClient* (type hubport), creation order */
	int next_port_index;
	bool forwarding; /* inside a fan-out: frames entering now wait */
	GQueue deferred; /* of NetQueuedFrame*, from re-entrant senders */
} NetHub;

/* New port on hub 'hub_id'; name NULL gives "hub<id>port<n>". */
NetClient *net_hub_add_port(int hub_id, const char *name);
void net_hub_remove_port(NetClient *port);
NetHub *net_hub_find(int hub_id);
GList *net_hub_list(void); /* of NetHub*, creation order */
bool net_hub_port_can_accept(NetClient *port);
/* The hub a client hangs off (itself a port, or the peer of one), or -1. */
int net_hub_id_for_client(NetClient *nc);
void net_hub_free_all(void);
/* Startup warnings QEMU prints for hubs without NICs or host side. */
void net_hub_check(void);

#endif
