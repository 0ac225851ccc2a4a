/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the netmodels sources; not installed, not for the daemon. */
#ifndef KITE_NETMODEL_INTERNAL_H
#define KITE_NETMODEL_INTERNAL_H

#include <netinet/in.h>
#include <stdint.h>

#include "kite-netmodel.h"

struct nl_sock;

/* Written as ifalias on bridges and as comment on nft tables we create. */
#define KITE_NET_MARK_PREFIX "kite:network:"

/* Prefix of bridge names picked automatically. */
#define KITE_NET_AUTO_BRIDGE "kitebr"

typedef struct {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	unsigned prefix;
} KiteNetPrefix;

/* --- netconfig.c --- */
bool kite_net_parse_ip(const char *str, int family, KiteNetPrefix *out);
bool kite_net_prefix_contains(const KiteNetPrefix *net, const KiteNetPrefix *addr);
bool kite_net_prefix_overlap(const KiteNetPrefix *a, const KiteNetPrefix *b);
void kite_net_prefix_mask(KiteNetPrefix *p);		 /* zeroes host bits */
char *kite_net_prefix_to_string(const KiteNetPrefix *p); /* "a.b.c.d/n" */
bool kite_net_ifname_valid(const char *name);
bool kite_net_name_valid(const char *name);
char *kite_net_mark(const char *name);

/* --- link.c (libnl-3 route) --- */
struct nl_sock *kite_nl_open(GError **error);
void kite_nl_close(struct nl_sock *sk);

typedef enum {
	KITE_LINK_ABSENT,
	KITE_LINK_OURS,	   /* a bridge carrying our mark for this network */
	KITE_LINK_FOREIGN, /* exists but is not ours */
} KiteLinkOwnership;

bool kite_link_exists(struct nl_sock *sk, const char *ifname);
bool kite_link_is_bridge(struct nl_sock *sk, const char *ifname);
KiteLinkOwnership kite_bridge_ownership(struct nl_sock *sk, const char *ifname,
					const char *net_name);
/* True if IFNAME is a bridge with any kite mark (any network). */
bool kite_bridge_is_kite(struct nl_sock *sk, const char *ifname);
bool kite_bridge_create(struct nl_sock *sk, const KiteNetConfig *config, const char *bridge,
			GError **error);
bool kite_link_delete(struct nl_sock *sk, const char *ifname, GError **error);
bool kite_link_set_up(struct nl_sock *sk, const char *ifname, GError **error);
bool kite_link_add_address(struct nl_sock *sk, const char *ifname, const KiteNetPrefix *addr,
			   GError **error);
bool kite_link_add_route(struct nl_sock *sk, const char *ifname, const KiteNetPrefix *dst,
			 const KiteNetPrefix *gateway, GError **error);
/*
 * Fails with OVERLAP if SUBNET overlaps a main-table route or an interface
 * address of the host, ignoring IGNORE_IFNAME (may be NULL).
 */
bool kite_check_subnet_free(struct nl_sock *sk, const KiteNetPrefix *subnet,
			    const char *ignore_ifname, GError **error);
char *kite_bridge_pick_free_name(struct nl_sock *sk, GError **error);

/* --- firewall.c (libnftables) --- */
char *kite_fw_table_name(const char *net_name);
typedef enum {
	KITE_FW_ABSENT,
	KITE_FW_OURS,
	KITE_FW_FOREIGN,
} KiteFwOwnership;
KiteFwOwnership kite_fw_table_ownership(const char *table, const char *net_name, GError **error);
bool kite_fw_create(const KiteNetConfig *config, const char *bridge, const char *table,
		    GError **error);
bool kite_fw_delete(const char *table, GError **error);
bool kite_sysctl_enable_forwarding(bool ipv4, bool ipv6, GError **error);

/* --- dnsmasq.c --- */
bool kite_dnsmasq_write_conf(const KiteNetConfig *config, const char *bridge, const char *conf_path,
			     const char *pid_path, const char *lease_path, GError **error);
bool kite_dnsmasq_spawn(const char *net_name, const char *conf_path, const char *pid_path,
			pid_t *pid_out, GError **error);
/* True if PID is alive and is a dnsmasq started with CONF_PATH. */
bool kite_dnsmasq_is_ours(pid_t pid, const char *conf_path);
/* Terminates our dnsmasq (after the ownership check); true if gone. */
bool kite_dnsmasq_kill(pid_t pid, const char *conf_path);
pid_t kite_dnsmasq_read_pidfile(const char *pid_path);
/* Before starting a new one: lets a dying dnsmasq (PID from our pidfile) release its sockets. */
void kite_dnsmasq_wait_exiting(pid_t pid);
bool kite_net_needs_dnsmasq(const KiteNetConfig *config);

/* --- proc.c --- */
int kite_pidfd_open(pid_t pid);
gint64 kite_deadline_ms(int timeout_ms);
int kite_ms_left(gint64 deadline);
bool kite_pid_alive(pid_t pid);
/* For processes that are not our children. */
bool kite_wait_pid_gone(pid_t pid, int timeout_ms);
/* Reaps our child PID; false if it is still running at the deadline. */
bool kite_wait_child(pid_t pid, int timeout_ms, int *status);

#endif
