/* SPDX-License-Identifier: GPL-2.0-or-later */
/* KiteDomainDef -> libvirt's canonical domain XML. */
#include <string.h>

#include "xml-internal.h"

static bool live(unsigned flags)
{
	return (flags & KITE_XML_LIVE) && !(flags & KITE_XML_INACTIVE);
}

/* ------------------------------------------------------- device info */

static bool alias_shown(const KiteDeviceInfo *info, unsigned flags)
{
	return info->alias && (live(flags) || g_str_has_prefix(info->alias, "ua-"));
}

static bool device_info_empty(const KiteDeviceInfo *info, unsigned flags)
{
	return !info->boot_order && !alias_shown(info, flags) && !info->rom_bar &&
	       !info->rom_enabled && !info->rom_file && !info->acpi_index &&
	       info->addr_type == KITE_ADDRESS_NONE;
}

static const char *const *canonical_addr_attrs(KiteAddressType t)
{
	static const char *const drive[] = {"controller", "bus", "target", "unit", NULL};
	static const char *const vserial[] = {"controller", "bus", "port", NULL};
	static const char *const ccid[] = {"controller", "slot", NULL};

	switch (t) {
	case KITE_ADDRESS_DRIVE:
		return drive;
	case KITE_ADDRESS_VIRTIO_SERIAL:
		return vserial;
	case KITE_ADDRESS_CCID:
		return ccid;
	default:
		return NULL;
	}
}

static const char *addr_attr(const KiteDeviceInfo *info, const char *name)
{
	for (guint i = 0; info->addr_attrs && i < info->addr_attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(info->addr_attrs, i);
		if (!strcmp(a->name, name))
			return a->value;
	}
	return NULL;
}

static void format_address(KxBuf *b, const KiteDeviceInfo *info)
{
	const char *const *canon;

	if (info->addr_type == KITE_ADDRESS_NONE)
		return;
	kx_open(b, "address");
	kx_attr(b, "type", info->addr_type_name ? info->addr_type_name : "pci");
	if (info->addr_type == KITE_ADDRESS_PCI) {
		kx_attrf(b, "domain", "0x%04x", info->pci.domain);
		kx_attrf(b, "bus", "0x%02x", info->pci.bus);
		kx_attrf(b, "slot", "0x%02x", info->pci.slot);
		kx_attrf(b, "function", "0x%x", info->pci.function);
		kx_attr_onoff(b, "multifunction", info->pci.multifunction);
		kx_end_empty(b);
		return;
	}
	canon = canonical_addr_attrs(info->addr_type);
	if (canon) {
		/* libvirt writes every field of these, 0 when not given */
		for (const char *const *p = canon; *p; p++) {
			const char *v = addr_attr(info, *p);
			unsigned long long n = 0;
			if (v)
				kx_parse_uint(v, G_MAXUINT, &n);
			kx_attr_u(b, *p, n);
		}
	} else {
		for (guint i = 0; info->addr_attrs && i < info->addr_attrs->len; i++) {
			const KiteAttr *a = g_ptr_array_index(info->addr_attrs, i);
			kx_attr(b, a->name, a->value);
		}
	}
	kx_end_empty(b);
}

void kx_device_info_format(KxBuf *b, const KiteDeviceInfo *info, unsigned flags)
{
	if (info->boot_order)
		kx_line(b, "<boot order='%u'/>", info->boot_order);
	if (alias_shown(info, flags)) {
		kx_open(b, "alias");
		kx_attr(b, "name", info->alias);
		kx_end_empty(b);
	}
	if (info->rom_bar || info->rom_enabled || info->rom_file) {
		kx_open(b, "rom");
		kx_attr_yesno(b, "enabled", info->rom_enabled);
		kx_attr_onoff(b, "bar", info->rom_bar);
		kx_attr(b, "file", info->rom_file);
		kx_end_empty(b);
	}
	if (info->acpi_index)
		kx_line(b, "<acpi index='%u'/>", info->acpi_index);
	format_address(b, info);
}

/* A kept element with the device info written as its last children. */
static void format_node_with_info(KxBuf *b, const KiteXmlNode *node, const KiteDeviceInfo *info,
				  unsigned flags)
{
	bool has_children = node->children && node->children->len;

	if (!info || device_info_empty(info, flags) || (node->text && node->text[0])) {
		kx_node_format(b, node);
		return;
	}
	kx_open(b, node->name);
	for (guint i = 0; i < node->attrs->len; i++) {
		const KiteAttr *a = g_ptr_array_index(node->attrs, i);
		kx_attr(b, a->name, a->value);
	}
	kx_end_open(b);
	for (guint i = 0; has_children && i < node->children->len; i++) {
		const KiteXmlNode *c = g_ptr_array_index(node->children, i);
		if (c->name) /* device trees hold no text between elements */
			kx_node_format(b, c);
	}
	kx_device_info_format(b, info, flags);
	kx_close(b, node->name);
}

/* --------------------------------------------------- shared network */

static void format_rate(KxBuf *b, const char *name, const KiteBandwidthRate *r)
{
	if (!r->set)
		return;
	kx_open(b, name);
	if (r->average)
		kx_attr_u(b, "average", r->average);
	if (r->peak)
		kx_attr_u(b, "peak", r->peak);
	if (r->floor)
		kx_attr_u(b, "floor", r->floor);
	if (r->burst)
		kx_attr_u(b, "burst", r->burst);
	kx_end_empty(b);
}

void kx_format_bandwidth(KxBuf *b, const KiteBandwidth *bw)
{
	if (!bw->inbound.set && !bw->outbound.set)
		return;
	kx_line(b, "<bandwidth>");
	b->indent++;
	format_rate(b, "inbound", &bw->inbound);
	format_rate(b, "outbound", &bw->outbound);
	kx_close(b, "bandwidth");
}

void kx_format_vlan(KxBuf *b, const KiteVlan *vlan)
{
	if (!vlan->tags || !vlan->tags->len)
		return;
	kx_open(b, "vlan");
	kx_attr_yesno(b, "trunk", vlan->trunk);
	kx_end_open(b);
	for (guint i = 0; i < vlan->tags->len; i++) {
		const KiteVlanTag *t = &g_array_index(vlan->tags, KiteVlanTag, i);
		kx_open(b, "tag");
		kx_attr_u(b, "id", t->id);
		kx_attr(b, "nativeMode", t->native_mode);
		kx_end_empty(b);
	}
	kx_close(b, "vlan");
}

void kx_format_virtualport(KxBuf *b, const KiteVirtualPort *vp)
{
	if (!vp)
		return;
	kx_open(b, "virtualport");
	kx_attr(b, "type", vp->type);
	if (!vp->params || !vp->params->len) {
		kx_end_empty(b);
		return;
	}
	kx_end_open(b);
	kx_open(b, "parameters");
	for (guint i = 0; i < vp->params->len; i++) {
		const KiteAttr *a = g_ptr_array_index(vp->params, i);
		kx_attr(b, a->name, a->value);
	}
	kx_end_empty(b);
	kx_close(b, "virtualport");
}

void kx_format_ip_route(KxBuf *b, const KiteIpRoute *r)
{
	kx_open(b, "route");
	kx_attr(b, "family", r->family);
	kx_attr(b, "address", r->address);
	kx_attr(b, "netmask", r->netmask);
	if (r->prefix)
		kx_attr_u(b, "prefix", r->prefix);
	kx_attr(b, "gateway", r->gateway);
	if (r->metric)
		kx_attr_u(b, "metric", r->metric);
	kx_end_empty(b);
}

/* ---------------------------------------------------------- interface */

static bool driver_has_attrs(const KiteNetDriver *d)
{
	return d->name || d->txmode || d->ioeventfd || d->event_idx || d->queues ||
	       d->rx_queue_size || d->tx_queue_size || d->rss || d->rss_hash_report || d->iommu ||
	       d->ats || d->packed || d->page_per_vq;
}

static bool driver_has_host(const KiteNetDriver *d)
{
	return d->host_csum || d->host_gso || d->host_tso4 || d->host_tso6 || d->host_ecn ||
	       d->host_ufo || d->host_mrg_rxbuf;
}

static bool driver_has_guest(const KiteNetDriver *d)
{
	return d->guest_csum || d->guest_tso4 || d->guest_tso6 || d->guest_ecn || d->guest_ufo;
}

static void format_net_driver(KxBuf *b, const KiteNetDriver *d)
{
	bool host = driver_has_host(d), guest = driver_has_guest(d);

	if (!driver_has_attrs(d) && !host && !guest)
		return;
	kx_open(b, "driver");
	kx_attr(b, "name", d->name);
	kx_attr(b, "txmode", d->txmode);
	kx_attr_onoff(b, "ioeventfd", d->ioeventfd);
	kx_attr_onoff(b, "event_idx", d->event_idx);
	if (d->queues)
		kx_attr_u(b, "queues", d->queues);
	if (d->rx_queue_size)
		kx_attr_u(b, "rx_queue_size", d->rx_queue_size);
	if (d->tx_queue_size)
		kx_attr_u(b, "tx_queue_size", d->tx_queue_size);
	kx_attr_onoff(b, "rss", d->rss);
	kx_attr_onoff(b, "rss_hash_report", d->rss_hash_report);
	kx_attr_onoff(b, "iommu", d->iommu);
	kx_attr_onoff(b, "ats", d->ats);
	kx_attr_onoff(b, "packed", d->packed);
	kx_attr_onoff(b, "page_per_vq", d->page_per_vq);
	if (!host && !guest) {
		kx_end_empty(b);
		return;
	}
	kx_end_open(b);
	if (host) {
		kx_open(b, "host");
		kx_attr_onoff(b, "csum", d->host_csum);
		kx_attr_onoff(b, "gso", d->host_gso);
		kx_attr_onoff(b, "tso4", d->host_tso4);
		kx_attr_onoff(b, "tso6", d->host_tso6);
		kx_attr_onoff(b, "ecn", d->host_ecn);
		kx_attr_onoff(b, "ufo", d->host_ufo);
		kx_attr_onoff(b, "mrg_rxbuf", d->host_mrg_rxbuf);
		kx_end_empty(b);
	}
	if (guest) {
		kx_open(b, "guest");
		kx_attr_onoff(b, "csum", d->guest_csum);
		kx_attr_onoff(b, "tso4", d->guest_tso4);
		kx_attr_onoff(b, "tso6", d->guest_tso6);
		kx_attr_onoff(b, "ecn", d->guest_ecn);
		kx_attr_onoff(b, "ufo", d->guest_ufo);
		kx_end_empty(b);
	}
	kx_close(b, "driver");
}

static void format_net_source(KxBuf *b, const KiteNetDef *net, unsigned flags)
{
	switch (net->type) {
	case KITE_NET_NETWORK:
		kx_open(b, "source");
		kx_attr(b, "network", net->source_network);
		kx_attr(b, "portgroup", net->source_portgroup);
		if (live(flags)) {
			kx_attr(b, "portid", net->source_portid);
			kx_attr(b, "bridge", net->source_bridge);
		}
		kx_end_empty(b);
		break;
	case KITE_NET_BRIDGE:
		kx_open(b, "source");
		kx_attr(b, "bridge", net->source_bridge);
		kx_end_empty(b);
		break;
	case KITE_NET_DIRECT:
		kx_open(b, "source");
		kx_attr(b, "dev", net->source_dev);
		kx_attr(b, "mode", net->source_mode ? net->source_mode : "vepa");
		kx_end_empty(b);
		break;
	case KITE_NET_VHOSTUSER:
		kx_open(b, "source");
		kx_attr(b, "type", net->source_type);
		kx_attr(b, "path", net->source_path);
		kx_attr(b, "mode", net->source_mode);
		if (net->source_reconnect) {
			kx_end_open(b);
			kx_open(b, "reconnect");
			kx_attr_yesno(b, "enabled", net->source_reconnect);
			if (net->source_reconnect_timeout)
				kx_attr_u(b, "timeout", net->source_reconnect_timeout);
			kx_end_empty(b);
			kx_close(b, "source");
		} else {
			kx_end_empty(b);
		}
		break;
	case KITE_NET_MCAST:
	case KITE_NET_SERVER:
	case KITE_NET_CLIENT:
	case KITE_NET_UDP:
		kx_open(b, "source");
		kx_attr(b, "address", net->source_address);
		kx_attr_u(b, "port", net->source_port);
		if (net->type == KITE_NET_UDP && net->source_local_address) {
			kx_end_open(b);
			kx_open(b, "local");
			kx_attr(b, "address", net->source_local_address);
			kx_attr_u(b, "port", net->source_local_port);
			kx_end_empty(b);
			kx_close(b, "source");
		} else {
			kx_end_empty(b);
		}
		break;
	default:
		break;
	}
}

static bool generated_ifname(const char *name)
{
	return g_str_has_prefix(name, "vnet") || g_str_has_prefix(name, "macvtap") ||
	       g_str_has_prefix(name, "macvlan");
}

static void format_interface(KxBuf *b, const KiteNetDef *net, unsigned flags)
{
	static const uint8_t zero_mac[6];

	kx_open(b, "interface");
	if (live(flags) && net->type == KITE_NET_NETWORK && net->source_bridge_is_host)
		kx_attr(b, "type", "bridge");
	else
		kx_attr(b, "type", kite_net_type_to_string(net->type));
	kx_attr_yesno(b, "trustGuestRxFilters", net->trust_guest_rx_filters);
	kx_end_open(b);

	if (memcmp(net->mac, zero_mac, 6)) {
		char mac[18];
		kite_mac_format(net->mac, mac);
		kx_open(b, "mac");
		kx_attr(b, "address", mac);
		kx_attr(b, "type", net->mac_type);
		kx_attr_yesno(b, "check", net->mac_check);
		kx_end_empty(b);
	}
	format_net_source(b, net, flags);
	for (guint i = 0; i < net->ips->len; i++) {
		const KiteIpAddr *ip = g_ptr_array_index(net->ips, i);
		kx_open(b, "ip");
		kx_attr(b, "address", ip->address);
		kx_attr(b, "family", ip->family);
		if (ip->prefix)
			kx_attr_u(b, "prefix", ip->prefix);
		kx_attr(b, "peer", ip->peer);
		kx_end_empty(b);
	}
	for (guint i = 0; i < net->routes->len; i++)
		kx_format_ip_route(b, g_ptr_array_index(net->routes, i));
	for (guint i = 0; i < net->port_forwards->len; i++) {
		const KitePortForward *pf = g_ptr_array_index(net->port_forwards, i);
		kx_open(b, "portForward");
		kx_attr(b, "proto", pf->proto);
		kx_attr(b, "address", pf->address);
		kx_attr(b, "dev", pf->dev);
		kx_end_open(b);
		for (guint j = 0; j < pf->ranges->len; j++) {
			const KitePortRange *r = &g_array_index(pf->ranges, KitePortRange, j);
			kx_open(b, "range");
			kx_attr_u(b, "start", r->start);
			if (r->end)
				kx_attr_u(b, "end", r->end);
			if (r->to)
				kx_attr_u(b, "to", r->to);
			kx_attr_yesno(b, "exclude", r->exclude);
			kx_end_empty(b);
		}
		kx_close(b, "portForward");
	}
	kx_format_vlan(b, &net->vlan);
	kx_format_virtualport(b, net->virtualport);
	kx_format_bandwidth(b, &net->bandwidth);
	if (net->script) {
		kx_open(b, "script");
		kx_attr(b, "path", net->script);
		kx_end_empty(b);
	}
	if (net->downscript) {
		kx_open(b, "downscript");
		kx_attr(b, "path", net->downscript);
		kx_end_empty(b);
	}
	if (net->backend_type || net->backend_tap || net->backend_vhost || net->backend_logfile) {
		kx_open(b, "backend");
		kx_attr(b, "type", net->backend_type);
		kx_attr(b, "tap", net->backend_tap);
		kx_attr(b, "vhost", net->backend_vhost);
		kx_attr(b, "logFile", net->backend_logfile);
		kx_end_empty(b);
	}
	if (net->target_dev && !(!live(flags) && generated_ifname(net->target_dev))) {
		kx_open(b, "target");
		kx_attr(b, "dev", net->target_dev);
		kx_attr_yesno(b, "managed", net->target_managed);
		kx_end_empty(b);
	} else if (net->target_managed) {
		kx_open(b, "target");
		kx_attr_yesno(b, "managed", net->target_managed);
		kx_end_empty(b);
	}
	if (net->model) {
		kx_open(b, "model");
		kx_attr(b, "type", net->model);
		kx_end_empty(b);
	}
	format_net_driver(b, &net->driver);
	if (net->filterref) {
		kx_open(b, "filterref");
		kx_attr(b, "filter", net->filterref);
		if (net->filterref_params && net->filterref_params->len) {
			kx_end_open(b);
			for (guint i = 0; i < net->filterref_params->len; i++) {
				const KiteAttr *a = g_ptr_array_index(net->filterref_params, i);
				kx_open(b, "parameter");
				kx_attr(b, "name", a->name);
				kx_attr(b, "value", a->value);
				kx_end_empty(b);
			}
			kx_close(b, "filterref");
		} else {
			kx_end_empty(b);
		}
	}
	if (net->tune_sndbuf_set) {
		kx_line(b, "<tune>");
		b->indent++;
		kx_line(b, "<sndbuf>%u</sndbuf>", net->tune_sndbuf);
		kx_close(b, "tune");
	}
	if (net->teaming_type) {
		kx_open(b, "teaming");
		kx_attr(b, "type", net->teaming_type);
		kx_attr(b, "persistent", net->teaming_persistent);
		kx_end_empty(b);
	}
	if (net->link_state != KITE_LINK_DEFAULT)
		kx_line(b, "<link state='%s'/>", net->link_state == KITE_LINK_UP ? "up" : "down");
	if (net->mtu)
		kx_line(b, "<mtu size='%u'/>", net->mtu);
	if (net->coalesce_set) {
		kx_line(b, "<coalesce>");
		b->indent++;
		kx_line(b, "<rx>");
		b->indent++;
		kx_line(b, "<frames max='%u'/>", net->coalesce_rx_frames);
		kx_close(b, "rx");
		kx_close(b, "coalesce");
	}
	kx_device_info_format(b, &net->info, flags);
	kx_close(b, "interface");
}

/* ----------------------------------------------------------- chardevs */

static void format_chr_source(KxBuf *b, const KiteChrDef *c, unsigned flags)
{
	switch (c->type) {
	case KITE_CHR_PTY:
		if (c->source_path && live(flags)) {
			kx_open(b, "source");
			kx_attr(b, "path", c->source_path);
			kx_end_empty(b);
		}
		break;
	case KITE_CHR_DEV:
	case KITE_CHR_FILE:
	case KITE_CHR_PIPE:
		kx_open(b, "source");
		kx_attr(b, "path", c->source_path);
		kx_attr_onoff(b, "append", c->source_append);
		kx_end_empty(b);
		break;
	case KITE_CHR_UNIX:
		/* no path: the driver picks one at start; nothing to show */
		if (!c->source_path)
			break;
		kx_open(b, "source");
		kx_attr(b, "mode", c->source_mode);
		kx_attr(b, "path", c->source_path);
		kx_end_empty(b);
		break;
	case KITE_CHR_TCP:
		kx_open(b, "source");
		kx_attr(b, "mode", c->source_mode ? c->source_mode : "connect");
		kx_attr(b, "host", c->source_host);
		kx_attr(b, "service", c->source_service);
		kx_end_empty(b);
		kx_open(b, "protocol");
		kx_attr(b, "type", c->protocol ? c->protocol : "raw");
		kx_end_empty(b);
		break;
	case KITE_CHR_UDP:
		if (c->source_host || c->source_service) {
			kx_open(b, "source");
			kx_attr(b, "mode", "bind");
			kx_attr(b, "host", c->source_host);
			kx_attr(b, "service", c->source_service);
			kx_end_empty(b);
		}
		if (c->connect_host || c->connect_service) {
			kx_open(b, "source");
			kx_attr(b, "mode", "connect");
			kx_attr(b, "host", c->connect_host);
			kx_attr(b, "service", c->connect_service);
			kx_end_empty(b);
		}
		break;
	default:
		break;
	}
	if (c->log_file) {
		kx_open(b, "log");
		kx_attr(b, "file", c->log_file);
		kx_attr_onoff(b, "append", c->log_append);
		kx_end_empty(b);
	}
}

static void format_chr(KxBuf *b, const KiteChrDef *c, unsigned flags)
{
	const char *elem = c->kind == KITE_CHR_DEV_SERIAL    ? "serial"
			   : c->kind == KITE_CHR_DEV_CONSOLE ? "console"
			   : c->kind == KITE_CHR_DEV_CHANNEL ? "channel"
							     : "parallel";

	kx_open(b, elem);
	kx_attr(b, "type", kx_chr_type_to_string(c->type));
	if (c->kind == KITE_CHR_DEV_CONSOLE && c->type == KITE_CHR_PTY && live(flags))
		kx_attr(b, "tty", c->source_path);
	kx_end_open(b);
	format_chr_source(b, c, flags);

	switch (c->kind) {
	case KITE_CHR_DEV_SERIAL:
	case KITE_CHR_DEV_PARALLEL:
	case KITE_CHR_DEV_CONSOLE:
		kx_open(b, "target");
		kx_attr(b, "type", c->target_type);
		if (c->target_port >= 0)
			kx_attr_u(b, "port", (unsigned)c->target_port);
		if (c->target_model) {
			kx_end_open(b);
			kx_open(b, "model");
			kx_attr(b, "name", c->target_model);
			kx_end_empty(b);
			kx_close(b, "target");
		} else {
			kx_end_empty(b);
		}
		break;
	case KITE_CHR_DEV_CHANNEL:
		kx_open(b, "target");
		kx_attr(b, "type", c->target_type);
		kx_attr(b, "name", c->target_name);
		kx_attr(b, "address", c->target_address);
		kx_attr(b, "port", c->target_port_str);
		if (live(flags) && c->target_state)
			kx_attr(b, "state",
				c->target_state == KITE_TRISTATE_YES ? "connected"
								     : "disconnected");
		kx_end_empty(b);
		break;
	}
	kx_device_info_format(b, &c->info, flags);
	kx_close(b, elem);
}

/* ------------------------------------------------------------- domain */

static void format_extra(KxBuf *b, const KiteDomainDef *def, const char *const *names)
{
	for (const char *const *p = names; *p; p++)
		for (guint i = 0; i < def->extra->len; i++) {
			const KiteXmlNode *n = g_ptr_array_index(def->extra, i);
			if (!strcmp(n->name, *p))
				kx_node_format(b, n);
		}
}

static void format_generic_kind(KxBuf *b, const KiteDomainDef *def, const char *kind,
				unsigned flags)
{
	for (guint i = 0; i < def->devices->len; i++) {
		const KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		if (strcmp(g->kind, kind))
			continue;
		if (!strcmp(kind, "graphics") && !(flags & KITE_XML_SECURE) &&
		    kx_node_attr(g->node, "passwd")) {
			/* passwords only in secure output, as libvirt does */
			KiteXmlNode *copy = kx_node_copy(g->node);
			for (guint j = 0; j < copy->attrs->len; j++) {
				KiteAttr *a = g_ptr_array_index(copy->attrs, j);
				if (!strcmp(a->name, "passwd")) {
					g_ptr_array_remove_index(copy->attrs, j);
					break;
				}
			}
			kx_node_format(b, copy);
			kx_node_free(copy);
			continue;
		}
		format_node_with_info(b, g->node, g->has_info ? &g->info : NULL, flags);
	}
}

static void format_os(KxBuf *b, const KiteDomainDef *def)
{
	const KiteDomainOs *os = &def->os;

	kx_open(b, "os");
	kx_attr(b, "firmware", os->firmware);
	kx_end_open(b);
	kx_open(b, "type");
	kx_attr(b, "arch", os->arch);
	kx_attr(b, "machine", os->machine);
	g_string_append_c(b->s, '>');
	kx_escape(b->s, os->type ? os->type : "hvm");
	g_string_append(b->s, "</type>\n");
	if (os->loader) {
		kx_open(b, "loader");
		kx_attr(b, "readonly", os->loader_readonly);
		kx_attr(b, "secure", os->loader_secure);
		kx_attr(b, "type", os->loader_type);
		g_string_append_c(b->s, '>');
		kx_escape(b->s, os->loader);
		g_string_append(b->s, "</loader>\n");
	}
	if (os->nvram) {
		kx_open(b, "nvram");
		kx_attr(b, "template", os->nvram_template);
		g_string_append_c(b->s, '>');
		kx_escape(b->s, os->nvram);
		g_string_append(b->s, "</nvram>\n");
	}
	kx_text_element(b, "kernel", os->kernel);
	kx_text_element(b, "initrd", os->initrd);
	kx_text_element(b, "cmdline", os->cmdline);
	kx_text_element(b, "dtb", os->dtb);
	for (guint i = 0; i < os->extra->len; i++)
		kx_node_format(b, g_ptr_array_index(os->extra, i));
	for (guint i = 0; i < os->boot_devs->len; i++)
		kx_line(b, "<boot dev='%s'/>", (const char *)g_ptr_array_index(os->boot_devs, i));
	if (os->bootmenu) {
		kx_open(b, "bootmenu");
		kx_attr_yesno(b, "enable", os->bootmenu);
		kx_attr(b, "timeout", os->bootmenu_timeout);
		kx_end_empty(b);
	}
	if (os->smbios_mode) {
		kx_open(b, "smbios");
		kx_attr(b, "mode", os->smbios_mode);
		kx_end_empty(b);
	}
	if (os->bios_useserial || os->bios_reboot_timeout) {
		kx_open(b, "bios");
		kx_attr_yesno(b, "useserial", os->bios_useserial);
		kx_attr(b, "rebootTimeout", os->bios_reboot_timeout);
		kx_end_empty(b);
	}
	kx_close(b, "os");
}

char *kite_domain_def_format(const KiteDomainDef *def, unsigned flags)
{
	static const char *const after_current_memory[] = {"blkiotune", "memtune", "memoryBacking",
							   NULL};
	static const char *const after_vcpu[] = {
	    "vcpus",	"iothreads", "iothreadids", "defaultiothread", "cputune", "numatune",
	    "resource", "sysinfo",   "bootloader",  "bootloader_args", NULL};
	static const char *const after_os[] = {"idmap", NULL};
	static const char *const after_lifecycle[] = {"on_lockfailure", "pm", "perf", NULL};
	static const char *const after_devices[] = {"seclabel", "keywrap", "launchSecurity",
						    "throttlegroups", NULL};
	static const char *const devices_before_interfaces[] = {"lease", "filesystem", NULL};
	static const char *const devices_after_channels[] = {
	    "input",	"tpm",	       "graphics", "sound",    "audio",	     "video", "hostdev",
	    "redirdev", "redirfilter", "hub",	   "watchdog", "memballoon", "rng",   "panic",
	    "shmem",	"memory",      "iommu",	   "vsock",    "crypto",     NULL};
	KxBuf b;
	char uuid[37];

	kx_buf_init(&b);
	kx_open(&b, "domain");
	kx_attr(&b, "type", def->virt_type ? def->virt_type : "kvm");
	if (live(flags) && def->id >= 0)
		kx_attr_u(&b, "id", (unsigned)def->id);
	for (guint i = 0; i < def->namespaces->len; i++) {
		const KiteAttr *a = g_ptr_array_index(def->namespaces, i);
		g_autofree char *n = g_strdup_printf("xmlns:%s", a->name);
		kx_attr(&b, n, a->value);
	}
	kx_end_open(&b);

	kx_text_element(&b, "name", def->name);
	kite_uuid_format(def->uuid, uuid);
	kx_text_element(&b, "uuid", uuid);
	kx_text_element(&b, "genid", def->genid);
	kx_text_element(&b, "title", def->title);
	kx_text_element(&b, "description", def->description);
	if (def->metadata && def->metadata->children->len) {
		kx_line(&b, "<metadata>");
		b.indent++;
		for (guint i = 0; i < def->metadata->children->len; i++)
			kx_node_format_libxml(&b, g_ptr_array_index(def->metadata->children, i));
		kx_close(&b, "metadata");
	}
	if (def->max_memory_kib) {
		kx_open(&b, "maxMemory");
		if (def->max_memory_slots)
			kx_attr_u(&b, "slots", def->max_memory_slots);
		g_string_append_printf(b.s, " unit='KiB'>%llu</maxMemory>\n", def->max_memory_kib);
	}
	kx_open(&b, "memory");
	kx_attr_onoff(&b, "dumpCore", def->memory_dump_core);
	g_string_append_printf(b.s, " unit='KiB'>%llu</memory>\n", def->memory_kib);
	kx_line(&b, "<currentMemory unit='KiB'>%llu</currentMemory>",
		def->current_memory_kib ? def->current_memory_kib : def->memory_kib);
	format_extra(&b, def, after_current_memory);

	kx_open(&b, "vcpu");
	kx_attr(&b, "placement", def->vcpu_placement ? def->vcpu_placement : "static");
	kx_attr(&b, "cpuset", def->vcpu_cpuset);
	if (def->vcpus_current && def->vcpus_current != def->vcpus)
		kx_attr_u(&b, "current", def->vcpus_current);
	g_string_append_printf(b.s, ">%u</vcpu>\n", def->vcpus ? def->vcpus : 1);
	format_extra(&b, def, after_vcpu);

	format_os(&b, def);
	format_extra(&b, def, after_os);
	if (def->features)
		kx_node_format(&b, def->features);
	if (def->cpu)
		kx_node_format(&b, def->cpu);
	if (def->clock)
		kx_node_format(&b, def->clock);
	kx_text_element(
	    &b, "on_poweroff",
	    kx_lifecycle_to_string(def->on_poweroff ? def->on_poweroff : KITE_LIFECYCLE_DESTROY));
	kx_text_element(
	    &b, "on_reboot",
	    kx_lifecycle_to_string(def->on_reboot ? def->on_reboot : KITE_LIFECYCLE_RESTART));
	kx_text_element(
	    &b, "on_crash",
	    kx_lifecycle_to_string(def->on_crash ? def->on_crash : KITE_LIFECYCLE_DESTROY));
	format_extra(&b, def, after_lifecycle);

	kx_line(&b, "<devices>");
	b.indent++;
	kx_text_element(&b, "emulator", def->emulator);
	for (guint i = 0; i < def->disks->len; i++) {
		const KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		format_node_with_info(&b, d->node, &d->info, flags);
	}
	for (guint i = 0; i < def->controllers->len; i++) {
		const KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		format_node_with_info(&b, c->node, &c->info, flags);
	}
	for (const char *const *p = devices_before_interfaces; *p; p++)
		format_generic_kind(&b, def, *p, flags);
	for (guint i = 0; i < def->interfaces->len; i++)
		format_interface(&b, g_ptr_array_index(def->interfaces, i), flags);
	format_generic_kind(&b, def, "smartcard", flags);
	for (guint i = 0; i < def->serials->len; i++)
		format_chr(&b, g_ptr_array_index(def->serials, i), flags);
	for (guint i = 0; i < def->parallels->len; i++)
		format_chr(&b, g_ptr_array_index(def->parallels, i), flags);
	for (guint i = 0; i < def->consoles->len; i++)
		format_chr(&b, g_ptr_array_index(def->consoles, i), flags);
	for (guint i = 0; i < def->channels->len; i++)
		format_chr(&b, g_ptr_array_index(def->channels, i), flags);
	for (const char *const *p = devices_after_channels; *p; p++)
		format_generic_kind(&b, def, *p, flags);
	kx_close(&b, "devices");

	format_extra(&b, def, after_devices);
	for (guint i = 0; i < def->extra->len; i++) {
		const KiteXmlNode *n = g_ptr_array_index(def->extra, i);
		if (strchr(n->name, ':'))
			kx_node_format(&b, n);
	}
	kx_close(&b, "domain");
	return kx_buf_steal(&b);
}
