/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monitor operations on user-mode (libslirp) networks. hub_id/name NULL
 * means the first user network, as QEMU's hostfwd_add without them. */
#ifndef KITE_NET_USER_H
#define KITE_NET_USER_H

#include <glib.h>
#include <netinet/in.h>
#include <stdint.h>

int net_user_hostfwd_add(const char *hub_id, const char *name, const char *rule, GError **err);
int net_user_hostfwd_remove(const char *hub_id, const char *name, const char *rule, GString *out,
			    GError **err);
void net_user_info_usernet(GString *out);

/* A DHCP lease a user-mode network granted (learnt from its DHCP ACKs). */
typedef struct NetUserLease {
	const char *netdev; /* the user backend's name (its -netdev id) */
	int hub;	    /* its hub, -1 when on none */
	uint8_t mac[6];
	struct in_addr addr;
	unsigned prefix;      /* of the user network, e.g. 24 */
	int64_t expires_in_s; /* -1: never */
} NetUserLease;

/* Call fn for every unexpired lease of every user network. */
void net_user_foreach_lease(void (*fn)(const NetUserLease *lease, void *opaque), void *opaque);

#endif
