/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Remote procedures on virtual networks; the work is in network.c. */
#include <glib/gi18n.h>
#include <string.h>

#include "daemon.h"
#include "kite-netmodel.h"
#include "network.h"
#include "procs.h"

static struct network *net_args(struct xdr_in *in, bool with_u32, uint32_t *v, GError **err)
{
	struct wire_ref ref = {0};
	if (!wire_get_network(in, &ref) || (with_u32 && !xdr_get_u32(in, v))) {
		wire_ref_clear(&ref);
		malformed(err, "network");
		return NULL;
	}
	struct network *n = args_end(in, err) ? network_lookup(&ref, err) : NULL;
	wire_ref_clear(&ref);
	return n;
}

static void put_net(GByteArray *out, struct network *n)
{
	wire_put_network(out, n->def->name, n->def->uuid);
}

static bool net_match(struct network *n, uint32_t flags)
{
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
	if (!xdr_get_i32(in, &need) || !xdr_get_u32(in, &flags))
		return malformed(err, "need_results, flags");
	if (!args_end(in, err))
		return false;
	if (flags & ~0x3fu) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags & ~0x3fu);
		return false;
	}
	GPtrArray *all = networks_list();
	size_t at = out->len;
	uint32_t n = 0;
	xdr_put_u32(out, 0);
	for (guint i = 0; i < all->len; i++) {
		if (!net_match(all->pdata[i], flags))
			continue;
		n++;
		if (need)
			put_net(out, all->pdata[i]);
	}
	xdr_patch_u32(out, at, need ? n : 0);
	xdr_put_u32(out, n);
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
	if (!xdr_get_i32(in, &max))
		return malformed(err, "maxnames");
	if (!args_end(in, err))
		return false;
	if (max < 0 || (uint32_t)max > XDR_LIST_MAX) {
		virt_error(err, VERR_RPC, _("too many items requested (%d, at most %u)"), max,
			   XDR_LIST_MAX);
		return false;
	}
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
	if (!xdr_get_string(in, XDR_STRING_MAX, &name))
		return malformed(err, "name");
	if (!args_end(in, err))
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
	if (!xdr_get_fixed(in, uuid, UUID_LEN))
		return malformed(err, "uuid");
	if (!args_end(in, err))
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

static bool xml_arg(struct xdr_in *in, char **xml, GError **err)
{
	if (!xdr_get_string(in, XDR_STRING_MAX, xml))
		return malformed(err, "xml");
	return args_end(in, err);
}

PROC(proc_network_define_xml)
{
	g_autofree char *xml = NULL;
	(void)c;
	if (!xml_arg(in, &xml, err))
		return false;
	struct network *n = network_define(xml, err);
	if (!n)
		return false;
	put_net(out, n);
	return true;
}

PROC(proc_network_create_xml)
{
	g_autofree char *xml = NULL;
	(void)c;
	if (!xml_arg(in, &xml, err))
		return false;
	struct network *n = network_create_transient(xml, err);
	if (!n)
		return false;
	put_net(out, n);
	return true;
}

PROC(proc_network_undefine)
{
	(void)c;
	(void)out;
	struct network *n = net_args(in, false, NULL, err);
	return n && network_undefine(n, err);
}

PROC(proc_network_create)
{
	(void)c;
	(void)out;
	struct network *n = net_args(in, false, NULL, err);
	return n && network_start(n, err);
}

PROC(proc_network_destroy)
{
	(void)c;
	(void)out;
	struct network *n = net_args(in, false, NULL, err);
	return n && network_stop(n, err);
}

PROC(proc_network_get_xml_desc)
{
	uint32_t flags;
	(void)c;
	struct network *n = net_args(in, true, &flags, err);
	if (!n)
		return false;
	if (flags & ~1u) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags & ~1u);
		return false;
	}
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
	if (!wire_get_network(in, &ref) || !xdr_get_opt_string(in, 64, &mac) ||
	    !xdr_get_i32(in, &need) || !xdr_get_u32(in, &flags)) {
		wire_ref_clear(&ref);
		return malformed(err, "network, mac, need_results, flags");
	}
	struct network *n = args_end(in, err) ? network_lookup(&ref, err) : NULL;
	wire_ref_clear(&ref);
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
