/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monitor operations on user-mode (libslirp) networks. hub_id/name NULL
 * means the first user network, as QEMU's hostfwd_add without them. */
#ifndef KITE_NET_USER_H
#define KITE_NET_USER_H

#include <glib.h>

int net_user_hostfwd_add(const char *hub_id, const char *name, const char *rule, GError **err);
int net_user_hostfwd_remove(const char *hub_id, const char *name, const char *rule, GString *out,
			    GError **err);
void net_user_info_usernet(GString *out);

#endif
