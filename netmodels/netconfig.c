/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Network configuration: freeing, validation, address arithmetic, defaults. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

/* clang-format off */
G_DEFINE_QUARK(kite-netmodel-error-quark, kite_netmodel_error)
/* clang-format on */

/* clang-format off */
static const char *const forward_mode_names[] = {
	[KITE_NET_FORWARD_NAT] = "nat",
	[KITE_NET_FORWARD_ROUTE] = "route",
	[KITE_NET_FORWARD_OPEN] = "open",
	[KITE_NET_FORWARD_BRIDGE] = "bridge",
	[KITE_NET_FORWARD_ISOLATED] = "isolated",
};
/* clang-format on */

const char *kite_net_forward_mode_to_string(KiteNetForwardMode mode)
{
	if ((unsigned)mode >= G_N_ELEMENTS(forward_mode_names))
		return "unknown";
	return forward_mode_names[mode];
}

bool kite_net_forward_mode_from_string(const char *str, KiteNetForwardMode *mode)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(forward_mode_names); i++) {
		if (str && strcmp(str, forward_mode_names[i]) == 0) {
			*mode = i;
			return true;
		}
	}
	return false;
}

void kite_net_config_free(KiteNetConfig *c)
{
	if (!c)
		return;
	g_free(c->name);
	g_free(c->uuid);
	g_free(c->forward_dev);
	g_free(c->bridge);
	g_free(c->mac);
	g_free(c->domain);
	g_free(c->ipv4_address);
	for (size_t i = 0; i < c->n_dhcp_ranges; i++) {
		g_free(c->dhcp_ranges[i].start);
		g_free(c->dhcp_ranges[i].end);
	}
	g_free(c->dhcp_ranges);
	for (size_t i = 0; i < c->n_dhcp_hosts; i++) {
		g_free(c->dhcp_hosts[i].mac);
		g_free(c->dhcp_hosts[i].ip);
		g_free(c->dhcp_hosts[i].name);
	}
	g_free(c->dhcp_hosts);
	for (size_t i = 0; i < c->n_dns_hosts; i++) {
		g_free(c->dns_hosts[i].ip);
		g_strfreev(c->dns_hosts[i].hostnames);
	}
	g_free(c->dns_hosts);
	g_free(c->nat_start);
	g_free(c->nat_end);
	g_free(c->ipv6_address);
	for (size_t i = 0; i < c->n_routes; i++) {
		g_free(c->routes[i].address);
		g_free(c->routes[i].gateway);
	}
	g_free(c->routes);
	g_free(c);
}

bool kite_net_parse_ip(const char *str, int family, KiteNetPrefix *out)
{
	memset(out, 0, sizeof(*out));
	if (!str)
		return false;
	if ((family == AF_INET || family == AF_UNSPEC) && inet_pton(AF_INET, str, &out->v4) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
		return true;
	}
	if ((family == AF_INET6 || family == AF_UNSPEC) &&
	    inet_pton(AF_INET6, str, &out->v6) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
		return true;
	}
	return false;
}

static const uint8_t *prefix_bytes(const KiteNetPrefix *p, unsigned *len)
{
	if (p->family == AF_INET) {
		*len = 4;
		return (const uint8_t *)&p->v4;
	}
	*len = 16;
	return (const uint8_t *)&p->v6;
}

/* Whether A and B agree on their first BITS bits. */
static bool same_leading_bits(const KiteNetPrefix *a, const KiteNetPrefix *b, unsigned bits)
{
	unsigned len;
	const uint8_t *x = prefix_bytes(a, &len);
	const uint8_t *y = prefix_bytes(b, &len);

	for (unsigned i = 0; i < len && bits > 0; i++) {
		unsigned n = MIN(bits, 8u);
		uint8_t mask = (uint8_t)(0xff00 >> n);

		if ((x[i] ^ y[i]) & mask)
			return false;
		bits -= n;
	}
	return true;
}

bool kite_net_prefix_contains(const KiteNetPrefix *net, const KiteNetPrefix *addr)
{
	return net->family == addr->family && addr->prefix >= net->prefix &&
	       same_leading_bits(net, addr, net->prefix);
}

bool kite_net_prefix_overlap(const KiteNetPrefix *a, const KiteNetPrefix *b)
{
	return a->family == b->family && same_leading_bits(a, b, MIN(a->prefix, b->prefix));
}

void kite_net_prefix_mask(KiteNetPrefix *p)
{
	unsigned len;
	uint8_t *x = (uint8_t *)prefix_bytes(p, &len);
	unsigned bits = p->prefix;

	for (unsigned i = 0; i < len; i++) {
		unsigned n = MIN(bits, 8u);

		x[i] &= (uint8_t)(0xff00 >> n);
		bits -= n;
	}
}

char *kite_net_prefix_to_string(const KiteNetPrefix *p)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(p->family, p->family == AF_INET ? (const void *)&p->v4 : (const void *)&p->v6,
		  buf, sizeof(buf));
	return g_strdup_printf("%s/%u", buf, p->prefix);
}

bool kite_net_ifname_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = name[i];

		/* the kernel forbids '/', ':' and spaces; '%' would be a template */
		if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%' || ch == ',' ||
		    ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

/* The name ends up in file names, nft comments and dnsmasq's command line. */
bool kite_net_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && !strchr("_.+-", name[i]))
			return false;
	}
	return true;
}

char *kite_net_mark(const char *name)
{
	return g_strconcat(KITE_NET_MARK_PREFIX, name, NULL);
}

/* Host names and domains go into dnsmasq's config file: keep them plain. */
static bool dns_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > 253 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && !strchr("-._", name[i]))
			return false;
	}
	return true;
}

static bool mac_valid(const char *mac, bool unicast)
{
	unsigned b[6];
	char tail;

	if (!mac || strlen(mac) != 17 ||
	    sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (!g_ascii_isxdigit(mac[i * 3]) || !g_ascii_isxdigit(mac[i * 3 + 1]))
			return false;
	}
	return !unicast || !(b[0] & 1);
}

static bool invalid(GError **error, const char *net, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool invalid(GError **error, const char *net, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_INVALID, _("network '%s': %s"),
		    net ? net : "?", msg);
	return false;
}

static uint32_t v4_host(const KiteNetPrefix *p)
{
	return ntohl(p->v4.s_addr);
}

static bool check_ipv4(const KiteNetConfig *c, GError **error)
{
	KiteNetPrefix host, subnet, a, b;
	uint32_t mask, net_addr, bcast;

	if (!c->ipv4_address) {
		if (c->n_dhcp_ranges || c->n_dhcp_hosts)
			return invalid(error, c->name, _("DHCP needs an IPv4 address"));
		if (c->nat_start || c->nat_port_start)
			return invalid(error, c->name, _("a NAT range needs an IPv4 address"));
		return true;
	}
	if (!kite_net_parse_ip(c->ipv4_address, AF_INET, &host))
		return invalid(error, c->name, _("invalid IPv4 address '%s'"), c->ipv4_address);
	if (c->ipv4_prefix < 1 || c->ipv4_prefix > 30)
		return invalid(error, c->name, _("invalid IPv4 prefix %u (1-30)"), c->ipv4_prefix);
	subnet = host;
	subnet.prefix = c->ipv4_prefix;
	kite_net_prefix_mask(&subnet);
	mask = 0xffffffffu << (32 - c->ipv4_prefix);
	net_addr = v4_host(&subnet);
	bcast = net_addr | ~mask;
	if (v4_host(&host) == net_addr || v4_host(&host) == bcast)
		return invalid(error, c->name,
			       _("IPv4 address %s is the network or broadcast address of /%u"),
			       c->ipv4_address, c->ipv4_prefix);

	for (size_t i = 0; i < c->n_dhcp_ranges; i++) {
		const KiteNetDhcpRange *r = &c->dhcp_ranges[i];

		if (!kite_net_parse_ip(r->start, AF_INET, &a))
			return invalid(error, c->name, _("invalid DHCP range start '%s'"),
				       r->start ? r->start : "");
		if (!kite_net_parse_ip(r->end, AF_INET, &b))
			return invalid(error, c->name, _("invalid DHCP range end '%s'"),
				       r->end ? r->end : "");
		if (!kite_net_prefix_contains(&subnet, &a) ||
		    !kite_net_prefix_contains(&subnet, &b) || v4_host(&a) == net_addr ||
		    v4_host(&b) == bcast)
			return invalid(error, c->name,
				       _("DHCP range %s-%s is outside the subnet %s/%u"), r->start,
				       r->end, c->ipv4_address, c->ipv4_prefix);
		if (v4_host(&a) > v4_host(&b))
			return invalid(error, c->name, _("DHCP range %s-%s ends before it starts"),
				       r->start, r->end);
	}
	for (size_t i = 0; i < c->n_dhcp_hosts; i++) {
		const KiteNetDhcpHost *h = &c->dhcp_hosts[i];

		if (!h->mac && !h->name)
			return invalid(error, c->name, _("DHCP host %s has neither MAC nor name"),
				       h->ip ? h->ip : "?");
		if (h->mac && !mac_valid(h->mac, true))
			return invalid(error, c->name, _("invalid DHCP host MAC '%s'"), h->mac);
		if (h->name && !dns_name_valid(h->name))
			return invalid(error, c->name, _("invalid DHCP host name '%s'"), h->name);
		if (!kite_net_parse_ip(h->ip, AF_INET, &a) ||
		    !kite_net_prefix_contains(&subnet, &a))
			return invalid(error, c->name,
				       _("DHCP host address '%s' is not in the subnet %s/%u"),
				       h->ip ? h->ip : "", c->ipv4_address, c->ipv4_prefix);
	}
	if (c->nat_start || c->nat_end) {
		if (c->forward_mode != KITE_NET_FORWARD_NAT)
			return invalid(error, c->name,
				       _("a NAT address range needs forward mode nat"));
		if (!kite_net_parse_ip(c->nat_start, AF_INET, &a) ||
		    !kite_net_parse_ip(c->nat_end ? c->nat_end : c->nat_start, AF_INET, &b) ||
		    v4_host(&a) > v4_host(&b))
			return invalid(error, c->name, _("invalid NAT address range '%s'-'%s'"),
				       c->nat_start ? c->nat_start : "",
				       c->nat_end ? c->nat_end : "");
	}
	if (c->nat_port_start || c->nat_port_end) {
		if (c->forward_mode != KITE_NET_FORWARD_NAT)
			return invalid(error, c->name,
				       _("a NAT port range needs forward mode nat"));
		if (c->nat_port_start < 1 || c->nat_port_end > 65535 ||
		    c->nat_port_start > c->nat_port_end)
			return invalid(error, c->name, _("invalid NAT port range %u-%u"),
				       c->nat_port_start, c->nat_port_end);
	}
	return true;
}

bool kite_net_config_validate(const KiteNetConfig *c, GError **error)
{
	KiteNetPrefix p6, a;

	if (!kite_net_name_valid(c->name))
		return invalid(error, c->name,
			       _("invalid network name (use 1-64 of A-Z a-z 0-9 _ . + -)"));
	if (c->uuid && !g_uuid_string_is_valid(c->uuid))
		return invalid(error, c->name, _("invalid UUID '%s'"), c->uuid);
	if ((unsigned)c->forward_mode >= G_N_ELEMENTS(forward_mode_names))
		return invalid(error, c->name, _("unknown forward mode %d"), c->forward_mode);
	if (c->bridge && !kite_net_ifname_valid(c->bridge))
		return invalid(error, c->name, _("invalid bridge name '%s'"), c->bridge);
	if (c->forward_dev && !kite_net_ifname_valid(c->forward_dev))
		return invalid(error, c->name, _("invalid forward device '%s'"), c->forward_dev);
	if (c->mac && !mac_valid(c->mac, true))
		return invalid(error, c->name, _("invalid bridge MAC address '%s'"), c->mac);
	if (c->mtu && (c->mtu < 68 || c->mtu > 65535))
		return invalid(error, c->name, _("invalid MTU %u (68-65535)"), c->mtu);
	if (c->delay > 30)
		return invalid(error, c->name, _("invalid forward delay %u (0-30 seconds)"),
			       c->delay);
	if (c->domain && !dns_name_valid(c->domain))
		return invalid(error, c->name, _("invalid domain name '%s'"), c->domain);

	if (c->forward_mode == KITE_NET_FORWARD_BRIDGE) {
		if (!c->bridge)
			return invalid(error, c->name,
				       _("forward mode bridge needs a bridge name"));
		if (c->ipv4_address || c->ipv6_address || c->n_routes || c->n_dhcp_ranges ||
		    c->n_dns_hosts || c->forward_dev || c->mac || c->mtu)
			return invalid(
			    error, c->name,
			    _("forward mode bridge uses the host bridge as it is: no "
			      "addresses, DHCP, DNS, routes, MAC, MTU or forward device"));
		return true;
	}
	if (c->forward_dev && c->forward_mode != KITE_NET_FORWARD_NAT &&
	    c->forward_mode != KITE_NET_FORWARD_ROUTE)
		return invalid(error, c->name,
			       _("a forward device is only meaningful in nat and route modes"));

	if (!check_ipv4(c, error))
		return false;

	if (c->ipv6_address) {
		if (!kite_net_parse_ip(c->ipv6_address, AF_INET6, &p6))
			return invalid(error, c->name, _("invalid IPv6 address '%s'"),
				       c->ipv6_address);
		if (c->ipv6_prefix < 1 || c->ipv6_prefix > 126)
			return invalid(error, c->name, _("invalid IPv6 prefix %u (1-126)"),
				       c->ipv6_prefix);
	}
	for (size_t i = 0; i < c->n_dns_hosts; i++) {
		const KiteNetDnsHost *h = &c->dns_hosts[i];

		if (!kite_net_parse_ip(h->ip, AF_UNSPEC, &a))
			return invalid(error, c->name, _("invalid DNS host address '%s'"),
				       h->ip ? h->ip : "");
		if (!h->hostnames || !h->hostnames[0])
			return invalid(error, c->name, _("DNS host %s has no host name"), h->ip);
		for (char **n = h->hostnames; *n; n++) {
			if (!dns_name_valid(*n))
				return invalid(error, c->name, _("invalid DNS host name '%s'"), *n);
		}
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const KiteNetRoute *r = &c->routes[i];
		KiteNetPrefix dst, gw, own;
		const char *own_str;
		unsigned own_prefix;

		if (!kite_net_parse_ip(r->address, AF_UNSPEC, &dst) ||
		    r->prefix > (dst.family == AF_INET ? 32u : 128u))
			return invalid(error, c->name, _("invalid route destination '%s/%u'"),
				       r->address ? r->address : "", r->prefix);
		if (!kite_net_parse_ip(r->gateway, dst.family, &gw))
			return invalid(error, c->name, _("invalid gateway '%s' for route %s/%u"),
				       r->gateway ? r->gateway : "", r->address, r->prefix);
		own_str = dst.family == AF_INET ? c->ipv4_address : c->ipv6_address;
		own_prefix = dst.family == AF_INET ? c->ipv4_prefix : c->ipv6_prefix;
		if (!own_str || !kite_net_parse_ip(own_str, dst.family, &own))
			return invalid(
			    error, c->name,
			    _("route %s/%u needs an address of its family on the network"),
			    r->address, r->prefix);
		own.prefix = own_prefix;
		if (!kite_net_prefix_contains(&own, &gw))
			return invalid(
			    error, c->name,
			    _("gateway %s of route %s/%u is not on the network's subnet"),
			    r->gateway, r->address, r->prefix);
	}
	return true;
}

KiteNetConfig *kite_net_config_new_default(GError **error)
{
	g_autoptr(KiteNetConfig) c = g_new0(KiteNetConfig, 1);
	struct nl_sock *sk = kite_nl_open(error);
	unsigned third = 0;

	if (!sk)
		return NULL;
	c->name = g_strdup("default");
	c->uuid = g_uuid_string_random();
	c->forward_mode = KITE_NET_FORWARD_NAT;
	c->stp = true;
	c->delay = 0;
	/* virbr0 may belong to a libvirtd on the same host: then keep out of its way */
	if (kite_link_exists(sk, "virbr0") && !kite_bridge_is_kite(sk, "virbr0"))
		c->bridge = g_strdup("kitebr0");
	else
		c->bridge = g_strdup("virbr0");

	for (unsigned n = 122; n <= 254 && !third; n++) {
		KiteNetPrefix subnet;
		g_autofree char *net = g_strdup_printf("192.168.%u.0", n);

		kite_net_parse_ip(net, AF_INET, &subnet);
		subnet.prefix = 24;
		if (kite_check_subnet_free(sk, &subnet, NULL, NULL))
			third = n;
	}
	kite_nl_close(sk);
	if (!third) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_OVERLAP,
			    _("no free 192.168.N.0/24 subnet for the default network"));
		return NULL;
	}
	c->ipv4_address = g_strdup_printf("192.168.%u.1", third);
	c->ipv4_prefix = 24;
	c->n_dhcp_ranges = 1;
	c->dhcp_ranges = g_new0(KiteNetDhcpRange, 1);
	c->dhcp_ranges[0].start = g_strdup_printf("192.168.%u.2", third);
	c->dhcp_ranges[0].end = g_strdup_printf("192.168.%u.254", third);
	return g_steal_pointer(&c);
}
