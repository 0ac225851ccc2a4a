/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test driver for the netmodels library: one subcommand per API call, run
 * by the Python tests inside "ip netns exec NS". Errors go to stderr as
 * "error: CODE: message" so that tests can check which error it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "kite-netmodel.h"

/* clang-format off */
static const char *const code_names[] = {
	[KITE_NETMODEL_ERROR_INVALID] = "INVALID",
	[KITE_NETMODEL_ERROR_OVERLAP] = "OVERLAP",
	[KITE_NETMODEL_ERROR_BRIDGE_IN_USE] = "BRIDGE_IN_USE",
	[KITE_NETMODEL_ERROR_NO_BRIDGE] = "NO_BRIDGE",
	[KITE_NETMODEL_ERROR_ACTIVE] = "ACTIVE",
	[KITE_NETMODEL_ERROR_NOT_ACTIVE] = "NOT_ACTIVE",
	[KITE_NETMODEL_ERROR_DNSMASQ] = "DNSMASQ",
	[KITE_NETMODEL_ERROR_SYSTEM] = "SYSTEM",
	[KITE_NETMODEL_ERROR_TAP] = "TAP",
	[KITE_NETMODEL_ERROR_HOOK_FAILED] = "HOOK_FAILED",
	[KITE_NETMODEL_ERROR_HOOK_TIMEOUT] = "HOOK_TIMEOUT",
};
/* clang-format on */

static int fail(GError *error)
{
	const char *code = "OTHER";

	if (error->domain == KITE_NETMODEL_ERROR && error->code >= 0 &&
	    (size_t)error->code < G_N_ELEMENTS(code_names))
		code = code_names[error->code];
	fprintf(stderr, "error: %s: %s\n", code, error->message);
	g_error_free(error);
	return 1;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: netmodel-tool start|adopt CONFIG.json STATE_DIR\n"
		"       netmodel-tool stop|leases NAME STATE_DIR\n"
		"       netmodel-tool default\n"
		"       netmodel-tool tap-create TEMPLATE VNET_HDR QUEUES PERSISTENT OWNER "
		"[BRIDGE]\n"
		"       netmodel-tool tap-attach IFNAME BRIDGE MTU\n"
		"       netmodel-tool tap-destroy IFNAME\n"
		"       netmodel-tool hook DIR OBJECT NAME OP SUBOP TIMEOUT   (XML on stdin)\n");
	return 2;
}

/* --- JSON config: keys mirror KiteNetConfig --- */

static bool bad_json(GError **error, const char *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "config: bad or missing %s", what);
	return false;
}

static bool get_str(JsonObject *o, const char *key, char **out, GError **error)
{
	JsonNode *n = json_object_get_member(o, key);

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return bad_json(error, key);
	*out = g_strdup(json_node_get_string(n));
	return true;
}

static bool get_uint(JsonObject *o, const char *key, unsigned *out, GError **error)
{
	JsonNode *n = json_object_get_member(o, key);
	gint64 v;

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return bad_json(error, key);
	v = json_node_get_int(n);
	if (v < 0 || v > G_MAXUINT)
		return bad_json(error, key);
	*out = (unsigned)v;
	return true;
}

static JsonObject *get_obj(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Array of objects, or NULL with *len 0; false if KEY is there but not such an array. */
static bool get_objs(JsonObject *o, const char *key, JsonArray **arr, GError **error)
{
	JsonNode *n = json_object_get_member(o, key);

	*arr = NULL;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return bad_json(error, key);
	*arr = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(*arr); i++) {
		if (!JSON_NODE_HOLDS_OBJECT(json_array_get_element(*arr, i)))
			return bad_json(error, key);
	}
	return true;
}

static bool parse_config(const char *path, KiteNetConfig **out, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(KiteNetConfig) c = g_new0(KiteNetConfig, 1);
	g_autofree char *mode = NULL;
	JsonObject *root, *ip4, *nat, *ip6;
	JsonArray *arr;
	JsonNode *n;

	if (!json_parser_load_from_file(parser, path, error))
		return false;
	n = json_parser_get_root(parser);
	if (!n || !JSON_NODE_HOLDS_OBJECT(n))
		return bad_json(error, "top-level object");
	root = json_node_get_object(n);
	if (!get_str(root, "name", &c->name, error) || !get_str(root, "uuid", &c->uuid, error) ||
	    !get_str(root, "forward", &mode, error) ||
	    !get_str(root, "forward_dev", &c->forward_dev, error) ||
	    !get_str(root, "bridge", &c->bridge, error) || !get_str(root, "mac", &c->mac, error) ||
	    !get_str(root, "domain", &c->domain, error) ||
	    !get_uint(root, "delay", &c->delay, error) || !get_uint(root, "mtu", &c->mtu, error))
		return false;
	if (!kite_net_forward_mode_from_string(mode ? mode : "nat", &c->forward_mode))
		return bad_json(error, "forward");
	c->stp = json_object_get_boolean_member_with_default(root, "stp", FALSE);

	ip4 = get_obj(root, "ipv4");
	if (ip4) {
		if (!get_str(ip4, "address", &c->ipv4_address, error) ||
		    !get_uint(ip4, "prefix", &c->ipv4_prefix, error) ||
		    !get_objs(ip4, "dhcp", &arr, error))
			return false;
		c->n_dhcp_ranges = arr ? json_array_get_length(arr) : 0;
		c->dhcp_ranges = g_new0(KiteNetDhcpRange, c->n_dhcp_ranges);
		for (size_t i = 0; i < c->n_dhcp_ranges; i++) {
			JsonObject *r = json_array_get_object_element(arr, (guint)i);

			if (!get_str(r, "start", &c->dhcp_ranges[i].start, error) ||
			    !get_str(r, "end", &c->dhcp_ranges[i].end, error))
				return false;
		}
		if (!get_objs(ip4, "hosts", &arr, error))
			return false;
		c->n_dhcp_hosts = arr ? json_array_get_length(arr) : 0;
		c->dhcp_hosts = g_new0(KiteNetDhcpHost, c->n_dhcp_hosts);
		for (size_t i = 0; i < c->n_dhcp_hosts; i++) {
			JsonObject *h = json_array_get_object_element(arr, (guint)i);

			if (!get_str(h, "mac", &c->dhcp_hosts[i].mac, error) ||
			    !get_str(h, "ip", &c->dhcp_hosts[i].ip, error) ||
			    !get_str(h, "name", &c->dhcp_hosts[i].name, error))
				return false;
		}
	}
	if (!get_objs(root, "dns_hosts", &arr, error))
		return false;
	c->n_dns_hosts = arr ? json_array_get_length(arr) : 0;
	c->dns_hosts = g_new0(KiteNetDnsHost, c->n_dns_hosts);
	for (size_t i = 0; i < c->n_dns_hosts; i++) {
		JsonObject *h = json_array_get_object_element(arr, (guint)i);
		JsonNode *names = json_object_get_member(h, "hostnames");
		JsonArray *na;
		guint len;

		if (!get_str(h, "ip", &c->dns_hosts[i].ip, error))
			return false;
		if (!names || !JSON_NODE_HOLDS_ARRAY(names))
			return bad_json(error, "hostnames");
		na = json_node_get_array(names);
		len = json_array_get_length(na);
		c->dns_hosts[i].hostnames = g_new0(char *, len + 1);
		for (guint j = 0; j < len; j++) {
			JsonNode *e = json_array_get_element(na, j);

			if (!JSON_NODE_HOLDS_VALUE(e) ||
			    json_node_get_value_type(e) != G_TYPE_STRING)
				return bad_json(error, "hostnames");
			c->dns_hosts[i].hostnames[j] = g_strdup(json_node_get_string(e));
		}
	}
	nat = get_obj(root, "nat");
	if (nat && (!get_str(nat, "start", &c->nat_start, error) ||
		    !get_str(nat, "end", &c->nat_end, error) ||
		    !get_uint(nat, "port_start", &c->nat_port_start, error) ||
		    !get_uint(nat, "port_end", &c->nat_port_end, error)))
		return false;
	ip6 = get_obj(root, "ipv6");
	if (ip6 && (!get_str(ip6, "address", &c->ipv6_address, error) ||
		    !get_uint(ip6, "prefix", &c->ipv6_prefix, error)))
		return false;
	if (!get_objs(root, "routes", &arr, error))
		return false;
	c->n_routes = arr ? json_array_get_length(arr) : 0;
	c->routes = g_new0(KiteNetRoute, c->n_routes);
	for (size_t i = 0; i < c->n_routes; i++) {
		JsonObject *r = json_array_get_object_element(arr, (guint)i);

		if (!get_str(r, "address", &c->routes[i].address, error) ||
		    !get_uint(r, "prefix", &c->routes[i].prefix, error) ||
		    !get_str(r, "gateway", &c->routes[i].gateway, error))
			return false;
	}
	*out = g_steal_pointer(&c);
	return true;
}

static int cmd_tap_create(char **argv, int argc)
{
	int queues = atoi(argv[3]);
	long owner = strtol(argv[5], NULL, 10);
	g_autofree int *fds = NULL;
	g_autofree char *ifname = NULL;
	GError *error = NULL;
	char buf[64];

	/* out-of-range counts go to the library unchanged: it must reject them */
	fds = g_new0(int, CLAMP(queues, 1, 256));
	if (!kite_tap_create(argv[1], atoi(argv[2]) != 0, queues, atoi(argv[4]) != 0,
			     owner < 0 ? (uid_t)-1 : (uid_t)owner, &ifname, fds, &error))
		return fail(error);
	if (argc > 6 && !kite_tap_attach_bridge(ifname, argv[6], 0, &error))
		return fail(error);
	printf("%s\n", ifname);
	fflush(stdout);
	/* hold the queues until the test closes our stdin: the tap lives that long */
	while (fgets(buf, sizeof(buf), stdin))
		;
	for (int i = 0; i < queues; i++)
		close(fds[i]);
	return 0;
}

static int cmd_hook(char **argv)
{
	g_autoptr(GString) xml = g_string_new(NULL);
	GError *error = NULL;
	char buf[4096];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		g_string_append_len(xml, buf, (gssize)n);
	if (!kite_hook_run(argv[1], argv[2], argv[3], argv[4],
			   strcmp(argv[5], "-") ? argv[5] : NULL, xml->str, atoi(argv[6]), &error))
		return fail(error);
	return 0;
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	const char *cmd;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	argv++;
	argc--;
	if ((!strcmp(cmd, "start") || !strcmp(cmd, "adopt")) && argc == 3) {
		g_autoptr(KiteNetConfig) c = NULL;
		bool ok;

		if (!parse_config(argv[1], &c, &error))
			return fail(error);
		ok = !strcmp(cmd, "start") ? kite_network_start(c, argv[2], &error)
					   : kite_network_adopt(c, argv[2], &error);
		if (!ok)
			return fail(error);
		g_autofree char *br = kite_network_get_bridge(c->name, argv[2]);
		printf("bridge %s\n", br ? br : "-");
		return 0;
	}
	if (!strcmp(cmd, "stop") && argc == 3)
		return kite_network_stop(argv[1], argv[2], &error) ? 0 : fail(error);
	if (!strcmp(cmd, "leases") && argc == 3) {
		g_autoptr(GPtrArray) leases = NULL;

		if (!kite_network_leases(argv[1], argv[2], &leases, &error))
			return fail(error);
		for (guint i = 0; i < leases->len; i++) {
			KiteNetLease *l = leases->pdata[i];

			printf("%s %s %s %" G_GINT64_FORMAT "\n", l->mac, l->ip,
			       l->hostname ? l->hostname : "-", l->expiry);
		}
		return 0;
	}
	if (!strcmp(cmd, "default") && argc == 1) {
		g_autoptr(KiteNetConfig) c = kite_net_config_new_default(&error);

		if (!c)
			return fail(error);
		printf("name %s\nforward %s\nbridge %s\nipv4 %s/%u\ndhcp %s-%s\nstp %d\n", c->name,
		       kite_net_forward_mode_to_string(c->forward_mode), c->bridge, c->ipv4_address,
		       c->ipv4_prefix, c->dhcp_ranges[0].start, c->dhcp_ranges[0].end, c->stp);
		return kite_net_config_validate(c, &error) ? 0 : fail(error);
	}
	if (!strcmp(cmd, "tap-create") && (argc == 6 || argc == 7))
		return cmd_tap_create(argv, argc);
	if (!strcmp(cmd, "tap-attach") && argc == 4)
		return kite_tap_attach_bridge(argv[1], argv[2], (unsigned)atoi(argv[3]), &error)
			   ? 0
			   : fail(error);
	if (!strcmp(cmd, "tap-destroy") && argc == 2)
		return kite_tap_destroy(argv[1], &error) ? 0 : fail(error);
	if (!strcmp(cmd, "hook") && argc == 7)
		return cmd_hook(argv);
	return usage();
}
