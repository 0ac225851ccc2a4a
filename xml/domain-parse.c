/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt domain XML -> KiteDomainDef. */
#include <glib/gi18n.h>
#include <sys/socket.h>
#include <libxml/parser.h>
#include <string.h>

#include "xml-internal.h"

#define INVALID KITE_XML_ERROR_INVALID

/* ------------------------------------------------------------ helpers */

void kite_uuid_format(const uint8_t uuid[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8],
		 uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

/* libvirt accepts 32 hex digits with '-' anywhere between byte pairs and
 * surrounding spaces. */
bool kite_uuid_parse(const char *str, uint8_t uuid[16])
{
	const char *p = str;
	int n = 0;

	if (!str)
		return false;
	while (g_ascii_isspace(*p))
		p++;
	while (n < 16) {
		if (*p == '-') {
			p++;
			continue;
		}
		if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]))
			return false;
		uuid[n++] = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
		p += 2;
	}
	while (g_ascii_isspace(*p))
		p++;
	return *p == '\0';
}

bool kx_parse_uuid(const xmlNode *node, uint8_t uuid[16], GError **err)
{
	g_autofree char *text = kx_text(node);

	if (!kite_uuid_parse(text, uuid))
		return kx_error(err, INVALID, node, _("invalid UUID '%s' in <uuid>"), text);
	return true;
}

void kx_uuid_generate(uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)g_random_int_range(0, 256);
	/* RFC 4122 version 4 */
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

void kite_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

bool kite_mac_parse(const char *str, uint8_t mac[6])
{
	const char *p = str;

	if (!str)
		return false;
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		int digits = 0;

		while (g_ascii_isxdigit(*p) && digits < 2) {
			v = v << 4 | (unsigned)g_ascii_xdigit_value(*p);
			p++;
			digits++;
		}
		if (!digits)
			return false;
		mac[i] = (uint8_t)v;
		if (i < 5) {
			if (*p != ':')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

void kx_mac_generate(uint8_t mac[6])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	for (int i = 3; i < 6; i++)
		mac[i] = (uint8_t)g_random_int_range(0, 256);
}

static const char *const net_type_names[] = {
    [KITE_NET_USER] = "user",		[KITE_NET_ETHERNET] = "ethernet",
    [KITE_NET_VHOSTUSER] = "vhostuser", [KITE_NET_SERVER] = "server",
    [KITE_NET_CLIENT] = "client",	[KITE_NET_MCAST] = "mcast",
    [KITE_NET_NETWORK] = "network",	[KITE_NET_BRIDGE] = "bridge",
    [KITE_NET_DIRECT] = "direct",	[KITE_NET_UDP] = "udp",
};

const char *kite_net_type_to_string(KiteNetType type)
{
	if ((unsigned)type >= G_N_ELEMENTS(net_type_names))
		return "?";
	return net_type_names[type];
}

static const char *const chr_type_names[] = {
    [KITE_CHR_NULL] = "null",	      [KITE_CHR_VC] = "vc",
    [KITE_CHR_PTY] = "pty",	      [KITE_CHR_DEV] = "dev",
    [KITE_CHR_FILE] = "file",	      [KITE_CHR_PIPE] = "pipe",
    [KITE_CHR_STDIO] = "stdio",	      [KITE_CHR_UDP] = "udp",
    [KITE_CHR_TCP] = "tcp",	      [KITE_CHR_UNIX] = "unix",
    [KITE_CHR_SPICEVMC] = "spicevmc", [KITE_CHR_SPICEPORT] = "spiceport",
    [KITE_CHR_NMDM] = "nmdm",	      [KITE_CHR_QEMU_VDAGENT] = "qemu-vdagent",
    [KITE_CHR_DBUS] = "dbus",
};

const char *kx_chr_type_to_string(KiteChrType t)
{
	if ((unsigned)t >= G_N_ELEMENTS(chr_type_names))
		return "?";
	return chr_type_names[t];
}

static const char *const lifecycle_names[] = {
    [KITE_LIFECYCLE_DEFAULT] = NULL,
    [KITE_LIFECYCLE_DESTROY] = "destroy",
    [KITE_LIFECYCLE_RESTART] = "restart",
    [KITE_LIFECYCLE_RENAME_RESTART] = "rename-restart",
    [KITE_LIFECYCLE_PRESERVE] = "preserve",
    [KITE_LIFECYCLE_COREDUMP_DESTROY] = "coredump-destroy",
    [KITE_LIFECYCLE_COREDUMP_RESTART] = "coredump-restart",
};

const char *kx_lifecycle_to_string(KiteLifecycleAction a)
{
	if ((unsigned)a >= G_N_ELEMENTS(lifecycle_names))
		return NULL;
	return lifecycle_names[a];
}

/* ------------------------------------------------------ constructors */

void kx_device_info_clear(KiteDeviceInfo *info)
{
	g_free(info->alias);
	g_free(info->rom_file);
	g_free(info->addr_type_name);
	if (info->addr_attrs)
		g_ptr_array_unref(info->addr_attrs);
	memset(info, 0, sizeof(*info));
}

void kx_device_info_copy(KiteDeviceInfo *dst, const KiteDeviceInfo *src)
{
	*dst = *src;
	dst->alias = g_strdup(src->alias);
	dst->rom_file = g_strdup(src->rom_file);
	dst->addr_type_name = g_strdup(src->addr_type_name);
	dst->addr_attrs = NULL;
	if (src->addr_attrs) {
		dst->addr_attrs = g_ptr_array_new_with_free_func(kx_attr_free);
		for (guint i = 0; i < src->addr_attrs->len; i++) {
			const KiteAttr *a = g_ptr_array_index(src->addr_attrs, i);
			g_ptr_array_add(dst->addr_attrs, kx_attr_new(a->name, a->value));
		}
	}
}

void kx_ip_addr_free(gpointer p)
{
	KiteIpAddr *ip = p;

	if (!ip)
		return;
	g_free(ip->address);
	g_free(ip->family);
	g_free(ip->peer);
	g_free(ip);
}

void kx_ip_route_free(gpointer p)
{
	KiteIpRoute *r = p;

	if (!r)
		return;
	g_free(r->family);
	g_free(r->address);
	g_free(r->netmask);
	g_free(r->gateway);
	g_free(r);
}

void kx_port_forward_free(gpointer p)
{
	KitePortForward *pf = p;

	if (!pf)
		return;
	g_free(pf->proto);
	g_free(pf->address);
	g_free(pf->dev);
	if (pf->ranges)
		g_array_unref(pf->ranges);
	g_free(pf);
}

void kx_virtualport_free(KiteVirtualPort *vp)
{
	if (!vp)
		return;
	g_free(vp->type);
	if (vp->params)
		g_ptr_array_unref(vp->params);
	g_free(vp);
}

void kx_vlan_clear(KiteVlan *vlan)
{
	if (vlan->tags) {
		for (guint i = 0; i < vlan->tags->len; i++)
			g_free(g_array_index(vlan->tags, KiteVlanTag, i).native_mode);
		g_array_unref(vlan->tags);
	}
	memset(vlan, 0, sizeof(*vlan));
}

void kx_net_def_free(gpointer p)
{
	KiteNetDef *n = p;

	if (!n)
		return;
	g_free(n->mac_type);
	g_free(n->source_network);
	g_free(n->source_portgroup);
	g_free(n->source_portid);
	g_free(n->source_bridge);
	g_free(n->source_dev);
	g_free(n->source_mode);
	g_free(n->source_type);
	g_free(n->source_path);
	g_free(n->source_address);
	g_free(n->source_local_address);
	g_free(n->target_dev);
	g_free(n->model);
	g_free(n->script);
	g_free(n->downscript);
	g_free(n->driver.name);
	g_free(n->driver.txmode);
	kx_vlan_clear(&n->vlan);
	kx_virtualport_free(n->virtualport);
	if (n->port_forwards)
		g_ptr_array_unref(n->port_forwards);
	if (n->ips)
		g_ptr_array_unref(n->ips);
	if (n->routes)
		g_ptr_array_unref(n->routes);
	g_free(n->backend_type);
	g_free(n->backend_tap);
	g_free(n->backend_vhost);
	g_free(n->backend_logfile);
	g_free(n->filterref);
	if (n->filterref_params)
		g_ptr_array_unref(n->filterref_params);
	g_free(n->teaming_type);
	g_free(n->teaming_persistent);
	kx_device_info_clear(&n->info);
	g_free(n);
}

static KiteNetDef *net_def_new(void)
{
	KiteNetDef *n = g_new0(KiteNetDef, 1);

	n->port_forwards = g_ptr_array_new_with_free_func(kx_port_forward_free);
	n->ips = g_ptr_array_new_with_free_func(kx_ip_addr_free);
	n->routes = g_ptr_array_new_with_free_func(kx_ip_route_free);
	return n;
}

void kx_chr_def_free(gpointer p)
{
	KiteChrDef *c = p;

	if (!c)
		return;
	g_free(c->source_path);
	g_free(c->source_mode);
	g_free(c->source_host);
	g_free(c->source_service);
	g_free(c->connect_host);
	g_free(c->connect_service);
	g_free(c->protocol);
	g_free(c->log_file);
	g_free(c->target_type);
	g_free(c->target_model);
	g_free(c->target_name);
	g_free(c->target_address);
	g_free(c->target_port_str);
	kx_device_info_clear(&c->info);
	g_free(c);
}

void kx_disk_def_free(gpointer p)
{
	KiteDiskDef *d = p;

	if (!d)
		return;
	g_free(d->type);
	g_free(d->device);
	g_free(d->target_dev);
	g_free(d->target_bus);
	g_free(d->source);
	kx_node_free(d->node);
	kx_device_info_clear(&d->info);
	g_free(d);
}

void kx_controller_def_free(gpointer p)
{
	KiteControllerDef *c = p;

	if (!c)
		return;
	g_free(c->type);
	g_free(c->model);
	kx_node_free(c->node);
	kx_device_info_clear(&c->info);
	g_free(c);
}

void kx_generic_device_free(gpointer p)
{
	KiteGenericDevice *g = p;

	if (!g)
		return;
	g_free(g->kind);
	g_free(g->type);
	kx_node_free(g->node);
	kx_device_info_clear(&g->info);
	g_free(g);
}

KiteDomainDef *kite_domain_def_new(void)
{
	KiteDomainDef *def = g_new0(KiteDomainDef, 1);

	def->id = -1;
	def->os.boot_devs = g_ptr_array_new_with_free_func(g_free);
	def->os.extra = g_ptr_array_new_with_free_func((GDestroyNotify)kx_node_free);
	def->disks = g_ptr_array_new_with_free_func(kx_disk_def_free);
	def->controllers = g_ptr_array_new_with_free_func(kx_controller_def_free);
	def->interfaces = g_ptr_array_new_with_free_func(kx_net_def_free);
	def->serials = g_ptr_array_new_with_free_func(kx_chr_def_free);
	def->parallels = g_ptr_array_new_with_free_func(kx_chr_def_free);
	def->consoles = g_ptr_array_new_with_free_func(kx_chr_def_free);
	def->channels = g_ptr_array_new_with_free_func(kx_chr_def_free);
	def->devices = g_ptr_array_new_with_free_func(kx_generic_device_free);
	def->extra = g_ptr_array_new_with_free_func((GDestroyNotify)kx_node_free);
	def->namespaces = g_ptr_array_new_with_free_func(kx_attr_free);
	return def;
}

void kite_domain_def_free(KiteDomainDef *def)
{
	KiteDomainOs *os;

	if (!def)
		return;
	os = &def->os;
	g_free(def->virt_type);
	g_free(def->name);
	g_free(def->genid);
	g_free(def->title);
	g_free(def->description);
	kx_node_free(def->metadata);
	g_free(def->vcpu_placement);
	g_free(def->vcpu_cpuset);
	g_free(os->type);
	g_free(os->arch);
	g_free(os->machine);
	g_free(os->loader);
	g_free(os->loader_readonly);
	g_free(os->loader_type);
	g_free(os->loader_secure);
	g_free(os->nvram);
	g_free(os->nvram_template);
	g_free(os->kernel);
	g_free(os->initrd);
	g_free(os->cmdline);
	g_free(os->dtb);
	g_ptr_array_unref(os->boot_devs);
	g_free(os->bootmenu_timeout);
	g_free(os->bios_reboot_timeout);
	g_free(os->smbios_mode);
	g_free(os->firmware);
	g_ptr_array_unref(os->extra);
	g_free(def->cpu_mode);
	g_free(def->cpu_model);
	kx_node_free(def->cpu);
	g_free(def->clock_offset);
	kx_node_free(def->clock);
	kx_node_free(def->features);
	g_free(def->emulator);
	g_ptr_array_unref(def->disks);
	g_ptr_array_unref(def->controllers);
	g_ptr_array_unref(def->interfaces);
	g_ptr_array_unref(def->serials);
	g_ptr_array_unref(def->parallels);
	g_ptr_array_unref(def->consoles);
	g_ptr_array_unref(def->channels);
	g_ptr_array_unref(def->devices);
	g_ptr_array_unref(def->extra);
	g_ptr_array_unref(def->namespaces);
	g_free(def);
}

/* -------------------------------------------------------- device info */

bool kx_is_device_info_child(const xmlNode *c)
{
	return kx_is(c, "alias") || kx_is(c, "address") || kx_is(c, "boot") || kx_is(c, "rom") ||
	       kx_is(c, "acpi");
}

static bool valid_user_alias(const char *a)
{
	if (!g_str_has_prefix(a, "ua-") || !a[3])
		return false;
	for (const char *p = a; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

static bool parse_pci_field(const xmlNode *node, const char *name, unsigned max, unsigned *out,
			    GError **err)
{
	g_autofree char *v = kx_prop(node, name);
	unsigned long long n;

	*out = 0;
	if (!v)
		return true;
	if (!kx_parse_uint(v, max, &n))
		return kx_error(err, INVALID, node,
				_("invalid PCI address %s '%s' in <address> (at most 0x%x)"), name,
				v, max);
	*out = (unsigned)n;
	return true;
}

static bool parse_address(const xmlNode *node, KiteDeviceInfo *info, GError **err)
{
	g_autofree char *type = kx_prop_req(node, "type", err);
	static const char *const known[] = {
	    "pci", "drive",	  "virtio-serial", "ccid", "usb",	 "isa", "spapr-vio",
	    "ccw", "virtio-mmio", "virtio-s390",   "dimm", "unassigned", NULL};
	bool ok = false;

	if (!type)
		return false;
	for (const char *const *p = known; *p; p++)
		if (!strcmp(type, *p))
			ok = true;
	if (!ok)
		return kx_error(err, INVALID, node, _("unknown address type '%s' in <address>"),
				type);
	g_free(info->addr_type_name);
	info->addr_type_name = g_strdup(type);
	if (info->addr_attrs)
		g_ptr_array_unref(info->addr_attrs);
	info->addr_attrs = NULL;

	if (!strcmp(type, "pci")) {
		static const char *const attrs[] = {"type",	"domain",	 "bus", "slot",
						    "function", "multifunction", NULL};
		info->addr_type = KITE_ADDRESS_PCI;
		if (!kx_check_attrs(node, attrs, err) ||
		    !parse_pci_field(node, "domain", 0xffff, &info->pci.domain, err) ||
		    !parse_pci_field(node, "bus", 0xff, &info->pci.bus, err) ||
		    !parse_pci_field(node, "slot", 0x1f, &info->pci.slot, err) ||
		    !parse_pci_field(node, "function", 0x7, &info->pci.function, err) ||
		    !kx_prop_onoff(node, "multifunction", &info->pci.multifunction, err))
			return false;
		return true;
	}
	if (!strcmp(type, "drive"))
		info->addr_type = KITE_ADDRESS_DRIVE;
	else if (!strcmp(type, "virtio-serial"))
		info->addr_type = KITE_ADDRESS_VIRTIO_SERIAL;
	else if (!strcmp(type, "ccid"))
		info->addr_type = KITE_ADDRESS_CCID;
	else if (!strcmp(type, "usb"))
		info->addr_type = KITE_ADDRESS_USB;
	else if (!strcmp(type, "isa"))
		info->addr_type = KITE_ADDRESS_ISA;
	else
		info->addr_type = KITE_ADDRESS_OTHER;
	info->addr_attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	for (xmlAttr *a = node->properties; a; a = a->next) {
		g_autofree char *v = NULL;

		if (a->ns || !strcmp((const char *)a->name, "type"))
			continue;
		v = kx_prop(node, (const char *)a->name);
		if (info->addr_type != KITE_ADDRESS_OTHER && info->addr_type != KITE_ADDRESS_USB &&
		    info->addr_type != KITE_ADDRESS_ISA) {
			unsigned long long n;
			if (!kx_parse_uint(v, G_MAXUINT, &n))
				return kx_error(err, INVALID, node,
						_("invalid value '%s' for attribute '%s' of "
						  "<address type='%s'>"),
						v, (const char *)a->name, type);
		}
		g_ptr_array_add(info->addr_attrs, kx_attr_new((const char *)a->name, v));
	}
	return true;
}

bool kx_device_info_parse(const xmlNode *dev, KiteDeviceInfo *info, unsigned flags, GError **err)
{
	static const char *const once[] = {"alias", "address", "boot", "rom", "acpi", NULL};

	if (!kx_check_singletons(dev, once, err))
		return false;
	info->line = kx_line_of(dev);
	for (xmlNode *c = dev->children; c; c = c->next) {
		if (kx_is(c, "alias")) {
			g_autofree char *name = kx_prop_req(c, "name", err);
			if (!name)
				return false;
			if (g_str_has_prefix(name, "ua-") && !valid_user_alias(name))
				return kx_error(err, INVALID, c,
						_("invalid user alias '%s' in <alias name>: only "
						  "letters, digits, '_' and '-' after 'ua-'"),
						name);
			/* like libvirt: only user aliases survive a persistent parse */
			if ((flags & KITE_XML_PARSE_LIVE) || g_str_has_prefix(name, "ua-")) {
				kx_take(&info->alias, g_steal_pointer(&name));
			}
		} else if (kx_is(c, "boot")) {
			static const char *const attrs[] = {"order", "loadparm", NULL};
			bool present;
			if (!kx_check_attrs(c, attrs, err) ||
			    !kx_prop_uint(c, "order", &info->boot_order, &present, err))
				return false;
			if (!present || info->boot_order == 0)
				return kx_error(
				    err, INVALID, c,
				    _("<boot> needs an 'order' attribute greater than 0"));
		} else if (kx_is(c, "rom")) {
			static const char *const attrs[] = {"bar", "file", "enabled", NULL};
			if (!kx_check_attrs(c, attrs, err) ||
			    !kx_prop_onoff(c, "bar", &info->rom_bar, err) ||
			    !kx_prop_yesno(c, "enabled", &info->rom_enabled, err))
				return false;
			kx_take(&info->rom_file, kx_prop(c, "file"));
		} else if (kx_is(c, "acpi")) {
			bool present;
			if (!kx_prop_uint(c, "index", &info->acpi_index, &present, err))
				return false;
		} else if (kx_is(c, "address")) {
			if (!parse_address(c, info, err))
				return false;
		}
	}
	return true;
}

/* ----------------------------------------------------- shared network */

static const char *const rate_attrs[] = {"average", "peak", "burst", "floor", NULL};

static bool parse_rate(const xmlNode *node, KiteBandwidthRate *r, GError **err)
{
	bool present;

	if (!kx_check_attrs(node, rate_attrs, err))
		return false;
	r->set = true;
	if (!kx_prop_ullong(node, "average", &r->average, &present, err) ||
	    !kx_prop_ullong(node, "peak", &r->peak, NULL, err) ||
	    !kx_prop_ullong(node, "burst", &r->burst, NULL, err) ||
	    !kx_prop_ullong(node, "floor", &r->floor, NULL, err))
		return false;
	(void)present;
	/* like libvirt: 0 is as good as absent */
	if (!r->average && !r->floor)
		return kx_error(err, INVALID, node,
				_("<%s> in <bandwidth> needs an 'average' or 'floor' attribute"),
				kx_name(node));
	return true;
}

bool kx_parse_bandwidth(const xmlNode *node, KiteBandwidth *bw, GError **err)
{
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "inbound")) {
			if (bw->inbound.set)
				return kx_error(err, INVALID, c,
						_("duplicate <inbound> in <bandwidth>"));
			if (!parse_rate(c, &bw->inbound, err))
				return false;
		} else if (kx_is(c, "outbound")) {
			if (bw->outbound.set)
				return kx_error(err, INVALID, c,
						_("duplicate <outbound> in <bandwidth>"));
			if (!parse_rate(c, &bw->outbound, err))
				return false;
			if (bw->outbound.floor)
				return kx_error(err, INVALID, c,
						_("'floor' is only allowed in <inbound>"));
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

bool kx_parse_vlan(const xmlNode *node, KiteVlan *vlan, GError **err)
{
	static const char *const tag_attrs[] = {"id", "nativeMode", NULL};
	static const char *const modes[] = {"tagged", "untagged", NULL};
	unsigned native = 0;

	kx_vlan_clear(vlan); /* a second <vlan> replaces the first */
	if (!kx_prop_yesno(node, "trunk", &vlan->trunk, err))
		return false;
	vlan->tags = g_array_new(FALSE, TRUE, sizeof(KiteVlanTag));
	for (xmlNode *c = node->children; c; c = c->next) {
		KiteVlanTag tag = {0};
		bool present;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!kx_is(c, "tag"))
			return kx_unknown_element(c, err);
		if (!kx_check_attrs(c, tag_attrs, err) ||
		    !kx_prop_uint(c, "id", &tag.id, &present, err) ||
		    !kx_prop_enum(c, "nativeMode", modes, &tag.native_mode, err))
			return false;
		if (!present) {
			g_free(tag.native_mode);
			return kx_error(err, INVALID, c, _("<tag> in <vlan> needs an 'id'"));
		}
		if (tag.id > 4095) {
			g_free(tag.native_mode);
			return kx_error(err, INVALID, c,
					_("vlan tag id %u is out of range (0-4095)"), tag.id);
		}
		if (tag.native_mode)
			native++;
		g_array_append_val(vlan->tags, tag);
	}
	if (vlan->tags->len == 0)
		return kx_error(err, INVALID, node, _("<vlan> needs at least one <tag>"));
	if (native > 1)
		return kx_error(err, INVALID, node,
				_("only one <tag> in <vlan> may have a 'nativeMode'"));
	if (vlan->trunk == KITE_TRISTATE_NO && vlan->tags->len > 1)
		return kx_error(err, INVALID, node,
				_("<vlan trunk='no'> cannot have more than one <tag>"));
	return true;
}

bool kx_parse_virtualport(const xmlNode *node, KiteVirtualPort **out, GError **err)
{
	static const char *const types[] = {"openvswitch", "802.1Qbg", "802.1Qbh", "midonet", NULL};
	static const char *const order[] = {
	    "managerid", "typeid", "typeidversion", "instanceid", "interfaceid", "profileid", NULL};
	KiteVirtualPort *vp = g_new0(KiteVirtualPort, 1);
	xmlNode *params = NULL;

	kx_virtualport_free(*out);
	*out = NULL;
	vp->params = g_ptr_array_new_with_free_func(kx_attr_free);
	if (!kx_prop_enum(node, "type", types, &vp->type, err))
		goto fail;
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!kx_is(c, "parameters")) {
			kx_unknown_element(c, err);
			goto fail;
		}
		params = c;
	}
	if (params) {
		if (!kx_check_attrs(params, order, err))
			goto fail;
		/* canonical order, as libvirt writes them */
		for (const char *const *p = order; *p; p++) {
			g_autofree char *v = kx_prop(params, *p);
			if (v)
				g_ptr_array_add(vp->params, kx_attr_new(*p, v));
		}
	}
	*out = vp;
	return true;
fail:
	kx_virtualport_free(vp);
	return false;
}

bool kx_parse_ip_route(const xmlNode *node, GPtrArray *routes, GError **err)
{
	static const char *const attrs[] = {"family",  "address", "netmask", "prefix",
					    "gateway", "metric",  NULL};
	KiteIpRoute *r = g_new0(KiteIpRoute, 1);
	int fam;
	uint8_t a[16];

	if (!kx_check_attrs(node, attrs, err))
		goto fail;
	kx_take(&r->family, kx_prop(node, "family"));
	kx_take(&r->netmask, kx_prop(node, "netmask"));
	if (!kx_take(&r->address, kx_prop_req(node, "address", err)) ||
	    !kx_take(&r->gateway, kx_prop_req(node, "gateway", err)))
		goto fail;
	if (!kx_ip_parse(r->address, &fam, a) || !kx_ip_parse(r->gateway, &fam, a)) {
		kx_error(err, INVALID, node, _("invalid address in <route>: '%s' via '%s'"),
			 r->address, r->gateway);
		goto fail;
	}
	if (!kx_prop_uint(node, "prefix", &r->prefix, NULL, err) ||
	    !kx_prop_uint(node, "metric", &r->metric, NULL, err))
		goto fail;
	g_ptr_array_add(routes, r);
	return true;
fail:
	kx_ip_route_free(r);
	return false;
}

bool kx_parse_mtu(const xmlNode *node, unsigned *mtu, GError **err)
{
	bool present;

	if (!kx_prop_uint(node, "size", mtu, &present, err))
		return false;
	if (!present || *mtu == 0 || *mtu > 65535)
		return kx_error(err, INVALID, node, _("<mtu> needs a 'size' between 1 and 65535"));
	return true;
}

/* ---------------------------------------------------------- interface */

static bool parse_net_source(const xmlNode *node, KiteNetDef *net, unsigned flags, GError **err)
{
	static const char *const attrs[] = {"network", "portgroup", "portid",  "bridge",
					    "dev",     "mode",	    "address", "port",
					    "type",    "path",	    NULL};
	bool port_present = false;

	if (!kx_check_attrs(node, attrs, err))
		return false;
	switch (net->type) {
	case KITE_NET_NETWORK:
		kx_take(&net->source_network, kx_prop_req(node, "network", err));
		if (!net->source_network)
			return false;
		kx_take(&net->source_portgroup, kx_prop(node, "portgroup"));
		/* portid and the resolved bridge are runtime state */
		if (flags & KITE_XML_PARSE_LIVE) {
			kx_take(&net->source_portid, kx_prop(node, "portid"));
			kx_take(&net->source_bridge, kx_prop(node, "bridge"));
		}
		break;
	case KITE_NET_BRIDGE:
		kx_take(&net->source_bridge, kx_prop_req(node, "bridge", err));
		if (!net->source_bridge)
			return false;
		/* live XML of a network that resolved to a host bridge */
		if (flags & KITE_XML_PARSE_LIVE) {
			char *network = kx_prop(node, "network");
			if (network) {
				net->type = KITE_NET_NETWORK;
				net->source_network = network;
				kx_take(&net->source_portgroup, kx_prop(node, "portgroup"));
				kx_take(&net->source_portid, kx_prop(node, "portid"));
				net->source_bridge_is_host = true;
			}
		}
		break;
	case KITE_NET_DIRECT: {
		static const char *const modes[] = {"vepa", "private", "bridge", "passthrough",
						    NULL};
		kx_take(&net->source_dev, kx_prop_req(node, "dev", err));
		if (!net->source_dev || !kx_prop_enum(node, "mode", modes, &net->source_mode, err))
			return false;
		break;
	}
	case KITE_NET_VHOSTUSER: {
		static const char *const modes[] = {"server", "client", NULL};
		if (!kx_take(&net->source_type, kx_prop_req(node, "type", err)) ||
		    !kx_take(&net->source_path, kx_prop_req(node, "path", err)) ||
		    !kx_prop_enum(node, "mode", modes, &net->source_mode, err))
			return false;
		if (!net->source_mode)
			return kx_error(err, INVALID, node,
					_("<source> of a vhostuser interface needs a 'mode'"));
		if (strcmp(net->source_type, "unix"))
			return kx_error(err, INVALID, node,
					_("vhostuser <source type='%s'> is not supported, only "
					  "'unix'"),
					net->source_type);
		break;
	}
	case KITE_NET_MCAST:
	case KITE_NET_SERVER:
	case KITE_NET_CLIENT:
	case KITE_NET_UDP:
		kx_take(&net->source_address, kx_prop(node, "address"));
		if (!kx_prop_uint(node, "port", &net->source_port, &port_present, err))
			return false;
		if (!net->source_address && net->type != KITE_NET_SERVER)
			return kx_error(err, INVALID, node,
					_("<source> of a %s interface needs an 'address'"),
					kite_net_type_to_string(net->type));
		if (!port_present)
			return kx_error(err, INVALID, node,
					_("<source> of a %s interface needs a 'port'"),
					kite_net_type_to_string(net->type));
		if (net->source_port > 65535)
			return kx_error(err, INVALID, node,
					_("port %u in <source> is out of range (1-65535)"),
					net->source_port);
		if (net->source_address) {
			int fam;
			uint8_t a[16];
			if (!kx_ip_parse(net->source_address, &fam, a))
				return kx_error(err, INVALID, node,
						_("invalid IP address '%s' in <source address>"),
						net->source_address);
		}
		break;
	default:
		/* libvirt ignores <source> for user and ethernet */
		break;
	}

	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "local") && net->type == KITE_NET_UDP) {
			bool present;
			kx_take(&net->source_local_address, kx_prop_req(c, "address", err));
			if (!net->source_local_address ||
			    !kx_prop_uint(c, "port", &net->source_local_port, &present, err))
				return false;
			if (!present || net->source_local_port > 65535)
				return kx_error(err, INVALID, c,
						_("<local> of a udp interface needs a 'port' "
						  "(1-65535)"));
		} else if (kx_is(c, "reconnect") && net->type == KITE_NET_VHOSTUSER) {
			if (!kx_prop_yesno(c, "enabled", &net->source_reconnect, err) ||
			    !kx_prop_uint(c, "timeout", &net->source_reconnect_timeout, NULL, err))
				return false;
		} else {
			return kx_unknown_element(c, err);
		}
	}
	if (net->type == KITE_NET_UDP && !net->source_local_address)
		return kx_error(err, INVALID, node,
				_("<source> of a udp interface needs a <local> element"));
	return true;
}

static bool parse_net_driver(const xmlNode *node, KiteNetDef *net, GError **err)
{
	static const char *const attrs[] = {
	    "name",	     "txmode", "ioeventfd",	  "event_idx", "queues", "rx_queue_size",
	    "tx_queue_size", "rss",    "rss_hash_report", "iommu",     "ats",	 "packed",
	    "page_per_vq",   NULL};
	static const char *const names[] = {"qemu", "vhost", "vfio", "kvm", NULL};
	static const char *const txmodes[] = {"iothread", "timer", NULL};
	static const char *const host_attrs[] = {"csum", "gso", "tso4",	     "tso6",
						 "ecn",	 "ufo", "mrg_rxbuf", NULL};
	static const char *const guest_attrs[] = {"csum", "tso4", "tso6", "ecn", "ufo", NULL};
	KiteNetDriver *d = &net->driver;

	net->driver_set = true;
	if (!kx_check_attrs(node, attrs, err) ||
	    !kx_prop_enum(node, "name", names, &d->name, err) ||
	    !kx_prop_enum(node, "txmode", txmodes, &d->txmode, err) ||
	    !kx_prop_onoff(node, "ioeventfd", &d->ioeventfd, err) ||
	    !kx_prop_onoff(node, "event_idx", &d->event_idx, err) ||
	    !kx_prop_uint(node, "queues", &d->queues, NULL, err) ||
	    !kx_prop_uint(node, "rx_queue_size", &d->rx_queue_size, NULL, err) ||
	    !kx_prop_uint(node, "tx_queue_size", &d->tx_queue_size, NULL, err) ||
	    !kx_prop_onoff(node, "rss", &d->rss, err) ||
	    !kx_prop_onoff(node, "rss_hash_report", &d->rss_hash_report, err) ||
	    !kx_prop_onoff(node, "iommu", &d->iommu, err) ||
	    !kx_prop_onoff(node, "ats", &d->ats, err) ||
	    !kx_prop_onoff(node, "packed", &d->packed, err) ||
	    !kx_prop_onoff(node, "page_per_vq", &d->page_per_vq, err))
		return false;
	for (unsigned *q = &d->rx_queue_size; q <= &d->tx_queue_size; q++)
		if (*q && (*q & (*q - 1)))
			return kx_error(err, INVALID, node,
					_("'%s' of <driver> must be a power of two, not %u"),
					q == &d->rx_queue_size ? "rx_queue_size" : "tx_queue_size",
					*q);
	for (xmlNode *c = node->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is(c, "host")) {
			if (!kx_check_attrs(c, host_attrs, err) ||
			    !kx_prop_onoff(c, "csum", &d->host_csum, err) ||
			    !kx_prop_onoff(c, "gso", &d->host_gso, err) ||
			    !kx_prop_onoff(c, "tso4", &d->host_tso4, err) ||
			    !kx_prop_onoff(c, "tso6", &d->host_tso6, err) ||
			    !kx_prop_onoff(c, "ecn", &d->host_ecn, err) ||
			    !kx_prop_onoff(c, "ufo", &d->host_ufo, err) ||
			    !kx_prop_onoff(c, "mrg_rxbuf", &d->host_mrg_rxbuf, err))
				return false;
		} else if (kx_is(c, "guest")) {
			if (!kx_check_attrs(c, guest_attrs, err) ||
			    !kx_prop_onoff(c, "csum", &d->guest_csum, err) ||
			    !kx_prop_onoff(c, "tso4", &d->guest_tso4, err) ||
			    !kx_prop_onoff(c, "tso6", &d->guest_tso6, err) ||
			    !kx_prop_onoff(c, "ecn", &d->guest_ecn, err) ||
			    !kx_prop_onoff(c, "ufo", &d->guest_ufo, err))
				return false;
		} else {
			return kx_unknown_element(c, err);
		}
	}
	return true;
}

static bool parse_port_forward(const xmlNode *node, KiteNetDef *net, GError **err)
{
	static const char *const attrs[] = {"proto", "address", "dev", NULL};
	static const char *const range_attrs[] = {"start", "end", "to", "exclude", NULL};
	static const char *const protos[] = {"tcp", "udp", NULL};
	KitePortForward *pf = g_new0(KitePortForward, 1);

	pf->ranges = g_array_new(FALSE, TRUE, sizeof(KitePortRange));
	g_ptr_array_add(net->port_forwards, pf);
	if (!kx_check_attrs(node, attrs, err) ||
	    !kx_prop_enum(node, "proto", protos, &pf->proto, err))
		return false;
	if (!pf->proto)
		return kx_error(err, INVALID, node, _("<portForward> needs a 'proto' attribute"));
	kx_take(&pf->address, kx_prop(node, "address"));
	kx_take(&pf->dev, kx_prop(node, "dev"));
	if (pf->address) {
		int fam;
		uint8_t a[16];
		if (!kx_ip_parse(pf->address, &fam, a))
			return kx_error(err, INVALID, node,
					_("invalid address '%s' in <portForward address>"),
					pf->address);
	}
	for (xmlNode *c = node->children; c; c = c->next) {
		KitePortRange r = {0};
		bool has_start;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!kx_is(c, "range"))
			return kx_unknown_element(c, err);
		if (!kx_check_attrs(c, range_attrs, err) ||
		    !kx_prop_uint(c, "start", &r.start, &has_start, err) ||
		    !kx_prop_uint(c, "end", &r.end, NULL, err) ||
		    !kx_prop_uint(c, "to", &r.to, NULL, err) ||
		    !kx_prop_yesno(c, "exclude", &r.exclude, err))
			return false;
		if (!has_start)
			return kx_error(err, INVALID, c,
					_("<range> in <portForward> needs a 'start' attribute"));
		if (r.start == 0 || r.start > 65535 || r.end > 65535 || r.to > 65535 ||
		    (r.end && r.end < r.start))
			return kx_error(err, INVALID, c,
					_("invalid port range %u-%u in <portForward>"), r.start,
					r.end);
		g_array_append_val(pf->ranges, r);
	}
	if (pf->ranges->len == 0)
		return kx_error(err, INVALID, node, _("<portForward> needs at least one <range>"));
	return true;
}

static bool parse_net_ip(const xmlNode *node, KiteNetDef *net, GError **err)
{
	static const char *const attrs[] = {"address", "family", "prefix", "peer", NULL};
	static const char *const families[] = {"ipv4", "ipv6", NULL};
	KiteIpAddr *ip = g_new0(KiteIpAddr, 1);
	int fam;
	uint8_t a[16];

	g_ptr_array_add(net->ips, ip);
	if (!kx_check_attrs(node, attrs, err) ||
	    !kx_prop_enum(node, "family", families, &ip->family, err) ||
	    !kx_prop_uint(node, "prefix", &ip->prefix, NULL, err))
		return false;
	kx_take(&ip->address, kx_prop_req(node, "address", err));
	if (!ip->address)
		return false;
	if (!kx_ip_parse(ip->address, &fam, a))
		return kx_error(err, INVALID, node, _("invalid IP address '%s' in <ip address>"),
				ip->address);
	if (ip->prefix > (fam == AF_INET ? 32u : 128u))
		return kx_error(err, INVALID, node, _("invalid prefix %u for address '%s' in <ip>"),
				ip->prefix, ip->address);
	kx_take(&ip->peer, kx_prop(node, "peer"));
	return true;
}

static bool parse_interface(const xmlNode *node, KiteDomainDef *def, unsigned flags, GError **err)
{
	static const char *const types[] = {"network", "bridge",    "user",   "ethernet",
					    "direct",  "mcast",	    "server", "client",
					    "udp",     "vhostuser", NULL};
	static const char *const unsupported_types[] = {"hostdev", "vdpa",     "null",
							"vds",	   "internal", NULL};
	static const char *const link_states[] = {"up", "down", NULL};
	g_autofree char *type = kx_prop_req(node, "type", err);
	KiteNetDef *net;
	bool seen_mac = false;

	if (!type)
		return false;
	for (const char *const *p = unsupported_types; *p; p++)
		if (!strcmp(type, *p))
			return kx_error(err, KITE_XML_ERROR_UNSUPPORTED, node,
					_("<interface type='%s'> is not supported by kite"), type);
	{
		static const char *const once[] = {
		    "source",	 "target",  "model",	   "driver",	 "link",  "mtu",
		    "bandwidth", "vlan",    "virtualport", "backend",	 "tune",  "coalesce",
		    "filterref", "teaming", "script",	   "downscript", "guest", NULL};
		if (!kx_check_singletons(node, once, err))
			return false;
	}
	net = net_def_new();
	g_ptr_array_add(def->interfaces, net);
	{
		int i;
		for (i = 0; types[i]; i++)
			if (!strcmp(type, types[i]))
				break;
		if (!types[i])
			return kx_error(err, INVALID, node, _("unknown interface type '%s'"), type);
		for (unsigned t = 0; t < G_N_ELEMENTS(net_type_names); t++)
			if (!strcmp(net_type_names[t], type))
				net->type = (KiteNetType)t;
	}
	{
		static const char *const attrs[] = {"type", "trustGuestRxFilters", NULL};
		if (!kx_check_attrs(node, attrs, err) ||
		    !kx_prop_yesno(node, "trustGuestRxFilters", &net->trust_guest_rx_filters, err))
			return false;
	}

	for (xmlNode *c = node->children; c; c = c->next) {
		const char *n = kx_name(c);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			return kx_unknown_element(c, err);
		if (kx_is_device_info_child(c))
			continue;
		if (!strcmp(n, "mac")) {
			static const char *const attrs[] = {"address", "type", "check", NULL};
			static const char *const mac_types[] = {"generated", "static", NULL};
			g_autofree char *addr = NULL;

			if (seen_mac)
				return kx_error(err, INVALID, c,
						_("duplicate <mac> in <interface>"));
			seen_mac = true;
			if (!kx_check_attrs(c, attrs, err) ||
			    !(addr = kx_prop_req(c, "address", err)) ||
			    !kx_prop_enum(c, "type", mac_types, &net->mac_type, err) ||
			    !kx_prop_yesno(c, "check", &net->mac_check, err))
				return false;
			if (!kite_mac_parse(addr, net->mac))
				return kx_error(err, INVALID, c,
						_("invalid MAC address '%s' in <mac address>"),
						addr);
			if (net->mac[0] & 1)
				return kx_error(
				    err, INVALID, c,
				    _("MAC address '%s' in <mac address> is multicast; a "
				      "unicast address is required"),
				    addr);
		} else if (!strcmp(n, "source")) {
			if (!parse_net_source(c, net, flags, err))
				return false;
		} else if (!strcmp(n, "target")) {
			static const char *const attrs[] = {"dev", "managed", NULL};
			g_autofree char *dev = NULL;
			if (!kx_check_attrs(c, attrs, err) ||
			    !kx_prop_yesno(c, "managed", &net->target_managed, err))
				return false;
			dev = kx_prop(c, "dev");
			if (dev && (strlen(dev) >= 16 || strchr(dev, '/') || strchr(dev, ' ')))
				return kx_error(err, INVALID, c,
						_("invalid interface name '%s' in <target dev>"),
						dev);
			/* libvirt drops generated names from a persistent parse so
			 * they can be regenerated on the next start */
			if (dev && !(flags & KITE_XML_PARSE_LIVE) &&
			    (g_str_has_prefix(dev, "vnet") || g_str_has_prefix(dev, "macvtap") ||
			     g_str_has_prefix(dev, "macvlan")))
				g_clear_pointer(&dev, g_free);
			kx_take(&net->target_dev, g_steal_pointer(&dev));
		} else if (!strcmp(n, "model")) {
			kx_take(&net->model, kx_prop_req(c, "type", err));
			if (!net->model)
				return false;
			for (const char *p = net->model; *p; p++)
				if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
					return kx_error(err, INVALID, c,
							_("invalid NIC model '%s' in <model type>"),
							net->model);
		} else if (!strcmp(n, "link")) {
			g_autofree char *st = NULL;
			if (!kx_prop_enum(c, "state", link_states, &st, err))
				return false;
			if (st)
				net->link_state = !strcmp(st, "up") ? KITE_LINK_UP : KITE_LINK_DOWN;
		} else if (!strcmp(n, "script")) {
			kx_take(&net->script, kx_prop_req(c, "path", err));
			if (!net->script)
				return false;
		} else if (!strcmp(n, "downscript")) {
			kx_take(&net->downscript, kx_prop_req(c, "path", err));
			if (!net->downscript)
				return false;
		} else if (!strcmp(n, "driver")) {
			if (!parse_net_driver(c, net, err))
				return false;
		} else if (!strcmp(n, "mtu")) {
			if (!kx_parse_mtu(c, &net->mtu, err))
				return false;
		} else if (!strcmp(n, "bandwidth")) {
			if (!kx_parse_bandwidth(c, &net->bandwidth, err))
				return false;
		} else if (!strcmp(n, "vlan")) {
			if (!kx_parse_vlan(c, &net->vlan, err))
				return false;
		} else if (!strcmp(n, "virtualport")) {
			if (!kx_parse_virtualport(c, &net->virtualport, err))
				return false;
		} else if (!strcmp(n, "portForward")) {
			if (!parse_port_forward(c, net, err))
				return false;
		} else if (!strcmp(n, "ip")) {
			if (!parse_net_ip(c, net, err))
				return false;
		} else if (!strcmp(n, "route")) {
			if (!kx_parse_ip_route(c, net->routes, err))
				return false;
		} else if (!strcmp(n, "backend")) {
			static const char *const attrs[] = {"type", "tap", "vhost", "logFile",
							    NULL};
			static const char *const btypes[] = {"passt", NULL};
			if (!kx_check_attrs(c, attrs, err) ||
			    !kx_prop_enum(c, "type", btypes, &net->backend_type, err))
				return false;
			kx_take(&net->backend_tap, kx_prop(c, "tap"));
			kx_take(&net->backend_vhost, kx_prop(c, "vhost"));
			kx_take(&net->backend_logfile, kx_prop(c, "logFile"));
		} else if (!strcmp(n, "tune")) {
			for (xmlNode *t = c->children; t; t = t->next) {
				unsigned long long v;
				g_autofree char *txt = NULL;
				if (t->type != XML_ELEMENT_NODE)
					continue;
				if (!kx_is(t, "sndbuf"))
					return kx_unknown_element(t, err);
				txt = kx_text(t);
				if (!kx_parse_uint(g_strstrip(txt), G_MAXUINT, &v))
					return kx_error(err, INVALID, t, _("invalid <sndbuf> '%s'"),
							txt);
				net->tune_sndbuf = (unsigned)v;
				net->tune_sndbuf_set = true;
			}
		} else if (!strcmp(n, "coalesce")) {
			xmlNode *rx = kx_child(c, "rx");
			xmlNode *frames = rx ? kx_child(rx, "frames") : NULL;
			bool present = false;
			if (frames &&
			    !kx_prop_uint(frames, "max", &net->coalesce_rx_frames, &present, err))
				return false;
			net->coalesce_set = present;
		} else if (!strcmp(n, "filterref")) {
			kx_take(&net->filterref, kx_prop_req(c, "filter", err));
			if (!net->filterref)
				return false;
			if (net->filterref_params)
				g_ptr_array_unref(net->filterref_params);
			net->filterref_params = g_ptr_array_new_with_free_func(kx_attr_free);
			for (xmlNode *p = c->children; p; p = p->next) {
				g_autofree char *pn = NULL, *pv = NULL;
				if (p->type != XML_ELEMENT_NODE)
					continue;
				if (!kx_is(p, "parameter"))
					return kx_unknown_element(p, err);
				pn = kx_prop_req(p, "name", err);
				pv = pn ? kx_prop_req(p, "value", err) : NULL;
				if (!pv)
					return false;
				g_ptr_array_add(net->filterref_params, kx_attr_new(pn, pv));
			}
		} else if (!strcmp(n, "teaming")) {
			static const char *const ttypes[] = {"persistent", "transient", NULL};
			if (!kx_prop_enum(c, "type", ttypes, &net->teaming_type, err))
				return false;
			kx_take(&net->teaming_persistent, kx_prop(c, "persistent"));
		} else {
			return kx_unknown_element(c, err);
		}
	}

	if (!kx_device_info_parse(node, &net->info, flags, err))
		return false;

	/* what libvirt refuses at parse time */
	if (net->type == KITE_NET_NETWORK && !net->source_network)
		return kx_error(err, INVALID, node,
				_("<interface type='network'> needs <source network='...'/>"));
	if (net->type == KITE_NET_BRIDGE && !net->source_bridge)
		return kx_error(err, INVALID, node,
				_("<interface type='bridge'> needs <source bridge='...'/>"));
	if (net->type == KITE_NET_DIRECT && !net->source_dev)
		return kx_error(err, INVALID, node,
				_("<interface type='direct'> needs <source dev='...'/>"));
	if (net->type == KITE_NET_VHOSTUSER && !net->source_path)
		return kx_error(err, INVALID, node,
				_("<interface type='vhostuser'> needs <source type='unix' "
				  "path='...' mode='...'/>"));
	if ((net->type == KITE_NET_MCAST || net->type == KITE_NET_SERVER ||
	     net->type == KITE_NET_CLIENT || net->type == KITE_NET_UDP) &&
	    !net->source_port)
		return kx_error(err, INVALID, node,
				_("<interface type='%s'> needs <source address='...' port='...'/>"),
				type);
	if (net->port_forwards->len && net->type != KITE_NET_USER)
		return kx_error(err, INVALID, node,
				_("<portForward> is only allowed in <interface type='user'>"));
	if (net->backend_type && net->type != KITE_NET_USER)
		return kx_error(err, INVALID, node,
				_("<backend type='%s'> is only allowed in <interface type='user'>"),
				net->backend_type);
	if (!seen_mac)
		memset(net->mac, 0, sizeof(net->mac));
	net->mac_generated = !seen_mac;
	return true;
}

/* ----------------------------------------------------------- chardevs */

static bool parse_chr_type(const xmlNode *node, const char *type, KiteChrType *out, GError **err)
{
	for (unsigned t = 0; t < G_N_ELEMENTS(chr_type_names); t++) {
		if (!strcmp(chr_type_names[t], type)) {
			*out = (KiteChrType)t;
			return true;
		}
	}
	return kx_error(err, INVALID, node, _("unknown character device type '%s' in <%s>"), type,
			kx_name(node));
}

static bool parse_chr(const xmlNode *node, KiteDomainDef *def, KiteChrDevKind kind, unsigned flags,
		      GError **err)
{
	g_autofree char *type = kx_prop(node, "type");
	KiteChrDef *chr = g_new0(KiteChrDef, 1);
	GPtrArray *list = kind == KITE_CHR_DEV_SERIAL	 ? def->serials
			  : kind == KITE_CHR_DEV_CONSOLE ? def->consoles
			  : kind == KITE_CHR_DEV_CHANNEL ? def->channels
							 : def->parallels;

	chr->kind = kind;
	chr->target_port = -1;
	g_ptr_array_add(list, chr);
	/* libvirt: a missing type means pty */
	if (!parse_chr_type(node, type ? type : "pty", &chr->type, err))
		return false;
	{
		static const char *const attrs[] = {"type", "tty", NULL};
		static const char *const once[] = {"target", "protocol", "log", NULL};
		if (!kx_check_attrs(node, attrs, err) || !kx_check_singletons(node, once, err))
			return false;
	}

	for (xmlNode *c = node->children; c; c = c->next) {
		const char *n = kx_name(c);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kx_is_device_info_child(c))
			continue;
		if (!strcmp(n, "source")) {
			static const char *const attrs[] = {"path",   "mode", "host",	 "service",
							    "append", "tls",  "channel", "master",
							    "slave",  NULL};
			g_autofree char *mode = kx_prop(c, "mode");

			if (!kx_check_attrs(c, attrs, err))
				return false;
			for (xmlNode *s = c->children; s; s = s->next)
				if (s->type == XML_ELEMENT_NODE)
					return kx_error(
					    err, KITE_XML_ERROR_UNSUPPORTED, s,
					    _("<%s> in a character device <source> is not "
					      "supported by kite"),
					    kx_name(s));
			if (chr->type == KITE_CHR_UDP && mode && !strcmp(mode, "connect")) {
				kx_take(&chr->connect_host, kx_prop(c, "host"));
				kx_take(&chr->connect_service, kx_prop(c, "service"));
				continue;
			}
			if (chr->type == KITE_CHR_UDP && !mode && chr->source_service) {
				/* second source without mode: the connect side */
				kx_take(&chr->connect_host, kx_prop(c, "host"));
				kx_take(&chr->connect_service, kx_prop(c, "service"));
				continue;
			}
			if (mode && strcmp(mode, "bind") && strcmp(mode, "connect"))
				return kx_error(err, INVALID, c,
						_("invalid value '%s' for attribute 'mode' of "
						  "<source>: expected 'bind' or 'connect'"),
						mode);
			kx_take(&chr->source_mode, g_steal_pointer(&mode));
			kx_take(&chr->source_path, kx_prop(c, "path"));
			kx_take(&chr->source_host, kx_prop(c, "host"));
			kx_take(&chr->source_service, kx_prop(c, "service"));
			if (!kx_prop_onoff(c, "append", &chr->source_append, err))
				return false;
			/* a pty path is runtime state */
			if (chr->type == KITE_CHR_PTY && !(flags & KITE_XML_PARSE_LIVE))
				g_clear_pointer(&chr->source_path, g_free);
		} else if (!strcmp(n, "protocol")) {
			static const char *const protos[] = {"raw", "telnet", "telnets", "tls",
							     NULL};
			if (!kx_prop_enum(c, "type", protos, &chr->protocol, err))
				return false;
		} else if (!strcmp(n, "log")) {
			kx_take(&chr->log_file, kx_prop_req(c, "file", err));
			if (!chr->log_file || !kx_prop_onoff(c, "append", &chr->log_append, err))
				return false;
		} else if (!strcmp(n, "target")) {
			static const char *const attrs[] = {"type",    "port",	"name",
							    "address", "state", NULL};
			g_autofree char *port = NULL;
			if (!kx_check_attrs(c, attrs, err))
				return false;
			kx_take(&chr->target_type, kx_prop(c, "type"));
			kx_take(&chr->target_name, kx_prop(c, "name"));
			port = kx_prop(c, "port");
			if (kind == KITE_CHR_DEV_CHANNEL) {
				kx_take(&chr->target_address, kx_prop(c, "address"));
				kx_take(&chr->target_port_str, g_steal_pointer(&port));
				if (flags & KITE_XML_PARSE_LIVE) {
					g_autofree char *st = kx_prop(c, "state");
					if (st && !strcmp(st, "connected"))
						chr->target_state = KITE_TRISTATE_YES;
					else if (st && !strcmp(st, "disconnected"))
						chr->target_state = KITE_TRISTATE_NO;
				}
			} else if (port) {
				unsigned long long v;
				if (!kx_parse_uint(port, 0xffff, &v))
					return kx_error(err, INVALID, c,
							_("invalid port '%s' in <target port>"),
							port);
				chr->target_port = (int)v;
			}
			for (xmlNode *m = c->children; m; m = m->next) {
				if (m->type != XML_ELEMENT_NODE)
					continue;
				if (!kx_is(m, "model"))
					return kx_unknown_element(m, err);
				kx_take(&chr->target_model, kx_prop_req(m, "name", err));
				if (!chr->target_model)
					return false;
			}
		} else {
			return kx_unknown_element(c, err);
		}
	}

	/* what each backend needs */
	switch (chr->type) {
	case KITE_CHR_FILE:
	case KITE_CHR_DEV:
	case KITE_CHR_PIPE:
		if (!chr->source_path)
			return kx_error(err, INVALID, node,
					_("<%s type='%s'> needs <source path='...'/>"),
					kx_name(node), kx_chr_type_to_string(chr->type));
		break;
	case KITE_CHR_UNIX:
		/* a channel may leave the path to the driver */
		if (!chr->source_path && kind != KITE_CHR_DEV_CHANNEL)
			return kx_error(err, INVALID, node,
					_("<%s type='unix'> needs <source path='...'/>"),
					kx_name(node));
		break;
	case KITE_CHR_TCP:
		if (!chr->source_service)
			return kx_error(err, INVALID, node,
					_("<%s type='tcp'> needs <source service='...'/>"),
					kx_name(node));
		break;
	case KITE_CHR_UDP:
		if (!chr->connect_service && !chr->source_service)
			return kx_error(err, INVALID, node,
					_("<%s type='udp'> needs <source service='...'/>"),
					kx_name(node));
		break;
	default:
		break;
	}
	return kx_device_info_parse(node, &chr->info, flags, err);
}

/* -------------------------------------------- disks, controllers, other */

static const char *const info_children[] = {"alias", "address", "boot", "rom", "acpi", NULL};

static bool parse_disk(const xmlNode *node, KiteDomainDef *def, unsigned flags, GError **err)
{
	KiteDiskDef *d = g_new0(KiteDiskDef, 1);
	xmlNode *c;

	g_ptr_array_add(def->disks, d);
	kx_take(&d->type, kx_prop(node, "type"));
	kx_take(&d->device, kx_prop(node, "device"));
	if ((c = kx_child(node, "target"))) {
		kx_take(&d->target_dev, kx_prop_req(c, "dev", err));
		if (!d->target_dev)
			return false;
		kx_take(&d->target_bus, kx_prop(c, "bus"));
	} else {
		return kx_error(err, INVALID, node, _("<disk> needs a <target dev='...'/>"));
	}
	if ((c = kx_child(node, "source"))) {
		static const char *const src_attrs[] = {"file", "dev",	  "dir",
							"name", "volume", NULL};
		for (const char *const *p = src_attrs; *p && !d->source; p++)
			kx_take(&d->source, kx_prop(c, *p));
	}
	if (kx_child(node, "readonly"))
		d->readonly = KITE_TRISTATE_YES;
	if (kx_child(node, "shareable"))
		d->shareable = KITE_TRISTATE_YES;
	d->node = kx_node_from_xml_skip(node, info_children);
	return kx_device_info_parse(node, &d->info, flags, err);
}

static bool parse_controller(const xmlNode *node, KiteDomainDef *def, unsigned flags, GError **err)
{
	KiteControllerDef *ctl = g_new0(KiteControllerDef, 1);
	g_autofree char *index = NULL;

	g_ptr_array_add(def->controllers, ctl);
	ctl->index = -1;
	kx_take(&ctl->type, kx_prop_req(node, "type", err));
	if (!ctl->type)
		return false;
	kx_take(&ctl->model, kx_prop(node, "model"));
	index = kx_prop(node, "index");
	if (index) {
		unsigned long long v;
		if (!kx_parse_uint(index, G_MAXINT, &v))
			return kx_error(err, INVALID, node,
					_("invalid controller index '%s' in <controller index>"),
					index);
		ctl->index = (int)v;
	}
	ctl->node = kx_node_from_xml_skip(node, info_children);
	return kx_device_info_parse(node, &ctl->info, flags, err);
}

/* Devices kept as trees; those with alias/address support. */
static const struct {
	const char *name;
	bool has_info;
	const char *type_attr;
} generic_kinds[] = {
    {"lease", false, NULL},    {"filesystem", true, "type"}, {"smartcard", true, "mode"},
    {"input", true, "type"},   {"tpm", true, "model"},	     {"graphics", false, "type"},
    {"sound", true, "model"},  {"audio", false, "type"},     {"video", true, NULL},
    {"hostdev", true, "type"}, {"redirdev", true, "type"},   {"redirfilter", false, NULL},
    {"hub", true, "type"},     {"watchdog", true, "model"},  {"memballoon", true, "model"},
    {"rng", true, "model"},    {"panic", true, "model"},     {"shmem", true, "name"},
    {"memory", true, "model"}, {"iommu", true, "model"},     {"vsock", true, "model"},
    {"crypto", true, "model"},
};

static bool parse_generic(const xmlNode *node, KiteDomainDef *def, unsigned flags, GError **err)
{
	KiteGenericDevice *g = NULL;

	/* libvirt allows a single balloon */
	if (kx_is(node, "memballoon"))
		for (guint i = 0; i < def->devices->len; i++)
			if (!strcmp(((KiteGenericDevice *)g_ptr_array_index(def->devices, i))->kind,
				    "memballoon"))
				return kx_error(err, INVALID, node,
						_("only one <memballoon> is allowed"));

	for (unsigned i = 0; i < G_N_ELEMENTS(generic_kinds); i++) {
		if (strcmp(kx_name(node), generic_kinds[i].name))
			continue;
		g = g_new0(KiteGenericDevice, 1);
		g->kind = g_strdup(generic_kinds[i].name);
		g->has_info = generic_kinds[i].has_info;
		if (generic_kinds[i].type_attr)
			kx_take(&g->type, kx_prop(node, generic_kinds[i].type_attr));
		if (!strcmp(g->kind, "video")) {
			xmlNode *m = kx_child(node, "model");
			if (m)
				kx_take(&g->type, kx_prop(m, "type"));
		}
		break;
	}
	if (!g)
		return kx_unknown_element(node, err);
	g_ptr_array_add(def->devices, g);
	g->info.line = kx_line_of(node);
	if (!g->has_info) {
		g->node = kx_node_from_xml(node);
		return true;
	}
	g->node = kx_node_from_xml_skip(node, info_children);
	return kx_device_info_parse(node, &g->info, flags, err);
}

static bool parse_devices(const xmlNode *node, KiteDomainDef *def, unsigned flags, GError **err)
{
	for (xmlNode *c = node->children; c; c = c->next) {
		const char *n = kx_name(c);
		bool ok;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns)
			return kx_unknown_element(c, err);
		if (!strcmp(n, "emulator")) {
			kx_take(&def->emulator, g_strstrip(kx_text(c)));
			ok = true;
		} else if (!strcmp(n, "interface")) {
			ok = parse_interface(c, def, flags, err);
		} else if (!strcmp(n, "serial")) {
			ok = parse_chr(c, def, KITE_CHR_DEV_SERIAL, flags, err);
		} else if (!strcmp(n, "console")) {
			ok = parse_chr(c, def, KITE_CHR_DEV_CONSOLE, flags, err);
		} else if (!strcmp(n, "channel")) {
			ok = parse_chr(c, def, KITE_CHR_DEV_CHANNEL, flags, err);
		} else if (!strcmp(n, "parallel")) {
			ok = parse_chr(c, def, KITE_CHR_DEV_PARALLEL, flags, err);
		} else if (!strcmp(n, "disk")) {
			ok = parse_disk(c, def, flags, err);
		} else if (!strcmp(n, "controller")) {
			ok = parse_controller(c, def, flags, err);
		} else {
			ok = parse_generic(c, def, flags, err);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ os */

static bool parse_os(const xmlNode *node, KiteDomainDef *def, GError **err)
{
	KiteDomainOs *os = &def->os;
	static const char *const boot_devs[] = {"hd", "cdrom", "network", "fd", NULL};

	{
		static const char *const once[] = {"type", "kernel", "initrd", "cmdline",
						   "dtb",  "loader", "nvram",  "bootmenu",
						   "bios", "smbios", NULL};
		if (!kx_check_singletons(node, once, err))
			return false;
	}
	kx_take(&os->firmware, kx_prop(node, "firmware"));
	for (xmlNode *c = node->children; c; c = c->next) {
		const char *n = kx_name(c);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp(n, "type")) {
			static const char *const attrs[] = {"arch", "machine", NULL};
			if (!kx_check_attrs(c, attrs, err))
				return false;
			kx_take(&os->type, g_strstrip(kx_text(c)));
			kx_take(&os->arch, kx_prop(c, "arch"));
			kx_take(&os->machine, kx_prop(c, "machine"));
			if (strcmp(os->type, "hvm"))
				return kx_error(err, KITE_XML_ERROR_UNSUPPORTED, c,
						_("OS type '%s' is not supported, only 'hvm'"),
						os->type);
			if (os->arch && strcmp(os->arch, "x86_64") && strcmp(os->arch, "i686"))
				return kx_error(err, KITE_XML_ERROR_UNSUPPORTED, c,
						_("architecture '%s' is not supported, only "
						  "'x86_64'"),
						os->arch);
		} else if (!strcmp(n, "kernel")) {
			kx_take(&os->kernel, kx_text(c));
		} else if (!strcmp(n, "initrd")) {
			kx_take(&os->initrd, kx_text(c));
		} else if (!strcmp(n, "cmdline")) {
			kx_take(&os->cmdline, kx_text(c));
		} else if (!strcmp(n, "dtb")) {
			kx_take(&os->dtb, kx_text(c));
		} else if (!strcmp(n, "boot")) {
			g_autofree char *dev = NULL;
			if (!kx_prop_enum(c, "dev", boot_devs, &dev, err))
				return false;
			if (!dev)
				return kx_error(err, INVALID, c, _("<boot> in <os> needs a 'dev'"));
			if (os->boot_devs->len >= 4)
				return kx_error(err, INVALID, c,
						_("at most 4 <boot> devices in <os>"));
			g_ptr_array_add(os->boot_devs, g_steal_pointer(&dev));
		} else if (!strcmp(n, "bootmenu")) {
			if (!kx_prop_yesno(c, "enable", &os->bootmenu, err))
				return false;
			kx_take(&os->bootmenu_timeout, kx_prop(c, "timeout"));
		} else if (!strcmp(n, "bios")) {
			if (!kx_prop_yesno(c, "useserial", &os->bios_useserial, err))
				return false;
			kx_take(&os->bios_reboot_timeout, kx_prop(c, "rebootTimeout"));
		} else if (!strcmp(n, "smbios")) {
			kx_take(&os->smbios_mode, kx_prop(c, "mode"));
		} else if (!strcmp(n, "loader")) {
			static const char *const attrs[] = {"readonly", "secure", "type", NULL};
			if (!kx_check_attrs(c, attrs, err))
				return false;
			kx_take(&os->loader, g_strstrip(kx_text(c)));
			kx_take(&os->loader_readonly, kx_prop(c, "readonly"));
			kx_take(&os->loader_secure, kx_prop(c, "secure"));
			kx_take(&os->loader_type, kx_prop(c, "type"));
		} else if (!strcmp(n, "nvram")) {
			static const char *const attrs[] = {"template", NULL};
			if (!kx_check_attrs(c, attrs, err))
				return false;
			kx_take(&os->nvram, g_strstrip(kx_text(c)));
			kx_take(&os->nvram_template, kx_prop(c, "template"));
		} else if (!strcmp(n, "acpi") || !strcmp(n, "firmware") || !strcmp(n, "init") ||
			   !strcmp(n, "initarg") || !strcmp(n, "initenv") ||
			   !strcmp(n, "initdir") || !strcmp(n, "inituser") ||
			   !strcmp(n, "initgroup")) {
			g_ptr_array_add(os->extra, kx_node_from_xml(c));
		} else {
			return kx_unknown_element(c, err);
		}
	}
	if (!os->type)
		return kx_error(err, INVALID, node, _("<os> needs a <type> element"));
	return true;
}

/* ------------------------------------------------------------ domain */

static bool parse_memory(const xmlNode *node, unsigned long long *kib, GError **err)
{
	g_autofree char *unit = kx_prop(node, "unit");
	g_autofree char *txt = g_strstrip(kx_text(node));
	unsigned long long v;

	if (!kx_parse_uint(txt, G_MAXUINT64, &v) || !g_ascii_isdigit(txt[0]))
		return kx_error(err, INVALID, node, _("invalid size '%s' in <%s>"), txt,
				kx_name(node));
	if (!kx_scale_to_kib(v, unit, kib))
		return kx_error(err, INVALID, node,
				_("invalid unit '%s' or size too large in <%s>"),
				unit ? unit : "KiB", kx_name(node));
	/* libvirt's limit: what fits in a signed 64-bit byte count */
	if (*kib > G_MAXINT64 / 1024)
		return kx_error(err, INVALID, node, _("size %s%s in <%s> is too large"), txt,
				unit ? unit : "", kx_name(node));
	return true;
}

/* Top-level elements libvirt knows but kite keeps verbatim. */
static const char *const kept_toplevel[] = {
    "genid",	   "blkiotune",	      "memtune",	"memoryBacking",  "vcpus",    "iothreads",
    "iothreadids", "defaultiothread", "cputune",	"numatune",	  "resource", "sysinfo",
    "bootloader",  "bootloader_args", "idmap",		"on_lockfailure", "pm",	      "perf",
    "seclabel",	   "keywrap",	      "launchSecurity", "throttlegroups", NULL};

static bool is_kept_toplevel(const char *n)
{
	for (const char *const *p = kept_toplevel; *p; p++)
		if (!strcmp(n, *p))
			return true;
	return false;
}

static bool is_libvirt_namespace(const char *href)
{
	static const char *const known[] = {"http://libvirt.org/schemas/domain/qemu/1.0",
					    "http://libvirt.org/schemas/domain/lxc/1.0",
					    "http://libvirt.org/schemas/domain/bhyve/1.0",
					    "http://libvirt.org/schemas/domain/xen/1.0",
					    "http://libvirt.org/schemas/domain/vmware/1.0",
					    NULL};
	for (const char *const *p = known; *p; p++)
		if (!strcmp(href, *p))
			return true;
	return false;
}

static bool parse_lifecycle(const xmlNode *node, KiteLifecycleAction *out, GError **err)
{
	g_autofree char *txt = g_strstrip(kx_text(node));

	for (unsigned i = 1; i < G_N_ELEMENTS(lifecycle_names); i++) {
		if (!strcmp(txt, lifecycle_names[i])) {
			*out = (KiteLifecycleAction)i;
			return true;
		}
	}
	return kx_error(err, INVALID, node, _("invalid action '%s' in <%s>"), txt, kx_name(node));
}

/* libvirt keeps only namespaced children of <metadata>, one per namespace. */
static KiteXmlNode *parse_metadata(const xmlNode *node)
{
	KiteXmlNode *md = kx_node_new("metadata");
	GPtrArray *seen = g_ptr_array_new();

	for (xmlNode *c = node->children; c; c = c->next) {
		bool dup = false;
		KiteXmlNode *k;

		if (c->type != XML_ELEMENT_NODE || !c->ns || !c->ns->href)
			continue;
		for (guint i = 0; i < seen->len; i++)
			if (!strcmp(g_ptr_array_index(seen, i), (const char *)c->ns->href))
				dup = true;
		if (dup)
			continue;
		g_ptr_array_add(seen, (gpointer)c->ns->href);
		k = kx_node_from_xml_mixed(c);
		/* the namespace may be declared on an ancestor: declare it here,
		 * as xmlCopyNode does when libvirt copies the element */
		{
			g_autofree char *decl = c->ns->prefix
						    ? g_strdup_printf("xmlns:%s", c->ns->prefix)
						    : g_strdup("xmlns");
			if (!kx_node_attr(k, decl))
				g_ptr_array_insert(k->attrs, 0,
						   kx_attr_new(decl, (const char *)c->ns->href));
		}
		kx_node_add_child(md, k);
	}
	g_ptr_array_unref(seen);
	return md;
}

static bool parse_domain(const xmlNode *root, void *domain, unsigned flags, GError **err)
{
	static const char *const virt_types[] = {"kvm", "qemu", NULL};
	KiteDomainDef *def = domain;
	g_autofree char *type = NULL;
	bool have_memory = false, have_uuid = false;

	if (!kx_is(root, "domain"))
		return kx_error(err, INVALID, root,
				_("expected a <domain> root element, found <%s>"), kx_name(root));
	type = kx_prop_req(root, "type", err);
	if (!type)
		return false;
	{
		bool ok = false;
		for (const char *const *p = virt_types; *p; p++)
			if (!strcmp(type, *p))
				ok = true;
		if (!ok)
			return kx_error(err, KITE_XML_ERROR_UNSUPPORTED, root,
					_("domain type '%s' is not supported, only 'kvm' and "
					  "'qemu'"),
					type);
	}
	def->virt_type = g_steal_pointer(&type);
	{
		/* libvirt reads the first of each; two is a mistake worth naming */
		static const char *const once[] = {
		    "name",	 "uuid",    "genid",	     "title",	  "description", "metadata",
		    "maxMemory", "memory",  "currentMemory", "vcpu",	  "os",		 "features",
		    "cpu",	 "clock",   "on_poweroff",   "on_reboot", "on_crash",	 "devices",
		    "pm",	 "memtune", "memoryBacking", "blkiotune", "cputune",	 "numatune",
		    "resource",	 "sysinfo", "idmap",	     NULL};
		if (!kx_check_singletons(root, once, err))
			return false;
	}
	if (flags & KITE_XML_PARSE_LIVE) {
		g_autofree char *id = kx_prop(root, "id");
		unsigned long long v;
		if (id) {
			if (!kx_parse_uint(id, G_MAXINT, &v))
				return kx_error(err, INVALID, root,
						_("invalid domain id '%s' in <domain id>"), id);
			def->id = (int)v;
		}
	}
	for (xmlNs *ns = root->nsDef; ns; ns = ns->next)
		if (ns->prefix)
			g_ptr_array_add(def->namespaces, kx_attr_new((const char *)ns->prefix,
								     (const char *)ns->href));

	for (xmlNode *c = root->children; c; c = c->next) {
		const char *n = kx_name(c);

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns) {
			/* the hypervisor namespaces libvirt knows are kept;
			 * anything else (XInclude...) is not libvirt XML */
			if (!c->ns->href || !is_libvirt_namespace((const char *)c->ns->href))
				return kx_unknown_element(c, err);
			g_ptr_array_add(def->extra, kx_node_from_xml(c));
			continue;
		}
		if (!strcmp(n, "name")) {
			if (def->name)
				return kx_error(err, INVALID, c, _("duplicate <name> in <domain>"));
			kx_take(&def->name, kx_text(c));
			if (!def->name[0])
				return kx_error(err, INVALID, c, _("domain <name> is empty"));
			if (strchr(def->name, '/') || strchr(def->name, '\n'))
				return kx_error(err, INVALID, c,
						_("domain name '%s' contains '/' or a newline"),
						def->name);
		} else if (!strcmp(n, "uuid")) {
			if (have_uuid)
				return kx_error(err, INVALID, c, _("duplicate <uuid> in <domain>"));
			if (!kx_parse_uuid(c, def->uuid, err))
				return false;
			have_uuid = true;
		} else if (!strcmp(n, "title")) {
			kx_take(&def->title, kx_text(c));
			if (strchr(def->title, '\n'))
				return kx_error(err, INVALID, c,
						_("domain <title> must not contain a newline"));
		} else if (!strcmp(n, "description")) {
			kx_take(&def->description, kx_text(c));
		} else if (!strcmp(n, "metadata")) {
			kx_node_free(def->metadata);
			def->metadata = parse_metadata(c);
		} else if (!strcmp(n, "memory")) {
			if (!parse_memory(c, &def->memory_kib, err) ||
			    !kx_prop_onoff(c, "dumpCore", &def->memory_dump_core, err))
				return false;
			have_memory = true;
		} else if (!strcmp(n, "currentMemory")) {
			if (!parse_memory(c, &def->current_memory_kib, err))
				return false;
		} else if (!strcmp(n, "maxMemory")) {
			if (!parse_memory(c, &def->max_memory_kib, err) ||
			    !kx_prop_uint(c, "slots", &def->max_memory_slots, NULL, err))
				return false;
		} else if (!strcmp(n, "vcpu")) {
			static const char *const placements[] = {"static", "auto", NULL};
			g_autofree char *txt = g_strstrip(kx_text(c));
			unsigned long long v;
			bool cur_present;
			if (!kx_parse_uint(txt, 16384, &v) || v == 0)
				return kx_error(err, INVALID, c,
						_("invalid vCPU count '%s' in <vcpu> (1-16384)"),
						txt);
			def->vcpus = (unsigned)v;
			if (!kx_prop_enum(c, "placement", placements, &def->vcpu_placement, err) ||
			    !kx_prop_uint(c, "current", &def->vcpus_current, &cur_present, err))
				return false;
			kx_take(&def->vcpu_cpuset, kx_prop(c, "cpuset"));
			if (cur_present &&
			    (def->vcpus_current == 0 || def->vcpus_current > def->vcpus))
				return kx_error(err, INVALID, c,
						_("<vcpu current='%u'> must be between 1 and the "
						  "maximum %u"),
						def->vcpus_current, def->vcpus);
		} else if (!strcmp(n, "os")) {
			if (!parse_os(c, def, err))
				return false;
		} else if (!strcmp(n, "features")) {
			kx_node_free(def->features);
			def->features = kx_node_from_xml(c);
		} else if (!strcmp(n, "cpu")) {
			xmlNode *m = kx_child(c, "model");
			kx_node_free(def->cpu);
			def->cpu = kx_node_from_xml(c);
			kx_take(&def->cpu_mode, kx_prop(c, "mode"));
			if (m)
				kx_take(&def->cpu_model, g_strstrip(kx_text(m)));
		} else if (!strcmp(n, "clock")) {
			kx_node_free(def->clock);
			def->clock = kx_node_from_xml(c);
			kx_take(&def->clock_offset, kx_prop(c, "offset"));
		} else if (!strcmp(n, "on_poweroff")) {
			if (!parse_lifecycle(c, &def->on_poweroff, err))
				return false;
		} else if (!strcmp(n, "on_reboot")) {
			if (!parse_lifecycle(c, &def->on_reboot, err))
				return false;
		} else if (!strcmp(n, "on_crash")) {
			if (!parse_lifecycle(c, &def->on_crash, err))
				return false;
		} else if (!strcmp(n, "devices")) {
			if (!parse_devices(c, def, flags, err))
				return false;
		} else if (is_kept_toplevel(n)) {
			if (!strcmp(n, "genid")) {
				kx_take(&def->genid, g_strstrip(kx_text(c)));
			} else {
				g_ptr_array_add(def->extra, kx_node_from_xml(c));
			}
		} else {
			return kx_unknown_element(c, err);
		}
	}

	if (!def->name)
		return kx_error(err, INVALID, root, _("<domain> needs a <name>"));
	if (!have_memory)
		return kx_error(err, INVALID, root, _("<domain> needs a <memory> size"));
	if (def->memory_kib == 0)
		return kx_error(err, INVALID, root, _("<memory> must be larger than 0"));
	if (!def->os.type)
		return kx_error(err, INVALID, root, _("<domain> needs an <os> element"));
	if (def->current_memory_kib == 0 || def->current_memory_kib > def->memory_kib)
		def->current_memory_kib = def->memory_kib;
	if (!def->vcpus)
		def->vcpus = 1;
	if (!def->vcpus_current)
		def->vcpus_current = def->vcpus;
	if (!have_uuid)
		memset(def->uuid, 0, sizeof(def->uuid));
	return true;
}

KiteDomainDef *kite_domain_def_parse_string_full(const char *xml, unsigned flags,
						 const KiteDomainDefaults *defaults, GError **err)
{
	g_autoptr(KiteDomainDef) def = kite_domain_def_new();

	if (!kx_parse_root(xml, "domain", flags, parse_domain, def, err))
		return NULL;
	{
		/* a generated uuid is a default like any other */
		static const uint8_t zero[16];
		if (!memcmp(def->uuid, zero, 16) && defaults)
			kx_uuid_generate(def->uuid);
	}
	if (defaults && !(flags & KITE_XML_PARSE_NO_DEFAULTS) &&
	    !kite_domain_def_fill_defaults(def, defaults, err))
		return NULL;
	if (!kite_domain_def_check(def, NULL, NULL, err))
		return NULL;
	return g_steal_pointer(&def);
}

KiteDomainDef *kite_domain_def_parse_string(const char *xml, unsigned flags, GError **err)
{
	return kite_domain_def_parse_string_full(
	    xml, flags, (flags & KITE_XML_PARSE_NO_DEFAULTS) ? NULL : kx_current_defaults(), err);
}

KiteDomainDef *kite_domain_def_parse_file(const char *path, unsigned flags, GError **err)
{
	g_autofree char *xml = kx_read_file(path, err);

	if (!xml)
		return NULL;
	return kite_domain_def_parse_string(xml, flags, err);
}

KiteDomainDef *kite_domain_def_copy(const KiteDomainDef *def)
{
	g_autofree char *xml = kite_domain_def_format(def, KITE_XML_LIVE | KITE_XML_SECURE);
	g_autoptr(GError) err = NULL;
	KiteDomainDef *copy;

	copy = kite_domain_def_parse_string_full(
	    xml, KITE_XML_PARSE_LIVE | KITE_XML_PARSE_NO_DEFAULTS, NULL, &err);
	if (!copy)
		g_critical("kite-xml: cannot copy domain '%s': %s", def->name, err->message);
	else
		memcpy(copy->uuid, def->uuid, 16);
	return copy;
}
