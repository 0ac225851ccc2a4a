/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "net-cmdline.h"
#include "backends.h"
#include "hub.h"
#include "opts.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_NETDEV, KIND_NIC, KIND_NET, KIND_OBJECT } OptKind;

/* One option as read from argv, validated, waiting for net_cmdline_finish. */
typedef struct Pending {
	OptKind kind;
	KiteOpts *opts;
	const NetBackend *backend; /* NULL for nic/none/hubport/object */
	void *cfg;
	int64_t vlan;
	bool is_nic, is_none, is_hubport;
	NicConfig *nic;
} Pending;

typedef struct NicModel {
	char *model, *alias;
} NicModel;

static GList *pending; /* of Pending*, argv order */
static GList *nic_configs;
static GList *nic_models;
static bool nodefaults;
static bool finished;

static const char *const nic_keys[] = {"netdev", "macaddr", "model", "addr", "vectors", NULL};

const NetBackend *net_backend_find(const char *type)
{
	static const NetBackend *const all[] = {
	    &net_backend_user,	 &net_backend_tap,   &net_backend_bridge, &net_backend_socket,
	    &net_backend_stream, &net_backend_dgram, &net_backend_dump,
	};
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		if (!strcmp(all[i]->type, type))
			return all[i];
	return NULL;
}

void net_nic_model_register(const char *model, const char *alias)
{
	NicModel *m = g_new0(NicModel, 1);
	m->model = g_strdup(model);
	m->alias = g_strdup(alias);
	nic_models = g_list_append(nic_models, m);
}

const char *net_nic_model_lookup(const char *model)
{
	for (GList *l = nic_models; l; l = l->next) {
		NicModel *m = l->data;
		if (!strcmp(m->model, model) || (m->alias && !strcmp(m->alias, model)))
			return m->model;
	}
	return NULL;
}

static gint cmp_model(gconstpointer a, gconstpointer b)
{
	return strcmp(((const NicModel *)a)->model, ((const NicModel *)b)->model);
}

static void print_models_and_exit(void)
{
	GList *sorted = g_list_sort(g_list_copy(nic_models), cmp_model);
	printf("%s\n", _("Supported NIC models:"));
	for (GList *l = sorted; l; l = l->next)
		printf("%s\n", ((NicModel *)l->data)->model);
	g_list_free(sorted);
	fflush(stdout);
	exit(0);
}

static void nic_config_free(NicConfig *nic)
{
	if (!nic)
		return;
	g_free(nic->model);
	g_free(nic->name);
	g_free(nic->addr);
	g_free(nic->where);
	g_free(nic);
}

static void pending_free(Pending *p)
{
	if (p->backend && p->cfg)
		p->backend->free_cfg(p->cfg);
	if (p->nic && !g_list_find(nic_configs, p->nic))
		nic_config_free(p->nic);
	kite_opts_free(p->opts);
	g_free(p);
}

void net_cmdline_reset(void)
{
	g_list_free_full(pending, (GDestroyNotify)pending_free);
	pending = NULL;
	g_list_free_full(nic_configs, (GDestroyNotify)nic_config_free);
	nic_configs = NULL;
	nodefaults = false;
	finished = false;
}

void net_cmdline_set_nodefaults(bool on)
{
	nodefaults = on;
}

GList *net_nic_configs(void)
{
	return nic_configs;
}

bool net_mac_is_multicast(const uint8_t mac[ETH_ALEN])
{
	return mac[0] & 1;
}

/* Keys allowed: the common ones for this front-end, plus the backend's. */
static int check_keys(KiteOpts *o, const char *const *common, const char *const *k1,
		      const char *const *k2, GError **err)
{
	GPtrArray *all = g_ptr_array_new();
	for (const char *const *k = common; k && *k; k++)
		g_ptr_array_add(all, (gpointer)*k);
	for (const char *const *k = k1; k && *k; k++)
		g_ptr_array_add(all, (gpointer)*k);
	for (const char *const *k = k2; k && *k; k++)
		g_ptr_array_add(all, (gpointer)*k);
	g_ptr_array_add(all, NULL);
	int r = kite_opts_check_keys(o, (const char *const *)all->pdata, err);
	g_ptr_array_free(all, TRUE);
	return r;
}

static const char *get_type(KiteOpts *o, GError **err)
{
	return kite_opts_require(o, "type", err);
}

static void bad_type(KiteOpts *o, const char *type, GError **err)
{
	kite_opts_error(o, err, _("Parameter 'type' does not accept value '%s'"), type);
}

static bool model_is_help(const char *model)
{
	return model && (!strcmp(model, "?") || !strcmp(model, "help"));
}

/* model=, mac= of -net nic / -nic, checked at once. */
static NicConfig *parse_nic(KiteOpts *o, const char *model_key, const char *mac_key, GError **err)
{
	const char *model = kite_opts_get(o, model_key);
	if (model_is_help(model))
		print_models_and_exit();
	const char *canon = net_nic_model_lookup(model ? model : NET_DEFAULT_NIC_MODEL);
	if (!canon) {
		kite_opts_error(o, err, _("Unsupported NIC model: %s"), model);
		return NULL;
	}
	NicConfig *nic = g_new0(NicConfig, 1);
	nic->model = g_strdup(canon);
	nic->vectors = -1;
	nic->where = g_strdup_printf("%s %s", o->option ? o->option : "", o->arg);
	const char *mac = kite_opts_get(o, mac_key);
	if (mac) {
		if (!net_parse_mac(mac, nic->mac)) {
			kite_opts_error(o, err, _("invalid syntax for ethernet address"));
			goto fail;
		}
		if (net_mac_is_multicast(nic->mac)) {
			kite_opts_error(o, err,
					_("NIC cannot have multicast MAC address (odd 1st byte)"));
			goto fail;
		}
	}
	const char *name = kite_opts_get(o, "name");
	if (!name)
		name = kite_opts_get(o, "id");
	if (name && !net_check_id(name)) {
		kite_opts_error(o, err, _("Parameter 'name' expects an identifier"));
		goto fail;
	}
	nic->name = g_strdup(name);
	nic->addr = g_strdup(kite_opts_get(o, "addr"));
	if (kite_opts_has(o, "vectors")) {
		int64_t v;
		if (kite_opts_get_int(o, "vectors", -1, 0, 0x7ffffff, _("a number"), &v, err) < 0)
			goto fail;
		nic->vectors = (int)v;
	}
	return nic;
fail:
	nic_config_free(nic);
	return NULL;
}

static bool id_taken(const char *id, Pending *except)
{
	for (GList *l = pending; l; l = l->next) {
		Pending *p = l->data;
		if (p == except || p->kind != KIND_NETDEV)
			continue;
		const char *other = kite_opts_get(p->opts, "id");
		if (other && !strcmp(other, id))
			return true;
	}
	return net_client_find(id) != NULL;
}

static const char *check_id(KiteOpts *o, GError **err)
{
	const char *id = kite_opts_require(o, "id", err);
	if (!id)
		return NULL;
	if (!net_check_id(id)) {
		kite_opts_error(o, err,
				_("Parameter 'id' expects an identifier\nIdentifiers consist of "
				  "letters, digits, '-', '.', '_', starting with a letter."));
		return NULL;
	}
	return id;
}

static const char *const netdev_common[] = {"type", "id", NULL};
static const char *const hubport_keys[] = {"hubid", "netdev", NULL};

/* -netdev TYPE,id=ID,...: also used by netdev_add (option NULL). */
static Pending *parse_netdev(const char *option, const char *arg, GError **err)
{
	g_autoptr(KiteOpts) o = kite_opts_parse(option, arg, "type", err);
	const char *type = get_type(o, err);
	if (!type)
		return NULL;
	Pending *p = g_new0(Pending, 1);
	p->kind = KIND_NETDEV;
	if (!strcmp(type, "hubport")) {
		p->is_hubport = true;
		if (check_keys(o, netdev_common, hubport_keys, NULL, err) < 0 ||
		    !check_id(o, err) || !kite_opts_require(o, "hubid", err) ||
		    kite_opts_get_int(o, "hubid", 0, 0, INT32_MAX, _("an int64 value"), &p->vlan,
				      err) < 0)
			goto fail;
	} else {
		p->backend = net_backend_find(type);
		if (!p->backend || !p->backend->netdev_ok) {
			bad_type(o, type, err);
			goto fail;
		}
		if (check_keys(o, netdev_common, p->backend->keys, NULL, err) < 0 ||
		    !check_id(o, err))
			goto fail;
		p->cfg = p->backend->parse(o, err);
		if (!p->cfg)
			goto fail;
	}
	p->opts = g_steal_pointer(&o);
	return p;
fail:
	pending_free(p);
	return NULL;
}

int net_cmdline_netdev(const char *arg, GError **err)
{
	Pending *p = parse_netdev("-netdev", arg, err);
	if (!p)
		return -1;
	const char *id = kite_opts_get(p->opts, "id");
	if (id_taken(id, NULL)) {
		kite_opts_error(p->opts, err, _("Duplicate ID '%s' for netdev"), id);
		pending_free(p);
		return -1;
	}
	pending = g_list_append(pending, p);
	return 0;
}

static const char *const nic_opt_common[] = {"type", "id", "model", "mac", NULL};

int net_cmdline_nic(const char *arg, GError **err)
{
	g_autoptr(KiteOpts) o = kite_opts_parse("-nic", arg, "type", err);
	const char *type = get_type(o, err);
	if (!type)
		return -1;
	Pending *p = g_new0(Pending, 1);
	p->kind = KIND_NIC;
	if (!strcmp(type, "none")) {
		p->is_none = true;
		if (check_keys(o, netdev_common, NULL, NULL, err) < 0)
			goto fail;
	} else {
		if (!strcmp(type, "hubport")) {
			p->is_hubport = true;
			if (check_keys(o, nic_opt_common, hubport_keys, NULL, err) < 0 ||
			    kite_opts_get_int(o, "hubid", 0, 0, INT32_MAX, _("an int64 value"),
					      &p->vlan, err) < 0)
				goto fail;
		} else {
			p->backend = net_backend_find(type);
			if (!p->backend || !p->backend->netdev_ok) {
				bad_type(o, type, err);
				goto fail;
			}
			if (check_keys(o, nic_opt_common, p->backend->keys, NULL, err) < 0)
				goto fail;
		}
		const char *id = kite_opts_get(o, "id");
		if (id && !check_id(o, err))
			goto fail;
		if (id && id_taken(id, NULL)) {
			kite_opts_error(o, err, _("Duplicate ID '%s' for netdev"), id);
			goto fail;
		}
		p->nic = parse_nic(o, "model", "mac", err);
		if (!p->nic)
			goto fail;
		/* The NIC's name comes from the model; id= names the backend. */
		g_clear_pointer(&p->nic->name, g_free);
		if (p->backend) {
			p->cfg = p->backend->parse(o, err);
			if (!p->cfg)
				goto fail;
		}
	}
	p->opts = g_steal_pointer(&o);
	pending = g_list_append(pending, p);
	return 0;
fail:
	pending_free(p);
	return -1;
}

static const char *const net_common[] = {"type", "vlan", "name", "id", NULL};

int net_cmdline_net(const char *arg, GError **err)
{
	g_autoptr(KiteOpts) o = kite_opts_parse("-net", arg, "type", err);
	const char *type = get_type(o, err);
	if (!type)
		return -1;
	Pending *p = g_new0(Pending, 1);
	p->kind = KIND_NET;
	if (!strcmp(type, "nic")) {
		p->is_nic = true;
		if (check_keys(o, net_common, nic_keys, NULL, err) < 0)
			goto fail;
		if (kite_opts_has(o, "netdev") && kite_opts_has(o, "vlan")) {
			kite_opts_error(o, err,
					_("Parameters 'vlan' and 'netdev' are mutually "
					  "exclusive"));
			goto fail;
		}
		p->nic = parse_nic(o, "model", "macaddr", err);
		if (!p->nic)
			goto fail;
	} else if (!strcmp(type, "none")) {
		p->is_none = true;
		if (check_keys(o, net_common, NULL, NULL, err) < 0)
			goto fail;
	} else {
		p->backend = net_backend_find(type);
		if (!p->backend || !p->backend->legacy_ok) {
			bad_type(o, type, err);
			goto fail;
		}
		if (check_keys(o, net_common, p->backend->keys, NULL, err) < 0)
			goto fail;
		const char *name = kite_opts_get(o, "name");
		if (!name)
			name = kite_opts_get(o, "id");
		if (name && !net_check_id(name)) {
			kite_opts_error(o, err, _("Parameter 'name' expects an identifier"));
			goto fail;
		}
		p->cfg = p->backend->parse(o, err);
		if (!p->cfg)
			goto fail;
	}
	if (kite_opts_get_int(o, "vlan", 0, 0, INT32_MAX, _("a number"), &p->vlan, err) < 0)
		goto fail;
	p->opts = g_steal_pointer(&o);
	pending = g_list_append(pending, p);
	return 0;
fail:
	pending_free(p);
	return -1;
}

int net_cmdline_object(const char *arg, GError **err)
{
	g_autoptr(KiteOpts) o = kite_opts_parse("-object", arg, "qom-type", err);
	const char *type = kite_opts_get(o, "qom-type");
	if (!type || strcmp(type, "filter-dump") != 0)
		return 0;
	static const char *const common[] = {"qom-type", "id", NULL};
	if (check_keys(o, common, net_filter_dump_keys, NULL, err) < 0 || !check_id(o, err) ||
	    !kite_opts_require(o, "netdev", err) || !kite_opts_require(o, "file", err))
		return -1;
	uint64_t maxlen;
	if (kite_opts_get_size(o, "maxlen", 65536, &maxlen, err) < 0)
		return -1;
	if (maxlen == 0 || maxlen > UINT32_MAX) {
		kite_opts_error(o, err, _("Property 'filter-dump.maxlen' doesn't take value '%s'"),
				kite_opts_get(o, "maxlen"));
		return -1;
	}
	Pending *p = g_new0(Pending, 1);
	p->kind = KIND_OBJECT;
	p->opts = g_steal_pointer(&o);
	pending = g_list_append(pending, p);
	return 1;
}

/* Backend client for a pending -netdev/-nic/-net entry. */
static NetClient *create_backend(Pending *p, const char *name, GError **err)
{
	NetClient *nc = p->backend->create(p->opts, p->cfg, name, err);
	if (nc && p->kind != KIND_NET)
		nc->is_netdev = true;
	return nc;
}

static int create_netdev(Pending *p, GError **err)
{
	const char *id = kite_opts_get(p->opts, "id");
	if (net_client_find(id)) {
		kite_opts_error(p->opts, err, _("Duplicate ID '%s' for netdev"), id);
		return -1;
	}
	if (p->is_hubport) {
		const char *peer_id = kite_opts_get(p->opts, "netdev");
		NetClient *peer = NULL;
		if (peer_id) {
			peer = net_client_find(peer_id);
			if (!peer || !peer->is_netdev) {
				kite_opts_error(p->opts, err, _("netdev '%s' not found"), peer_id);
				return -1;
			}
			if (peer->peer) {
				kite_opts_error(p->opts, err, _("netdev '%s' is already in use"),
						peer_id);
				return -1;
			}
		}
		NetClient *port = net_hub_add_port((int)p->vlan, id);
		port->is_netdev = true;
		if (peer) {
			net_client_set_peer(port, peer);
			peer->in_use = true;
		}
		return 0;
	}
	return create_backend(p, id, err) ? 0 : -1;
}

static int create_nic_option(Pending *p, GError **err)
{
	if (p->is_none)
		return 0;
	const char *id = kite_opts_get(p->opts, "id");
	NetClient *backend;
	if (p->is_hubport) {
		backend = net_hub_add_port((int)p->vlan, id);
	} else {
		backend = create_backend(p, id, err);
		if (!backend)
			return -1;
	}
	backend->in_use = true;
	p->nic->peer = backend;
	nic_configs = g_list_append(nic_configs, p->nic);
	return 0;
}

static int create_net_option(Pending *p, GError **err)
{
	if (p->is_none)
		return 0;
	if (p->is_nic) {
		const char *peer_id = kite_opts_get(p->opts, "netdev");
		if (peer_id) {
			NetClient *peer = net_client_find(peer_id);
			if (!peer || !peer->is_netdev) {
				kite_opts_error(p->opts, err, _("netdev '%s' not found"), peer_id);
				return -1;
			}
			if (peer->in_use) {
				kite_opts_error(p->opts, err, _("netdev '%s' is already in use"),
						peer_id);
				return -1;
			}
			peer->in_use = true;
			p->nic->peer = peer;
		} else {
			p->nic->peer = net_hub_add_port((int)p->vlan, NULL);
		}
		nic_configs = g_list_append(nic_configs, p->nic);
		return 0;
	}
	const char *name = kite_opts_get(p->opts, "name");
	if (!name)
		name = kite_opts_get(p->opts, "id");
	if (name && net_client_find(name)) {
		kite_opts_error(p->opts, err, _("Duplicate ID '%s' for netdev"), name);
		return -1;
	}
	/* The port comes first so hub port numbers follow argv order. */
	NetClient *port = net_hub_add_port((int)p->vlan, NULL);
	NetClient *nc = create_backend(p, name, err);
	if (!nc) {
		net_hub_remove_port(port);
		return -1;
	}
	net_client_set_peer(port, nc);
	return 0;
}

static void assign_macs(void)
{
	/* MACs given by the user are reserved first so a default never
	 * collides with one that appears later on the command line. */
	static const uint8_t zero[ETH_ALEN];
	for (GList *l = nic_configs; l; l = l->next) {
		NicConfig *nic = l->data;
		if (memcmp(nic->mac, zero, ETH_ALEN))
			net_mac_mark_used(nic->mac);
	}
	for (GList *l = nic_configs; l; l = l->next) {
		NicConfig *nic = l->data;
		if (!memcmp(nic->mac, zero, ETH_ALEN))
			net_nic_assign_mac(nic->mac);
	}
}

static void cleanup_at_exit(void)
{
	net_cleanup_all();
}

int net_cmdline_finish(GError **err)
{
	static bool atexit_done;
	if (finished)
		return 0;
	finished = true;
	/* Downscripts must run and kite's taps go however kite exits; the
	 * machine code may also call net_cleanup_all() itself, earlier. */
	if (!atexit_done) {
		atexit(cleanup_at_exit);
		atexit_done = true;
	}
	if (!pending && !nodefaults) {
		/* S4: no network option at all means "-net nic -net user". */
		if (net_cmdline_net("nic", err) < 0 || net_cmdline_net("user", err) < 0)
			return -1;
	}
	static const OptKind order[] = {KIND_NETDEV, KIND_NIC, KIND_NET, KIND_OBJECT};
	for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
		for (GList *l = pending; l; l = l->next) {
			Pending *p = l->data;
			if (p->kind != order[i])
				continue;
			int r;
			switch (p->kind) {
			case KIND_NETDEV:
				r = create_netdev(p, err);
				break;
			case KIND_NIC:
				r = create_nic_option(p, err);
				break;
			case KIND_NET:
				r = create_net_option(p, err);
				break;
			default:
				r = net_filter_dump_create(p->opts, err);
				break;
			}
			if (r < 0) {
				/* Taps and scripts already set up must not outlive a
				 * failed start. */
				net_cleanup_all();
				return -1;
			}
		}
	}
	assign_macs();
	return 0;
}

NetClient *net_netdev_claim(const char *id, const char *model, GError **err)
{
	if (!id)
		return NULL;
	NetClient *nc = net_client_find(id);
	if (!nc || !nc->is_netdev) {
		g_set_error(err, KITE_NET_ERROR, 0, _("Property '%s.netdev' can't find value '%s'"),
			    model, id);
		return NULL;
	}
	if (nc->in_use || (nc->peer && nc->type != NET_CLIENT_HUBPORT)) {
		g_set_error(err, KITE_NET_ERROR, 0,
			    _("Property '%s.netdev' can't use value '%s', it's in use"), model, id);
		return NULL;
	}
	nc->in_use = true;
	return nc;
}

void net_nic_assign_mac(uint8_t mac[ETH_ALEN])
{
	net_next_default_mac(mac);
}

NetClient *net_nic_new(const char *model, const char *name, NetClient *peer,
		       const uint8_t mac[ETH_ALEN], const NetClientOps *ops, void *opaque)
{
	NetClient *nc = net_client_new(NET_CLIENT_NIC, model, name, ops, opaque);
	if (peer) {
		if (peer->peer && peer->peer != nc)
			peer->peer->peer = NULL;
		net_client_set_peer(nc, peer);
	}
	net_nic_set_mac(nc, mac);
	net_mac_mark_used(mac);
	return nc;
}

void net_nic_set_mac(NetClient *nic, const uint8_t mac[ETH_ALEN])
{
	char buf[18];
	memcpy(nic->macaddr, mac, ETH_ALEN);
	net_format_mac(mac, buf);
	net_client_set_info(nic, "model=%s,macaddr=%s", nic->model, buf);
}

int net_netdev_add(const char *arg, GError **err)
{
	Pending *p = parse_netdev(NULL, arg, err);
	if (!p)
		return -1;
	int r = create_netdev(p, err);
	pending_free(p);
	return r;
}

int net_netdev_del(const char *id, GError **err)
{
	NetClient *nc = net_client_find(id);
	if (!nc || !nc->is_netdev) {
		g_set_error(err, KITE_ERROR, KITE_ERR_DEVICE_NOT_FOUND, _("Device '%s' not found"),
			    id);
		return -1;
	}
	if (nc->peer && nc->peer->type == NET_CLIENT_NIC) {
		/* QEMU refuses too: the NIC would keep a dangling backend. */
		g_set_error(err, KITE_NET_ERROR, 0,
			    _("Device '%s' is in use by NIC '%s'; remove the NIC first"), id,
			    nc->peer->name);
		return -1;
	}
	if (nc->type == NET_CLIENT_HUBPORT)
		net_hub_remove_port(nc);
	else
		net_client_free(nc);
	return 0;
}
