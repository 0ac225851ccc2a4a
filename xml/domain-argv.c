/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KiteDomainDef -> kite command line. The arguments, their order and their
 * properties are those libvirt 9.0's qemu driver gives QEMU 7.2 (checked
 * against the command lines a real libvirtd produced), written in keyval
 * form (libvirt itself writes -netdev/-device as JSON; the content is the
 * same).
 */
#include <glib/gi18n.h>
#include <string.h>
#include <sys/socket.h>

#include "xml-internal.h"

void kite_argv_context_init(KiteArgvContext *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->qmp_fd = -1;
	ctx->kvm = true;
	ctx->paused = true;
	ctx->no_shutdown = true;
}

/* A keyval option value: ',' doubled, as QEMU and libvirt do. */
static void kv_escape(GString *s, const char *v)
{
	for (; *v; v++) {
		if (*v == ',')
			g_string_append_c(s, ',');
		g_string_append_c(s, *v);
	}
}

static void kv_str(GString *s, const char *key, const char *v)
{
	if (s->len)
		g_string_append_c(s, ',');
	g_string_append_printf(s, "%s=", key);
	kv_escape(s, v);
}

static void kv_u(GString *s, const char *key, unsigned long long v)
{
	g_string_append_printf(s, "%s%s=%llu", s->len ? "," : "", key, v);
}

static void kv_bool(GString *s, const char *key, KiteTristate t)
{
	if (t != KITE_TRISTATE_ABSENT)
		g_string_append_printf(s, "%s%s=%s", s->len ? "," : "", key,
				       t == KITE_TRISTATE_YES ? "on" : "off");
}

static void add(GPtrArray *argv, const char *arg)
{
	g_ptr_array_add(argv, g_strdup(arg));
}

static void add2(GPtrArray *argv, const char *opt, GString *val)
{
	add(argv, opt);
	g_ptr_array_add(argv, g_string_free(val, FALSE));
}

static bool argv_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool argv_fail(GError **err, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, KITE_XML_ERROR, KITE_XML_ERROR_UNSUPPORTED, msg);
	return false;
}

static void pci_props(GString *s, const KiteDeviceInfo *info)
{
	if (info->addr_type != KITE_ADDRESS_PCI)
		return;
	kv_str(s, "bus", "pci.0");
	if (info->pci.function || info->pci.multifunction == KITE_TRISTATE_YES)
		g_string_append_printf(s, ",addr=0x%x.0x%x", info->pci.slot, info->pci.function);
	else
		g_string_append_printf(s, ",addr=0x%x", info->pci.slot);
	kv_bool(s, "multifunction", info->pci.multifunction);
}

/* --------------------------------------------------------- machine */

static const KiteXmlNode *extra_node(const KiteDomainDef *def, const char *name)
{
	for (guint i = 0; i < def->extra->len; i++) {
		const KiteXmlNode *n = g_ptr_array_index(def->extra, i);
		if (!strcmp(n->name, name))
			return n;
	}
	return NULL;
}

static const KiteXmlNode *feature(const KiteDomainDef *def, const char *name)
{
	return def->features ? kx_node_child(def->features, name) : NULL;
}

static bool build_machine(GPtrArray *argv, const KiteDomainDef *def, const KiteArgvContext *ctx,
			  GError **err)
{
	GString *m = g_string_new(NULL);
	const KiteXmlNode *f;
	bool kvm = !def->virt_type || !strcmp(def->virt_type, "kvm");

	g_string_append(m, def->os.machine ? def->os.machine : "pc");
	/* commas in the machine name would be read as properties */
	if (strchr(m->str, ',')) {
		g_string_free(m, TRUE);
		return argv_fail(err, _("invalid machine type '%s'"), def->os.machine);
	}
	g_string_append(m, ",usb=off");
	if ((f = feature(def, "vmport")) && kx_node_attr(f, "state"))
		kv_str(m, "vmport", kx_node_attr(f, "state"));
	kv_str(m, "dump-guest-core", def->memory_dump_core == KITE_TRISTATE_YES ? "on" : "off");
	/* BIOS output on the serial port: no VGA BIOS text console */
	if (def->os.bios_useserial == KITE_TRISTATE_YES)
		kv_str(m, "graphics", "off");
	add2(argv, "-machine", m);

	if (kvm && !ctx->kvm)
		return argv_fail(err, _("<domain type='kvm'> needs KVM, which this host does not "
					"offer"));
	add(argv, "-accel");
	add(argv, kvm ? "kvm" : "tcg");
	return true;
}

static bool build_cpu(GPtrArray *argv, const KiteDomainDef *def, GError **err)
{
	GString *c;
	const char *mode = def->cpu_mode;

	if (!def->cpu || (!mode && !def->cpu_model))
		return true;
	c = g_string_new(NULL);
	if (mode && !strcmp(mode, "host-passthrough")) {
		const char *mig = kx_node_attr(def->cpu, "migratable");
		g_string_append(c, "host");
		kv_str(c, "migratable", mig && !strcmp(mig, "off") ? "off" : "on");
	} else if (mode && !strcmp(mode, "maximum")) {
		g_string_append(c, "max");
	} else if (def->cpu_model && (!mode || !strcmp(mode, "custom"))) {
		if (strchr(def->cpu_model, ',')) {
			g_string_free(c, TRUE);
			return argv_fail(err, _("invalid CPU model '%s'"), def->cpu_model);
		}
		g_string_append(c, def->cpu_model);
	} else {
		g_string_free(c, TRUE);
		return argv_fail(err, _("<cpu mode='%s'> cannot be mapped to a command line"),
				 mode ? mode : "?");
	}
	for (guint i = 0; i < def->cpu->children->len; i++) {
		const KiteXmlNode *f = g_ptr_array_index(def->cpu->children, i);
		const char *name, *policy;
		if (!f->name || strcmp(f->name, "feature"))
			continue;
		name = kx_node_attr(f, "name");
		policy = kx_node_attr(f, "policy");
		if (!name || strchr(name, ',') || strchr(name, '='))
			continue;
		if (!policy || !strcmp(policy, "require") || !strcmp(policy, "force"))
			kv_str(c, name, "on");
		else if (!strcmp(policy, "disable") || !strcmp(policy, "forbid"))
			kv_str(c, name, "off");
	}
	add2(argv, "-cpu", c);
	return true;
}

static void build_smp(GPtrArray *argv, const KiteDomainDef *def)
{
	GString *s = g_string_new(NULL);
	unsigned max = def->vcpus ? def->vcpus : 1;
	unsigned cur = def->vcpus_current ? def->vcpus_current : max;
	unsigned sockets = max, dies = 0, cores = 1, threads = 1;
	const KiteXmlNode *topo = def->cpu ? kx_node_child(def->cpu, "topology") : NULL;

	if (topo) {
		unsigned long long v;
		if (kx_node_attr(topo, "sockets") &&
		    kx_parse_uint(kx_node_attr(topo, "sockets"), 65535, &v))
			sockets = (unsigned)v;
		if (kx_node_attr(topo, "dies") &&
		    kx_parse_uint(kx_node_attr(topo, "dies"), 65535, &v))
			dies = (unsigned)v;
		if (kx_node_attr(topo, "cores") &&
		    kx_parse_uint(kx_node_attr(topo, "cores"), 65535, &v))
			cores = (unsigned)v;
		if (kx_node_attr(topo, "threads") &&
		    kx_parse_uint(kx_node_attr(topo, "threads"), 65535, &v))
			threads = (unsigned)v;
	}
	g_string_append_printf(s, "%u", cur);
	if (cur != max)
		kv_u(s, "maxcpus", max);
	kv_u(s, "sockets", sockets);
	/* libvirt names dies whenever the topology does */
	if (dies)
		kv_u(s, "dies", dies);
	kv_u(s, "cores", cores);
	kv_u(s, "threads", threads);
	add2(argv, "-smp", s);
}

static bool build_clock(GPtrArray *argv, const KiteDomainDef *def, GError **err)
{
	GString *rtc = g_string_new(NULL);
	const char *offset = def->clock_offset ? def->clock_offset : "utc";
	const char *pit_policy = NULL;
	bool no_hpet = false;

	if (!strcmp(offset, "utc") || !strcmp(offset, "localtime")) {
		kv_str(rtc, "base", offset);
	} else {
		g_string_free(rtc, TRUE);
		return argv_fail(err, _("<clock offset='%s'> is not supported by kite yet"),
				 offset);
	}
	for (guint i = 0; def->clock && i < def->clock->children->len; i++) {
		const KiteXmlNode *t = g_ptr_array_index(def->clock->children, i);
		const char *name = kx_node_attr(t, "name");
		const char *tick = kx_node_attr(t, "tickpolicy");
		if (!t->name || strcmp(t->name, "timer") || !name)
			continue;
		if (!strcmp(name, "rtc") && tick) {
			if (!strcmp(tick, "catchup")) {
				kv_str(rtc, "driftfix", "slew");
			} else if (strcmp(tick, "delay")) {
				g_string_free(rtc, TRUE);
				return argv_fail(err,
						 _("<timer name='rtc' tickpolicy='%s'> is not "
						   "supported by kite yet"),
						 tick);
			}
		} else if (!strcmp(name, "pit") && tick) {
			pit_policy = tick;
		} else if (!strcmp(name, "hpet") && kx_node_attr(t, "present")) {
			no_hpet = !strcmp(kx_node_attr(t, "present"), "no");
		}
	}
	add2(argv, "-rtc", rtc);
	if (pit_policy) {
		/* libvirt: delay -> lost_tick_policy=delay, catchup -> slew,
		 * discard -> discard (in-kernel PIT) */
		const char *p = !strcmp(pit_policy, "catchup") ? "slew" : pit_policy;
		g_autofree char *g = g_strdup_printf("kvm-pit.lost_tick_policy=%s", p);
		if (strcmp(pit_policy, "delay") && strcmp(pit_policy, "catchup") &&
		    strcmp(pit_policy, "discard"))
			return argv_fail(err,
					 _("<timer name='pit' tickpolicy='%s'> is not supported"),
					 pit_policy);
		add(argv, "-global");
		add(argv, g);
	}
	if (no_hpet)
		add(argv, "-no-hpet");
	return true;
}

static void build_pm(GPtrArray *argv, const KiteDomainDef *def, const KiteArgvContext *ctx)
{
	const KiteXmlNode *pm = extra_node(def, "pm");

	if (ctx->no_shutdown)
		add(argv, "-no-shutdown");
	for (guint i = 0; pm && i < pm->children->len; i++) {
		const KiteXmlNode *c = g_ptr_array_index(pm->children, i);
		const char *en = kx_node_attr(c, "enabled");
		const char *prop;
		g_autofree char *g = NULL;
		if (!c->name || !en)
			continue;
		if (!strcmp(c->name, "suspend-to-mem"))
			prop = "disable_s3";
		else if (!strcmp(c->name, "suspend-to-disk"))
			prop = "disable_s4";
		else
			continue;
		g = g_strdup_printf("PIIX4_PM.%s=%d", prop, !strcmp(en, "no") ? 1 : 0);
		add(argv, "-global");
		add(argv, g);
	}
	if (!feature(def, "acpi"))
		add(argv, "-no-acpi");
}

static void build_boot(GPtrArray *argv, const KiteDomainDef *def)
{
	GString *b = g_string_new(NULL);
	const KiteDomainOs *os = &def->os;

	if (os->bootmenu == KITE_TRISTATE_YES)
		kv_str(b, "menu", "on");
	if (os->bios_reboot_timeout)
		kv_str(b, "reboot-timeout", os->bios_reboot_timeout);
	if (os->bootmenu == KITE_TRISTATE_YES && os->bootmenu_timeout)
		kv_str(b, "splash-time", os->bootmenu_timeout);
	kv_str(b, "strict", "on");
	add2(argv, "-boot", b);
	if (os->kernel) {
		add(argv, "-kernel");
		add(argv, os->kernel);
	}
	if (os->initrd) {
		add(argv, "-initrd");
		add(argv, os->initrd);
	}
	if (os->cmdline) {
		add(argv, "-append");
		add(argv, os->cmdline);
	}
}

/* libvirt turns <os><boot dev=...> into bootindex properties: the first
 * device of each kind gets the position of its kind in the list. */
static unsigned net_bootindex(const KiteDomainDef *def, guint idx)
{
	const KiteNetDef *n = g_ptr_array_index(def->interfaces, idx);

	if (n->info.boot_order)
		return n->info.boot_order;
	if (idx != 0 || def->os.kernel)
		return 0;
	for (guint i = 0; i < def->os.boot_devs->len; i++)
		if (!strcmp(g_ptr_array_index(def->os.boot_devs, i), "network"))
			return i + 1;
	return 0;
}

/* ------------------------------------------------------------- NICs */

static const char *nic_driver(const char *model)
{
	if (!model || !strcmp(model, "virtio"))
		return "virtio-net-pci";
	if (!strcmp(model, "virtio-transitional"))
		return "virtio-net-pci-transitional";
	if (!strcmp(model, "virtio-non-transitional"))
		return "virtio-net-pci-non-transitional";
	return model;
}

static bool is_virtio(const char *model)
{
	return model && g_str_has_prefix(model, "virtio");
}

static void host_port(GString *s, const char *key, const char *addr, unsigned port)
{
	g_autofree char *v = g_strdup_printf("%s:%u", addr ? addr : "", port);
	kv_str(s, key, v);
}

/* <portForward> -> hostfwd=proto:[addr]:hostport-:guestport, one per port;
 * a kite extension (libvirt only allows it with passt). */
static bool user_hostfwd(GString *s, const KiteNetDef *net, GError **err)
{
	unsigned count = 0;

	for (guint i = 0; i < net->port_forwards->len; i++) {
		const KitePortForward *pf = g_ptr_array_index(net->port_forwards, i);
		g_autofree char *addr = NULL;
		int fam = 0;
		uint8_t a[16];

		if (pf->address && kx_ip_parse(pf->address, &fam, a) && fam == AF_INET6)
			addr = g_strdup_printf("[%s]", pf->address);
		else
			addr = g_strdup(pf->address ? pf->address : "");
		for (guint r = 0; r < pf->ranges->len; r++) {
			const KitePortRange *rg = &g_array_index(pf->ranges, KitePortRange, r);
			unsigned end = rg->end ? rg->end : rg->start;

			if (rg->exclude == KITE_TRISTATE_YES)
				continue;
			for (unsigned p = rg->start; p <= end; p++) {
				bool excluded = false;
				unsigned guest = rg->to ? rg->to + (p - rg->start) : p;
				g_autofree char *v = NULL;

				for (guint x = 0; x < pf->ranges->len; x++) {
					const KitePortRange *ex =
					    &g_array_index(pf->ranges, KitePortRange, x);
					unsigned ex_end = ex->end ? ex->end : ex->start;
					if (ex->exclude == KITE_TRISTATE_YES && p >= ex->start &&
					    p <= ex_end)
						excluded = true;
				}
				if (excluded)
					continue;
				if (guest > 65535)
					return argv_fail(
					    err,
					    _("<portForward> range starting at %u maps "
					      "past port 65535"),
					    rg->start);
				if (++count > 1024)
					return argv_fail(err,
							 _("<portForward> forwards more than 1024 "
							   "ports"));
				v = g_strdup_printf("%s:%s:%u-:%u", pf->proto, addr, p, guest);
				kv_str(s, "hostfwd", v);
			}
		}
	}
	return true;
}

static bool build_netdev(GPtrArray *argv, const KiteDomainDef *def, guint idx,
			 const KiteNetBackend *be, GError **err)
{
	const KiteNetDef *net = g_ptr_array_index(def->interfaces, idx);
	GString *s = g_string_new(NULL);
	g_autofree char *id = g_strdup_printf("host%s", net->info.alias);

	switch (net->type) {
	case KITE_NET_USER:
		if (net->backend_type) {
			g_string_free(s, TRUE);
			return argv_fail(err,
					 _("<backend type='%s'> of interface '%s' is not "
					   "supported by kite"),
					 net->backend_type, net->info.alias);
		}
		g_string_append(s, "user");
		for (guint i = 0; i < net->ips->len; i++) {
			const KiteIpAddr *ip = g_ptr_array_index(net->ips, i);
			int fam;
			uint8_t a[16];
			g_autofree char *v = NULL;
			kx_ip_parse(ip->address, &fam, a);
			if (fam == AF_INET6) {
				kv_str(s, "ipv6-prefix", ip->address);
				if (ip->prefix)
					kv_u(s, "ipv6-prefixlen", ip->prefix);
				continue;
			}
			v = ip->prefix ? g_strdup_printf("%s/%u", ip->address, ip->prefix)
				       : g_strdup(ip->address);
			kv_str(s, "net", v);
		}
		if (!user_hostfwd(s, net, err)) {
			g_string_free(s, TRUE);
			return false;
		}
		break;
	case KITE_NET_ETHERNET:
	case KITE_NET_BRIDGE:
	case KITE_NET_NETWORK:
		if (be && be->n_tap_fds > 1) {
			g_string_append(s, "tap");
			g_string_append(s, ",fds=");
			for (size_t i = 0; i < be->n_tap_fds; i++)
				g_string_append_printf(s, "%s%d", i ? ":" : "", be->tap_fds[i]);
		} else if (be && be->tap_fd >= 0) {
			g_string_append(s, "tap");
			kv_u(s, "fd", (unsigned)be->tap_fd);
		} else if (net->type == KITE_NET_ETHERNET || (be && be->ifname)) {
			const char *ifname = be && be->ifname ? be->ifname : net->target_dev;
			g_string_append(s, "tap");
			if (ifname)
				kv_str(s, "ifname", ifname);
			kv_str(s, "script", net->script ? net->script : "no");
			kv_str(s, "downscript", net->downscript ? net->downscript : "no");
		} else {
			const char *br = be && be->bridge ? be->bridge : net->source_bridge;
			if (!br) {
				g_string_free(s, TRUE);
				return argv_fail(err,
						 _("interface '%s' (network '%s') has no resolved "
						   "bridge, tap fd or tap name"),
						 net->info.alias,
						 net->source_network ? net->source_network : "?");
			}
			g_string_append(s, "bridge");
			kv_str(s, "br", br);
		}
		if (be && be->vhost_fd >= 0) {
			kv_str(s, "vhost", "on");
			kv_u(s, "vhostfd", (unsigned)be->vhost_fd);
		}
		break;
	case KITE_NET_MCAST:
		g_string_append(s, "socket");
		host_port(s, "mcast", net->source_address, net->source_port);
		break;
	case KITE_NET_SERVER:
		g_string_append(s, "socket");
		host_port(s, "listen", net->source_address, net->source_port);
		break;
	case KITE_NET_CLIENT:
		g_string_append(s, "socket");
		host_port(s, "connect", net->source_address, net->source_port);
		break;
	case KITE_NET_UDP:
		g_string_append(s, "socket");
		host_port(s, "udp", net->source_address, net->source_port);
		host_port(s, "localaddr", net->source_local_address, net->source_local_port);
		break;
	case KITE_NET_DIRECT:
	case KITE_NET_VHOSTUSER:
	default:
		g_string_free(s, TRUE);
		return argv_fail(err, _("<interface type='%s'> (%s) is not supported by kite"),
				 kite_net_type_to_string(net->type), net->info.alias);
	}
	kv_str(s, "id", id);
	add2(argv, "-netdev", s);
	return true;
}

static bool build_nic(GPtrArray *argv, const KiteDomainDef *def, guint idx,
		      const KiteNetBackend *be, GError **err)
{
	const KiteNetDef *net = g_ptr_array_index(def->interfaces, idx);
	const KiteNetDriver *d = &net->driver;
	GString *s = g_string_new(nic_driver(net->model));
	g_autofree char *id = g_strdup_printf("host%s", net->info.alias);
	unsigned bootindex = net_bootindex(def, idx);
	char mac[18];

	if (strchr(s->str, ',') || strchr(s->str, '=')) {
		g_string_free(s, TRUE);
		return argv_fail(err, _("invalid NIC model '%s'"), net->model);
	}
	if (is_virtio(net->model)) {
		size_t queues = be && be->n_tap_fds > 1 ? be->n_tap_fds : d->queues;

		kv_bool(s, "iommu_platform", d->iommu);
		kv_bool(s, "ats", d->ats);
		kv_bool(s, "packed", d->packed);
		kv_bool(s, "page-per-vq", d->page_per_vq);
		if (d->txmode)
			kv_str(s, "tx", !strcmp(d->txmode, "iothread") ? "bh" : "timer");
		kv_bool(s, "ioeventfd", d->ioeventfd);
		kv_bool(s, "event_idx", d->event_idx);
		kv_bool(s, "csum", d->host_csum);
		kv_bool(s, "gso", d->host_gso);
		kv_bool(s, "host_tso4", d->host_tso4);
		kv_bool(s, "host_tso6", d->host_tso6);
		kv_bool(s, "host_ecn", d->host_ecn);
		kv_bool(s, "host_ufo", d->host_ufo);
		kv_bool(s, "mrg_rxbuf", d->host_mrg_rxbuf);
		kv_bool(s, "guest_csum", d->guest_csum);
		kv_bool(s, "guest_tso4", d->guest_tso4);
		kv_bool(s, "guest_tso6", d->guest_tso6);
		kv_bool(s, "guest_ecn", d->guest_ecn);
		kv_bool(s, "guest_ufo", d->guest_ufo);
		if (queues > 1 && (net->type == KITE_NET_ETHERNET || net->type == KITE_NET_BRIDGE ||
				   net->type == KITE_NET_NETWORK)) {
			/* one MSI-X vector per queue in each direction, plus
			 * config and control */
			kv_str(s, "mq", "on");
			kv_u(s, "vectors", 2 * queues + 2);
		}
		if (d->rx_queue_size)
			kv_u(s, "rx_queue_size", d->rx_queue_size);
		if (d->tx_queue_size)
			kv_u(s, "tx_queue_size", d->tx_queue_size);
		kv_bool(s, "rss", d->rss);
		kv_bool(s, "hash", d->rss_hash_report);
		if (net->mtu)
			kv_u(s, "host_mtu", net->mtu);
	}
	kv_str(s, "netdev", id);
	kv_str(s, "id", net->info.alias);
	kite_mac_format(net->mac, mac);
	kv_str(s, "mac", mac);
	if (bootindex)
		kv_u(s, "bootindex", bootindex);
	pci_props(s, &net->info);
	if (net->info.rom_bar)
		kv_u(s, "rombar", net->info.rom_bar == KITE_TRISTATE_YES ? 1 : 0);
	if (net->info.rom_enabled == KITE_TRISTATE_NO)
		kv_str(s, "romfile", "");
	else if (net->info.rom_file)
		kv_str(s, "romfile", net->info.rom_file);
	if (net->info.acpi_index)
		kv_u(s, "acpi-index", net->info.acpi_index);
	add2(argv, "-device", s);
	return true;
}

/* ----------------------------------------------------------- serials */

static bool build_chardev(GPtrArray *argv, const KiteChrDef *c, const char *id, GError **err)
{
	GString *s = g_string_new(NULL);

	switch (c->type) {
	case KITE_CHR_PTY:
		g_string_append(s, "pty");
		kv_str(s, "id", id);
		break;
	case KITE_CHR_NULL:
		g_string_append(s, "null");
		kv_str(s, "id", id);
		break;
	case KITE_CHR_STDIO:
		g_string_append(s, "stdio");
		kv_str(s, "id", id);
		break;
	case KITE_CHR_VC:
		g_string_append(s, "vc");
		kv_str(s, "id", id);
		break;
	case KITE_CHR_FILE:
		g_string_append(s, "file");
		kv_str(s, "id", id);
		kv_str(s, "path", c->source_path);
		kv_bool(s, "append", c->source_append);
		break;
	case KITE_CHR_PIPE:
		g_string_append(s, "pipe");
		kv_str(s, "id", id);
		kv_str(s, "path", c->source_path);
		break;
	case KITE_CHR_DEV:
		g_string_append(s, "tty");
		kv_str(s, "id", id);
		kv_str(s, "path", c->source_path);
		break;
	case KITE_CHR_UNIX:
		g_string_append(s, "socket");
		kv_str(s, "id", id);
		kv_str(s, "path", c->source_path);
		if (c->source_mode && !strcmp(c->source_mode, "bind")) {
			kv_str(s, "server", "on");
			kv_str(s, "wait", "off");
		}
		break;
	case KITE_CHR_TCP:
		g_string_append(s, "socket");
		kv_str(s, "id", id);
		kv_str(s, "host", c->source_host ? c->source_host : "");
		kv_str(s, "port", c->source_service);
		if (c->protocol && !strcmp(c->protocol, "telnet"))
			kv_str(s, "telnet", "on");
		if (c->source_mode && !strcmp(c->source_mode, "bind")) {
			kv_str(s, "server", "on");
			kv_str(s, "wait", "off");
		}
		break;
	case KITE_CHR_UDP:
		g_string_append(s, "udp");
		kv_str(s, "id", id);
		kv_str(s, "host", c->connect_host ? c->connect_host : "");
		kv_str(s, "port", c->connect_service ? c->connect_service : "");
		if (c->source_host)
			kv_str(s, "localaddr", c->source_host);
		if (c->source_service)
			kv_str(s, "localport", c->source_service);
		break;
	default:
		g_string_free(s, TRUE);
		return argv_fail(err, _("character device type '%s' is not supported by kite"),
				 kx_chr_type_to_string(c->type));
	}
	if (c->log_file) {
		kv_str(s, "logfile", c->log_file);
		kv_str(s, "logappend", c->log_append == KITE_TRISTATE_YES ? "on" : "off");
	}
	add2(argv, "-chardev", s);
	return true;
}

static bool build_serials(GPtrArray *argv, const KiteDomainDef *def, GError **err)
{
	for (guint i = 0; i < def->serials->len; i++) {
		const KiteChrDef *c = g_ptr_array_index(def->serials, i);
		g_autofree char *id = g_strdup_printf("char%s", c->info.alias);
		GString *d;

		if (c->target_type && strcmp(c->target_type, "isa-serial"))
			return argv_fail(err,
					 _("<serial> <target type='%s'> is not supported by "
					   "kite"),
					 c->target_type);
		if (!build_chardev(argv, c, id, err))
			return false;
		d = g_string_new("isa-serial");
		kv_str(d, "chardev", id);
		kv_str(d, "id", c->info.alias);
		kv_u(d, "index", c->target_port >= 0 ? (unsigned)c->target_port : i);
		add2(argv, "-device", d);
	}
	return true;
}

/* ------------------------------------------------------------ public */

static KiteGenericDevice *generic(const KiteDomainDef *def, const char *kind)
{
	for (guint i = 0; i < def->devices->len; i++) {
		KiteGenericDevice *g = g_ptr_array_index(def->devices, i);
		if (!strcmp(g->kind, kind))
			return g;
	}
	return NULL;
}

static bool build(GPtrArray *argv, const KiteDomainDef *def, const KiteArgvContext *ctx,
		  GError **err)
{
	char uuid[37];
	GString *s;
	KiteGenericDevice *balloon;

	if (!def->name || strchr(def->name, '\n'))
		return argv_fail(err, _("the domain has no valid name"));
	if (ctx->n_nets && ctx->n_nets != def->interfaces->len)
		return argv_fail(err, _("the daemon resolved %zu interfaces but the domain has %u"),
				 ctx->n_nets, def->interfaces->len);

	add(argv, ctx->emulator ? ctx->emulator : def->emulator ? def->emulator : "kite");
	s = g_string_new(NULL);
	kv_str(s, "guest", def->name);
	kv_str(s, "debug-threads", "on");
	add2(argv, "-name", s);
	if (ctx->paused)
		add(argv, "-S");
	if (!build_machine(argv, def, ctx, err) || !build_cpu(argv, def, err))
		return false;
	add(argv, "-m");
	g_ptr_array_add(argv, g_strdup_printf("%llu", (def->memory_kib + 1023) / 1024));
	build_smp(argv, def);
	add(argv, "-uuid");
	kite_uuid_format(def->uuid, uuid);
	add(argv, uuid);
	if (!generic(def, "graphics")) {
		add(argv, "-display");
		add(argv, "none");
	}
	add(argv, "-no-user-config");
	add(argv, "-nodefaults");

	s = g_string_new("socket");
	kv_str(s, "id", "charmonitor");
	if (ctx->qmp_fd >= 0)
		kv_u(s, "fd", (unsigned)ctx->qmp_fd);
	else if (ctx->qmp_socket)
		kv_str(s, "path", ctx->qmp_socket);
	else {
		g_string_free(s, TRUE);
		return argv_fail(err, _("no monitor socket given for the command line"));
	}
	kv_str(s, "server", "on");
	kv_str(s, "wait", "off");
	add2(argv, "-chardev", s);
	add(argv, "-mon");
	add(argv, "chardev=charmonitor,id=monitor,mode=control");

	if (!build_clock(argv, def, err))
		return false;
	build_pm(argv, def, ctx);
	build_boot(argv, def);

	for (guint i = 0; i < def->controllers->len; i++) {
		const KiteControllerDef *c = g_ptr_array_index(def->controllers, i);
		if (!strcmp(c->type, "usb") && c->model && !strcmp(c->model, "piix3-uhci")) {
			GString *d = g_string_new("piix3-usb-uhci");
			kv_str(d, "id", c->info.alias);
			pci_props(d, &c->info);
			add2(argv, "-device", d);
		}
	}
	for (guint i = 0; i < def->interfaces->len; i++) {
		const KiteNetBackend *be = ctx->nets && i < ctx->n_nets ? &ctx->nets[i] : NULL;
		if (!build_netdev(argv, def, i, be, err) || !build_nic(argv, def, i, be, err))
			return false;
	}
	if (!build_serials(argv, def, err))
		return false;
	balloon = generic(def, "memballoon");
	if (balloon && balloon->type && !strcmp(balloon->type, "virtio")) {
		GString *d = g_string_new("virtio-balloon-pci");
		kv_str(d, "id", balloon->info.alias);
		pci_props(d, &balloon->info);
		add2(argv, "-device", d);
	}
	return true;
}

char **kite_domain_build_argv(const KiteDomainDef *def, const KiteArgvContext *ctx, GError **err)
{
	g_autoptr(KiteDomainDef) copy = NULL;
	GPtrArray *argv;
	KiteArgvContext dflt;

	if (!ctx) {
		kite_argv_context_init(&dflt);
		ctx = &dflt;
	}
	/* devices without a mapping are refused, never silently dropped */
	if (!kx_domain_unsupported(def, false, err))
		return NULL;
	/* ids come from aliases: give the missing ones on a private copy */
	copy = kite_domain_def_copy(def);
	if (!copy) {
		g_set_error(err, KITE_XML_ERROR, KITE_XML_ERROR_INVALID,
			    _("cannot copy the definition of domain '%s'"), def->name);
		return NULL;
	}
	kite_domain_def_assign_aliases(copy);
	argv = g_ptr_array_new_with_free_func(g_free);
	if (!build(argv, copy, ctx, err)) {
		g_ptr_array_unref(argv);
		return NULL;
	}
	g_ptr_array_add(argv, NULL);
	return (char **)g_ptr_array_free(argv, FALSE);
}

char **kite_domain_links_down(const KiteDomainDef *def)
{
	g_autoptr(KiteDomainDef) copy = kite_domain_def_copy(def);
	GPtrArray *r = g_ptr_array_new();

	if (copy) {
		kite_domain_def_assign_aliases(copy);
		for (guint i = 0; i < copy->interfaces->len; i++) {
			const KiteNetDef *n = g_ptr_array_index(copy->interfaces, i);
			if (n->link_state == KITE_LINK_DOWN)
				g_ptr_array_add(r, g_strdup(n->info.alias));
		}
	}
	g_ptr_array_add(r, NULL);
	return (char **)g_ptr_array_free(r, FALSE);
}
