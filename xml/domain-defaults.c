/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What libvirt's qemu driver fills in when a domain is defined (the
 * "post-parse" step): machine, CPU, MACs, NIC model, implicit controllers
 * and devices, serial/console pairing, drive and PCI addresses. The rules
 * and the order of PCI slot assignment follow libvirt 9.0 on an i440fx
 * ("pc") machine, checked against a real libvirtd.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "xml-internal.h"

static KiteDomainDefaults installed;
static bool installed_set;
G_LOCK_DEFINE_STATIC(defaults_lock);

void kite_domain_defaults_init(KiteDomainDefaults *d)
{
	memset(d, 0, sizeof(*d));
	d->emulator = NULL;
	d->arch = "x86_64";
	d->machine = "pc-i440fx-7.2";
	d->nic_model = "rtl8139";
	d->add_usb_controller = true;
	d->add_memballoon = true;
	d->add_ps2_inputs = true;
	d->add_audio = true;
	d->cpu_model = "qemu64";
}

void kite_domain_defaults_init_kite(KiteDomainDefaults *d, const char *emulator)
{
	kite_domain_defaults_init(d);
	d->emulator = emulator;
	d->add_usb_controller = false;
	d->add_memballoon = false;
}

void kite_domain_defaults_set(const KiteDomainDefaults *d)
{
	G_LOCK(defaults_lock);
	if (d) {
		installed = *d;
		installed_set = true;
	} else {
		installed_set = false;
	}
	G_UNLOCK(defaults_lock);
}

const KiteDomainDefaults *kx_current_defaults(void)
{
	static KiteDomainDefaults libvirt;
	static gsize once;
	const KiteDomainDefaults *r;

	if (g_once_init_enter(&once)) {
		kite_domain_defaults_init(&libvirt);
		g_once_init_leave(&once, 1);
	}
	G_LOCK(defaults_lock);
	r = installed_set ? &installed : &libvirt;
	G_UNLOCK(defaults_lock);
	return r;
}

/* ------------------------------------------------------------ helpers */

static bool is_pc_machine(const KiteDomainDef *def)
{
	const char *m = def->os.machine;
	return !m || !strcmp(m, "pc") || g_str_has_prefix(m, "pc-i440fx") ||
	       g_str_has_prefix(m, "pc-0") || g_str_has_prefix(m, "pc-1");
}

static KiteGenericDevice *find_generic(const KiteDomainDef *def, const char *kind, guint nth)
{
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		if (!strcmp(g->kind, kind) && nth-- == 0)
			return g;
	}
	return NULL;
}

static KiteGenericDevice *add_generic(KiteDomainDef *def, KiteXmlNode *node, bool has_info,
				      const char *type)
{
	KiteGenericDevice *g = g_new0(KiteGenericDevice, 1);

	g->kind = g_strdup(node->name);
	g->node = node;
	g->has_info = has_info;
	g->type = g_strdup(type);
	g_ptr_array_add(def->devices, g);
	return g;
}

static KiteControllerDef *find_controller(const KiteDomainDef *def, const char *type, int index)
{
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (!strcmp(c->type, type) && (index < 0 || c->index == index))
			return c;
	}
	return NULL;
}

static KiteControllerDef *add_controller(KiteDomainDef *def, const char *type, int index,
					 const char *model)
{
	KiteControllerDef *c = g_new0(KiteControllerDef, 1);
	g_autofree char *idx = g_strdup_printf("%d", index);

	c->type = g_strdup(type);
	c->index = index;
	c->model = g_strdup(model);
	c->node = kx_node_new("controller");
	kx_node_set_attr(c->node, "type", type);
	kx_node_set_attr(c->node, "index", idx);
	if (model)
		kx_node_set_attr(c->node, "model", model);
	g_ptr_array_add(def->controllers, c);
	return c;
}

/* Re-create a controller node's attributes in libvirt's order: type,
 * index, model, then the rest. */
static void controller_canonical(KiteControllerDef *c)
{
	GPtrArray *old = c->node->attrs;
	g_autofree char *idx = g_strdup_printf("%d", c->index);

	c->node->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	kx_node_set_attr(c->node, "type", c->type);
	kx_node_set_attr(c->node, "index", idx);
	if (c->model)
		kx_node_set_attr(c->node, "model", c->model);
	for (guint i = 0; i < old->len; i++) {
		const KiteAttr *a = g_ptr_array_index(old, i);
		if (strcmp(a->name, "type") && strcmp(a->name, "index") && strcmp(a->name, "model"))
			kx_node_set_attr(c->node, a->name, a->value);
	}
	g_ptr_array_unref(old);
}

static void set_pci(KiteDeviceInfo *info, unsigned slot, unsigned function)
{
	info->addr_type = KITE_ADDRESS_PCI;
	g_free(info->addr_type_name);
	info->addr_type_name = g_strdup("pci");
	info->pci.domain = 0;
	info->pci.bus = 0;
	info->pci.slot = slot;
	info->pci.function = function;
}

static void set_addr(KiteDeviceInfo *info, KiteAddressType type, const char *name,
		     const char *const *names, const unsigned *values)
{
	info->addr_type = type;
	g_free(info->addr_type_name);
	info->addr_type_name = g_strdup(name);
	if (info->addr_attrs)
		g_ptr_array_unref(info->addr_attrs);
	info->addr_attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	for (int i = 0; names[i]; i++) {
		g_autofree char *v = g_strdup_printf("%u", values[i]);
		g_ptr_array_add(info->addr_attrs, kx_attr_new(names[i], v));
	}
}

static unsigned addr_value(const KiteDeviceInfo *info, const char *name)
{
	const char *v = kx_attr_list_get(info->addr_attrs, name);

	return v ? (unsigned)strtoul(v, NULL, 0) : 0;
}

static KiteDeviceInfo *net_info(gpointer p)
{
	return &((KiteNetDef *)p)->info;
}

static KiteDeviceInfo *chr_info(gpointer p)
{
	return &((KiteChrDef *)p)->info;
}

static KiteDeviceInfo *generic_info(gpointer p)
{
	return &((KiteGenericDevice *)p)->info;
}

/* Whether a device of `list` with an address of `type` is on `port`; `base`
 * is how that address type's port is read (a USB port may be "1.2"). */
static bool port_used(GPtrArray *list, KiteDeviceInfo *(*info_of)(gpointer), KiteAddressType type,
		      int base, unsigned port)
{
	for (guint i = 0; i < list->len; i++) {
		const KiteDeviceInfo *info = info_of(g_ptr_array_index(list, i));
		const char *v;

		if (info->addr_type != type)
			continue;
		v = kx_attr_list_get(info->addr_attrs, "port");
		if (v && strtoul(v, NULL, base) == port)
			return true;
	}
	return false;
}

/* libvirt's virDiskNameToIndex: "hda" -> 0, "sdb" -> 1, "vdaa" -> 26. */
static int disk_index(const char *name)
{
	/* base-26 "bijective" numbering: a=0..z=25, aa=26 */
	static const char *const prefixes[] = {"fd", "hd", "vd", "sd", "xvd", "ubd", NULL};
	const char *p = NULL;
	int idx = 0;

	for (const char *const *q = prefixes; *q; q++) {
		if (g_str_has_prefix(name, *q)) {
			p = name + strlen(*q);
			break;
		}
	}
	if (!p || !*p)
		return -1;
	for (; *p; p++) {
		if (!g_ascii_islower(*p))
			return -1;
		idx = idx * 26 + (*p - 'a' + 1);
		if (idx > 1000000)
			return -1;
	}
	return idx - 1;
}

/* ------------------------------------------------------------ machine */

static void fill_cpu(KiteDomainDef *def, const KiteDomainDefaults *d)
{
	KiteXmlNode *cpu = def->cpu;
	g_autofree char *mode = NULL;
	GPtrArray *old;

	if (!cpu) {
		KiteXmlNode *model;
		if (!d->cpu_model)
			return;
		cpu = def->cpu = kx_node_new("cpu");
		kx_node_set_attr(cpu, "mode", "custom");
		kx_node_set_attr(cpu, "match", "exact");
		kx_node_set_attr(cpu, "check", "none");
		model = kx_node_new("model");
		kx_node_set_attr(model, "fallback", "forbid");
		model->text = g_strdup(d->cpu_model);
		kx_node_add_child(cpu, model);
		g_free(def->cpu_mode);
		def->cpu_mode = g_strdup("custom");
		g_free(def->cpu_model);
		def->cpu_model = g_strdup(d->cpu_model);
		return;
	}

	/* libvirt's canonical attribute order and the defaults it adds */
	/* copied: the attribute array is rebuilt below */
	mode = g_strdup(kx_node_attr(cpu, "mode"));
	if (!mode && (def->cpu_model || kx_node_child(cpu, "feature")))
		mode = g_strdup("custom");
	old = cpu->attrs;
	cpu->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	if (mode) {
		kx_node_set_attr(cpu, "mode", mode);
		g_free(def->cpu_mode);
		def->cpu_mode = g_strdup(mode);
	}
	for (const char *const *p = (const char *const[]){"match", "check", "migratable", NULL}; *p;
	     p++) {
		const char *v = NULL;
		for (guint i = 0; i < old->len; i++) {
			const KiteAttr *a = g_ptr_array_index(old, i);
			if (!strcmp(a->name, *p))
				v = a->value;
		}
		if (!v && mode && !strcmp(mode, "custom") && def->cpu_model) {
			if (!strcmp(*p, "match"))
				v = "exact";
			else if (!strcmp(*p, "check"))
				v = "partial";
		}
		if (!v && mode && !strcmp(mode, "host-passthrough")) {
			if (!strcmp(*p, "check"))
				v = "none";
			else if (!strcmp(*p, "migratable"))
				v = "on";
		}
		if (!v && mode && !strcmp(mode, "host-model") && !strcmp(*p, "check"))
			v = "partial";
		if (v)
			kx_node_set_attr(cpu, *p, v);
	}
	for (guint i = 0; i < old->len; i++) {
		const KiteAttr *a = g_ptr_array_index(old, i);
		if (strcmp(a->name, "mode") && strcmp(a->name, "match") &&
		    strcmp(a->name, "check") && strcmp(a->name, "migratable"))
			kx_node_set_attr(cpu, a->name, a->value);
	}
	g_ptr_array_unref(old);
	{
		KiteXmlNode *model = kx_node_child(cpu, "model");
		if (model && mode && !strcmp(mode, "custom") && !kx_node_attr(model, "fallback"))
			g_ptr_array_insert(model->attrs, 0, kx_attr_new("fallback", "allow"));
	}
}

/* ---------------------------------------------------------- chardevs */

static KiteChrDef *chr_copy(const KiteChrDef *src, KiteChrDevKind kind)
{
	KiteChrDef *c = g_new0(KiteChrDef, 1);

	c->kind = kind;
	c->type = src->type;
	c->source_path = g_strdup(src->source_path);
	c->source_append = src->source_append;
	c->source_mode = g_strdup(src->source_mode);
	c->source_host = g_strdup(src->source_host);
	c->source_service = g_strdup(src->source_service);
	c->connect_host = g_strdup(src->connect_host);
	c->connect_service = g_strdup(src->connect_service);
	c->protocol = g_strdup(src->protocol);
	c->log_file = g_strdup(src->log_file);
	c->log_append = src->log_append;
	c->target_port = src->target_port;
	kx_device_info_copy(&c->info, &src->info);
	return c;
}

static void chr_take_source(KiteChrDef *dst, const KiteChrDef *src)
{
	KiteChrDef *tmp = chr_copy(src, dst->kind);

	dst->type = tmp->type;
	g_free(dst->source_path);
	dst->source_path = g_steal_pointer(&tmp->source_path);
	dst->source_append = tmp->source_append;
	g_free(dst->source_mode);
	dst->source_mode = g_steal_pointer(&tmp->source_mode);
	g_free(dst->source_host);
	dst->source_host = g_steal_pointer(&tmp->source_host);
	g_free(dst->source_service);
	dst->source_service = g_steal_pointer(&tmp->source_service);
	g_free(dst->connect_host);
	dst->connect_host = g_steal_pointer(&tmp->connect_host);
	g_free(dst->connect_service);
	dst->connect_service = g_steal_pointer(&tmp->connect_service);
	g_free(dst->protocol);
	dst->protocol = g_steal_pointer(&tmp->protocol);
	g_free(dst->log_file);
	dst->log_file = g_steal_pointer(&tmp->log_file);
	dst->log_append = tmp->log_append;
	kx_chr_def_free(tmp);
}

static void fill_chr_backend(KiteChrDef *c)
{
	if (c->type == KITE_CHR_TCP) {
		if (!c->source_mode)
			c->source_mode = g_strdup("connect");
		if (!c->protocol)
			c->protocol = g_strdup("raw");
	}
	if (c->type == KITE_CHR_UNIX && c->source_path && !c->source_mode)
		c->source_mode = g_strdup("connect");
}

static const char *serial_model_for(const char *target_type)
{
	if (!strcmp(target_type, "isa-serial"))
		return "isa-serial";
	if (!strcmp(target_type, "pci-serial"))
		return "pci-serial";
	if (!strcmp(target_type, "usb-serial"))
		return "usb-serial";
	return NULL;
}

static bool fill_serials(KiteDomainDef *def, GError **err)
{
	/* console compatibility, as virDomainDefAddConsoleCompat does for
	 * x86: the first serial-type console mirrors the first serial port */
	if (def->consoles->len) {
		KiteChrDef *con = g_ptr_array_index(def->consoles, 0);
		if (!con->target_type || !strcmp(con->target_type, "serial")) {
			if (def->serials->len == 0) {
				KiteChrDef *s = chr_copy(con, KITE_CHR_DEV_SERIAL);
				g_ptr_array_add(def->serials, s);
			}
		}
	} else if (def->serials->len) {
		KiteChrDef *s = g_ptr_array_index(def->serials, 0);
		KiteChrDef *con = chr_copy(s, KITE_CHR_DEV_CONSOLE);
		con->target_type = g_strdup("serial");
		g_ptr_array_add(def->consoles, con);
	}

	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *s = g_ptr_array_index(def->serials, i);
		if (!s->target_type)
			s->target_type = g_strdup("isa-serial");
		if (!s->target_model && serial_model_for(s->target_type))
			s->target_model = g_strdup(serial_model_for(s->target_type));
		fill_chr_backend(s);
	}
	/* ports, as libvirt numbers them: one past the highest port of any
	 * serial device, in document order */
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *s = g_ptr_array_index(def->serials, i);
		int max = -1;

		if (s->target_port >= 0)
			continue;
		for (guint j = 0; j < def->serials->len; j++) {
			KiteChrDef *o = g_ptr_array_index(def->serials, j);
			if (o->target_port > max)
				max = o->target_port;
		}
		s->target_port = max + 1;
	}
	for (guint i = 0; i < def->serials->len; i++)
		for (guint j = i + 1; j < def->serials->len; j++)
			if (((KiteChrDef *)g_ptr_array_index(def->serials, i))->target_port ==
			    ((KiteChrDef *)g_ptr_array_index(def->serials, j))->target_port)
				return kx_error(
				    err, KITE_XML_ERROR_CONFLICT, NULL,
				    _("two <serial> devices use target port %d (lines "
				      "%u and %u)"),
				    ((KiteChrDef *)g_ptr_array_index(def->serials, j))->target_port,
				    ((KiteChrDef *)g_ptr_array_index(def->serials, i))->info.line,
				    ((KiteChrDef *)g_ptr_array_index(def->serials, j))->info.line);

	for (guint i = 0; i < def->consoles->len; i++) {
		KiteChrDef *con = g_ptr_array_index(def->consoles, i);
		if (i == 0 && (!con->target_type || !strcmp(con->target_type, "serial")) &&
		    def->serials->len) {
			KiteChrDef *s = g_ptr_array_index(def->serials, 0);
			g_free(con->target_type);
			con->target_type = g_strdup("serial");
			chr_take_source(con, s);
			con->target_port = s->target_port;
			g_free(con->target_model);
			con->target_model = NULL;
		} else {
			if (!con->target_type)
				con->target_type = g_strdup("serial");
			if (con->target_port < 0)
				con->target_port = (int)i;
		}
		fill_chr_backend(con);
	}
	for (guint i = 0; i < def->channels->len; i++)
		fill_chr_backend(g_ptr_array_index(def->channels, i));
	return true;
}

static bool fill_channels(KiteDomainDef *def)
{
	unsigned next_port = 1;
	bool need_vserial = false;

	for (guint i = 0; i < def->consoles->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->consoles, i);
		if (c->target_type && !strcmp(c->target_type, "virtio"))
			need_vserial = true;
	}
	for (guint i = 0; i < def->channels->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->channels, i);
		if (!c->target_type || strcmp(c->target_type, "virtio"))
			continue;
		need_vserial = true;
		if (c->info.addr_type == KITE_ADDRESS_NONE) {
			static const char *const names[] = {"controller", "bus", "port", NULL};
			unsigned vals[3] = {0, 0, 0};
			/* next port not taken by an explicit address */
			while (port_used(def->channels, chr_info, KITE_ADDRESS_VIRTIO_SERIAL, 0,
					 next_port))
				next_port++;
			vals[2] = next_port++;
			set_addr(&c->info, KITE_ADDRESS_VIRTIO_SERIAL, "virtio-serial", names,
				 vals);
		}
	}
	return need_vserial;
}

/* ------------------------------------------------------------- disks */

static void disk_fill_driver(KiteDiskDef *d)
{
	KiteXmlNode *drv = kx_node_child(d->node, "driver");
	GPtrArray *old;

	if (d->type && strcmp(d->type, "file") && strcmp(d->type, "block"))
		return;
	if (!drv) {
		drv = kx_node_new("driver");
		g_ptr_array_insert(d->node->children, 0, drv);
	}
	old = drv->attrs;
	drv->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	kx_node_set_attr(drv, "name", "qemu");
	kx_node_set_attr(drv, "type", "raw");
	for (guint i = 0; i < old->len; i++) {
		const KiteAttr *a = g_ptr_array_index(old, i);
		kx_node_set_attr(drv, a->name, a->value);
	}
	g_ptr_array_unref(old);
}

static const char *disk_bus(KiteDiskDef *d)
{
	if (d->target_bus)
		return d->target_bus;
	/* libvirt guesses the bus from the device name */
	if (g_str_has_prefix(d->target_dev, "hd"))
		d->target_bus = g_strdup("ide");
	else if (g_str_has_prefix(d->target_dev, "sd"))
		d->target_bus = g_strdup("scsi");
	else if (g_str_has_prefix(d->target_dev, "vd"))
		d->target_bus = g_strdup("virtio");
	else if (g_str_has_prefix(d->target_dev, "fd"))
		d->target_bus = g_strdup("fdc");
	else if (g_str_has_prefix(d->target_dev, "xvd"))
		d->target_bus = g_strdup("xen");
	else
		d->target_bus = g_strdup("ide");
	{
		KiteXmlNode *t = kx_node_child(d->node, "target");
		if (t)
			kx_node_set_attr(t, "bus", d->target_bus);
	}
	return d->target_bus;
}

static bool fill_disks(KiteDomainDef *def, GError **err)
{
	static const char *const drive[] = {"controller", "bus", "target", "unit", NULL};

	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		const char *bus = disk_bus(d);
		int idx = disk_index(d->target_dev);
		unsigned v[4] = {0, 0, 0, 0};

		disk_fill_driver(d);
		if (d->info.addr_type != KITE_ADDRESS_NONE)
			continue;
		if (!strcmp(bus, "virtio") || !strcmp(bus, "usb") || !strcmp(bus, "sd") ||
		    !strcmp(bus, "xen"))
			continue; /* PCI (virtio) or bus specific: later */
		if (idx < 0)
			return kx_error(err, KITE_XML_ERROR_INVALID, NULL,
					_("cannot derive a drive address from disk target '%s'"),
					d->target_dev);
		if (!strcmp(bus, "ide")) {
			v[0] = (unsigned)idx / 4;
			v[1] = ((unsigned)idx % 4) / 2;
			v[3] = (unsigned)idx % 2;
		} else if (!strcmp(bus, "sata")) {
			v[0] = (unsigned)idx / 6;
			v[3] = (unsigned)idx % 6;
		} else if (!strcmp(bus, "scsi")) {
			v[0] = (unsigned)idx / 7;
			v[3] = (unsigned)idx % 7;
		} else if (!strcmp(bus, "fdc")) {
			v[3] = (unsigned)idx % 2;
		}
		set_addr(&d->info, KITE_ADDRESS_DRIVE, "drive", drive, v);
	}
	return true;
}

static void add_disk_controllers(KiteDomainDef *def, const char *bus, const char *ctl_type,
				 const char *model)
{
	int max = -1;

	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		if (d->target_bus && !strcmp(d->target_bus, bus) &&
		    d->info.addr_type == KITE_ADDRESS_DRIVE &&
		    (int)addr_value(&d->info, "controller") > max)
			max = (int)addr_value(&d->info, "controller");
	}
	for (int i = 0; i <= max; i++)
		if (!find_controller(def, ctl_type, i))
			add_controller(def, ctl_type, i, model);
}

/* ---------------------------------------------------------------- PCI */

typedef struct {
	uint8_t used[32]; /* bit per function, bus 0 only */
	unsigned last;
} PciBus;

static bool pci_slot_free(const PciBus *bus, unsigned slot)
{
	return bus->used[slot] == 0;
}

static void pci_reserve(PciBus *bus, const KiteDeviceInfo *info)
{
	if (info->addr_type == KITE_ADDRESS_PCI && info->pci.bus == 0 && info->pci.slot < 32)
		bus->used[info->pci.slot] |= (uint8_t)(1u << info->pci.function);
}

static bool pci_needs(const KiteDeviceInfo *info)
{
	/* type='pci' with everything zero means "pick one", as in libvirt */
	return info->addr_type == KITE_ADDRESS_NONE ||
	       (info->addr_type == KITE_ADDRESS_PCI && !info->pci.domain && !info->pci.bus &&
		!info->pci.slot && !info->pci.function);
}

static bool pci_assign(PciBus *bus, KiteDeviceInfo *info, GError **err)
{
	if (!pci_needs(info))
		return true;
	/* like libvirt: continue after the last slot handed out, wrap once */
	for (unsigned n = 0; n < 32; n++) {
		unsigned slot = (bus->last + 1 + n) % 32;
		if (slot == 0)
			continue;
		if (pci_slot_free(bus, slot)) {
			set_pci(info, slot, 0);
			bus->used[slot] = 0xff;
			bus->last = slot;
			return true;
		}
	}
	return kx_error(err, KITE_XML_ERROR_CONFLICT, NULL,
			_("no free PCI slot left on bus 0 (kite has a single PCI bus)"));
}

static bool controller_on_pci(const KiteControllerDef *c)
{
	if (!strcmp(c->type, "pci") || !strcmp(c->type, "ide") || !strcmp(c->type, "fdc") ||
	    !strcmp(c->type, "ccid"))
		return false;
	if (!strcmp(c->type, "usb"))
		return c->model && strcmp(c->model, "none") && strcmp(c->model, "piix3-uhci");
	return true;
}

static bool generic_on_pci(const KiteGenericDevice *g)
{
	const char *t = g->type;

	if (!g->has_info)
		return false;
	if (!strcmp(g->kind, "sound"))
		return t && strcmp(t, "pcspk") && strcmp(t, "sb16") && strcmp(t, "usb");
	if (!strcmp(g->kind, "memballoon") || !strcmp(g->kind, "rng") ||
	    !strcmp(g->kind, "vsock") || !strcmp(g->kind, "crypto"))
		return t && !strncmp(t, "virtio", 6);
	if (!strcmp(g->kind, "watchdog"))
		return t && !strcmp(t, "i6300esb");
	if (!strcmp(g->kind, "filesystem") || !strcmp(g->kind, "shmem"))
		return true;
	if (!strcmp(g->kind, "hostdev"))
		return t && !strcmp(t, "pci");
	if (!strcmp(g->kind, "input"))
		return kx_node_attr(g->node, "bus") &&
		       !strcmp(kx_node_attr(g->node, "bus"), "virtio");
	if (!strcmp(g->kind, "video"))
		return true;
	return false;
}

static bool assign_generic_kind(KiteDomainDef *def, PciBus *bus, const char *kind,
				KiteGenericDevice *skip, GError **err)
{
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		if (g == skip || strcmp(g->kind, kind) || !generic_on_pci(g))
			continue;
		if (!pci_assign(bus, &g->info, err))
			return false;
	}
	return true;
}

static bool is_usb2_set_member(const KiteControllerDef *c)
{
	return !strcmp(c->type, "usb") && c->model &&
	       (!strcmp(c->model, "ich9-ehci1") || !strcmp(c->model, "ich9-uhci1") ||
		!strcmp(c->model, "ich9-uhci2") || !strcmp(c->model, "ich9-uhci3"));
}

/* A USB2 set (EHCI + UHCI companions of one index) shares one slot, as in
 * libvirt: UHCI1..3 at functions 0..2 (the first multifunction), EHCI at 7. */
static bool assign_usb2_set(KiteDomainDef *def, PciBus *bus, KiteControllerDef *first, GError **err)
{
	KiteDeviceInfo probe = {0};

	if (!pci_needs(&first->info))
		return true;
	if (!pci_assign(bus, &probe, err))
		return false;
	for (guint j = 0; j < def->controllers->len; j++) {
		KiteControllerDef *u = g_ptr_array_index(def->controllers, j);
		unsigned fn;
		if (!is_usb2_set_member(u) || u->index != first->index || !pci_needs(&u->info))
			continue;
		fn = !strcmp(u->model, "ich9-ehci1") ? 7 : (unsigned)(u->model[9] - '1');
		set_pci(&u->info, probe.pci.slot, fn);
		if (fn == 0)
			u->info.pci.multifunction = KITE_TRISTATE_YES;
	}
	kx_device_info_clear(&probe);
	return true;
}

static bool assign_pci(KiteDomainDef *def, GError **err)
{
	PciBus bus = {0};
	KiteGenericDevice *primary_video;

	bus.used[0] = 0xff; /* host bridge */
	/* explicit addresses first */
	for (guint i = 0; i < def->interfaces->len; i++)
		pci_reserve(&bus, &((KiteNetDef *)g_ptr_array_index(def->interfaces, i))->info);
	for (guint i = 0; i < def->disks->len; i++)
		pci_reserve(&bus, &((KiteDiskDef *)g_ptr_array_index(def->disks, i))->info);
	for (guint i = 0; i < def->controllers->len; i++)
		pci_reserve(&bus,
			    &((KiteControllerDef *)g_ptr_array_index(def->controllers, i))->info);
	for (guint i = 0; i < def->devices->len; i++)
		pci_reserve(&bus, &((KiteGenericDevice *)g_ptr_array_index(def->devices, i))->info);
	for (guint i = 0; i < def->serials->len; i++)
		pci_reserve(&bus, &((KiteChrDef *)g_ptr_array_index(def->serials, i))->info);

	/* PIIX3 owns slot 1: ISA bridge, IDE (.1), USB UHCI (.2), PM (.3) */
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (!pci_needs(&c->info))
			continue;
		if (!strcmp(c->type, "usb") && c->index == 0 && c->model &&
		    !strcmp(c->model, "piix3-uhci"))
			set_pci(&c->info, 1, 2);
		else if (!strcmp(c->type, "ide") && c->index == 0)
			set_pci(&c->info, 1, 1);
	}
	bus.used[1] = 0xff;

	/* the primary video card sits in slot 2 when there is one */
	primary_video = find_generic(def, "video", 0);
	if (primary_video && pci_needs(&primary_video->info)) {
		if (pci_slot_free(&bus, 2)) {
			set_pci(&primary_video->info, 2, 0);
			bus.used[2] = 0xff;
		}
	}

	/* then libvirt's order: PCI bridges, filesystems, NICs, sound cards,
	 * other controllers, virtio disks, host devices, balloon, RNG,
	 * watchdog, other video cards, shmem, virtio input, vsock, serial */
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (!strcmp(c->type, "pci") && c->model && strcmp(c->model, "pci-root") &&
		    !pci_assign(&bus, &c->info, err))
			return false;
	}
	if (!assign_generic_kind(def, &bus, "filesystem", NULL, err))
		return false;
	for (guint i = 0; i < def->interfaces->len; i++)
		if (!pci_assign(&bus, &((KiteNetDef *)g_ptr_array_index(def->interfaces, i))->info,
				err))
			return false;
	if (!assign_generic_kind(def, &bus, "sound", NULL, err))
		return false;
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (is_usb2_set_member(c)) {
			if (!assign_usb2_set(def, &bus, c, err))
				return false;
			continue;
		}
		if (controller_on_pci(c) && !pci_assign(&bus, &c->info, err))
			return false;
	}
	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		if (d->target_bus && !strcmp(d->target_bus, "virtio") &&
		    !pci_assign(&bus, &d->info, err))
			return false;
	}
	if (!assign_generic_kind(def, &bus, "hostdev", NULL, err) ||
	    !assign_generic_kind(def, &bus, "memballoon", NULL, err) ||
	    !assign_generic_kind(def, &bus, "rng", NULL, err) ||
	    !assign_generic_kind(def, &bus, "watchdog", NULL, err) ||
	    !assign_generic_kind(def, &bus, "video", primary_video, err) ||
	    !assign_generic_kind(def, &bus, "shmem", NULL, err) ||
	    !assign_generic_kind(def, &bus, "input", NULL, err) ||
	    !assign_generic_kind(def, &bus, "vsock", NULL, err))
		return false;
	if (primary_video && pci_needs(&primary_video->info) &&
	    !pci_assign(&bus, &primary_video->info, err))
		return false;
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *s = g_ptr_array_index(def->serials, i);
		if (s->target_type && !strcmp(s->target_type, "pci-serial") &&
		    !pci_assign(&bus, &s->info, err))
			return false;
	}
	return assign_generic_kind(def, &bus, "crypto", NULL, err);
}

/* ---------------------------------------------------------- the rest */

static void generate_mac(KiteDomainDef *def, KiteNetDef *net)
{
	for (;;) {
		bool dup = false;

		kx_mac_generate(net->mac);
		for (guint i = 0; i < def->interfaces->len; i++) {
			KiteNetDef *o = g_ptr_array_index(def->interfaces, i);
			if (o != net && !memcmp(o->mac, net->mac, 6))
				dup = true;
		}
		if (!dup)
			return;
	}
}

/* <video><model>: libvirt's attribute order and per-model defaults. */
static void video_model_canonical(KiteXmlNode *m, bool primary)
{
	static const char *const order[] = {"type",   "ram",   "vram",	  "vram64",
					    "vgamem", "heads", "primary", NULL};
	const char *type = kx_node_attr(m, "type");
	const char *ram = NULL, *vram = NULL, *vgamem = NULL, *heads = NULL;
	GPtrArray *old = m->attrs;

	if (!type)
		return;
	if (!strcmp(type, "qxl")) {
		ram = "65536";
		vram = "65536";
		vgamem = "16384";
		heads = "1";
	} else if (!strcmp(type, "cirrus") || !strcmp(type, "vga") || !strcmp(type, "bochs")) {
		vram = "16384";
		heads = "1";
	} else if (!strcmp(type, "virtio")) {
		heads = "1";
	}
	m->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
	for (const char *const *p = order; *p; p++) {
		const char *v = kx_attr_list_get(old, *p);
		if (!v && !strcmp(*p, "ram"))
			v = ram;
		else if (!v && !strcmp(*p, "vram"))
			v = vram;
		else if (!v && !strcmp(*p, "vgamem"))
			v = vgamem;
		else if (!v && !strcmp(*p, "heads"))
			v = heads;
		else if (!v && !strcmp(*p, "primary") && primary)
			v = "yes";
		if (v)
			kx_node_set_attr(m, *p, v);
	}
	for (guint i = 0; i < old->len; i++) {
		const KiteAttr *a = g_ptr_array_index(old, i);
		if (!kx_node_attr(m, a->name))
			kx_node_set_attr(m, a->name, a->value);
	}
	g_ptr_array_unref(old);
}

static void fill_features(KiteDomainDef *def)
{
	KiteXmlNode *hv = def->features ? kx_node_child(def->features, "hyperv") : NULL;

	if (hv && !kx_node_attr(hv, "mode"))
		g_ptr_array_insert(hv->attrs, 0, kx_attr_new("mode", "custom"));
}

static void fill_devices(KiteDomainDef *def, const KiteDomainDefaults *d)
{
	KiteGenericDevice *g;

	/* ps2 mouse and keyboard are part of the i440fx machine */
	if (d->add_ps2_inputs) {
		bool mouse = false, kbd = false;
		for (guint i = 0; i < def->devices->len; i++) {
			g = g_ptr_array_index(def->devices, i);
			if (strcmp(g->kind, "input") || !kx_node_attr(g->node, "bus") ||
			    strcmp(kx_node_attr(g->node, "bus"), "ps2"))
				continue;
			if (g->type && !strcmp(g->type, "mouse"))
				mouse = true;
			if (g->type && !strcmp(g->type, "keyboard"))
				kbd = true;
		}
		if (!mouse) {
			KiteXmlNode *n = kx_node_new("input");
			kx_node_set_attr(n, "type", "mouse");
			kx_node_set_attr(n, "bus", "ps2");
			add_generic(def, n, true, "mouse");
		}
		if (!kbd) {
			KiteXmlNode *n = kx_node_new("input");
			kx_node_set_attr(n, "type", "keyboard");
			kx_node_set_attr(n, "bus", "ps2");
			add_generic(def, n, true, "keyboard");
		}
	}
	/* a display needs a video card */
	if (find_generic(def, "graphics", 0) && !find_generic(def, "video", 0)) {
		KiteXmlNode *n = kx_node_new("video");
		add_generic(def, n, true, NULL);
	}
	for (guint i = 0; (g = find_generic(def, "video", i)); i++) {
		KiteXmlNode *m = kx_node_child(g->node, "model");
		if (!m) {
			m = kx_node_new("model");
			kx_node_set_attr(m, "type", "cirrus");
			g_ptr_array_insert(g->node->children, 0, m);
			g_free(g->type);
			g->type = g_strdup("cirrus");
		}
		video_model_canonical(m, i == 0);
	}
	for (guint i = 0; (g = find_generic(def, "graphics", i)); i++) {
		if (!g->type || (strcmp(g->type, "vnc") && strcmp(g->type, "spice")))
			continue;
		if (!kx_node_attr(g->node, "socket")) {
			/* an automatic port is written port='-1' autoport='yes' */
			const char *port = kx_node_attr(g->node, "port");
			bool autoport = !port || !strcmp(port, "-1") || !strcmp(port, "0");
			g_autofree char *keep_port = g_strdup(port ? port : "-1");
			GPtrArray *old = g->node->attrs;
			g->node->attrs = g_ptr_array_new_with_free_func(kx_attr_free);
			kx_node_set_attr(g->node, "type", g->type);
			kx_node_set_attr(g->node, "port", autoport ? "-1" : keep_port);
			if (autoport || kx_attr_list_get(old, "autoport"))
				kx_node_set_attr(g->node, "autoport",
						 autoport ? "yes"
							  : kx_attr_list_get(old, "autoport"));
			for (guint j = 0; j < old->len; j++) {
				KiteAttr *a = g_ptr_array_index(old, j);
				if (strcmp(a->name, "port") && strcmp(a->name, "autoport"))
					kx_node_set_attr(g->node, a->name, a->value);
			}
			g_ptr_array_unref(old);
		}
		if (!kx_node_child(g->node, "listen")) {
			KiteXmlNode *l = kx_node_new("listen");
			const char *addr = kx_node_attr(g->node, "listen");
			kx_node_set_attr(l, "type", "address");
			if (addr)
				kx_node_set_attr(l, "address", addr);
			kx_node_add_child(g->node, l);
		}
	}
	for (guint i = 0; (g = find_generic(def, "watchdog", i)); i++)
		if (!kx_node_attr(g->node, "action"))
			kx_node_set_attr(g->node, "action", "reset");
	if (d->add_audio && !find_generic(def, "audio", 0)) {
		KiteXmlNode *n = kx_node_new("audio");
		kx_node_set_attr(n, "id", "1");
		kx_node_set_attr(n, "type", "none");
		add_generic(def, n, false, "none");
	}
	if (d->add_memballoon && !find_generic(def, "memballoon", 0)) {
		KiteXmlNode *n = kx_node_new("memballoon");
		kx_node_set_attr(n, "model", "virtio");
		add_generic(def, n, true, "virtio");
	}
}

/* USB devices (tablet, keyboard...) get ports 1, 2, ... of the first
 * USB controller, as libvirt assigns them. */
static void assign_usb(KiteDomainDef *def)
{
	static const char *const names[] = {"bus", "port", NULL};
	KiteControllerDef *usb = find_controller(def, "usb", 0);
	unsigned next = 1;

	if (!usb || (usb->model && !strcmp(usb->model, "none")))
		return;
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		const char *bus = kx_node_attr(g->node, "bus");
		unsigned vals[2] = {0, 0};

		if (!g->has_info || g->info.addr_type != KITE_ADDRESS_NONE)
			continue;
		if (!(bus && !strcmp(bus, "usb")) && strcmp(g->kind, "hub") &&
		    strcmp(g->kind, "redirdev"))
			continue;
		while (port_used(def->devices, generic_info, KITE_ADDRESS_USB, 10, next))
			next++;
		vals[1] = next++;
		set_addr(&g->info, KITE_ADDRESS_USB, "usb", names, vals);
	}
}

bool kite_domain_def_fill_defaults(KiteDomainDef *def, const KiteDomainDefaults *d, GError **err)
{
	bool any_device_boot = false;
	bool pc;

	if (!d)
		d = kx_current_defaults();
	if (!def->os.arch)
		def->os.arch = g_strdup(d->arch ? d->arch : "x86_64");
	if ((!def->os.machine || !strcmp(def->os.machine, "pc")) && d->machine) {
		g_free(def->os.machine);
		def->os.machine = g_strdup(d->machine);
	}
	pc = is_pc_machine(def);
	if (!def->emulator && d->emulator)
		def->emulator = g_strdup(d->emulator);
	if (!def->vcpu_placement)
		def->vcpu_placement = g_strdup("static");
	fill_cpu(def, d);
	if (!def->clock) {
		def->clock = kx_node_new("clock");
		kx_node_set_attr(def->clock, "offset", "utc");
		def->clock_offset = g_strdup("utc");
	}
	if (!def->on_poweroff)
		def->on_poweroff = KITE_LIFECYCLE_DESTROY;
	if (!def->on_reboot)
		def->on_reboot = KITE_LIFECYCLE_RESTART;
	if (!def->on_crash)
		def->on_crash = KITE_LIFECYCLE_DESTROY;

	/* interfaces: MAC and model */
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *net = g_ptr_array_index(def->interfaces, i);
		static const uint8_t zero[6];
		if (!memcmp(net->mac, zero, 6)) {
			generate_mac(def, net);
			net->mac_generated = true;
		}
		if (!net->model && d->nic_model)
			net->model = g_strdup(d->nic_model);
		if (net->info.boot_order)
			any_device_boot = true;
	}
	for (guint i = 0; i < def->disks->len; i++)
		if (((KiteDiskDef *)g_ptr_array_index(def->disks, i))->info.boot_order)
			any_device_boot = true;
	for (guint i = 0; i < def->devices->len; i++)
		if (((KiteGenericDevice *)g_ptr_array_index(def->devices, i))->info.boot_order)
			any_device_boot = true;
	if (any_device_boot && def->os.boot_devs->len)
		return kx_error(err, KITE_XML_ERROR_INVALID, NULL,
				_("per-device <boot order> cannot be combined with <os><boot>"));
	if (!any_device_boot && def->os.boot_devs->len == 0)
		g_ptr_array_add(def->os.boot_devs, g_strdup("hd"));

	if (!fill_serials(def, err) || !fill_disks(def, err))
		return false;

	/* controllers: the machine's own first, as libvirt adds them */
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (c->index < 0 && is_usb2_set_member(c) && strcmp(c->model, "ich9-ehci1")) {
			/* a companion belongs to the EHCI before it */
			int idx = 0;
			for (guint j = 0; j < i; j++) {
				KiteControllerDef *o = g_ptr_array_index(def->controllers, j);
				if (!strcmp(o->type, "usb") && o->model &&
				    !strcmp(o->model, "ich9-ehci1"))
					idx = o->index;
			}
			c->index = idx;
		}
		if (c->index < 0) {
			int idx = 0;
			while (find_controller(def, c->type, idx))
				idx++;
			c->index = idx;
		}
		if (!strcmp(c->type, "usb") && !c->model && pc)
			c->model = g_strdup("piix3-uhci");
		if (!strcmp(c->type, "pci") && !c->model && c->index == 0 && pc)
			c->model = g_strdup("pci-root");
		if (!strcmp(c->type, "scsi") && !c->model)
			c->model = g_strdup("lsilogic");
		controller_canonical(c);
	}
	if (pc) {
		if (d->add_usb_controller && !find_controller(def, "usb", -1))
			add_controller(def, "usb", 0, "piix3-uhci");
		if (!find_controller(def, "pci", 0))
			add_controller(def, "pci", 0, "pci-root");
	}
	add_disk_controllers(def, "scsi", "scsi", "lsilogic");
	add_disk_controllers(def, "fdc", "fdc", NULL);
	add_disk_controllers(def, "ide", "ide", NULL);
	add_disk_controllers(def, "sata", "sata", NULL);
	if (fill_channels(def) && !find_controller(def, "virtio-serial", -1))
		add_controller(def, "virtio-serial", 0, NULL);

	fill_features(def);
	fill_devices(def, d);
	assign_usb(def);
	if (pc && !assign_pci(def, err))
		return false;
	return true;
}

/* ------------------------------------------------------------ aliases */

static void set_alias(KiteDeviceInfo *info, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_alias(KiteDeviceInfo *info, const char *fmt, ...)
{
	va_list ap;

	if (info->alias)
		return; /* user alias or already assigned */
	va_start(ap, fmt);
	info->alias = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

/* libvirt numbers a new alias one past the highest PREFIXn already in use,
 * so user aliases ("ua-...") do not consume numbers. */
static unsigned next_index(GPtrArray *list, const char *prefix,
			   KiteDeviceInfo *(*info_of)(gpointer))
{
	size_t plen = strlen(prefix);
	int max = -1;

	for (guint i = 0; i < list->len; i++) {
		const char *a = info_of(g_ptr_array_index(list, i))->alias;
		char *end;
		long n;
		if (!a || strncmp(a, prefix, plen) || !g_ascii_isdigit(a[plen]))
			continue;
		n = strtol(a + plen, &end, 10);
		if (!*end && n > max && n < G_MAXINT)
			max = (int)n;
	}
	return (unsigned)(max + 1);
}

void kite_domain_def_assign_aliases(KiteDomainDef *def)
{
	unsigned counts[16] = {0};

	for (guint i = 0; i < def->disks->len; i++) {
		KiteDiskDef *d = g_ptr_array_index(def->disks, i);
		const char *bus = d->target_bus ? d->target_bus : "";
		const KiteDeviceInfo *in = &d->info;
		if (in->addr_type == KITE_ADDRESS_DRIVE && !strcmp(bus, "scsi"))
			set_alias(&d->info, "scsi%u-%u-%u-%u", addr_value(in, "controller"),
				  addr_value(in, "bus"), addr_value(in, "target"),
				  addr_value(in, "unit"));
		else if (in->addr_type == KITE_ADDRESS_DRIVE)
			set_alias(&d->info, "%s%u-%u-%u", bus, addr_value(in, "controller"),
				  addr_value(in, "bus"), addr_value(in, "unit"));
		else if (!strcmp(bus, "virtio"))
			set_alias(&d->info, "virtio-disk%d", disk_index(d->target_dev));
		else
			set_alias(&d->info, "%s-disk%u", bus, i);
	}
	for (guint i = 0; i < def->controllers->len; i++) {
		KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (!strcmp(c->type, "pci"))
			set_alias(&c->info, "pci.%d", c->index);
		else if (!strcmp(c->type, "usb") && c->index == 0)
			set_alias(&c->info, "usb");
		else if ((!strcmp(c->type, "ide") || !strcmp(c->type, "fdc")) && c->index == 0)
			set_alias(&c->info, "%s", c->type);
		else
			set_alias(&c->info, "%s%d", c->type, c->index);
	}
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		if (!n->info.alias)
			set_alias(&n->info, "net%u", next_index(def->interfaces, "net", net_info));
	}
	for (guint i = 0; i < def->serials->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->serials, i);
		if (!c->info.alias)
			set_alias(&c->info, "serial%u",
				  next_index(def->serials, "serial", chr_info));
	}
	for (guint i = 0; i < def->parallels->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->parallels, i);
		if (!c->info.alias)
			set_alias(&c->info, "parallel%u",
				  next_index(def->parallels, "parallel", chr_info));
	}
	for (guint i = 0; i < def->consoles->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->consoles, i);
		/* a serial console is the serial port itself */
		if (i == 0 && c->target_type && !strcmp(c->target_type, "serial") &&
		    def->serials->len) {
			KiteChrDef *s = g_ptr_array_index(def->serials, 0);
			set_alias(&c->info, "%s", s->info.alias);
		} else {
			set_alias(&c->info, "console%u", i);
		}
	}
	for (guint i = 0; i < def->channels->len; i++) {
		KiteChrDef *c = g_ptr_array_index(def->channels, i);
		if (!c->info.alias)
			set_alias(&c->info, "channel%u",
				  next_index(def->channels, "channel", chr_info));
	}
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		static const char *const kinds[] = {
		    "input",	 "sound", "video", "hostdev", "rng",	    "watchdog", "redirdev",
		    "smartcard", "shmem", "panic", "tpm",     "filesystem", NULL};
		if (!g->has_info)
			continue;
		if (!strcmp(g->kind, "memballoon")) {
			if (g->type && strcmp(g->type, "none"))
				set_alias(&g->info, "balloon0");
			continue;
		}
		for (int k = 0; kinds[k]; k++) {
			if (strcmp(g->kind, kinds[k]))
				continue;
			if (!strcmp(g->kind, "filesystem"))
				set_alias(&g->info, "fs%u", counts[k]++);
			else
				set_alias(&g->info, "%s%u", kinds[k], counts[k]++);
		}
	}
}

static void clear_alias(KiteDeviceInfo *info)
{
	if (info->alias && !g_str_has_prefix(info->alias, "ua-"))
		g_clear_pointer(&info->alias, g_free);
}

void kite_domain_def_clear_runtime(KiteDomainDef *def)
{
	def->id = -1;
	for (guint i = 0; i < def->interfaces->len; i++) {
		KiteNetDef *n = g_ptr_array_index(def->interfaces, i);
		if (n->target_dev && (g_str_has_prefix(n->target_dev, "vnet") ||
				      g_str_has_prefix(n->target_dev, "macvtap")))
			g_clear_pointer(&n->target_dev, g_free);
		g_clear_pointer(&n->source_portid, g_free);
		if (n->type == KITE_NET_NETWORK) {
			g_clear_pointer(&n->source_bridge, g_free);
			n->source_bridge_is_host = false;
		}
		clear_alias(&n->info);
	}
	for (GPtrArray **l =
		 (GPtrArray *[]){def->serials, def->parallels, def->consoles, def->channels, NULL};
	     *l; l++)
		for (guint i = 0; i < (*l)->len; i++) {
			KiteChrDef *c = g_ptr_array_index(*l, i);
			if (c->type == KITE_CHR_PTY)
				g_clear_pointer(&c->source_path, g_free);
			c->target_state = KITE_TRISTATE_ABSENT;
			clear_alias(&c->info);
		}
	for (guint i = 0; i < def->disks->len; i++)
		clear_alias(&((KiteDiskDef *)g_ptr_array_index(def->disks, i))->info);
	for (guint i = 0; i < def->controllers->len; i++)
		clear_alias(&((KiteControllerDef *)g_ptr_array_index(def->controllers, i))->info);
	for (guint i = 0; i < def->devices->len; i++)
		clear_alias(&((KiteGenericDevice *)g_ptr_array_index(def->devices, i))->info);
}
