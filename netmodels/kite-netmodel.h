/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host side of libvirt-style virtual networks (seed models S20-S24):
 * bridge, addresses, nftables rules, a dnsmasq per network, tap devices
 * and the libvirt-compatible hook scripts.
 *
 * Everything acts on the network namespace of the calling process.
 * What a network start creates is recorded in STATE_DIR/NAME.state and
 * marked on the object itself (bridge ifalias, nft table comment, dnsmasq
 * command line), so stop/adopt only ever touch objects that carry our mark.
 */
#ifndef KITE_NETMODEL_H
#define KITE_NETMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

#define KITE_NETMODEL_ERROR (kite_netmodel_error_quark())
GQuark kite_netmodel_error_quark(void);

typedef enum {
	KITE_NETMODEL_ERROR_INVALID,	   /* the configuration itself is wrong */
	KITE_NETMODEL_ERROR_OVERLAP,	   /* subnet collides with a host route/address */
	KITE_NETMODEL_ERROR_BRIDGE_IN_USE, /* the bridge name belongs to someone else */
	KITE_NETMODEL_ERROR_NO_BRIDGE,	   /* forward mode bridge: host bridge missing */
	KITE_NETMODEL_ERROR_ACTIVE,	   /* network already running */
	KITE_NETMODEL_ERROR_NOT_ACTIVE,	   /* nothing of this network is running */
	KITE_NETMODEL_ERROR_DNSMASQ,	   /* dnsmasq failed to start */
	KITE_NETMODEL_ERROR_SYSTEM,	   /* netlink / nftables / sysctl / file failure */
	KITE_NETMODEL_ERROR_TAP,	   /* tap creation or attachment */
	KITE_NETMODEL_ERROR_HOOK_FAILED,   /* hook exited non-zero or died */
	KITE_NETMODEL_ERROR_HOOK_TIMEOUT,  /* hook did not finish in time and was killed */
} KiteNetmodelError;

typedef enum {
	KITE_NET_FORWARD_NAT,	   /* routed + masquerade behind the host (S22) */
	KITE_NET_FORWARD_ROUTE,	   /* routed, no NAT (S21) */
	KITE_NET_FORWARD_OPEN,	   /* routed, no firewall rules at all */
	KITE_NET_FORWARD_BRIDGE,   /* existing host bridge used as is (S23) */
	KITE_NET_FORWARD_ISOLATED, /* no forwarding in or out (S20) */
} KiteNetForwardMode;

typedef struct {
	char *start; /* IPv4 dotted quad */
	char *end;
} KiteNetDhcpRange;

typedef struct {
	char *mac;  /* optional if name is set */
	char *ip;   /* IPv4 */
	char *name; /* optional */
} KiteNetDhcpHost;

typedef struct {
	char *ip;	  /* IPv4 or IPv6 */
	char **hostnames; /* NULL-terminated, at least one */
} KiteNetDnsHost;

typedef struct {
	char *address; /* destination network, IPv4 or IPv6 */
	unsigned prefix;
	char *gateway; /* must be reachable on the network's subnet */
} KiteNetRoute;

/*
 * Plain description of one network; the daemon fills it from the libvirt
 * XML definition. Every pointer is g_malloc'd and owned by the struct
 * (kite_net_config_free releases all of it). NULL/0 means "not set".
 */
typedef struct {
	char *name; /* [A-Za-z0-9_.+-], not starting with '.', <= 64 chars */
	char *uuid;
	KiteNetForwardMode forward_mode;
	char *forward_dev; /* nat/route: only forward out through this device */
	char *bridge;	   /* NULL: first free "kitebrN" is chosen at start */
	bool stp;
	unsigned delay; /* bridge forward delay, seconds */
	char *mac;	/* bridge MAC, NULL = kernel's choice */
	unsigned mtu;	/* 0 = kernel default */
	char *domain;

	char *ipv4_address; /* host's address on the bridge, NULL = none */
	unsigned ipv4_prefix;
	KiteNetDhcpRange *dhcp_ranges;
	size_t n_dhcp_ranges;
	KiteNetDhcpHost *dhcp_hosts;
	size_t n_dhcp_hosts;

	KiteNetDnsHost *dns_hosts;
	size_t n_dns_hosts;

	char *nat_start; /* nat: SNAT source address range instead of masquerade */
	char *nat_end;
	unsigned nat_port_start; /* nat: source port range for TCP/UDP, 0 = any */
	unsigned nat_port_end;

	char *ipv6_address;
	unsigned ipv6_prefix;

	KiteNetRoute *routes;
	size_t n_routes;
} KiteNetConfig;

void kite_net_config_free(KiteNetConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KiteNetConfig, kite_net_config_free)

/* Checks the config on its own (names, addresses, ranges inside the subnet). */
bool kite_net_config_validate(const KiteNetConfig *config, GError **error);

const char *kite_net_forward_mode_to_string(KiteNetForwardMode mode);
bool kite_net_forward_mode_from_string(const char *str, KiteNetForwardMode *mode);

/*
 * libvirt's "default" network: NAT, 192.168.122.1/24, DHCP .2-.254 on
 * virbr0, or on kitebr0 when virbr0 exists and is not a kite bridge.
 * When 192.168.122.0/24 is already routed on the host the next free
 * 192.168.N.0/24 (N = 123..254) is used, as libvirt's installer does.
 */
KiteNetConfig *kite_net_config_new_default(GError **error);

/* Starts the network; on failure everything it created is undone. */
bool kite_network_start(const KiteNetConfig *config, const char *state_dir, GError **error);

/*
 * Stops the network NAME started with STATE_DIR: removes the bridge, nft
 * table, dnsmasq and files recorded in its state file, each only after
 * checking it still carries our mark. Fails with NOT_ACTIVE when there is
 * no state file.
 */
bool kite_network_stop(const char *name, const char *state_dir, GError **error);

/*
 * After a daemon restart: takes over a network that is still running.
 * The bridge must still be there and ours (else whatever is left is
 * cleaned up and NOT_ACTIVE is returned); a missing nft table is put
 * back and a dead dnsmasq is restarted.
 */
bool kite_network_adopt(const KiteNetConfig *config, const char *state_dir, GError **error);

/* True when STATE_DIR has a state file for NAME. */
bool kite_network_is_recorded(const char *name, const char *state_dir);

/* Bridge name of a recorded network (g_free it), NULL if not recorded. */
char *kite_network_get_bridge(const char *name, const char *state_dir);

typedef struct {
	char *mac;
	char *ip;
	char *hostname;	 /* NULL when the client sent none */
	char *client_id; /* NULL when none */
	gint64 expiry;	 /* seconds since the epoch, 0 = infinite */
} KiteNetLease;

void kite_net_lease_free(KiteNetLease *lease);

/* Reads dnsmasq's current leases; *out gets a GPtrArray of KiteNetLease. */
bool kite_network_leases(const char *name, const char *state_dir, GPtrArray **out, GError **error);

/*
 * Creates (or, for a name without %d naming an existing persistent tap,
 * opens) a tap device. NAME_TEMPLATE may hold one %d ("vnet%d"); the
 * kernel picks the number. QUEUES fds (1..256) are opened, with
 * IFF_MULTI_QUEUE when QUEUES > 1. PERSISTENT keeps the device after the
 * fds are closed; OWNER (uid_t)-1 leaves the owner unset. FDS_OUT must
 * have room for QUEUES ints; fds are O_CLOEXEC.
 */
bool kite_tap_create(const char *name_template, bool vnet_hdr, int queues, bool persistent,
		     uid_t owner, char **ifname_out, int *fds_out, GError **error);

/* Sets MTU (0 = the bridge's MTU), enslaves IFNAME to BRIDGE and brings it up. */
bool kite_tap_attach_bridge(const char *ifname, const char *bridge, unsigned mtu, GError **error);

/* Deletes the tap (persistent or not); missing devices are not an error. */
bool kite_tap_destroy(const char *ifname, GError **error);

/*
 * Runs HOOKS_DIR/OBJECT with libvirt's hook arguments
 * "NAME OP SUBOP -" and XML_STDIN on standard input. A missing or
 * non-executable hook is not an error (hooks are optional). Non-zero exit
 * gives HOOK_FAILED with the hook's stderr; a hook still running after
 * TIMEOUT_SEC seconds is killed with its whole process group (HOOK_TIMEOUT).
 */
bool kite_hook_run(const char *hooks_dir, const char *object, const char *name, const char *op,
		   const char *subop, const char *xml_stdin, int timeout_sec, GError **error);

G_END_DECLS

#endif
