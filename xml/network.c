/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt network XML: parse, defaults, checks, canonical output. */
#include <arpa/inet.h>
#include <glib/gi18n.h>
#include <libxml/parser.h>
#include <string.h>

#include "xml-internal.h"

#define INVALID KITE_XML_ERROR_INVALID

static const char *const forward_modes[] = {
    [KITE_FORWARD_NONE] = "none",	[KITE_FORWARD_NAT] = "nat",
    [KITE_FORWARD_ROUTE] = "route",	[KITE_FORWARD_OPEN] = "open",
    [KITE_FORWARD_BRIDGE] = "bridge",	[KITE_FORWARD_PRIVATE] = "private",
    [KITE_FORWARD_VEPA] = "vepa",	[KITE_FORWARD_PASSTHROUGH] = "passthrough",
    [KITE_FORWARD_HOSTDEV] = "hostdev",
};

/* ---------------------------------------------------------- lifetime */

static void dhcp_range_free(gpointer p)
{
	KiteDhcpRange *r = p;

	g_free(r->start);
	g_free(r->end);
	g_free(r->lease_expiry);
	g_free(r->lease_unit);
	g_free(r);
}

static void dhcp_host_free(gpointer p)
{
	KiteDhcpHost *h = p;

	g_free(h->mac);
	g_free(h->id);
	g_free(h->name);
	g_free(h->ip);
	g_free(h->lease_expiry);
	g_free(h->lease_unit);
	g_free(h);
}

static void network_ip_free(gpointer p)
{
	KiteNetworkIp *ip = p;

	g_free(ip->family);
	g_free(ip->address);
	g_free(ip->netmask);
	g_free(ip->localptr);
	g_free(ip->tftp_root);
	g_ptr_array_unref(ip->ranges);
	g_ptr_array_unref(ip->hosts);
	g_free(ip->bootp_file);
	g_free(ip->bootp_server);
	g_free(ip);
}

static void dns_host_free(gpointer p)
{
	KiteDnsHost *h = p;

	g_free(h->ip);
	g_ptr_array_unref(h->hostnames);
	g_free(h);
}

static void dns_forwarder_free(gpointer p)
{
	KiteDnsForwarder *f = p;

	g_free(f->addr);
	g_free(f->domain);
	g_free(f);
}

static void dns_txt_free(gpointer p)
{
	KiteDnsTxt *t = p;

	g_free(t->name);
	g_free(t->value);
	g_free(t);
}

static void dns_srv_free(gpointer p)
{
	KiteDnsSrv *s = p;

	g_free(s->service);
	g_free(s->protocol);
	g_free(s->domain);
	g_free(s->target);
	g_free(s->port);
	g_free(s->priority);
	g_free(s->weight);
	g_free(s);
}

static void portgroup_free(gpointer p)
{
	KitePortGroup *pg = p;

	g_free(pg->name);
	kx_virtualport_free(pg->virtualport);
	kx_vlan_clear(&pg->vlan);
	g_free(pg);
}

KiteNetworkDef *kite_network_def_new(void)
{
	KiteNetworkDef *def = g_new0(KiteNetworkDef, 1);

	def->forward_ifs = g_ptr_array_new_with_free_func(g_free);
	def->dns_forwarders = g_ptr_array_new_with_free_func(dns_forwarder_free);
	def->dns_txts = g_ptr_array_new_with_free_func(dns_txt_free);
	def->dns_srvs = g_ptr_array_new_with_free_func(dns_srv_free);
	def->dns_hosts = g_ptr_array_new_with_free_func(dns_host_free);
	def->ips = g_ptr_array_new_with_free_func(network_ip_free);
	def->routes = g_ptr_array_new_with_free_func(kx_ip_route_free);
	def->portgroups = g_ptr_array_new_with_free_func(portgroup_free);
	return def;
}

void kite_network_def_free(KiteNetworkDef *def)
{
	if (!def)
		return;
	g_free(def->name);
	g_free(def->connections);
	g_free(def->forward_dev);
	g_ptr_array_unref(def->forward_ifs);
	g_free(def->nat_addr_start);
	g_free(def->nat_addr_end);
	g_free(def->bridge_name);
	g_free(def->bridge_delay);
	g_free(def->bridge_mac_table_manager);
	g_free(def->bridge_zone);
	g_free(def->mac);
	g_free(def->domain_name);
	g_ptr_array_unref(def->dns_forwarders);
	g_ptr_array_unref(def->dns_txts);
	g_ptr_array_unref(def->dns_srvs);
	g_ptr_array_unref(def->dns_hosts);
	g_ptr_array_unref(def->ips);
	g_ptr_array_unref(def->routes);
	g_ptr_array_unref(def->portgroups);
	kx_vlan_clear(&def->vlan);
	kx_virtualport_free(def->virtualport);
	kx_node_free(def->metadata);
	g_free(def->title);
	g_free(def->description);
	g_free(def);
}

/* ------------------------------------------------------------- IP math */

typedef struct {
	int family;
	uint8_t a[16];
} IpAddr;

static bool ip_parse(const char *s, IpAddr *ip)
{
	return kx_ip_parse(s, &ip->family, ip->a);
}

static unsigned ip_len(const IpAddr *ip)
{
	return ip->family == AF_INET ? 4 : 16;
}

static int ip_cmp(const IpAddr *x, const IpAddr *y)
{
	return memcmp(x->a, y->a, ip_len(x));
}

static bool ip_in_subnet(const IpAddr *ip, const IpAddr *net, unsigned prefix)
{
	if (ip->family != net->family)
		return false;
	for (unsigned bit = 0; bit < prefix; bit++) {
		unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
		if ((ip->a[byte] & mask) != (net->a[byte] & mask))
			return false;
	}
	return true;
}

/* Prefix from a dotted netmask; -1 if the mask is not contiguous. */
static int netmask_prefix(const char *mask)
{
	IpAddr m;
	int prefix = 0;
	bool zero_seen = false;

	if (!ip_parse(mask, &m) || m.family != AF_INET)
		return -1;
	for (unsigned bit = 0; bit < 32; bit++) {
		bool set = m.a[bit / 8] & (0x80u >> (bit % 8));
		if (set && zero_seen)
			return -1;
		if (set)
			prefix++;
		else
			zero_seen = true;
	}
	return prefix;
}

unsigned kite_network_ip_prefix(const KiteNetworkIp *ip)
{
	IpAddr a;

	if (ip->prefix)
		return ip->prefix;
	if (ip->netmask) {
		int p = netmask_prefix(ip->netmask);
		return p < 0 ? 0 : (unsigned)p;
	}
	/* libvirt's classful default for IPv4 without mask, 64 for IPv6 */
	if (!ip_parse(ip->address, &a))
		return 0;
	if (a.family == AF_INET6)
		return 64;
	if (a.a[0] < 128)
		return 8;
	if (a.a[0] < 192)
		return 16;
	return 24;
}

static bool ip_is_v6(const KiteNetworkIp *ip)
{
	IpAddr a;
	return (ip->family && !strcmp(ip->family, "ipv6")) ||
	       (ip_parse(ip->address, &a) && a.family == AF_INET6);
}

const KiteNetworkIp *kite_network_def_ipv4(const KiteNetworkDef *def)
{
	for (guint i = 0; i < def->ips->len; i++) {
		const KiteNetworkIp *ip = g_ptr_array_index(def->ips, i);
		if (!ip_is_v6(ip))
			return ip;
	}
	return NULL;
}

/* --------------------------------------------------------------- parse */

static bool parse_lease(const xmlNode *parent, char **expiry, char **unit, GError **err)
{
	static const char *const units[] = {"seconds", "minutes", "hours", NULL};
	xmlNode *l = kx_child(parent, "lease");
	unsigned long long v;

	if (!l)
		return true;
	*expiry = kx_prop_req(l, "expiry", err);
	if (!*expiry)
		return false;
	if (!kx_parse_uint(*expiry, G_MAXUINT, &v))
		return kx_error(err, INVALID, l, _("invalid value '%s' for 'expiry' of <lease>"),
				*expiry);
	return kx_prop_enum(l, "unit", units, unit, err);
}

static bool parse_dhcp(const xmlNode *node, KiteNetworkIp *ip, GError **err)
{
	{
		static const char *const once[] = {"bootp", NULL};
		if (!kx_check_singletons(node, once, err))
			return false;
	}
	ip->has_dhcp = true;
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "range")) {
			KiteDhcpRange *r = g_new0(KiteDhcpRange, 1);
			r->line = kx_line_of(c);
			g_ptr_array_add(ip->ranges, r);
			kx_take(&r->start, kx_prop_req(c, "start", err));
			r->end = r->start ? kx_prop_req(c, "end", err) : NULL;
			if (!r->end || !parse_lease(c, &r->lease_expiry, &r->lease_unit, err))
				return false;
		} else if (kx_is(c, "host")) {
			KiteDhcpHost *h = g_new0(KiteDhcpHost, 1);
			h->line = kx_line_of(c);
			g_ptr_array_add(ip->hosts, h);
			kx_take(&h->mac, kx_prop(c, "mac"));
			kx_take(&h->id, kx_prop(c, "id"));
			kx_take(&h->name, kx_prop(c, "name"));
			kx_take(&h->ip, kx_prop(c, "ip"));
			if (!parse_lease(c, &h->lease_expiry, &h->lease_unit, err))
				return false;
			if (h->mac) {
				uint8_t m[6];
				if (!kite_mac_parse(h->mac, m))
					return kx_error(
					    err, INVALID, c,
					    _("invalid MAC address '%s' in <host mac> of "
					      "<dhcp>"),
					    h->mac);
				if (m[0] & 1)
					return kx_error(
					    err, INVALID, c,
					    _("multicast MAC address '%s' in <host mac> "
					      "of <dhcp>"),
					    h->mac);
				/* kept as written, like libvirt */
			}
			if (!h->ip && !h->name)
				return kx_error(err, INVALID, c,
						_("<host> in <dhcp> needs an 'ip' or a 'name'"));
			if (!h->mac && !h->id && !ip_is_v6(ip))
				return kx_error(err, INVALID, c,
						_("<host> in an IPv4 <dhcp> needs a 'mac'"));
		} else if (kx_is(c, "bootp")) {
			kx_take(&ip->bootp_file, kx_prop_req(c, "file", err));
			if (!ip->bootp_file)
				return false;
			kx_take(&ip->bootp_server, kx_prop(c, "server"));
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

static bool parse_ip(const xmlNode *node, KiteNetworkDef *def, GError **err)
{
	static const char *const attrs[] = {"family", "address",  "netmask",
					    "prefix", "localPtr", NULL};
	static const char *const families[] = {"ipv4", "ipv6", NULL};
	KiteNetworkIp *ip = g_new0(KiteNetworkIp, 1);
	IpAddr a;
	bool have_prefix;

	ip->line = kx_line_of(node);
	ip->ranges = g_ptr_array_new_with_free_func(dhcp_range_free);
	ip->hosts = g_ptr_array_new_with_free_func(dhcp_host_free);
	g_ptr_array_add(def->ips, ip);
	if (!kx_check_attrs(node, attrs, err) ||
	    !kx_prop_enum(node, "family", families, &ip->family, err) ||
	    !kx_prop_uint(node, "prefix", &ip->prefix, &have_prefix, err))
		return false;
	kx_take(&ip->address, kx_prop_req(node, "address", err));
	if (!ip->address)
		return false;
	kx_take(&ip->netmask, kx_prop(node, "netmask"));
	kx_take(&ip->localptr, kx_prop(node, "localPtr"));
	if (!ip_parse(ip->address, &a))
		return kx_error(err, INVALID, node, _("invalid IP address '%s' in <ip address>"),
				ip->address);
	if (ip->family && strcmp(ip->family, a.family == AF_INET ? "ipv4" : "ipv6"))
		return kx_error(err, INVALID, node,
				_("address '%s' in <ip> does not match family '%s'"), ip->address,
				ip->family);
	if (ip->netmask && have_prefix)
		return kx_error(err, INVALID, node,
				_("<ip> cannot have both a 'netmask' and a 'prefix'"));
	if (ip->netmask && (a.family != AF_INET || netmask_prefix(ip->netmask) < 0))
		return kx_error(err, INVALID, node, _("invalid netmask '%s' in <ip netmask>"),
				ip->netmask);
	if (have_prefix && (ip->prefix == 0 || ip->prefix > (a.family == AF_INET ? 32u : 128u)))
		return kx_error(err, INVALID, node, _("invalid prefix %u in <ip prefix>"),
				ip->prefix);
	{
		static const char *const once[] = {"dhcp", "tftp", NULL};
		if (!kx_check_singletons(node, once, err))
			return false;
	}
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "dhcp")) {
			if (!parse_dhcp(c, ip, err))
				return false;
		} else if (kx_is(c, "tftp")) {
			kx_take(&ip->tftp_root, kx_prop_req(c, "root", err));
			if (!ip->tftp_root)
				return false;
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

static bool parse_dns(const xmlNode *node, KiteNetworkDef *def, GError **err)
{
	def->dns_present = true;
	if (!kx_prop_yesno(node, "enable", &def->dns_enable, err) ||
	    !kx_prop_yesno(node, "forwardPlainNames", &def->dns_forward_plain_names, err))
		return false;
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "forwarder")) {
			KiteDnsForwarder *f = g_new0(KiteDnsForwarder, 1);
			g_ptr_array_add(def->dns_forwarders, f);
			kx_take(&f->addr, kx_prop(c, "addr"));
			kx_take(&f->domain, kx_prop(c, "domain"));
			if (!f->addr && !f->domain)
				return kx_error(err, INVALID, c,
						_("<forwarder> in <dns> needs an 'addr' or a "
						  "'domain'"));
			if (f->addr) {
				IpAddr a;
				if (!ip_parse(f->addr, &a))
					return kx_error(
					    err, INVALID, c,
					    _("invalid address '%s' in <forwarder addr>"), f->addr);
			}
		} else if (kx_is(c, "txt")) {
			KiteDnsTxt *t = g_new0(KiteDnsTxt, 1);
			g_ptr_array_add(def->dns_txts, t);
			kx_take(&t->name, kx_prop_req(c, "name", err));
			t->value = t->name ? kx_prop_req(c, "value", err) : NULL;
			if (!t->value)
				return false;
			if (strchr(t->name, ' '))
				return kx_error(
				    err, INVALID, c,
				    _("<txt name='%s'> in <dns> must not contain spaces"), t->name);
		} else if (kx_is(c, "srv")) {
			static const char *const protos[] = {"tcp", "udp", NULL};
			KiteDnsSrv *s = g_new0(KiteDnsSrv, 1);
			g_ptr_array_add(def->dns_srvs, s);
			kx_take(&s->service, kx_prop_req(c, "service", err));
			if (!s->service || !kx_prop_enum(c, "protocol", protos, &s->protocol, err))
				return false;
			if (!s->protocol)
				return kx_error(err, INVALID, c,
						_("<srv> in <dns> needs a 'protocol'"));
			kx_take(&s->domain, kx_prop(c, "domain"));
			kx_take(&s->target, kx_prop(c, "target"));
			kx_take(&s->port, kx_prop(c, "port"));
			kx_take(&s->priority, kx_prop(c, "priority"));
			kx_take(&s->weight, kx_prop(c, "weight"));
			for (char **v = (char *[]){s->port, s->priority, s->weight, NULL}; *v;
			     v++) {
				unsigned long long n;
				if (**v && !kx_parse_uint(*v, 65535, &n))
					return kx_error(err, INVALID, c,
							_("invalid number '%s' in <srv>"), *v);
			}
		} else if (kx_is(c, "host")) {
			KiteDnsHost *h = g_new0(KiteDnsHost, 1);
			IpAddr a;
			h->hostnames = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(def->dns_hosts, h);
			kx_take(&h->ip, kx_prop_req(c, "ip", err));
			if (!h->ip)
				return false;
			if (!ip_parse(h->ip, &a))
				return kx_error(err, INVALID, c,
						_("invalid address '%s' in <host ip> of <dns>"),
						h->ip);
			for (xmlNode *hn = c->children; hn; hn = hn->next) {
				if (hn->type != XML_ELEMENT_NODE)
					continue;
				if (!kx_is(hn, "hostname"))
					return kx_unknown_element(hn, err);
				g_ptr_array_add(h->hostnames, g_strstrip(kx_text(hn)));
			}
			if (!h->hostnames->len)
				return kx_error(err, INVALID, c,
						_("<host> in <dns> needs at least one <hostname>"));
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

static bool parse_forward(const xmlNode *node, KiteNetworkDef *def, GError **err)
{
	g_autofree char *mode = kx_prop(node, "mode");
	unsigned m;

	{
		static const char *const once[] = {"nat", NULL};
		if (!kx_check_singletons(node, once, err))
			return false;
	}
	def->forward_present = true;
	def->forward_mode = KITE_FORWARD_NAT; /* libvirt's default mode */
	if (mode) {
		for (m = 1; m < G_N_ELEMENTS(forward_modes); m++)
			if (!strcmp(mode, forward_modes[m]))
				break;
		if (m == G_N_ELEMENTS(forward_modes))
			return kx_error(err, INVALID, node,
					_("unknown forward mode '%s' in <forward mode>"), mode);
		def->forward_mode = (KiteForwardMode)m;
	}
	kx_take(&def->forward_dev, kx_prop(node, "dev"));
	if (!kx_prop_yesno(node, "managed", &def->forward_managed, err))
		return false;
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "nat")) {
			if (def->forward_mode != KITE_FORWARD_NAT)
				return kx_error(err, INVALID, c,
						_("<nat> is only allowed in <forward mode='nat'>"));
			def->nat_present = true;
			if (!kx_prop_yesno(c, "ipv6", &def->nat_ipv6, err))
				return false;
			for (xmlNode *n = c->children; n; n = n->next) {
				if (n->type != XML_ELEMENT_NODE)
					continue;
				if (kx_is(n, "address")) {
					IpAddr s, e;
					kx_take(&def->nat_addr_start, kx_prop_req(n, "start", err));
					if (!def->nat_addr_start)
						return false;
					kx_take(&def->nat_addr_end, kx_prop(n, "end"));
					if (!ip_parse(def->nat_addr_start, &s) ||
					    s.family != AF_INET ||
					    (def->nat_addr_end &&
					     (!ip_parse(def->nat_addr_end, &e) ||
					      e.family != AF_INET || ip_cmp(&s, &e) > 0)))
						return kx_error(
						    err, INVALID, n,
						    _("invalid <nat> address range "
						      "'%s' - '%s'"),
						    def->nat_addr_start,
						    def->nat_addr_end ? def->nat_addr_end : "");
				} else if (kx_is(n, "port")) {
					bool ps, pe;
					if (!kx_prop_uint(n, "start", &def->nat_port_start, &ps,
							  err) ||
					    !kx_prop_uint(n, "end", &def->nat_port_end, &pe, err))
						return false;
					if (!ps || !pe || def->nat_port_start > def->nat_port_end ||
					    def->nat_port_end > 65535)
						return kx_error(
						    err, INVALID, n,
						    _("invalid <nat> port range %u - %u"),
						    def->nat_port_start, def->nat_port_end);
				} else {
					return kx_unknown_element(n, err);
				}
			}
		} else if (kx_is(c, "interface")) {
			char *dev = kx_prop_req(c, "dev", err);
			if (!dev)
				return false;
			g_ptr_array_add(def->forward_ifs, dev);
		} else if (kx_is(c, "pf") || kx_is(c, "address") || kx_is(c, "driver")) {
			return kx_error(err, KITE_XML_ERROR_UNSUPPORTED, c,
					_("<%s> in <forward> (SR-IOV pools) is not supported by "
					  "kite"),
					kx_name(c));
		} else {
			return kx_unknown_element(c, err);
		}
	}
	/* libvirt lists the forward dev as the pool's first interface */
	if (def->forward_dev && def->forward_ifs->len == 0)
		g_ptr_array_add(def->forward_ifs, g_strdup(def->forward_dev));
	return true;
}

static bool parse_portgroup(const xmlNode *node, KiteNetworkDef *def, GError **err)
{
	KitePortGroup *pg = g_new0(KitePortGroup, 1);

	pg->line = kx_line_of(node);
	g_ptr_array_add(def->portgroups, pg);
	kx_take(&pg->name, kx_prop_req(node, "name", err));
	if (!pg->name || !kx_prop_yesno(node, "default", &pg->is_default, err) ||
	    !kx_prop_yesno(node, "trustGuestRxFilters", &pg->trust_guest_rx_filters, err))
		return false;
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "bandwidth")) {
			if (!kx_parse_bandwidth(c, &pg->bandwidth, err))
				return false;
		} else if (kx_is(c, "vlan")) {
			if (!kx_parse_vlan(c, &pg->vlan, err))
				return false;
		} else if (kx_is(c, "virtualport")) {
			if (!kx_parse_virtualport(c, &pg->virtualport, err))
				return false;
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

static bool parse_network(const xmlNode *root, void *network, unsigned flags, GError **err)
{
	KiteNetworkDef *def = network;
	bool have_uuid = false;

	if (!kx_is(root, "network"))
		return kx_error(err, INVALID, root,
				_("expected a <network> root element, found <%s>"), kx_name(root));
	if (!kx_prop_yesno(root, "ipv6", &def->ipv6, err) ||
	    !kx_prop_yesno(root, "trustGuestRxFilters", &def->trust_guest_rx_filters, err))
		return false;
	if (flags & KITE_XML_PARSE_LIVE)
		kx_take(&def->connections, kx_prop(root, "connections"));
	{
		static const char *const once[] = {
		    "name",    "uuid",	    "title", "description", "metadata",
		    "forward", "bridge",    "mac",   "domain",	    "mtu",
		    "dns",     "bandwidth", "vlan",  "virtualport", NULL};
		if (!kx_check_singletons(root, once, err))
			return false;
	}

	for (xmlNode *c = root->children; c; c = c->next) {
		const char *n = kx_name(c);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			return kx_unknown_element(c, err);
		if (!strcmp(n, "name")) {
			kx_take(&def->name, kx_text(c));
			if (!def->name[0] || strchr(def->name, '/') || strchr(def->name, '\n'))
				return kx_error(err, INVALID, c,
						_("invalid network name '%s': empty, or contains "
						  "'/' or a newline"),
						def->name);
		} else if (!strcmp(n, "uuid")) {
			if (!kx_parse_uuid(c, def->uuid, err))
				return false;
			have_uuid = true;
		} else if (!strcmp(n, "title")) {
			kx_take(&def->title, kx_text(c));
		} else if (!strcmp(n, "description")) {
			kx_take(&def->description, kx_text(c));
		} else if (!strcmp(n, "metadata")) {
			kx_node_free(def->metadata);
			def->metadata = kx_node_from_xml(c);
		} else if (!strcmp(n, "forward")) {
			if (!parse_forward(c, def, err))
				return false;
		} else if (!strcmp(n, "bridge")) {
			static const char *const attrs[] = {
			    "name", "stp", "delay", "macTableManager", "zone", NULL};
			static const char *const mtm[] = {"kernel", "libvirt", NULL};
			if (!kx_check_attrs(c, attrs, err) ||
			    !kx_prop_onoff(c, "stp", &def->bridge_stp, err) ||
			    !kx_prop_enum(c, "macTableManager", mtm, &def->bridge_mac_table_manager,
					  err))
				return false;
			kx_take(&def->bridge_name, kx_prop(c, "name"));
			kx_take(&def->bridge_delay, kx_prop(c, "delay"));
			kx_take(&def->bridge_zone, kx_prop(c, "zone"));
			if (def->bridge_name &&
			    (strlen(def->bridge_name) >= 16 || strchr(def->bridge_name, '/') ||
			     strchr(def->bridge_name, ' ') || !def->bridge_name[0]))
				return kx_error(err, INVALID, c,
						_("invalid bridge name '%s' in <bridge name>"),
						def->bridge_name);
			if (def->bridge_delay) {
				unsigned long long v;
				if (!kx_parse_uint(def->bridge_delay, G_MAXUINT, &v))
					return kx_error(err, INVALID, c,
							_("invalid <bridge delay='%s'>"),
							def->bridge_delay);
			}
		} else if (!strcmp(n, "mac")) {
			g_autofree char *addr = kx_prop_req(c, "address", err);
			uint8_t m[6];
			if (!addr)
				return false;
			if (!kite_mac_parse(addr, m) || (m[0] & 1))
				return kx_error(err, INVALID, c,
						_("invalid or multicast MAC address '%s' in <mac>"),
						addr);
			kx_take(&def->mac, g_malloc(18));
			kite_mac_format(m, def->mac);
		} else if (!strcmp(n, "domain")) {
			kx_take(&def->domain_name, kx_prop_req(c, "name", err));
			if (!def->domain_name ||
			    !kx_prop_yesno(c, "localOnly", &def->domain_local_only, err))
				return false;
		} else if (!strcmp(n, "mtu")) {
			if (!kx_parse_mtu(c, &def->mtu, err))
				return false;
		} else if (!strcmp(n, "dns")) {
			if (!parse_dns(c, def, err))
				return false;
		} else if (!strcmp(n, "ip")) {
			if (!parse_ip(c, def, err))
				return false;
		} else if (!strcmp(n, "route")) {
			if (!kx_parse_ip_route(c, def->routes, err))
				return false;
		} else if (!strcmp(n, "portgroup")) {
			if (!parse_portgroup(c, def, err))
				return false;
		} else if (!strcmp(n, "bandwidth")) {
			if (!kx_parse_bandwidth(c, &def->bandwidth, err))
				return false;
		} else if (!strcmp(n, "vlan")) {
			if (!kx_parse_vlan(c, &def->vlan, err))
				return false;
		} else if (!strcmp(n, "virtualport")) {
			if (!kx_parse_virtualport(c, &def->virtualport, err))
				return false;
		} else {
			return kx_unknown_element(c, err);
		}
	}
	if (!def->name)
		return kx_error(err, INVALID, root, _("<network> needs a <name>"));
	if (!have_uuid)
		memset(def->uuid, 0, 16);
	return true;
}

static bool mode_has_bridge(KiteForwardMode m)
{
	return m == KITE_FORWARD_NONE || m == KITE_FORWARD_NAT || m == KITE_FORWARD_ROUTE ||
	       m == KITE_FORWARD_OPEN;
}

static void fill_defaults(KiteNetworkDef *def)
{
	static const uint8_t zero[16];

	if (!memcmp(def->uuid, zero, 16))
		kx_uuid_generate(def->uuid);
	if (!mode_has_bridge(def->forward_mode))
		return;
	if (!def->bridge_stp)
		def->bridge_stp = KITE_TRISTATE_YES;
	if (!def->bridge_delay)
		def->bridge_delay = g_strdup("0");
	if (!def->mac) {
		uint8_t m[6];
		kx_mac_generate(m);
		def->mac = g_malloc(18);
		kite_mac_format(m, def->mac);
	}
}

void kite_network_def_fill_bridge(KiteNetworkDef *def, KiteBridgeUsedFunc used, void *opaque)
{
	if (def->bridge_name || !mode_has_bridge(def->forward_mode))
		return;
	for (unsigned n = 0; n < 1024; n++) {
		g_autofree char *name = g_strdup_printf("virbr%u", n);
		if (!used || !used(name, opaque)) {
			def->bridge_name = g_steal_pointer(&name);
			return;
		}
	}
}

bool kite_network_def_check(const KiteNetworkDef *def, GError **err)
{
	unsigned v4_dhcp = 0, v6_dhcp = 0;

	if (def->forward_mode == KITE_FORWARD_BRIDGE && !def->bridge_name &&
	    !def->forward_ifs->len && !def->virtualport)
		return kx_error_line(
		    err, INVALID, 0,
		    _("network '%s': <forward mode='bridge'> needs a <bridge name> or "
		      "<forward dev>"),
		    def->name);
	if (!mode_has_bridge(def->forward_mode) && def->ips->len)
		return kx_error_line(
		    err, INVALID, 0,
		    _("network '%s': <ip> is not allowed with <forward mode='%s'>"), def->name,
		    forward_modes[def->forward_mode]);
	if (def->forward_mode == KITE_FORWARD_NAT && def->nat_present && def->nat_addr_start &&
	    !def->nat_addr_end)
		return kx_error_line(err, INVALID, 0,
				     _("network '%s': <nat><address> needs an 'end'"), def->name);

	for (guint i = 0; i < def->ips->len; i++) {
		const KiteNetworkIp *ip = g_ptr_array_index(def->ips, i);
		unsigned prefix = kite_network_ip_prefix(ip);
		IpAddr net;

		ip_parse(ip->address, &net);
		if (ip->has_dhcp && (ip->ranges->len || ip->hosts->len)) {
			if (net.family == AF_INET)
				v4_dhcp++;
			else
				v6_dhcp++;
		}
		for (guint r = 0; r < ip->ranges->len; r++) {
			const KiteDhcpRange *rg = g_ptr_array_index(ip->ranges, r);
			IpAddr s, e;
			if (!ip_parse(rg->start, &s) || !ip_parse(rg->end, &e))
				return kx_error_line(
				    err, INVALID, rg->line,
				    _("network '%s': invalid DHCP <range start='%s' "
				      "end='%s'>"),
				    def->name, rg->start, rg->end);
			if (!ip_in_subnet(&s, &net, prefix) || !ip_in_subnet(&e, &net, prefix))
				return kx_error_line(
				    err, INVALID, rg->line,
				    _("network '%s': DHCP <range start='%s' end='%s'> "
				      "is outside the subnet %s/%u"),
				    def->name, rg->start, rg->end, ip->address, prefix);
			if (ip_cmp(&s, &e) > 0)
				return kx_error_line(
				    err, INVALID, rg->line,
				    _("network '%s': DHCP <range> start '%s' is after "
				      "end '%s'"),
				    def->name, rg->start, rg->end);
			if (ip_cmp(&s, &net) <= 0 && ip_cmp(&e, &net) >= 0)
				return kx_error_line(
				    err, INVALID, rg->line,
				    _("network '%s': DHCP <range start='%s' end='%s'> "
				      "contains the network's own address %s"),
				    def->name, rg->start, rg->end, ip->address);
			for (guint o = 0; o < r; o++) {
				const KiteDhcpRange *other = g_ptr_array_index(ip->ranges, o);
				IpAddr os, oe;
				ip_parse(other->start, &os);
				ip_parse(other->end, &oe);
				if (ip_cmp(&s, &oe) <= 0 && ip_cmp(&os, &e) <= 0)
					return kx_error_line(
					    err, INVALID, rg->line,
					    _("network '%s': DHCP ranges %s-%s and "
					      "%s-%s overlap"),
					    def->name, other->start, other->end, rg->start,
					    rg->end);
			}
		}
		for (guint h = 0; h < ip->hosts->len; h++) {
			const KiteDhcpHost *host = g_ptr_array_index(ip->hosts, h);
			IpAddr a;
			if (host->ip &&
			    (!ip_parse(host->ip, &a) || !ip_in_subnet(&a, &net, prefix)))
				return kx_error_line(
				    err, INVALID, host->line,
				    _("network '%s': DHCP <host ip='%s'> is outside the "
				      "subnet %s/%u"),
				    def->name, host->ip, ip->address, prefix);
			for (guint o = 0; o < h; o++) {
				const KiteDhcpHost *other = g_ptr_array_index(ip->hosts, o);
				if (host->mac && other->mac &&
				    !g_ascii_strcasecmp(host->mac, other->mac))
					return kx_error_line(
					    err, INVALID, host->line,
					    _("network '%s': DHCP <host mac='%s'> is "
					      "listed twice"),
					    def->name, host->mac);
				if (host->ip && other->ip && !strcmp(host->ip, other->ip))
					return kx_error_line(
					    err, INVALID, host->line,
					    _("network '%s': DHCP <host ip='%s'> is "
					      "listed twice"),
					    def->name, host->ip);
			}
		}
		if (ip->bootp_file && net.family != AF_INET)
			return kx_error_line(err, INVALID, ip->line,
					     _("network '%s': <bootp> is only allowed for IPv4"),
					     def->name);
	}
	if (v4_dhcp > 1)
		return kx_error_line(err, INVALID, 0,
				     _("network '%s': DHCP is supported on only one IPv4 <ip>"),
				     def->name);
	if (v6_dhcp > 1)
		return kx_error_line(err, INVALID, 0,
				     _("network '%s': DHCP is supported on only one IPv6 <ip>"),
				     def->name);

	{
		unsigned defaults = 0;
		for (guint i = 0; i < def->portgroups->len; i++) {
			const KitePortGroup *pg = g_ptr_array_index(def->portgroups, i);
			if (pg->is_default == KITE_TRISTATE_YES)
				defaults++;
			for (guint j = 0; j < i; j++)
				if (!strcmp(pg->name,
					    ((KitePortGroup *)g_ptr_array_index(def->portgroups, j))
						->name))
					return kx_error_line(err, INVALID, pg->line,
							     _("network '%s': portgroup '%s' is "
							       "defined twice"),
							     def->name, pg->name);
		}
		if (defaults > 1)
			return kx_error_line(err, INVALID, 0,
					     _("network '%s': more than one default <portgroup>"),
					     def->name);
	}
	return true;
}

KiteNetworkDef *kite_network_def_parse_string(const char *xml, unsigned flags, GError **err)
{
	g_autoptr(KiteNetworkDef) def = kite_network_def_new();

	if (!kx_parse_root(xml, "network", flags, parse_network, def, err))
		return NULL;
	if (!(flags & KITE_XML_PARSE_NO_DEFAULTS))
		fill_defaults(def);
	if (!kite_network_def_check(def, err))
		return NULL;
	return g_steal_pointer(&def);
}

KiteNetworkDef *kite_network_def_parse_file(const char *path, unsigned flags, GError **err)
{
	g_autofree char *xml = kx_read_file(path, err);

	if (!xml)
		return NULL;
	return kite_network_def_parse_string(xml, flags, err);
}

KiteNetworkDef *kite_network_def_copy(const KiteNetworkDef *def)
{
	g_autofree char *xml = kite_network_def_format(def, KITE_XML_LIVE);
	g_autoptr(GError) err = NULL;
	KiteNetworkDef *copy;

	copy = kite_network_def_parse_string(xml, KITE_XML_PARSE_LIVE | KITE_XML_PARSE_NO_DEFAULTS,
					     &err);
	if (!copy)
		g_critical("kite-xml: cannot copy network '%s': %s", def->name, err->message);
	return copy;
}

/* -------------------------------------------------------------- format */

/* Ends the open <range> or <host> `element`: with its <lease> child when it
 * has one, as an empty element otherwise. */
static void end_with_lease(KxBuf *b, const char *element, const char *expiry, const char *unit)
{
	if (!expiry) {
		kx_end_empty(b);
		return;
	}
	kx_end_open(b);
	kx_open(b, "lease");
	kx_attr(b, "expiry", expiry);
	kx_attr(b, "unit", unit);
	kx_end_empty(b);
	kx_close(b, element);
}

static void format_ip(KxBuf *b, const KiteNetworkIp *ip)
{
	kx_open(b, "ip");
	kx_attr(b, "family", ip->family);
	kx_attr(b, "address", ip->address);
	kx_attr(b, "netmask", ip->netmask);
	if (ip->prefix)
		kx_attr_u(b, "prefix", ip->prefix);
	kx_attr(b, "localPtr", ip->localptr);
	/* libvirt always writes <ip> as an open element, even when empty */
	kx_end_open(b);
	if (ip->tftp_root) {
		kx_open(b, "tftp");
		kx_attr(b, "root", ip->tftp_root);
		kx_end_empty(b);
	}
	if (ip->ranges->len || ip->hosts->len || ip->bootp_file) {
		kx_line(b, "<dhcp>");
		b->indent++;
		for (guint i = 0; i < ip->ranges->len; i++) {
			const KiteDhcpRange *r = g_ptr_array_index(ip->ranges, i);
			kx_open(b, "range");
			kx_attr(b, "start", r->start);
			kx_attr(b, "end", r->end);
			end_with_lease(b, "range", r->lease_expiry, r->lease_unit);
		}
		for (guint i = 0; i < ip->hosts->len; i++) {
			const KiteDhcpHost *h = g_ptr_array_index(ip->hosts, i);
			kx_open(b, "host");
			kx_attr(b, "mac", h->mac);
			kx_attr(b, "id", h->id);
			kx_attr(b, "name", h->name);
			kx_attr(b, "ip", h->ip);
			end_with_lease(b, "host", h->lease_expiry, h->lease_unit);
		}
		if (ip->bootp_file) {
			kx_open(b, "bootp");
			kx_attr(b, "file", ip->bootp_file);
			kx_attr(b, "server", ip->bootp_server);
			kx_end_empty(b);
		}
		kx_close(b, "dhcp");
	}
	kx_close(b, "ip");
}

static void format_dns(KxBuf *b, const KiteNetworkDef *def)
{
	bool children = def->dns_forwarders->len || def->dns_txts->len || def->dns_srvs->len ||
			def->dns_hosts->len;

	if (!def->dns_present && !children)
		return;
	if (!children && !def->dns_enable && !def->dns_forward_plain_names)
		return;
	kx_open(b, "dns");
	kx_attr_yesno(b, "enable", def->dns_enable);
	kx_attr_yesno(b, "forwardPlainNames", def->dns_forward_plain_names);
	if (!children) {
		kx_end_empty(b);
		return;
	}
	kx_end_open(b);
	for (guint i = 0; i < def->dns_forwarders->len; i++) {
		const KiteDnsForwarder *f = g_ptr_array_index(def->dns_forwarders, i);
		kx_open(b, "forwarder");
		kx_attr(b, "domain", f->domain);
		kx_attr(b, "addr", f->addr);
		kx_end_empty(b);
	}
	for (guint i = 0; i < def->dns_txts->len; i++) {
		const KiteDnsTxt *t = g_ptr_array_index(def->dns_txts, i);
		kx_open(b, "txt");
		kx_attr(b, "name", t->name);
		kx_attr(b, "value", t->value);
		kx_end_empty(b);
	}
	for (guint i = 0; i < def->dns_srvs->len; i++) {
		const KiteDnsSrv *s = g_ptr_array_index(def->dns_srvs, i);
		kx_open(b, "srv");
		kx_attr(b, "service", s->service);
		kx_attr(b, "protocol", s->protocol);
		kx_attr(b, "domain", s->domain);
		kx_attr(b, "target", s->target);
		kx_attr(b, "port", s->port);
		kx_attr(b, "priority", s->priority);
		kx_attr(b, "weight", s->weight);
		kx_end_empty(b);
	}
	for (guint i = 0; i < def->dns_hosts->len; i++) {
		const KiteDnsHost *h = g_ptr_array_index(def->dns_hosts, i);
		kx_open(b, "host");
		kx_attr(b, "ip", h->ip);
		kx_end_open(b);
		for (guint j = 0; j < h->hostnames->len; j++)
			kx_text_element(b, "hostname", g_ptr_array_index(h->hostnames, j));
		kx_close(b, "host");
	}
	kx_close(b, "dns");
}

char *kite_network_def_format(const KiteNetworkDef *def, unsigned flags)
{
	KxBuf b;
	char uuid[37];
	bool live = (flags & KITE_XML_LIVE) && !(flags & KITE_XML_INACTIVE);

	kx_buf_init(&b);
	kx_open(&b, "network");
	if (live)
		kx_attr(&b, "connections", def->connections);
	kx_attr_yesno(&b, "ipv6", def->ipv6);
	kx_attr_yesno(&b, "trustGuestRxFilters", def->trust_guest_rx_filters);
	kx_end_open(&b);
	kx_text_element(&b, "name", def->name);
	kite_uuid_format(def->uuid, uuid);
	kx_text_element(&b, "uuid", uuid);
	kx_text_element(&b, "title", def->title);
	kx_text_element(&b, "description", def->description);
	if (def->metadata)
		kx_node_format(&b, def->metadata);

	if (def->forward_present && def->forward_mode != KITE_FORWARD_NONE) {
		bool nat =
		    def->nat_present && (def->nat_addr_start || def->nat_port_end || def->nat_ipv6);
		bool kids = nat || def->forward_ifs->len;
		kx_open(&b, "forward");
		kx_attr(&b, "dev", def->forward_dev);
		kx_attr(&b, "mode", forward_modes[def->forward_mode]);
		kx_attr_yesno(&b, "managed", def->forward_managed);
		if (!kids) {
			kx_end_empty(&b);
		} else {
			kx_end_open(&b);
			if (nat) {
				kx_open(&b, "nat");
				kx_attr_yesno(&b, "ipv6", def->nat_ipv6);
				if (!def->nat_addr_start && !def->nat_port_end) {
					kx_end_empty(&b);
				} else {
					kx_end_open(&b);
					if (def->nat_addr_start) {
						kx_open(&b, "address");
						kx_attr(&b, "start", def->nat_addr_start);
						kx_attr(&b, "end", def->nat_addr_end);
						kx_end_empty(&b);
					}
					if (def->nat_port_end) {
						kx_open(&b, "port");
						kx_attr_u(&b, "start", def->nat_port_start);
						kx_attr_u(&b, "end", def->nat_port_end);
						kx_end_empty(&b);
					}
					kx_close(&b, "nat");
				}
			}
			for (guint i = 0; i < def->forward_ifs->len; i++) {
				kx_open(&b, "interface");
				kx_attr(&b, "dev", g_ptr_array_index(def->forward_ifs, i));
				kx_end_empty(&b);
			}
			kx_close(&b, "forward");
		}
	}
	if (def->bridge_name || def->bridge_stp || def->bridge_delay || def->bridge_zone ||
	    def->bridge_mac_table_manager) {
		kx_open(&b, "bridge");
		kx_attr(&b, "name", def->bridge_name);
		kx_attr(&b, "zone", def->bridge_zone);
		if (mode_has_bridge(def->forward_mode)) {
			kx_attr_onoff(&b, "stp", def->bridge_stp);
			kx_attr(&b, "delay", def->bridge_delay);
		}
		kx_attr(&b, "macTableManager", def->bridge_mac_table_manager);
		kx_end_empty(&b);
	}
	if (def->mtu)
		kx_line(&b, "<mtu size='%u'/>", def->mtu);
	if (def->mac) {
		kx_open(&b, "mac");
		kx_attr(&b, "address", def->mac);
		kx_end_empty(&b);
	}
	if (def->domain_name) {
		kx_open(&b, "domain");
		kx_attr(&b, "name", def->domain_name);
		kx_attr_yesno(&b, "localOnly", def->domain_local_only);
		kx_end_empty(&b);
	}
	format_dns(&b, def);
	kx_format_vlan(&b, &def->vlan);
	kx_format_bandwidth(&b, &def->bandwidth);
	for (guint i = 0; i < def->ips->len; i++)
		format_ip(&b, g_ptr_array_index(def->ips, i));
	for (guint i = 0; i < def->routes->len; i++)
		kx_format_ip_route(&b, g_ptr_array_index(def->routes, i));
	kx_format_virtualport(&b, def->virtualport);
	for (guint i = 0; i < def->portgroups->len; i++) {
		const KitePortGroup *pg = g_ptr_array_index(def->portgroups, i);
		bool kids = pg->virtualport || pg->bandwidth.inbound.set ||
			    pg->bandwidth.outbound.set || (pg->vlan.tags && pg->vlan.tags->len);
		kx_open(&b, "portgroup");
		kx_attr(&b, "name", pg->name);
		kx_attr_yesno(&b, "default", pg->is_default);
		kx_attr_yesno(&b, "trustGuestRxFilters", pg->trust_guest_rx_filters);
		if (!kids) {
			kx_end_empty(&b);
			continue;
		}
		kx_end_open(&b);
		kx_format_vlan(&b, &pg->vlan);
		kx_format_virtualport(&b, pg->virtualport);
		kx_format_bandwidth(&b, &pg->bandwidth);
		kx_close(&b, "portgroup");
	}
	kx_close(&b, "network");
	return kx_buf_steal(&b);
}
