/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event registrations live with their client and die with it. Callback IDs
 * are numbered across the whole daemon, as libvirtd does.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "daemon.h"
#include "domain.h"
#include "events.h"
#include "network.h"
#include "procs.h"

enum reg_kind {
	REG_DOMAIN_CALLBACK, /* 316: messages carry the callback ID */
	REG_DOMAIN_ANY,	     /* 167: legacy, one per event ID */
	REG_DOMAIN_LEGACY,   /* 105: legacy lifecycle only */
	REG_NETWORK,	     /* 313 */
};

struct event_reg {
	enum reg_kind kind;
	int callback_id;
	int event_id;
	bool filtered;
	uint8_t uuid[UUID_LEN];
};

static int next_callback_id = 1;

static GArray *regs(struct client *c)
{
	if (!c->events)
		c->events = g_array_new(FALSE, FALSE, sizeof(struct event_reg));
	return c->events;
}

void events_client_gone(struct client *c)
{
	if (c->events)
		g_array_set_size(c->events, 0);
}

static bool remove_reg(struct client *c, enum reg_kind kind, int key, bool by_event)
{
	GArray *a = regs(c);
	for (guint i = 0; i < a->len; i++) {
		struct event_reg *r = &g_array_index(a, struct event_reg, i);
		if (r->kind == kind && (by_event ? r->event_id : r->callback_id) == key) {
			g_array_remove_index(a, i);
			return true;
		}
	}
	return false;
}

static bool has_reg(struct client *c, enum reg_kind kind, int event_id)
{
	GArray *a = regs(c);
	for (guint i = 0; i < a->len; i++) {
		struct event_reg *r = &g_array_index(a, struct event_reg, i);
		if (r->kind == kind && r->event_id == event_id)
			return true;
	}
	return false;
}

bool events_proc(struct client *c, int proc, struct xdr_in *in, GByteArray *out, GError **err)
{
	struct event_reg r = {0};
	int32_t id;
	uint32_t present;
	struct wire_ref ref = {0};

	switch (proc) {
	case PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY:
	case PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY: {
		bool dom = proc == PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;
		if (!xdr_get_i32(in, &id) || !xdr_get_u32(in, &present) || present > 1)
			return malformed(err, "eventID, object");
		if (present && !(dom ? wire_get_domain(in, &ref) : wire_get_network(in, &ref))) {
			wire_ref_clear(&ref);
			return malformed(err, "object");
		}
		wire_ref_clear(&ref);
		if (!args_end(in, err))
			return false;
		if (id < 0 || id >= (dom ? DOMAIN_EVENT_ID_LAST : NETWORK_EVENT_ID_LAST)) {
			virt_error(err, VERR_INVALID_ARG, _("unsupported event ID %d"), id);
			return false;
		}
		r.kind = dom ? REG_DOMAIN_CALLBACK : REG_NETWORK;
		r.event_id = id;
		r.filtered = present;
		memcpy(r.uuid, ref.uuid, UUID_LEN);
		r.callback_id = next_callback_id++;
		g_array_append_val(regs(c), r);
		xdr_put_i32(out, r.callback_id);
		return true;
	}
	case PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY:
	case PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY:
		if (!xdr_get_i32(in, &id))
			return malformed(err, "callbackID");
		if (!args_end(in, err))
			return false;
		if (!remove_reg(c,
				proc == PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY
				    ? REG_NETWORK
				    : REG_DOMAIN_CALLBACK,
				id, false)) {
			virt_error(err, VERR_INVALID_ARG,
				   _("could not find event callback %d for deregistration"), id);
			return false;
		}
		return true;
	case PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY:
		if (!xdr_get_i32(in, &id))
			return malformed(err, "eventID");
		if (!args_end(in, err))
			return false;
		/* The legacy messages exist only for the older event IDs. */
		if (id < 0 || id >= 16) {
			virt_error(err, VERR_INVALID_ARG, _("unsupported event ID %d"), id);
			return false;
		}
		if (has_reg(c, REG_DOMAIN_ANY, id)) {
			virt_error(err, VERR_INTERNAL_ERROR,
				   _("domain event %d already registered"), id);
			return false;
		}
		r.kind = REG_DOMAIN_ANY;
		r.event_id = id;
		r.callback_id = next_callback_id++;
		g_array_append_val(regs(c), r);
		return true;
	case PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY:
		if (!xdr_get_i32(in, &id))
			return malformed(err, "eventID");
		if (!args_end(in, err))
			return false;
		if (!remove_reg(c, REG_DOMAIN_ANY, id, true)) {
			virt_error(err, VERR_INTERNAL_ERROR, _("domain event %d not registered"),
				   id);
			return false;
		}
		return true;
	case PROC_CONNECT_DOMAIN_EVENT_REGISTER:
		if (!args_end(in, err))
			return false;
		if (!has_reg(c, REG_DOMAIN_LEGACY, DOMAIN_EVENT_ID_LIFECYCLE)) {
			r.kind = REG_DOMAIN_LEGACY;
			r.event_id = DOMAIN_EVENT_ID_LIFECYCLE;
			r.callback_id = next_callback_id++;
			g_array_append_val(regs(c), r);
		}
		xdr_put_i32(out, 1);
		return true;
	case PROC_CONNECT_DOMAIN_EVENT_DEREGISTER:
		if (!args_end(in, err))
			return false;
		remove_reg(c, REG_DOMAIN_LEGACY, DOMAIN_EVENT_ID_LIFECYCLE, true);
		xdr_put_i32(out, 0);
		return true;
	}
	virt_error(err, VERR_NO_SUPPORT, _("unknown event procedure %d"), proc);
	return false;
}

static GByteArray *message_new(int proc)
{
	struct rpc_header h = {
	    .prog = RPC_PROGRAM_REMOTE,
	    .vers = RPC_PROTOCOL_VERSION,
	    .proc = proc,
	    .type = RPC_MESSAGE,
	    .serial = 1,
	    .status = RPC_OK,
	};
	return rpc_packet_new(&h);
}

static void put_dom(GByteArray *p, struct domain *d)
{
	wire_put_domain(p, domain_name(d), domain_uuid(d), domain_id(d));
}

/* Calls emit(c, reg, opaque) for every matching registration; a legacy
 * registration (105 or 167) is served at most once per client. */
typedef void (*emit_fn)(struct client *c, const struct event_reg *r, bool legacy, void *opaque);

static void for_each_reg(int event_id, bool network, const uint8_t *uuid, emit_fn emit,
			 void *opaque)
{
	/* Sending may drop a client (and its list node): walk a copy. */
	GList *all = g_list_copy(server_clients());
	for (GList *l = all; l; l = l->next)
		client_ref(l->data);
	for (GList *l = all; l; l = l->next) {
		struct client *c = l->data;
		if (c->dead || !c->events || !c->opened)
			continue;
		bool legacy_done = false;
		for (guint i = 0; i < c->events->len; i++) {
			struct event_reg r = g_array_index(c->events, struct event_reg, i);
			if (r.event_id != event_id || (r.kind == REG_NETWORK) != network)
				continue;
			if (r.filtered && memcmp(r.uuid, uuid, UUID_LEN) != 0)
				continue;
			if (r.kind == REG_DOMAIN_ANY || r.kind == REG_DOMAIN_LEGACY) {
				if (legacy_done)
					continue;
				legacy_done = true;
				emit(c, &r, true, opaque);
			} else {
				emit(c, &r, false, opaque);
			}
		}
	}
	for (GList *l = all; l; l = l->next)
		client_unref(l->data);
	g_list_free(all);
}

struct lifecycle {
	struct domain *d;
	struct network *n;
	int event, detail;
};

static void emit_lifecycle(struct client *c, const struct event_reg *r, bool legacy, void *opaque)
{
	struct lifecycle *e = opaque;
	GByteArray *p;

	if (e->n) {
		p = message_new(PROC_NETWORK_EVENT_LIFECYCLE);
		xdr_put_i32(p, r->callback_id);
		wire_put_network(p, e->n->def->name, e->n->def->uuid);
	} else if (legacy) {
		p = message_new(PROC_DOMAIN_EVENT_LIFECYCLE);
		put_dom(p, e->d);
	} else {
		p = message_new(PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
		xdr_put_i32(p, r->callback_id);
		put_dom(p, e->d);
	}
	xdr_put_i32(p, e->event);
	xdr_put_i32(p, e->detail);
	rpc_packet_finish(p);
	client_send(c, p);
}

void events_domain_lifecycle(struct domain *d, int event, int detail)
{
	struct lifecycle e = {.d = d, .event = event, .detail = detail};
	for_each_reg(DOMAIN_EVENT_ID_LIFECYCLE, false, domain_uuid(d), emit_lifecycle, &e);
}

void events_network_lifecycle(struct network *n, int event, int detail)
{
	struct lifecycle e = {.n = n, .event = event, .detail = detail};
	for_each_reg(NETWORK_EVENT_ID_LIFECYCLE, true, n->def->uuid, emit_lifecycle, &e);
}

static void emit_reboot(struct client *c, const struct event_reg *r, bool legacy, void *opaque)
{
	GByteArray *p = message_new(legacy ? 169 : PROC_DOMAIN_EVENT_CALLBACK_REBOOT);
	if (!legacy)
		xdr_put_i32(p, r->callback_id);
	put_dom(p, opaque);
	rpc_packet_finish(p);
	client_send(c, p);
}

void events_domain_reboot(struct domain *d)
{
	for_each_reg(DOMAIN_EVENT_ID_REBOOT, false, domain_uuid(d), emit_reboot, d);
}

struct device_event {
	struct domain *d;
	const char *alias;
	bool added;
};

static void emit_device(struct client *c, const struct event_reg *r, bool legacy, void *opaque)
{
	struct device_event *e = opaque;
	GByteArray *p;

	if (e->added && legacy)
		return; /* device-added has no legacy message */
	if (legacy)
		p = message_new(311);
	else
		p = message_new(e->added ? PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED
					 : PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED);
	if (!legacy)
		xdr_put_i32(p, r->callback_id);
	put_dom(p, e->d);
	xdr_put_string(p, e->alias ? e->alias : "");
	rpc_packet_finish(p);
	client_send(c, p);
}

void events_domain_device(struct domain *d, const char *alias, bool added)
{
	struct device_event e = {d, alias, added};
	for_each_reg(added ? DOMAIN_EVENT_ID_DEVICE_ADDED : DOMAIN_EVENT_ID_DEVICE_REMOVED, false,
		     domain_uuid(d), emit_device, &e);
}
