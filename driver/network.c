/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layout on disk:
 *   <etc>/networks/NAME.xml            persistent definition
 *   <etc>/networks/autostart/NAME.xml  symlink: start with the daemon
 *   <run>/networks/NAME.xml            definition of an active network
 *   <run>/networks/state/              netmodels' records (bridge, nft,
 *                                      dnsmasq, leases) of active networks
 *
 * The host side (bridge, addresses, nftables, dnsmasq) is netmodels/'s;
 * this file maps a libvirt network definition onto its KiteNetConfig.
 */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "events.h"
#include "hooks.h"
#include "kite-netmodel.h"
#include "network.h"
#include "protocol.h"
#include "util.h"

static GPtrArray *networks;

char *network_state_dir(void)
{
	return g_build_filename(cfg.run_dir, "networks", "state", NULL);
}

static char *active_path(const char *name)
{
	g_autofree char *file = g_strconcat(name, ".xml", NULL);
	return g_build_filename(cfg.run_dir, "networks", file, NULL);
}

/* libvirt network definition -> netmodels configuration. */
static KiteNetConfig *to_config(const KiteNetworkDef *def, GError **err)
{
	g_autoptr(KiteNetConfig) c = g_new0(KiteNetConfig, 1);
	char uuid[37];

	c->name = g_strdup(def->name);
	kite_uuid_format(def->uuid, uuid);
	c->uuid = g_strdup(uuid);
	switch (def->forward_mode) {
	case KITE_FORWARD_NONE:
		c->forward_mode = KITE_NET_FORWARD_ISOLATED;
		break;
	case KITE_FORWARD_NAT:
		c->forward_mode = KITE_NET_FORWARD_NAT;
		break;
	case KITE_FORWARD_ROUTE:
		c->forward_mode = KITE_NET_FORWARD_ROUTE;
		break;
	case KITE_FORWARD_OPEN:
		c->forward_mode = KITE_NET_FORWARD_OPEN;
		break;
	case KITE_FORWARD_BRIDGE:
		c->forward_mode = KITE_NET_FORWARD_BRIDGE;
		break;
	default:
		virt_error(err, VERR_CONFIG_UNSUPPORTED,
			   _("unsupported configuration: network '%s': this forward mode is not "
			     "supported (nat, route, open, bridge or none)"),
			   def->name);
		return NULL;
	}
	c->forward_dev = g_strdup(def->forward_dev);
	c->bridge = g_strdup(def->bridge_name);
	c->stp = def->bridge_stp != KITE_TRISTATE_NO;
	c->delay = def->bridge_delay ? (unsigned)atoi(def->bridge_delay) : 0;
	c->mac = g_strdup(def->mac);
	c->mtu = def->mtu;
	c->domain = g_strdup(def->domain_name);
	c->nat_start = g_strdup(def->nat_addr_start);
	c->nat_end = g_strdup(def->nat_addr_end);
	c->nat_port_start = def->nat_port_start;
	c->nat_port_end = def->nat_port_end;

	const KiteNetworkIp *ip4 = kite_network_def_ipv4(def);
	if (ip4) {
		c->ipv4_address = g_strdup(ip4->address);
		c->ipv4_prefix = kite_network_ip_prefix(ip4);
		c->n_dhcp_ranges = ip4->ranges ? ip4->ranges->len : 0;
		c->dhcp_ranges = g_new0(KiteNetDhcpRange, c->n_dhcp_ranges + 1);
		for (size_t i = 0; i < c->n_dhcp_ranges; i++) {
			KiteDhcpRange *r = ip4->ranges->pdata[i];
			c->dhcp_ranges[i].start = g_strdup(r->start);
			c->dhcp_ranges[i].end = g_strdup(r->end);
		}
		c->n_dhcp_hosts = ip4->hosts ? ip4->hosts->len : 0;
		c->dhcp_hosts = g_new0(KiteNetDhcpHost, c->n_dhcp_hosts + 1);
		for (size_t i = 0; i < c->n_dhcp_hosts; i++) {
			KiteDhcpHost *h = ip4->hosts->pdata[i];
			c->dhcp_hosts[i].mac = g_strdup(h->mac);
			c->dhcp_hosts[i].ip = g_strdup(h->ip);
			c->dhcp_hosts[i].name = g_strdup(h->name);
		}
	}
	for (guint i = 0; def->ips && i < def->ips->len; i++) {
		KiteNetworkIp *ip = def->ips->pdata[i];
		if (g_strcmp0(ip->family, "ipv6") == 0 && !c->ipv6_address) {
			c->ipv6_address = g_strdup(ip->address);
			c->ipv6_prefix = ip->prefix;
		}
	}
	c->n_dns_hosts = def->dns_hosts ? def->dns_hosts->len : 0;
	c->dns_hosts = g_new0(KiteNetDnsHost, c->n_dns_hosts + 1);
	for (size_t i = 0; i < c->n_dns_hosts; i++) {
		KiteDnsHost *h = def->dns_hosts->pdata[i];
		c->dns_hosts[i].ip = g_strdup(h->ip);
		c->dns_hosts[i].hostnames = g_new0(char *, h->hostnames->len + 1);
		for (guint j = 0; j < h->hostnames->len; j++)
			c->dns_hosts[i].hostnames[j] = g_strdup(h->hostnames->pdata[j]);
	}
	c->n_routes = def->routes ? def->routes->len : 0;
	c->routes = g_new0(KiteNetRoute, c->n_routes + 1);
	for (size_t i = 0; i < c->n_routes; i++) {
		KiteIpRoute *r = def->routes->pdata[i];
		c->routes[i].address = g_strdup(r->address);
		c->routes[i].prefix = r->prefix;
		c->routes[i].gateway = g_strdup(r->gateway);
	}
	return g_steal_pointer(&c);
}

static void netmodel_error(GError **err, const char *name, const GError *e)
{
	virt_error(err, VERR_OPERATION_FAILED, _("network '%s': %s"), name, e->message);
}

GPtrArray *networks_list(void)
{
	return networks;
}

struct network *network_find_name(const char *name)
{
	for (guint i = 0; i < networks->len; i++) {
		struct network *n = networks->pdata[i];
		if (strcmp(n->def->name, name) == 0)
			return n;
	}
	return NULL;
}

struct network *network_find_uuid(const uint8_t *uuid)
{
	for (guint i = 0; i < networks->len; i++) {
		struct network *n = networks->pdata[i];
		if (memcmp(n->def->uuid, uuid, UUID_LEN) == 0)
			return n;
	}
	return NULL;
}

struct network *network_lookup(const struct wire_ref *ref, GError **err)
{
	struct network *n = network_find_uuid(ref->uuid);
	if (!n) {
		char uuid[37];
		kite_uuid_format(ref->uuid, uuid);
		virt_error(err, VERR_NO_NETWORK,
			   _("Network not found: no network with matching uuid '%s' (%s)"), uuid,
			   ref->name ? ref->name : "");
	}
	return n;
}

static bool save_config(struct network *n, GError **err)
{
	g_autofree char *path = store_config_path("networks", n->def->name);
	g_autofree char *xml = kite_network_def_format(n->def, 0);
	return util_write_file_atomic(path, xml, 0600, err);
}

static void network_free(struct network *n)
{
	kite_network_def_free(n->def);
	g_free(n);
}

static bool bridge_used(const char *name, void *opaque)
{
	(void)opaque;
	for (guint i = 0; i < networks->len; i++) {
		struct network *n = networks->pdata[i];
		if (g_strcmp0(n->def->bridge_name, name) == 0)
			return true;
	}
	return if_nametoindex(name) != 0;
}

static KiteNetworkDef *parse_new_def(const char *xml, GError **err)
{
	g_autoptr(GError) xerr = NULL;
	KiteNetworkDef *def = kite_network_def_parse_string(xml, 0, &xerr);
	if (!def) {
		virt_error(err, VERR_XML_ERROR, "%s", xerr->message);
		return NULL;
	}
	if (!util_check_name(_("network"), def->name, err)) {
		kite_network_def_free(def);
		return NULL;
	}
	if (!kite_network_def_check(def, &xerr)) {
		virt_error(err, VERR_XML_ERROR, "%s", xerr->message);
		kite_network_def_free(def);
		return NULL;
	}
	return def;
}

static bool check_clash(KiteNetworkDef *def, struct network **existing, GError **err)
{
	struct network *by_name = network_find_name(def->name);
	struct network *by_uuid = network_find_uuid(def->uuid);
	char uuid[37];

	*existing = NULL;
	if (by_name && memcmp(by_name->def->uuid, def->uuid, UUID_LEN) != 0) {
		kite_uuid_format(by_name->def->uuid, uuid);
		virt_error(err, VERR_OPERATION_FAILED,
			   _("network '%s' already exists with uuid %s"), def->name, uuid);
		return false;
	}
	if (by_uuid && strcmp(by_uuid->def->name, def->name) != 0) {
		kite_uuid_format(def->uuid, uuid);
		virt_error(err, VERR_OPERATION_FAILED,
			   _("network '%s' is already defined with uuid %s"), by_uuid->def->name,
			   uuid);
		return false;
	}
	*existing = by_name;
	if (!def->bridge_name) {
		if (by_name && by_name->def->bridge_name)
			def->bridge_name = g_strdup(by_name->def->bridge_name);
		else
			kite_network_def_fill_bridge(def, bridge_used, NULL);
	}
	return true;
}

/* parse_new_def() and check_clash(): a definition that may be taken in,
 * and the network it is for (*existing, NULL for a new one). */
static KiteNetworkDef *parse_unclashing_def(const char *xml, struct network **existing,
					    GError **err)
{
	KiteNetworkDef *def = parse_new_def(xml, err);
	if (def && !check_clash(def, existing, err)) {
		kite_network_def_free(def);
		return NULL;
	}
	return def;
}

struct network *network_define(const char *xml, GError **err)
{
	struct network *n;
	KiteNetworkDef *def = parse_unclashing_def(xml, &n, err);
	if (!def)
		return NULL;
	if (n && n->active) {
		/* An active network keeps running on its current definition. */
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network '%s' is active; stop it "
			     "before redefining it"),
			   def->name);
		kite_network_def_free(def);
		return NULL;
	}
	bool added = !n;
	if (added) {
		n = g_new0(struct network, 1);
		n->def = def;
		if (!save_config(n, err)) {
			network_free(n);
			return NULL;
		}
		g_ptr_array_add(networks, n);
	} else {
		KiteNetworkDef *old = n->def;
		n->def = def;
		if (!save_config(n, err)) {
			n->def = old;
			kite_network_def_free(def);
			return NULL;
		}
		kite_network_def_free(old);
	}
	n->persistent = true;
	log_info("network %s defined", def->name);
	events_network_lifecycle(n, NEV_DEFINED, added ? 0 : 1);
	return n;
}

bool network_undefine(struct network *n, GError **err)
{
	if (!n->persistent) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network '%s' is not persistent"),
			   n->def->name);
		return false;
	}
	if (!store_remove("networks", n->def->name, err))
		return false;
	n->persistent = false;
	n->autostart = false;
	events_network_lifecycle(n, NEV_UNDEFINED, 0);
	if (!n->active) {
		g_ptr_array_remove(networks, n);
		network_free(n);
	}
	return true;
}

bool network_start(struct network *n, GError **err)
{
	if (n->active) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network is already active"));
		return false;
	}
	g_autoptr(KiteNetConfig) config = to_config(n->def, err);
	g_autoptr(GError) e = NULL;
	g_autofree char *state = network_state_dir();
	if (!config)
		return false;
	g_autofree char *xml = kite_network_def_format(n->def, 0);
	/* Before anything exists on the host, so a refusing hook leaves
	 * nothing to undo. */
	if (!daemon_hook(HOOK_NETWORK, n->def->name, "start", "begin", xml, err))
		return false;
	if (!kite_network_start(config, state, &e)) {
		netmodel_error(err, n->def->name, e);
		return false;
	}
	g_autofree char *path = active_path(n->def->name);
	if (!util_write_file_atomic(path, xml, 0600, err)) {
		g_autoptr(GError) ignore = NULL;
		kite_network_stop(n->def->name, state, &ignore);
		return false;
	}
	n->active = true;
	log_info("network %s started", n->def->name);
	daemon_hook_notify(HOOK_NETWORK, n->def->name, "started", "begin", xml);
	events_network_lifecycle(n, NEV_STARTED, 0);
	return true;
}

bool network_stop(struct network *n, GError **err)
{
	if (!n->active) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network is not active"));
		return false;
	}
	g_autoptr(GError) e = NULL;
	g_autofree char *state = network_state_dir();
	if (!kite_network_stop(n->def->name, state, &e) &&
	    !g_error_matches(e, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_NOT_ACTIVE)) {
		netmodel_error(err, n->def->name, e);
		return false;
	}
	g_autofree char *path = active_path(n->def->name);
	g_unlink(path);
	n->active = false;
	log_info("network %s stopped", n->def->name);
	g_autofree char *xml = kite_network_def_format(n->def, 0);
	daemon_hook_notify(HOOK_NETWORK, n->def->name, "stopped", "end", xml);
	events_network_lifecycle(n, NEV_STOPPED, 0);
	if (!n->persistent) {
		g_ptr_array_remove(networks, n);
		network_free(n);
	}
	return true;
}

struct network *network_create_transient(const char *xml, GError **err)
{
	struct network *n;
	KiteNetworkDef *def = parse_unclashing_def(xml, &n, err);
	if (!def)
		return NULL;
	if (n) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network '%s' already exists"),
			   def->name);
		kite_network_def_free(def);
		return NULL;
	}
	n = g_new0(struct network, 1);
	n->def = def;
	if (!network_start(n, err)) {
		network_free(n);
		return NULL;
	}
	g_ptr_array_add(networks, n);
	return n;
}

bool network_set_autostart(struct network *n, bool on, GError **err)
{
	if (!n->persistent) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("cannot set autostart for transient network"));
		return false;
	}
	if (!store_set_autostart("networks", n->def->name, on, err))
		return false;
	n->autostart = on;
	return true;
}

char *network_get_xml(struct network *n, unsigned flags)
{
	return kite_network_def_format(n->def, flags);
}

GPtrArray *network_leases(struct network *n, GError **err)
{
	g_autofree char *state = network_state_dir();
	g_autoptr(GError) e = NULL;
	GPtrArray *leases = NULL;

	if (!n->active) {
		virt_error(err, VERR_OPERATION_INVALID,
			   _("Requested operation is not valid: network '%s' is not active"),
			   n->def->name);
		return NULL;
	}
	if (!kite_network_leases(n->def->name, state, &leases, &e)) {
		netmodel_error(err, n->def->name, e);
		return NULL;
	}
	return leases;
}

/* A network left running by a previous daemon: take it over, or forget it
 * if its bridge is gone. */
static void adopt(struct network *n)
{
	g_autofree char *state = network_state_dir();
	g_autoptr(GError) e = NULL;
	g_autoptr(KiteNetConfig) config = to_config(n->def, &e);
	g_autofree char *path = active_path(n->def->name);

	if (config && kite_network_adopt(config, state, &e)) {
		n->active = true;
		log_info("network %s: adopted the running network", n->def->name);
		return;
	}
	log_info("network %s: not running any more (%s)", n->def->name, e ? e->message : "");
	g_unlink(path);
}

/* The definition stored in path, or NULL (logged) when it does not parse. */
static KiteNetworkDef *read_def_file(const char *path)
{
	g_autoptr(GError) e = NULL;
	KiteNetworkDef *def = kite_network_def_parse_file(path, 0, &e);
	if (!def)
		log_info("ignoring %s: %s", path, e->message);
	return def;
}

void networks_init(void)
{
	networks = g_ptr_array_new();
	g_autofree char *dir = g_build_filename(cfg.etc_dir, "networks", NULL);
	g_autoptr(GPtrArray) files = store_xml_files(dir);

	for (guint i = 0; i < files->len; i++) {
		const char *name = files->pdata[i];
		g_autofree char *path = g_build_filename(dir, name, NULL);
		KiteNetworkDef *def = read_def_file(path);
		if (!def)
			continue;
		g_autofree char *expect = g_strconcat(def->name, ".xml", NULL);
		if (strcmp(expect, name) != 0 || network_find_name(def->name) ||
		    network_find_uuid(def->uuid)) {
			log_info("ignoring %s: its name or UUID clashes with another definition",
				 path);
			kite_network_def_free(def);
			continue;
		}
		struct network *n = g_new0(struct network, 1);
		n->def = def;
		n->persistent = true;
		g_autofree char *link = store_autostart_path("networks", def->name);
		n->autostart = g_file_test(link, G_FILE_TEST_EXISTS);
		g_ptr_array_add(networks, n);
	}
}

/* Active networks (persistent or transient) from <run>/networks, then
 * autostart. */
void networks_resume(void)
{
	g_autofree char *dir = g_build_filename(cfg.run_dir, "networks", NULL);
	g_autoptr(GPtrArray) files = store_xml_files(dir);

	for (guint i = 0; i < files->len; i++) {
		const char *name = files->pdata[i];
		g_autofree char *path = g_build_filename(dir, name, NULL);
		KiteNetworkDef *def = read_def_file(path);
		if (!def)
			continue;
		struct network *n = network_find_name(def->name);
		if (n && memcmp(n->def->uuid, def->uuid, UUID_LEN) != 0) {
			log_info("ignoring %s: UUID differs from the definition", path);
			kite_network_def_free(def);
			continue;
		}
		if (!n) {
			n = g_new0(struct network, 1);
			n->def = def;
			g_ptr_array_add(networks, n);
		} else {
			/* It runs on the definition it was started with. */
			kite_network_def_free(n->def);
			n->def = def;
		}
		adopt(n);
		if (!n->active && !n->persistent) {
			g_ptr_array_remove(networks, n);
			network_free(n);
		}
	}
	for (guint i = 0; i < networks->len; i++) {
		struct network *n = networks->pdata[i];
		g_autoptr(GError) e = NULL;
		if (n->autostart && !n->active && !network_start(n, &e))
			log_info("autostart of network %s failed: %s", n->def->name, e->message);
	}
}

/* The marker says the question "define the default network?" has been
 * answered for this etc directory: a user who undefines it keeps it gone. */
static char *default_marker_path(void)
{
	return g_build_filename(cfg.etc_dir, "networks", ".default-network-created", NULL);
}

/* libvirt's packages define (not start) a "default" NAT network on
 * installation; a kite daemon does it on its first start instead. */
void networks_define_default(void)
{
	g_autofree char *marker = default_marker_path();
	g_autoptr(GError) e = NULL;

	if (g_file_test(marker, G_FILE_TEST_EXISTS))
		return;
	if (networks->len == 0) {
		g_autoptr(KiteNetConfig) c = kite_net_config_new_default(&e);
		if (!c) {
			log_info("cannot define the default network: %s", e->message);
			return;
		}
		if (c->n_dhcp_ranges < 1 || !c->ipv4_address || !c->bridge) {
			log_info("cannot define the default network: incomplete configuration");
			return;
		}
		g_autofree char *xml =
		    g_markup_printf_escaped("<network>\n"
					    "  <name>%s</name>\n"
					    "  <forward mode='nat'/>\n"
					    "  <bridge name='%s' stp='on' delay='0'/>\n"
					    "  <ip address='%s' prefix='%u'>\n"
					    "    <dhcp>\n"
					    "      <range start='%s' end='%s'/>\n"
					    "    </dhcp>\n"
					    "  </ip>\n"
					    "</network>\n",
					    c->name, c->bridge, c->ipv4_address, c->ipv4_prefix,
					    c->dhcp_ranges[0].start, c->dhcp_ranges[0].end);
		/* Through the ordinary define path: parsed, checked, given a
		 * UUID and MAC and stored as any user definition would be. */
		struct network *n = network_define(xml, &e);
		if (!n) {
			log_info("cannot define the default network: %s", e->message);
			return;
		}
		log_info("defined the default network (bridge %s, %s/%u)", c->bridge,
			 c->ipv4_address, c->ipv4_prefix);
	}
	if (!util_write_file_atomic(marker, "", 0644, &e))
		log_info("cannot record that the default network was defined: %s", e->message);
}
