/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP network commands: set_link, netdev_add, netdev_del, query-rx-filter,
 * announce-self, and kite's query-kite-net-stats (per-client counters for
 * the management daemon's interface statistics), plus the
 * NIC_RX_FILTER_CHANGED event.
 *
 * query-kite-net-stats returns one object per client, in creation order:
 *   {"name": "e1000.0", "type": "nic", "model": "e1000", "peer": "n0",
 *    "hub": -1, "link-up": true, "queue-index": 0,
 *    "rx-packets": N, "rx-bytes": N, "rx-dropped": N,
 *    "tx-packets": N, "tx-bytes": N, "tx-dropped": N,
 *    "rx-queued": N, "rx-queue-overflow": N}
 * "rx" is what the client received (for a NIC: towards the guest).
 *
 * query-kite-usernet-leases returns the DHCP leases the user-mode networks
 * granted (see user.c), one object per lease:
 *   {"netdev": "n0", "hub": -1, "macaddr": "52:54:00:12:34:56",
 *    "ip-address": "10.0.2.15", "prefix": 24, "expires-in": 86399}
 * "expires-in" is in seconds and absent for a lease without end.
 */
#include "hub.h"
#include "net-cmdline.h"
#include "net-monitor.h"
#include "net.h"
#include "opts.h"
#include "user.h"

#include <arpa/inet.h>

#include <glib/gi18n.h>
#include <string.h>

void (*net_qmp_event_hook)(const char *name, JsonObject *data);

static bool arg_str(JsonObject *args, const char *name, bool required, const char **out,
		    GError **err)
{
	JsonNode *n = json_object_get_member(args, name);
	if (!n) {
		if (required) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Parameter '%s' is missing"), name);
			return false;
		}
		*out = NULL;
		return true;
	}
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Invalid parameter type for '%s', expected: string"), name);
		return false;
	}
	*out = json_node_get_string(n);
	return true;
}

static JsonNode *qmp_set_link(JsonObject *args, GError **err)
{
	const char *name;
	if (!arg_str(args, "name", true, &name, err))
		return NULL;
	JsonNode *up = json_object_get_member(args, "up");
	if (!up) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Parameter 'up' is missing"));
		return NULL;
	}
	if (!JSON_NODE_HOLDS_VALUE(up) || json_node_get_value_type(up) != G_TYPE_BOOLEAN) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Invalid parameter type for 'up', expected: boolean"));
		return NULL;
	}
	if (net_set_link(name, json_node_get_boolean(up), err) < 0)
		return NULL;
	return NULL;
}

static void append_opt(GString *s, const char *key, const char *value)
{
	g_string_append_printf(s, ",%s=", key);
	for (const char *p = value; *p; p++) {
		if (*p == ',')
			g_string_append_c(s, ',');
		g_string_append_c(s, *p);
	}
}

/* QAPI's Netdev as JSON to kite's option text: nested objects become
 * dotted keys (addr.type), lists of {"str": ...} repeat the key. */
static bool flatten(GString *s, const char *prefix, JsonObject *obj, GError **err)
{
	GList *members = json_object_get_members(obj);
	bool ok = true;
	for (GList *l = members; l && ok; l = l->next) {
		const char *m = l->data;
		if (!prefix && (!strcmp(m, "type") || !strcmp(m, "id")))
			continue;
		g_autofree char *key = prefix ? g_strdup_printf("%s.%s", prefix, m) : g_strdup(m);
		JsonNode *n = json_object_get_member(obj, m);
		if (JSON_NODE_HOLDS_OBJECT(n)) {
			ok = flatten(s, key, json_node_get_object(n), err);
		} else if (JSON_NODE_HOLDS_ARRAY(n)) {
			JsonArray *a = json_node_get_array(n);
			for (guint i = 0; i < json_array_get_length(a) && ok; i++) {
				JsonNode *e = json_array_get_element(a, i);
				JsonObject *eo =
				    JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
				JsonNode *str = eo ? json_object_get_member(eo, "str") : e;
				if (!str || !JSON_NODE_HOLDS_VALUE(str) ||
				    json_node_get_value_type(str) != G_TYPE_STRING) {
					g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
						    _("Invalid parameter type for '%s', expected: "
						      "array of strings"),
						    key);
					ok = false;
					break;
				}
				append_opt(s, key, json_node_get_string(str));
			}
		} else if (JSON_NODE_HOLDS_VALUE(n)) {
			GType t = json_node_get_value_type(n);
			g_autofree char *v = NULL;
			if (t == G_TYPE_STRING)
				v = g_strdup(json_node_get_string(n));
			else if (t == G_TYPE_BOOLEAN)
				v = g_strdup(json_node_get_boolean(n) ? "on" : "off");
			else if (t == G_TYPE_INT64)
				v = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
			else
				v = g_strdup_printf("%g", json_node_get_double(n));
			append_opt(s, key, v);
		}
	}
	g_list_free(members);
	return ok;
}

static JsonNode *qmp_netdev_add(JsonObject *args, GError **err)
{
	const char *type, *id;
	if (!arg_str(args, "type", true, &type, err) || !arg_str(args, "id", true, &id, err))
		return NULL;
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "%s", type);
	append_opt(s, "id", id);
	if (!flatten(s, NULL, args, err)) {
		g_string_free(s, TRUE);
		return NULL;
	}
	net_netdev_add(s->str, err);
	g_string_free(s, TRUE);
	return NULL;
}

static JsonNode *qmp_netdev_del(JsonObject *args, GError **err)
{
	const char *id;
	if (!arg_str(args, "id", true, &id, err))
		return NULL;
	net_netdev_del(id, err);
	return NULL;
}

static JsonObject *rx_filter_of(NetClient *nc)
{
	JsonObject *o = json_object_new();
	char mac[18];
	json_object_set_string_member(o, "name", nc->name);
	nc->ops->query_rx_filter(nc, o);
	net_format_mac(nc->macaddr, mac);
	json_object_set_string_member(o, "main-mac", mac);
	/* Asking re-arms the event, as in QEMU. */
	nc->rx_filter_notify_off = false;
	return o;
}

static JsonNode *qmp_query_rx_filter(JsonObject *args, GError **err)
{
	const char *name;
	if (!arg_str(args, "name", false, &name, err))
		return NULL;
	JsonArray *a = json_array_new();
	if (name) {
		NetClient *nc = net_client_find(name);
		if (!nc) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("invalid net client name: %s"), name);
			goto fail;
		}
		if (nc->type != NET_CLIENT_NIC) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("net client(%s) isn't a NIC"), name);
			goto fail;
		}
		if (!nc->ops->query_rx_filter) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("net client(%s) doesn't support rx-filter querying"), name);
			goto fail;
		}
		json_array_add_object_element(a, rx_filter_of(nc));
	} else {
		for (GList *l = net_client_list(); l; l = l->next) {
			NetClient *nc = l->data;
			if (nc->type == NET_CLIENT_NIC && nc->ops->query_rx_filter)
				json_array_add_object_element(a, rx_filter_of(nc));
		}
	}
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
fail:
	json_array_unref(a);
	return NULL;
}

static JsonNode *qmp_announce_self(JsonObject *args, GError **err)
{
	JsonNode *ifs = json_object_get_member(args, "interfaces");
	GPtrArray *names = NULL;
	if (ifs) {
		if (!JSON_NODE_HOLDS_ARRAY(ifs)) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Invalid parameter type for 'interfaces', expected: array"));
			return NULL;
		}
		names = g_ptr_array_new();
		JsonArray *a = json_node_get_array(ifs);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			const char *s = json_array_get_string_element(a, i);
			if (s)
				g_ptr_array_add(names, (gpointer)s);
		}
	}
	for (GList *l = net_client_list(); l; l = l->next) {
		NetClient *nc = l->data;
		if (nc->type != NET_CLIENT_NIC)
			continue;
		bool wanted = !names;
		for (guint i = 0; names && i < names->len && !wanted; i++)
			wanted = !strcmp(names->pdata[i], nc->name);
		if (wanted)
			net_nic_announce(nc);
	}
	if (names)
		g_ptr_array_free(names, TRUE);
	return NULL;
}

static JsonNode *qmp_query_kite_net_stats(JsonObject *args, GError **err)
{
	(void)args;
	(void)err;
	JsonArray *a = json_array_new();
	for (GList *l = net_client_list(); l; l = l->next) {
		NetClient *nc = l->data;
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "name", nc->name);
		json_object_set_string_member(o, "type", net_client_type_str(nc->type));
		json_object_set_string_member(o, "model", nc->model);
		if (nc->peer)
			json_object_set_string_member(o, "peer", nc->peer->name);
		json_object_set_int_member(o, "hub", net_hub_id_for_client(nc));
		json_object_set_boolean_member(o, "link-up", !nc->link_down);
		json_object_set_int_member(o, "queue-index", nc->queue_index);
		if (nc->type == NET_CLIENT_NIC) {
			char mac[18];
			net_format_mac(nc->macaddr, mac);
			json_object_set_string_member(o, "macaddr", mac);
		}
		const NetCounters *c = &nc->stats;
		json_object_set_int_member(o, "rx-packets", (gint64)c->rx_packets);
		json_object_set_int_member(o, "rx-bytes", (gint64)c->rx_bytes);
		json_object_set_int_member(o, "rx-dropped", (gint64)c->rx_dropped);
		json_object_set_int_member(o, "tx-packets", (gint64)c->tx_packets);
		json_object_set_int_member(o, "tx-bytes", (gint64)c->tx_bytes);
		json_object_set_int_member(o, "tx-dropped", (gint64)c->tx_dropped);
		json_object_set_int_member(o, "rx-queued", (gint64)c->queued);
		json_object_set_int_member(o, "rx-queue-overflow", (gint64)c->queue_overflow);
		json_array_add_object_element(a, o);
	}
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
}

static void add_lease(const NetUserLease *l, void *opaque)
{
	JsonArray *a = opaque;
	JsonObject *o = json_object_new();
	char mac[18], addr[INET_ADDRSTRLEN];
	net_format_mac(l->mac, mac);
	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	json_object_set_string_member(o, "netdev", l->netdev);
	json_object_set_int_member(o, "hub", l->hub);
	json_object_set_string_member(o, "macaddr", mac);
	json_object_set_string_member(o, "ip-address", addr);
	json_object_set_int_member(o, "prefix", l->prefix);
	if (l->expires_in_s >= 0)
		json_object_set_int_member(o, "expires-in", l->expires_in_s);
	json_array_add_object_element(a, o);
}

static JsonNode *qmp_query_kite_usernet_leases(JsonObject *args, GError **err)
{
	if (args && json_object_get_size(args)) {
		GList *m = json_object_get_members(args);
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Parameter '%s' is unexpected"),
			    (const char *)m->data);
		g_list_free(m);
		return NULL;
	}
	JsonArray *a = json_array_new();
	net_user_foreach_lease(add_lease, a);
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
}

const NetQmpCommand net_qmp_commands[] = {
    {"set_link", qmp_set_link},
    {"netdev_add", qmp_netdev_add},
    {"netdev_del", qmp_netdev_del},
    {"query-rx-filter", qmp_query_rx_filter},
    {"announce-self", qmp_announce_self},
    {"query-kite-net-stats", qmp_query_kite_net_stats},
    {"query-kite-usernet-leases", qmp_query_kite_usernet_leases},
    {NULL, NULL},
};

void net_nic_rx_filter_changed(NetClient *nic)
{
	if (nic->rx_filter_notify_off || !net_qmp_event_hook)
		return;
	nic->rx_filter_notify_off = true;
	JsonObject *data = json_object_new();
	json_object_set_string_member(data, "name", nic->name);
	/* QEMU's path is the QOM path; a model that knows it sets qom_path,
	 * otherwise kite gives the closest it has. */
	g_autofree char *path = nic->qom_path
				    ? g_strdup(nic->qom_path)
				    : g_strdup_printf("/machine/peripheral-anon/%s", nic->name);
	json_object_set_string_member(data, "path", path);
	net_qmp_event_hook("NIC_RX_FILTER_CHANGED", data);
}

/* Reverse ARP "who am I" from the NIC's MAC: switches learn where the
 * guest now is (after migration, or when asked). */
void net_nic_announce(NetClient *nic)
{
	if (nic->ops->announce && nic->ops->announce(nic))
		return;
	uint8_t f[60] = {0};
	memset(f, 0xff, 6);
	memcpy(f + 6, nic->macaddr, 6);
	f[12] = 0x80, f[13] = 0x35;	 /* ETH_P_RARP */
	f[14] = 0x00, f[15] = 0x01;	 /* hardware: Ethernet */
	f[16] = 0x08, f[17] = 0x00;	 /* protocol: IPv4 */
	f[18] = 6, f[19] = 4;		 /* address lengths */
	f[20] = 0x00, f[21] = 0x03;	 /* opcode: reverse request */
	memcpy(f + 22, nic->macaddr, 6); /* sender hardware address */
	memcpy(f + 32, nic->macaddr, 6); /* target hardware address */
	net_send(nic, f, sizeof(f));
}
