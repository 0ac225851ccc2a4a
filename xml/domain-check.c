/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Semantic checks on a parsed domain, and what kite cannot run yet. */
#include <glib/gi18n.h>
#include <string.h>

#include "xml-internal.h"

/* Every device's info with a printable description. */
typedef struct {
	KiteDeviceInfo *info;
	char *what;
	bool usb2_set; /* EHCI/UHCI companions share index and alias */
} DevRef;

static void add_ref(GArray *refs, KiteDeviceInfo *info, char *what)
{
	DevRef r = {info, what, false};
	g_array_append_val(refs, r);
}

static void clear_ref(gpointer p)
{
	g_free(((DevRef *)p)->what);
}

static GArray *collect(const KiteDomainDef *def)
{
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(DevRef));

	g_array_set_clear_func(refs, clear_ref);
	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		add_ref(refs, &d->info, g_strdup_printf("<disk> '%s'", d->target_dev));
	}
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		add_ref(refs, &c->info,
			g_strdup_printf("<controller type='%s' index='%d'>", c->type, c->index));
		g_array_index(refs, DevRef, refs->len - 1).usb2_set =
		    !strcmp(c->type, "usb") && c->model && g_str_has_prefix(c->model, "ich9-");
	}
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		char mac[18];
		kite_mac_format(n->mac, mac);
		add_ref(refs, &n->info,
			g_strdup_printf("<interface type='%s'> with MAC %s",
					kite_net_type_to_string(n->type), mac));
	}
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->serials, i);
		add_ref(refs, &c->info, g_strdup_printf("<serial> port %d", c->target_port));
	}
	for (guint i = 0; i < def->parallels->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->parallels, i);
		add_ref(refs, &c->info, g_strdup_printf("<parallel> %u", i));
	}
	for (guint i = 0; i < def->channels->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->channels, i);
		add_ref(refs, &c->info, g_strdup_printf("<channel> %u", i));
	}
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		if (g->has_info)
			add_ref(refs, &g->info,
				g_strdup_printf("<%s%s%s%s>", g->kind, g->type ? " '" : "",
						g->type ? g->type : "", g->type ? "'" : ""));
	}
	return refs;
}

bool kite_domain_def_check(const KiteDomainDef *def, KiteNetworkExistsFunc network_exists,
			   void *opaque, GError **err)
{
	g_autoptr(GArray) refs = collect(def);
	static const uint8_t zero[6];

	/* MACs */
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *a = g_ptr_array_index(def->interfaces, i);
		if (!memcmp(a->mac, zero, 6))
			continue;
		for (guint j = i + 1; j < def->interfaces->len; j++) {
			KiteNetDef *b = g_ptr_array_index(def->interfaces, j);
			char mac[18];
			if (memcmp(a->mac, b->mac, 6))
				continue;
			kite_mac_format(a->mac, mac);
			return kx_error_line(
			    err, KITE_XML_ERROR_CONFLICT, b->info.line,
			    _("MAC address %s in <mac address> is used by two interfaces"), mac);
		}
		for (guint j = i + 1; a->target_dev && j < def->interfaces->len; j++) {
			KiteNetDef *b = g_ptr_array_index(def->interfaces, j);
			if (b->target_dev && !strcmp(a->target_dev, b->target_dev))
				return kx_error_line(
				    err, KITE_XML_ERROR_CONFLICT, b->info.line,
				    _("interface name '%s' in <target dev> is used twice"),
				    b->target_dev);
		}
		if (a->type == KITE_NET_NETWORK && network_exists &&
		    !network_exists(a->source_network, opaque))
			return kx_error_line(
			    err, KITE_XML_ERROR_INVALID, a->info.line,
			    _("<interface type='network'> refers to network '%s' in <source "
			      "network>, which does not exist"),
			    a->source_network);
	}

	/* disks */
	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *a = g_ptr_array_index(def->disks, i);
		for (guint j = i + 1; j < def->disks->len; j++) {
			KiteDiskDef *b = g_ptr_array_index(def->disks, j);
			if (!strcmp(a->target_dev, b->target_dev))
				return kx_error_line(
				    err, KITE_XML_ERROR_CONFLICT, b->info.line,
				    _("disk target '%s' in <target dev> is used twice"),
				    b->target_dev);
		}
	}

	/* controllers */
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *a = g_ptr_array_index(def->controllers, i);
		for (guint j = i + 1; j < def->controllers->len; j++) {
			KiteControllerDef *b = g_ptr_array_index(def->controllers, j);
			/* a USB2 set (EHCI and its UHCI companions) shares one index */
			bool usb2 = !strcmp(a->type, "usb") && a->model && b->model &&
				    g_str_has_prefix(a->model, "ich9-") &&
				    g_str_has_prefix(b->model, "ich9-") &&
				    strcmp(a->model, b->model);
			if (a->index >= 0 && a->index == b->index && !strcmp(a->type, b->type) &&
			    !usb2)
				return kx_error_line(err, KITE_XML_ERROR_CONFLICT, b->info.line,
						     _("two <controller type='%s'> have index %d"),
						     b->type, b->index);
		}
	}

	/* serial ports */
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *a = g_ptr_array_index(def->serials, i);
		for (guint j = i + 1; a->target_port >= 0 && j < def->serials->len; j++) {
			KiteChrDef *b = g_ptr_array_index(def->serials, j);
			if (a->target_port == b->target_port)
				return kx_error_line(
				    err, KITE_XML_ERROR_CONFLICT, b->info.line,
				    _("two <serial> devices use <target port='%d'>"),
				    b->target_port);
		}
	}

	/* addresses, aliases, boot order across all devices */
	for (guint i = 0; i < refs->len; i++) {
		DevRef *a = &g_array_index(refs, DevRef, i);
		for (guint j = i + 1; j < refs->len; j++) {
			DevRef *b = &g_array_index(refs, DevRef, j);
			const KitePciAddress *pa = &a->info->pci, *pb = &b->info->pci;

			if (a->info->addr_type == KITE_ADDRESS_PCI &&
			    b->info->addr_type == KITE_ADDRESS_PCI && pa->slot && pb->slot &&
			    pa->domain == pb->domain && pa->bus == pb->bus &&
			    pa->slot == pb->slot && pa->function == pb->function)
				return kx_error_line(
				    err, KITE_XML_ERROR_CONFLICT, b->info->line,
				    _("PCI address %04x:%02x:%02x.%x of %s is already used by "
				      "%s"),
				    pb->domain, pb->bus, pb->slot, pb->function, b->what, a->what);
			/* consoles are not in the list: a serial console shares
			 * its serial port's alias; a USB2 set shares "usb" */
			if (a->info->alias && b->info->alias &&
			    !strcmp(a->info->alias, b->info->alias) &&
			    !(a->usb2_set && b->usb2_set))
				return kx_error_line(
				    err, KITE_XML_ERROR_CONFLICT, b->info->line,
				    _("alias '%s' in <alias name> is used by %s and %s"),
				    b->info->alias, a->what, b->what);
			if (a->info->boot_order && a->info->boot_order == b->info->boot_order)
				return kx_error_line(err, KITE_XML_ERROR_CONFLICT, b->info->line,
						     _("<boot order='%u'> is used by %s and %s"),
						     b->info->boot_order, a->what, b->what);
		}
		if (a->info->addr_type == KITE_ADDRESS_PCI && a->info->pci.bus == 0 &&
		    a->info->pci.slot == 0 && (a->info->pci.function || a->info->pci.domain))
			return kx_error_line(
			    err, KITE_XML_ERROR_CONFLICT, a->info->line,
			    _("PCI slot 0 of bus 0 (the host bridge) cannot be used by %s"),
			    a->what);
	}
	return true;
}

/* --------------------------------------------------------- unsupported */

static bool unsupported(GError **err, unsigned line, const char *what)
{
	return kx_error_line(err, KITE_XML_ERROR_UNSUPPORTED, line,
			     _("%s is not supported by kite yet"), what);
}

/* The NICs kite's emulator has (emulator/nic/, virtio-net, e1000). */
static const char *const kite_nic_models[] = {"virtio",	  "e1000",  "e1000e",  "rtl8139",  "pcnet",
					      "ne2k_pci", "i82551", "i82557b", "i82559er", NULL};

bool kite_domain_def_unsupported(const KiteDomainDef *def, GError **err)
{
	return kx_domain_unsupported(def, true, err);
}

/* strict: also what the command line maps but kite's emulator lacks (the
 * PIIX3 USB controller, the virtio balloon). */
bool kx_domain_unsupported(const KiteDomainDef *def, bool strict, GError **err)
{
	if (def->os.machine && !g_str_has_prefix(def->os.machine, "pc-i440fx") &&
	    strcmp(def->os.machine, "pc")) {
		g_autofree char *w = g_strdup_printf(_("machine type '%s'"), def->os.machine);
		return unsupported(err, 0, w);
	}
	if (def->cpu_mode && strcmp(def->cpu_mode, "host-passthrough") &&
	    strcmp(def->cpu_mode, "custom") && strcmp(def->cpu_mode, "maximum")) {
		g_autofree char *w = g_strdup_printf(_("<cpu mode='%s'>"), def->cpu_mode);
		return unsupported(err, 0, w);
	}
	if (def->max_memory_kib)
		return unsupported(err, 0, _("memory hotplug (<maxMemory>)"));
	if (def->os.loader)
		return unsupported(err, 0, _("a firmware <loader>"));
	if (def->os.dtb)
		return unsupported(err, 0, _("a device tree (<dtb>)"));

	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		g_autofree char *w = g_strdup_printf(_("<disk> '%s'"), d->target_dev);
		return unsupported(err, d->info.line, w);
	}
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		g_autofree char *w = NULL;
		bool model_ok = false;

		if (n->type == KITE_NET_DIRECT || n->type == KITE_NET_VHOSTUSER) {
			w = g_strdup_printf(_("<interface type='%s'>"),
					    kite_net_type_to_string(n->type));
			return unsupported(err, n->info.line, w);
		}
		if (n->backend_type) {
			w = g_strdup_printf(_("<backend type='%s'> of <interface>"),
					    n->backend_type);
			return unsupported(err, n->info.line, w);
		}
		for (const char *const *m = kite_nic_models; *m; m++)
			if (n->model && !strcmp(n->model, *m))
				model_ok = true;
		if (n->model && !model_ok) {
			w = g_strdup_printf(_("NIC <model type='%s'>"), n->model);
			return unsupported(err, n->info.line, w);
		}
		if (n->filterref)
			return unsupported(err, n->info.line,
					   _("<filterref> (nwfilter) of <interface>"));
		if (n->virtualport)
			return unsupported(err, n->info.line, _("<virtualport> of <interface>"));
		if (n->vlan.tags && n->vlan.tags->len)
			return unsupported(err, n->info.line, _("<vlan> of <interface>"));
		if (n->teaming_type)
			return unsupported(err, n->info.line, _("<teaming> of <interface>"));
		if (n->routes->len || (n->ips->len && n->type != KITE_NET_USER))
			return unsupported(err, n->info.line,
					   _("guest-side <ip>/<route> of a non-user <interface>"));
		for (guint j = 0; j < n->port_forwards->len; j++) {
			KitePortForward *pf = g_ptr_array_index(n->port_forwards, j);
			if (pf->dev)
				return unsupported(err, n->info.line,
						   _("<portForward dev=...> (binding to a host "
						     "interface)"));
		}
		if (n->driver.name && !strcmp(n->driver.name, "vhost"))
			return unsupported(err, n->info.line,
					   _("<driver name='vhost'> (there is no vhost-net)"));
		if (n->driver.iommu || n->driver.ats || n->driver.packed || n->driver.page_per_vq ||
		    n->driver.rss || n->driver.rss_hash_report)
			return unsupported(err, n->info.line,
					   _("iommu/ats/packed/page_per_vq/rss in <driver> of "
					     "<interface>"));
		if (n->info.addr_type != KITE_ADDRESS_PCI && n->info.addr_type != KITE_ADDRESS_NONE)
			return unsupported(err, n->info.line,
					   _("a non-PCI <address> of <interface>"));
		if (n->info.addr_type == KITE_ADDRESS_PCI &&
		    (n->info.pci.bus || n->info.pci.domain))
			return unsupported(err, n->info.line,
					   _("a PCI bus other than 0 (kite has a single PCI bus)"));
	}
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->serials, i);
		g_autofree char *w = NULL;

		if (c->target_type && strcmp(c->target_type, "isa-serial")) {
			w = g_strdup_printf(_("<serial> <target type='%s'>"), c->target_type);
			return unsupported(err, c->info.line, w);
		}
		switch (c->type) {
		case KITE_CHR_PTY:
		case KITE_CHR_FILE:
		case KITE_CHR_UNIX:
		case KITE_CHR_TCP:
		case KITE_CHR_NULL:
		case KITE_CHR_STDIO:
			break;
		default:
			w = g_strdup_printf(_("<serial type='%s'>"),
					    kx_chr_type_to_string(c->type));
			return unsupported(err, c->info.line, w);
		}
		if (c->protocol && strcmp(c->protocol, "raw") && strcmp(c->protocol, "telnet")) {
			w = g_strdup_printf(_("<protocol type='%s'> of <serial>"), c->protocol);
			return unsupported(err, c->info.line, w);
		}
	}
	for (guint i = 0; i < def->consoles->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->consoles, i);
		g_autofree char *w = NULL;
		if (i == 0 && c->target_type && !strcmp(c->target_type, "serial"))
			continue; /* mirrors serial 0 */
		w = g_strdup_printf(_("<console> <target type='%s'>"),
				    c->target_type ? c->target_type : "?");
		return unsupported(err, c->info.line, w);
	}
	if (def->channels->len) {
		KiteChrDef *c = g_ptr_array_index(def->channels, 0);
		return unsupported(err, c->info.line, _("<channel>"));
	}
	if (def->parallels->len) {
		KiteChrDef *c = g_ptr_array_index(def->parallels, 0);
		return unsupported(err, c->info.line, _("<parallel>"));
	}
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		const char *bus = kx_node_attr(g->node, "bus");
		g_autofree char *w = NULL;

		if (!strcmp(g->kind, "input") && bus && !strcmp(bus, "ps2"))
			continue; /* the i8042 of the machine */
		if (!strcmp(g->kind, "audio") && g->type && !strcmp(g->type, "none"))
			continue;
		if ((!strcmp(g->kind, "memballoon") || !strcmp(g->kind, "video")) && g->type &&
		    !strcmp(g->type, "none"))
			continue;
		if (!strict && !strcmp(g->kind, "memballoon") && g->type &&
		    !strcmp(g->type, "virtio"))
			continue;
		if (!strcmp(g->kind, "panic") && g->type && !strcmp(g->type, "isa"))
			continue;
		w = g_strdup_printf("<%s%s%s%s>", g->kind, g->type ? " '" : "",
				    g->type ? g->type : "", g->type ? "'" : "");
		return unsupported(err, g->info.line, w);
	}
	/* controllers last: most exist only because of a device named above */
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		bool ok = false;
		g_autofree char *w = NULL;

		if (!strcmp(c->type, "pci"))
			ok = c->model && !strcmp(c->model, "pci-root");
		else if (!strcmp(c->type, "usb"))
			ok = c->model && (!strcmp(c->model, "none") ||
					  (!strict && !strcmp(c->model, "piix3-uhci")));
		else if (!strcmp(c->type, "ide") && c->index == 0)
			ok = true; /* part of PIIX3; no disk may use it (checked above) */
		if (ok)
			continue;
		w = g_strdup_printf(_("<controller type='%s'%s%s%s>"), c->type,
				    c->model ? " model='" : "", c->model ? c->model : "",
				    c->model ? "'" : "");
		return unsupported(err, c->info.line, w);
	}
	for (guint i = 0; i < def->extra->len; i++) {
		KiteXmlNode *n = g_ptr_array_index(def->extra, i);
		if (!strcmp(n->name, "memoryBacking") || !strcmp(n->name, "numatune") ||
		    !strcmp(n->name, "iothreads") || !strcmp(n->name, "sysinfo") ||
		    !strcmp(n->name, "qemu:commandline")) {
			g_autofree char *w = g_strdup_printf("<%s>", n->name);
			return unsupported(err, 0, w);
		}
	}
	return true;
}

/* ------------------------------------------------------------- lookups */

KiteNetDef *kite_domain_def_find_interface_by_mac(const KiteDomainDef *def, const uint8_t mac[6])
{
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		if (!memcmp(n->mac, mac, 6))
			return n;
	}
	return NULL;
}

KiteNetDef *kite_domain_def_find_interface_by_alias(const KiteDomainDef *def, const char *alias)
{
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		if (n->info.alias && alias && !strcmp(n->info.alias, alias))
			return n;
	}
	return NULL;
}
