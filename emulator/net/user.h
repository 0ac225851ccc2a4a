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

/*
 * The emulator core's character devices, used by guestfwd=...-chardev:ID
 * (and the file:/null/pty chardev targets). Reached through this table so
 * the net layer still links without the core (tests/net); kite's
 * net-monitor-register.c fills it in. NULL: no chardevs in this program.
 */
struct chardev;
struct chr_frontend;
typedef struct NetUserChardevOps {
	struct chardev *(*find)(const char *id);
	struct chardev *(*new_legacy)(const char *spec, const char *id, GError **err);
	int (*attach)(struct chardev *chr, const struct chr_frontend *fe, void *opaque,
		      GError **err);
	void (*write)(struct chardev *chr, const void *buf, size_t len);
	void (*input_ready)(struct chardev *chr);
	void (*detach)(struct chardev *chr, const struct chr_frontend *fe, void *opaque);
	void (*delete)(struct chardev *chr);
} NetUserChardevOps;
extern const NetUserChardevOps *net_user_chardev_ops;

#endif
