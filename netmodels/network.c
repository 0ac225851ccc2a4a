/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network start/stop/adopt. Every object is written to STATE_DIR/NAME.state
 * before it is created (so a crash in between leaves a record, and undoing
 * an absent object is harmless) and is deleted only if it still carries
 * our mark: the bridge's ifalias, the nft table's comment, dnsmasq's
 * --conf-file argument.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

typedef struct {
	char *name;
	char *state_path;
	char *uuid;
	KiteNetForwardMode mode;
	char *bridge;
	bool bridge_created;
	char *nft_table; /* set once we (are about to) create it */
	char *conf_path; /* the dnsmasq files, set once we write them */
	char *pid_path;
	char *lease_path;
	pid_t dnsmasq_pid;
} NetState;

static void net_state_free(NetState *st)
{
	if (!st)
		return;
	g_free(st->name);
	g_free(st->state_path);
	g_free(st->uuid);
	g_free(st->bridge);
	g_free(st->nft_table);
	g_free(st->conf_path);
	g_free(st->pid_path);
	g_free(st->lease_path);
	g_free(st);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetState, net_state_free)

static char *state_file(const char *state_dir, const char *name, const char *ext)
{
	g_autofree char *base = g_strconcat(name, ext, NULL);

	return g_build_filename(state_dir, base, NULL);
}

static bool check_name(const char *name, GError **error)
{
	if (kite_net_name_valid(name))
		return true;
	g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_INVALID,
		    _("invalid network name '%s'"), name ? name : "");
	return false;
}

static bool state_save(const NetState *st, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *data = NULL;
	gsize len;

	g_key_file_set_string(kf, "network", "name", st->name);
	if (st->uuid)
		g_key_file_set_string(kf, "network", "uuid", st->uuid);
	g_key_file_set_string(kf, "network", "mode", kite_net_forward_mode_to_string(st->mode));
	if (st->bridge) {
		g_key_file_set_string(kf, "bridge", "name", st->bridge);
		g_key_file_set_boolean(kf, "bridge", "created", st->bridge_created);
	}
	if (st->nft_table)
		g_key_file_set_string(kf, "nftables", "table", st->nft_table);
	if (st->conf_path) {
		g_key_file_set_string(kf, "dnsmasq", "conf", st->conf_path);
		g_key_file_set_string(kf, "dnsmasq", "pidfile", st->pid_path);
		g_key_file_set_string(kf, "dnsmasq", "leasefile", st->lease_path);
		g_key_file_set_integer(kf, "dnsmasq", "pid", (int)st->dnsmasq_pid);
	}
	data = g_key_file_to_data(kf, &len, NULL);
	return g_file_set_contents_full(st->state_path, data, (gssize)len,
					G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* Paths read back from the state file must be ours: inside STATE_DIR, named after NAME. */
static char *expected_path(const char *state_dir, const char *name, const char *ext,
			   const char *recorded)
{
	g_autofree char *want = state_file(state_dir, name, ext);

	if (!recorded || strcmp(recorded, want) != 0)
		return NULL;
	return g_steal_pointer(&want);
}

static NetState *state_load(const char *name, const char *state_dir, GError **error)
{
	g_autoptr(NetState) st = g_new0(NetState, 1);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_autofree char *mode = NULL, *saved_name = NULL, *table = NULL;
	g_autofree char *conf = NULL, *pid = NULL, *lease = NULL;

	st->name = g_strdup(name);
	st->state_path = state_file(state_dir, name, ".state");
	if (!g_key_file_load_from_file(kf, st->state_path, G_KEY_FILE_NONE, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_NOT_ACTIVE,
				    _("network '%s' is not active (no %s)"), name, st->state_path);
		else
			g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
				    _("cannot read state file %s: %s"), st->state_path,
				    local->message);
		return NULL;
	}
	saved_name = g_key_file_get_string(kf, "network", "name", NULL);
	mode = g_key_file_get_string(kf, "network", "mode", NULL);
	if (!saved_name || strcmp(saved_name, name) != 0 ||
	    !kite_net_forward_mode_from_string(mode, &st->mode)) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("state file %s is damaged"), st->state_path);
		return NULL;
	}
	st->uuid = g_key_file_get_string(kf, "network", "uuid", NULL);
	st->bridge = g_key_file_get_string(kf, "bridge", "name", NULL);
	if (st->bridge && !kite_net_ifname_valid(st->bridge))
		g_clear_pointer(&st->bridge, g_free);
	st->bridge_created = g_key_file_get_boolean(kf, "bridge", "created", NULL);
	table = g_key_file_get_string(kf, "nftables", "table", NULL);
	if (table) {
		g_autofree char *want = kite_fw_table_name(name);

		if (strcmp(table, want) == 0)
			st->nft_table = g_steal_pointer(&want);
	}
	conf = g_key_file_get_string(kf, "dnsmasq", "conf", NULL);
	if (conf) {
		pid = g_key_file_get_string(kf, "dnsmasq", "pidfile", NULL);
		lease = g_key_file_get_string(kf, "dnsmasq", "leasefile", NULL);
		st->conf_path = expected_path(state_dir, name, ".conf", conf);
		st->pid_path = expected_path(state_dir, name, ".pid", pid);
		st->lease_path = expected_path(state_dir, name, ".leases", lease);
		if (!st->conf_path || !st->pid_path || !st->lease_path) {
			g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
				    _("state file %s names files outside %s"), st->state_path,
				    state_dir);
			return NULL;
		}
		st->dnsmasq_pid = (pid_t)g_key_file_get_integer(kf, "dnsmasq", "pid", NULL);
	}
	return g_steal_pointer(&st);
}

static void note_first_error(GError **first, GError *err)
{
	if (!err)
		return;
	g_message("%s", err->message);
	if (first && !*first)
		*first = err;
	else
		g_error_free(err);
}

static void stop_dnsmasq(NetState *st)
{
	pid_t from_file;

	if (!st->conf_path)
		return;
	/* adopt may have restarted it: the pidfile knows the newest one */
	from_file = kite_dnsmasq_read_pidfile(st->pid_path);
	if (from_file)
		kite_dnsmasq_kill(from_file, st->conf_path);
	if (st->dnsmasq_pid && st->dnsmasq_pid != from_file)
		kite_dnsmasq_kill(st->dnsmasq_pid, st->conf_path);
	st->dnsmasq_pid = 0;
}

/*
 * Removes whatever ST records, newest first, each only if still ours.
 * Returns false (first problem in ERROR) if something ours could not be
 * removed; the state file is then kept so that a later stop can retry.
 */
static bool teardown(NetState *st, GError **error)
{
	GError *first = NULL;
	struct nl_sock *sk = NULL;

	stop_dnsmasq(st);
	if (st->conf_path &&
	    kite_dnsmasq_is_ours(kite_dnsmasq_read_pidfile(st->pid_path), st->conf_path))
		note_first_error(&first,
				 g_error_new(KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
					     _("dnsmasq of network '%s' does not exit"), st->name));
	if (st->nft_table) {
		GError *err = NULL;

		switch (kite_fw_table_ownership(st->nft_table, st->name, &err)) {
		case KITE_FW_OURS:
			kite_fw_delete(st->nft_table, &err);
			break;
		case KITE_FW_FOREIGN:
			if (!err)
				g_message(_("nft table inet %s does not carry the mark of network "
					    "'%s': left alone"),
					  st->nft_table, st->name);
			break;
		case KITE_FW_ABSENT:
			break;
		}
		note_first_error(&first, err);
	}
	if (st->bridge && st->bridge_created) {
		GError *err = NULL;

		sk = kite_nl_open(&err);
		if (sk) {
			switch (kite_bridge_ownership(sk, st->bridge, st->name)) {
			case KITE_LINK_OURS:
				kite_link_delete(sk, st->bridge, &err);
				break;
			case KITE_LINK_FOREIGN:
				g_message(_("interface '%s' is no longer the bridge of network "
					    "'%s': left alone"),
					  st->bridge, st->name);
				break;
			case KITE_LINK_ABSENT:
				break;
			}
			kite_nl_close(sk);
		}
		note_first_error(&first, err);
	}
	if (first) {
		g_propagate_error(error, first);
		return false;
	}
	if (st->conf_path) {
		unlink(st->conf_path);
		unlink(st->pid_path);
		unlink(st->lease_path);
	}
	unlink(st->state_path);
	return true;
}

bool kite_network_is_recorded(const char *name, const char *state_dir)
{
	g_autofree char *path = NULL;

	if (!kite_net_name_valid(name))
		return false;
	path = state_file(state_dir, name, ".state");
	return g_file_test(path, G_FILE_TEST_EXISTS);
}

char *kite_network_get_bridge(const char *name, const char *state_dir)
{
	g_autoptr(NetState) st =
	    kite_net_name_valid(name) ? state_load(name, state_dir, NULL) : NULL;

	return st ? g_steal_pointer(&st->bridge) : NULL;
}

static bool needs_firewall(KiteNetForwardMode mode)
{
	return mode == KITE_NET_FORWARD_NAT || mode == KITE_NET_FORWARD_ROUTE ||
	       mode == KITE_NET_FORWARD_ISOLATED;
}

static bool set_up_firewall(NetState *st, const KiteNetConfig *c, GError **error)
{
	g_autofree char *table = kite_fw_table_name(c->name);
	GError *err = NULL;

	switch (kite_fw_table_ownership(table, c->name, &err)) {
	case KITE_FW_FOREIGN:
		if (!err)
			err = g_error_new(KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
					  _("nft table inet %s already exists and is not ours"),
					  table);
		g_propagate_error(error, err);
		return false;
	case KITE_FW_OURS:
		/* left by a run that lost its state file: ours by its mark */
		if (!kite_fw_delete(table, error))
			return false;
		break;
	case KITE_FW_ABSENT:
		break;
	}
	g_free(st->nft_table);
	st->nft_table = g_strdup(table);
	if (!state_save(st, error))
		return false;
	return kite_fw_create(c, st->bridge, table, error);
}

static bool start_dnsmasq(NetState *st, const KiteNetConfig *c, const char *state_dir,
			  GError **error)
{
	g_free(st->conf_path);
	g_free(st->pid_path);
	g_free(st->lease_path);
	st->conf_path = state_file(state_dir, c->name, ".conf");
	st->pid_path = state_file(state_dir, c->name, ".pid");
	st->lease_path = state_file(state_dir, c->name, ".leases");
	if (!state_save(st, error))
		return false;
	if (!kite_dnsmasq_write_conf(c, st->bridge, st->conf_path, st->pid_path, st->lease_path,
				     error))
		return false;
	if (!kite_dnsmasq_spawn(c->name, st->conf_path, st->pid_path, &st->dnsmasq_pid, error))
		return false;
	return state_save(st, error);
}

static bool check_subnets_unprefixed(struct nl_sock *sk, const KiteNetConfig *c, const char *ignore,
				     GError **error)
{
	KiteNetPrefix p;

	if (c->ipv4_address && kite_net_parse_ip(c->ipv4_address, AF_INET, &p)) {
		p.prefix = c->ipv4_prefix;
		kite_net_prefix_mask(&p);
		if (!kite_check_subnet_free(sk, &p, ignore, error))
			return false;
	}
	if (c->ipv6_address && kite_net_parse_ip(c->ipv6_address, AF_INET6, &p)) {
		p.prefix = c->ipv6_prefix;
		kite_net_prefix_mask(&p);
		if (!kite_check_subnet_free(sk, &p, ignore, error))
			return false;
	}
	return true;
}

static bool check_subnets(struct nl_sock *sk, const KiteNetConfig *c, const char *ignore,
			  GError **error)
{
	if (check_subnets_unprefixed(sk, c, ignore, error))
		return true;
	g_prefix_error(error, _("network '%s': "), c->name);
	return false;
}

static bool configure_bridge(struct nl_sock *sk, const KiteNetConfig *c, const char *bridge,
			     GError **error)
{
	KiteNetPrefix p;

	if (c->ipv4_address && kite_net_parse_ip(c->ipv4_address, AF_INET, &p)) {
		p.prefix = c->ipv4_prefix;
		if (!kite_link_add_address(sk, bridge, &p, error))
			return false;
	}
	if (c->ipv6_address && kite_net_parse_ip(c->ipv6_address, AF_INET6, &p)) {
		p.prefix = c->ipv6_prefix;
		if (!kite_link_add_address(sk, bridge, &p, error))
			return false;
	}
	if (!kite_link_set_up(sk, bridge, error))
		return false;
	for (size_t i = 0; i < c->n_routes; i++) {
		KiteNetPrefix dst, gw;

		kite_net_parse_ip(c->routes[i].address, AF_UNSPEC, &dst);
		dst.prefix = c->routes[i].prefix;
		kite_net_prefix_mask(&dst);
		kite_net_parse_ip(c->routes[i].gateway, dst.family, &gw);
		if (!kite_link_add_route(sk, bridge, &dst, &gw, error))
			return false;
	}
	return true;
}

/* A state file left by a crashed daemon whose bridge is gone: clean it up. */
static bool clear_stale_state(const char *name, const char *state_dir, struct nl_sock *sk,
			      GError **error)
{
	g_autoptr(NetState) old = state_load(name, state_dir, NULL);

	if (!old)
		return true;
	if (old->mode == KITE_NET_FORWARD_BRIDGE ||
	    (old->bridge && kite_bridge_ownership(sk, old->bridge, name) == KITE_LINK_OURS)) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_ACTIVE,
			    _("network '%s' is already active"), name);
		return false;
	}
	return teardown(old, error);
}

bool kite_network_start(const KiteNetConfig *c, const char *state_dir, GError **error)
{
	g_autoptr(NetState) st = NULL;
	struct nl_sock *sk = NULL;
	bool ok = false;

	if (!kite_net_config_validate(c, error))
		return false;
	if (g_mkdir_with_parents(state_dir, 0755) < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot create state directory %s: %s"), state_dir,
			    g_strerror(errno));
		return false;
	}
	sk = kite_nl_open(error);
	if (!sk)
		return false;
	if (!clear_stale_state(c->name, state_dir, sk, error))
		goto out_nl;

	st = g_new0(NetState, 1);
	st->name = g_strdup(c->name);
	st->uuid = g_strdup(c->uuid);
	st->mode = c->forward_mode;
	st->state_path = state_file(state_dir, c->name, ".state");

	if (c->forward_mode == KITE_NET_FORWARD_BRIDGE) {
		/* the host's bridge is used as it is: verify, create nothing */
		if (!kite_link_is_bridge(sk, c->bridge)) {
			g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_NO_BRIDGE,
				    kite_link_exists(sk, c->bridge)
					? _("network '%s': host interface '%s' is not a bridge")
					: _("network '%s': host bridge '%s' does not exist"),
				    c->name, c->bridge);
			goto out_nl;
		}
		st->bridge = g_strdup(c->bridge);
		ok = state_save(st, error);
		goto out_nl;
	}

	st->bridge = c->bridge ? g_strdup(c->bridge) : kite_bridge_pick_free_name(sk, error);
	if (!st->bridge)
		goto out_nl;
	switch (kite_bridge_ownership(sk, st->bridge, c->name)) {
	case KITE_LINK_FOREIGN:
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_BRIDGE_IN_USE,
			    _("network '%s': bridge name '%s' is already in use by another "
			      "interface"),
			    c->name, st->bridge);
		goto out_nl;
	case KITE_LINK_OURS:
		/* marked for this network but unrecorded: a crash's leftover */
		if (!kite_link_delete(sk, st->bridge, error))
			goto out_nl;
		break;
	case KITE_LINK_ABSENT:
		break;
	}
	if (!check_subnets(sk, c, NULL, error))
		goto out_nl;

	st->bridge_created = true;
	if (!state_save(st, error))
		goto out_nl;
	if (!kite_bridge_create(sk, c, st->bridge, error)) {
		/* it may be someone else's bridge that won the race: not ours to remove */
		st->bridge_created = false;
		goto undo;
	}
	if (!configure_bridge(sk, c, st->bridge, error))
		goto undo;
	if (c->forward_mode != KITE_NET_FORWARD_ISOLATED &&
	    !kite_sysctl_enable_forwarding(c->ipv4_address != NULL, c->ipv6_address != NULL, error))
		goto undo;
	if (needs_firewall(c->forward_mode) && !set_up_firewall(st, c, error))
		goto undo;
	if (kite_net_needs_dnsmasq(c) && !start_dnsmasq(st, c, state_dir, error))
		goto undo;
	ok = true;
	goto out_nl;

undo:
	/* on failure the state file stays, so that the next start or stop retries */
	teardown(st, NULL);
out_nl:
	kite_nl_close(sk);
	return ok;
}

bool kite_network_stop(const char *name, const char *state_dir, GError **error)
{
	g_autoptr(NetState) st = NULL;

	if (!check_name(name, error))
		return false;
	st = state_load(name, state_dir, error);
	if (!st)
		return false;
	return teardown(st, error);
}

bool kite_network_adopt(const KiteNetConfig *c, const char *state_dir, GError **error)
{
	g_autoptr(NetState) st = NULL;
	struct nl_sock *sk = NULL;
	bool running;
	bool ok = false;

	if (!kite_net_config_validate(c, error))
		return false;
	st = state_load(c->name, state_dir, error);
	if (!st)
		return false;
	sk = kite_nl_open(error);
	if (!sk)
		return false;
	if (st->mode == KITE_NET_FORWARD_BRIDGE)
		running = st->bridge && kite_link_is_bridge(sk, st->bridge);
	else
		running =
		    st->bridge && kite_bridge_ownership(sk, st->bridge, c->name) == KITE_LINK_OURS;
	if (!running) {
		/* e.g. the host rebooted but the state directory survived */
		teardown(st, NULL);
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_NOT_ACTIVE,
			    _("network '%s' is not running any more (bridge '%s' is gone)"),
			    c->name, st->bridge ? st->bridge : "?");
		goto out;
	}
	if (st->mode == KITE_NET_FORWARD_BRIDGE) {
		ok = true;
		goto out;
	}
	if (c->forward_mode != st->mode) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_INVALID,
			    _("network '%s' runs in mode %s, not %s: stop and start it to change"),
			    c->name, kite_net_forward_mode_to_string(st->mode),
			    kite_net_forward_mode_to_string(c->forward_mode));
		goto out;
	}
	if (c->forward_mode != KITE_NET_FORWARD_ISOLATED &&
	    !kite_sysctl_enable_forwarding(c->ipv4_address != NULL, c->ipv6_address != NULL, error))
		goto out;
	if (needs_firewall(c->forward_mode)) {
		g_autofree char *table = kite_fw_table_name(c->name);
		GError *err = NULL;

		switch (kite_fw_table_ownership(table, c->name, &err)) {
		case KITE_FW_OURS:
			g_free(st->nft_table);
			st->nft_table = g_steal_pointer(&table);
			break;
		case KITE_FW_ABSENT:
			if (!set_up_firewall(st, c, error))
				goto out;
			break;
		case KITE_FW_FOREIGN:
			if (!err)
				err = g_error_new(KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
						  _("nft table inet %s is not ours"), table);
			g_propagate_error(error, err);
			goto out;
		}
	}
	if (kite_net_needs_dnsmasq(c)) {
		g_autofree char *pid_path = state_file(state_dir, c->name, ".pid");
		g_autofree char *conf_path = state_file(state_dir, c->name, ".conf");
		pid_t pid = kite_dnsmasq_read_pidfile(pid_path);

		if (pid && kite_dnsmasq_is_ours(pid, conf_path)) {
			st->dnsmasq_pid = pid;
			if (!st->conf_path) {
				st->conf_path = g_steal_pointer(&conf_path);
				st->pid_path = g_steal_pointer(&pid_path);
				st->lease_path = state_file(state_dir, c->name, ".leases");
			}
		} else {
			kite_dnsmasq_wait_exiting(pid);
			if (!start_dnsmasq(st, c, state_dir, error))
				goto out;
		}
	}
	ok = state_save(st, error);
out:
	kite_nl_close(sk);
	return ok;
}

bool kite_network_leases(const char *name, const char *state_dir, GPtrArray **out, GError **error)
{
	g_autoptr(NetState) st = NULL;
	g_autoptr(GPtrArray) leases =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kite_net_lease_free);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) lines = NULL;

	if (!check_name(name, error))
		return false;
	st = state_load(name, state_dir, error);
	if (!st)
		return false;
	if (st->lease_path && !g_file_get_contents(st->lease_path, &text, NULL, &local) &&
	    !g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot read leases of network '%s': %s"), name, local->message);
		return false;
	}
	lines = g_strsplit(text ? text : "", "\n", -1);
	for (char **l = lines; *l; l++) {
		/* dnsmasq: "EXPIRY MAC IP HOSTNAME CLIENTID"; IPv6 blocks follow "duid" */
		g_auto(GStrv) f = g_strsplit_set(g_strstrip(*l), " \t", -1);
		KiteNetLease *lease;
		KiteNetPrefix ip;
		char *end;
		gint64 expiry;

		if (g_strv_length(f) < 4 || !kite_net_parse_ip(f[2], AF_INET, &ip))
			continue;
		expiry = g_ascii_strtoll(f[0], &end, 10);
		if (*end || expiry < 0)
			continue;
		lease = g_new0(KiteNetLease, 1);
		lease->expiry = expiry;
		lease->mac = g_strdup(f[1]);
		lease->ip = g_strdup(f[2]);
		lease->hostname = strcmp(f[3], "*") ? g_strdup(f[3]) : NULL;
		lease->client_id = f[4] && strcmp(f[4], "*") ? g_strdup(f[4]) : NULL;
		g_ptr_array_add(leases, lease);
	}
	*out = g_steal_pointer(&leases);
	return true;
}
