/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Remote procedures on virtual networks; the work is in network.c. */
#include <glib/gi18n.h>
#include <string.h>

#include "daemon.h"
#include "kite-netmodel.h"
#include "network.h"
#include "procs.h"

/* The network ref names, once the arguments (`what`) are decoded (ok) and
 * used up. Clears ref. */
static struct network *net_lookup_args(struct xdr_in *in, struct wire_ref *ref, bool ok,
				       const char *what, GError **err)
{
	struct network *n = args_decoded(in, ok, what, err) ? network_lookup(ref, err) : NULL;
	wire_ref_clear(ref);
	return n;
}

static struct network *net_args(struct xdr_in *in, bool with_u32, uint32_t *v, GError **err)
{
	struct wire_ref ref = {0};
	bool ok = wire_get_network(in, &ref) && (!with_u32 || xdr_get_u32(in, v));
	return net_lookup_args(in, &ref, ok, "network", err);
}

/* A network argument, then action on it. */
static bool net_action(struct xdr_in *in, bool (*action)(struct network *, GError **), GError **err)
{
	struct network *n = net_args(in, false, NULL, err);
	return n && action(n, err);
}

static void put_net(GByteArray *out, const struct network *n)
{
	wire_put_network(out, n->def->name, n->def->uuid);
}

/* put_list_all() hands over the list's untyped elements. */
static void put_listed_net(GByteArray *out, const void *n)
{
	put_net(out, n);
}

static bool net_match(const void *obj, uint32_t flags)
{
	const struct network *n = obj;
	if ((flags & (LIST_NETWORKS_ACTIVE | LIST_NETWORKS_INACTIVE)) &&
	    !((flags & LIST_NETWORKS_ACTIVE && n->active) ||
	      (flags & LIST_NETWORKS_INACTIVE && !n->active)))
		return false;
	if ((flags & (LIST_NETWORKS_PERSISTENT | LIST_NETWORKS_TRANSIENT)) &&
	    !((flags & LIST_NETWORKS_PERSISTENT && n->persistent) ||
	      (flags & LIST_NETWORKS_TRANSIENT && !n->persistent)))
		return false;
	if ((flags & (LIST_NETWORKS_AUTOSTART | LIST_NETWORKS_NO_AUTOSTART)) &&
	    !((flags & LIST_NETWORKS_AUTOSTART && n->autostart) ||
	      (flags & LIST_NETWORKS_NO_AUTOSTART && !n->autostart)))
		return false;
	return true;
}

PROC(proc_list_all_networks)
{
	int32_t need;
	uint32_t flags;
	(void)c;
	if (!list_all_args(in, &need, &flags, 0x3fu, err))
		return false;
	put_list_all(out, networks_list(), need, flags, net_match, put_listed_net);
	return true;
}

static int32_t count_networks(bool active)
{
	GPtrArray *all = networks_list();
	int32_t n = 0;
	for (guint i = 0; i < all->len; i++)
		if (((struct network *)all->pdata[i])->active == active)
			n++;
	return n;
}

PROC(proc_num_of_networks)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_i32(out, count_networks(true));
	return true;
}

PROC(proc_num_of_defined_networks)
{
	(void)c;
	if (!args_end(in, err))
		return false;
	xdr_put_i32(out, count_networks(false));
	return true;
}

static bool list_names(struct xdr_in *in, GByteArray *out, bool active, GError **err)
{
	int32_t max;
	if (!list_max_arg(in, "maxnames", &max, err))
		return false;
	GPtrArray *all = networks_list();
	size_t at = out->len;
	int32_t n = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < all->len && n < max; i++) {
		struct network *nw = all->pdata[i];
		if (nw->active != active)
			continue;
		xdr_put_string(out, nw->def->name);
		n++;
	}
	xdr_patch_u32(out, at, n);
	return true;
}

PROC(proc_list_networks)
{
	(void)c;
	return list_names(in, out, true, err);
}

PROC(proc_list_defined_networks)
{
	(void)c;
	return list_names(in, out, false, err);
}

PROC(proc_network_lookup_by_name)
{
	g_autofree char *name = NULL;
	(void)c;
	if (!string_arg(in, "name", &name, err))
		return false;
	struct network *n = network_find_name(name);
	if (!n) {
		virt_error(err, VERR_NO_NETWORK,
			   _("Network not found: no network with matching name '%s'"), name);
		return false;
	}
	put_net(out, n);
	return true;
}

PROC(proc_network_lookup_by_uuid)
{
	uint8_t uuid[UUID_LEN];
	(void)c;
	if (!uuid_arg(in, uuid, err))
		return false;
	struct network *n = network_find_uuid(uuid);
	if (!n) {
		char s[37];
		kite_uuid_format(uuid, s);
		virt_error(err, VERR_NO_NETWORK,
			   _("Network not found: no network with matching uuid '%s'"), s);
		return false;
	}
	put_net(out, n);
	return true;
}

/* An XML definition, made into a network by make. */
static bool net_from_xml(struct xdr_in *in, GByteArray *out,
			 struct network *(*make)(const char *xml, GError **err), GError **err)
{
	g_autofree char *xml = NULL;
	if (!string_arg(in, "xml", &xml, err))
		return false;
	struct network *n = make(xml, err);
	if (!n)
		return false;
	put_net(out, n);
	return true;
}

PROC(proc_network_define_xml)
{
	(void)c;
	return net_from_xml(in, out, network_define, err);
}

PROC(proc_network_create_xml)
{
	(void)c;
	return net_from_xml(in, out, network_create_transient, err);
}

PROC(proc_network_undefine)
{
	(void)c;
	(void)out;
	return net_action(in, network_undefine, err);
}

PROC(proc_network_create)
{
	(void)c;
	(void)out;
	return net_action(in, network_start, err);
}

PROC(proc_network_destroy)
{
	(void)c;
	(void)out;
	return net_action(in, network_stop, err);
}

PROC(proc_network_get_xml_desc)
{
	uint32_t flags;
	(void)c;
	struct network *n = net_args(in, true, &flags, err);
	if (!n || !check_flags(flags, 1, err))
		return false;
	g_autofree char *xml = network_get_xml(n, 0);
	xdr_put_string(out, xml);
	return true;
}

PROC(proc_network_get_autostart)
{
	(void)c;
	struct network *n = net_args(in, false, NULL, err);
	if (!n)
		return false;
	xdr_put_i32(out, n->autostart);
	return true;
}

PROC(proc_network_set_autostart)
{
	uint32_t on;
	(void)c;
	(void)out;
	struct network *n = net_args(in, true, &on, err);
	return n && network_set_autostart(n, on != 0, err);
}

PROC(proc_network_get_bridge_name)
{
	(void)c;
	struct network *n = net_args(in, false, NULL, err);
	if (!n)
		return false;
	if (!n->def->bridge_name) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("network '%s' does not have a bridge name."), n->def->name);
		return false;
	}
	xdr_put_string(out, n->def->bridge_name);
	return true;
}

PROC(proc_network_is_active)
{
	(void)c;
	struct network *n = net_args(in, false, NULL, err);
	if (!n)
		return false;
	xdr_put_i32(out, n->active);
	return true;
}

PROC(proc_network_is_persistent)
{
	(void)c;
	struct network *n = net_args(in, false, NULL, err);
	if (!n)
		return false;
	xdr_put_i32(out, n->persistent);
	return true;
}

PROC(proc_network_get_dhcp_leases)
{
	struct wire_ref ref = {0};
	g_autofree char *mac = NULL;
	int32_t need;
	uint32_t flags;
	(void)c;
	bool ok = wire_get_network(in, &ref) && xdr_get_opt_string(in, 64, &mac) &&
		  xdr_get_i32(in, &need) && xdr_get_u32(in, &flags);
	struct network *n = net_lookup_args(in, &ref, ok, "network, mac, need_results, flags", err);
	if (!n)
		return false;
	g_autoptr(GPtrArray) leases = network_leases(n, err);
	if (!leases)
		return false;
	const KiteNetworkIp *ip = kite_network_def_ipv4(n->def);
	unsigned prefix = ip ? kite_network_ip_prefix(ip) : 24;
	size_t at = out->len;
	uint32_t count = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < leases->len; i++) {
		KiteNetLease *l = leases->pdata[i];
		if (!l->ip || (mac && (!l->mac || g_ascii_strcasecmp(mac, l->mac) != 0)))
			continue;
		count++;
		if (!need)
			continue;
		xdr_put_string(out, n->def->bridge_name ? n->def->bridge_name : "");
		xdr_put_u64(out, l->expiry);
		xdr_put_i32(out, strchr(l->ip, ':') ? 1 : 0);
		xdr_put_opt_string(out, l->mac);
		xdr_put_opt_string(out, NULL);
		xdr_put_string(out, l->ip);
		xdr_put_u32(out, prefix);
		xdr_put_opt_string(out, l->hostname);
		xdr_put_opt_string(out, l->client_id);
	}
	xdr_patch_u32(out, at, need ? count : 0);
	xdr_put_u32(out, count);
	return true;
}
