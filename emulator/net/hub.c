/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hub.h"

#include <glib/gi18n.h>

#include "../error.h"

static GList *hubs;

GList *net_hub_list(void)
{
	return hubs;
}

NetHub *net_hub_find(int hub_id)
{
	for (GList *l = hubs; l; l = l->next) {
		NetHub *hub = l->data;
		if (hub->id == hub_id)
			return hub;
	}
	return NULL;
}

static NetHub *port_hub(NetClient *port)
{
	return net_hub_find(port->hub_id);
}

static void fan_out(NetHub *hub, NetClient *from, const struct iovec *iov, int iovcnt)
{
	/* Each other port forwards to its own peer; a slow member queues or
	 * drops on its own account without holding back the rest. */
	for (GList *l = hub->ports; l; l = l->next) {
		NetClient *port = l->data;
		if (port != from)
			net_send_iov(port, iov, iovcnt);
	}
}

static ssize_t hub_port_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	NetHub *hub = port_hub(nc);
	size_t len = net_iov_size(iov, iovcnt);
	if (hub->forwarding) {
		/*
		 * A member answered synchronously while the frame that caused
		 * the answer is still being handed round (slirp replies from
		 * inside its input call). The answer goes round afterwards, so
		 * every member, a capture included, sees cause before effect.
		 */
		NetQueuedFrame *f = g_malloc(sizeof(*f) + len);
		f->sender = nc;
		f->len = len;
		net_iov_to_buf(iov, iovcnt, f->data, len);
		g_queue_push_tail(&hub->deferred, f);
		return len;
	}
	hub->forwarding = true;
	fan_out(hub, nc, iov, iovcnt);
	NetQueuedFrame *f;
	while ((f = g_queue_pop_head(&hub->deferred))) {
		struct iovec v = {.iov_base = f->data, .iov_len = f->len};
		fan_out(hub, f->sender, &v, 1);
		g_free(f);
	}
	hub->forwarding = false;
	return len;
}

bool net_hub_port_can_accept(NetClient *port)
{
	NetHub *hub = port_hub(port);
	bool others = false;
	for (GList *l = hub->ports; l; l = l->next) {
		NetClient *p = l->data;
		if (p == port || !p->peer)
			continue;
		others = true;
		if (net_peer_can_accept(p))
			return true;
	}
	return !others;
}

/* Frames a port parked at its peer drained: the senders on the other ports
 * may have paused because of it. */
static void hub_port_drained(NetClient *nc)
{
	NetHub *hub = port_hub(nc);
	for (GList *l = hub->ports; l; l = l->next) {
		NetClient *p = l->data;
		NetClient *src = p->peer;
		if (p == nc || !src || !src->waiting_for_drain || !net_peer_can_accept(src))
			continue;
		src->waiting_for_drain = false;
		if (src->ops && src->ops->peer_queue_drained)
			src->ops->peer_queue_drained(src);
	}
}

static const NetClientOps hub_port_ops = {
    .receive = hub_port_receive,
    .peer_queue_drained = hub_port_drained,
};

NetClient *net_hub_add_port(int hub_id, const char *name)
{
	NetHub *hub = net_hub_find(hub_id);
	if (!hub) {
		hub = g_new0(NetHub, 1);
		hub->id = hub_id;
		g_queue_init(&hub->deferred);
		hubs = g_list_append(hubs, hub);
	}
	char *gen = NULL;
	if (!name)
		name = gen = g_strdup_printf("hub%dport%d", hub_id, hub->next_port_index);
	hub->next_port_index++;
	NetClient *nc = net_client_new(NET_CLIENT_HUBPORT, "hubport", name, &hub_port_ops, hub);
	nc->hub_id = hub_id;
	hub->ports = g_list_append(hub->ports, nc);
	g_free(gen);
	return nc;
}

void net_hub_remove_port(NetClient *port)
{
	NetHub *hub = port_hub(port);
	if (hub) {
		hub->ports = g_list_remove(hub->ports, port);
		for (GList *l = hub->deferred.head; l;) {
			GList *next = l->next;
			NetQueuedFrame *f = l->data;
			if (f->sender == port) {
				g_queue_delete_link(&hub->deferred, l);
				g_free(f);
			}
			l = next;
		}
	}
	net_client_free(port);
}

int net_hub_id_for_client(NetClient *nc)
{
	if (nc->type == NET_CLIENT_HUBPORT)
		return nc->hub_id;
	if (nc->peer && nc->peer->type == NET_CLIENT_HUBPORT)
		return nc->peer->hub_id;
	return -1;
}

void net_hub_free_all(void)
{
	while (hubs) {
		NetHub *hub = hubs->data;
		while (hub->ports)
			net_hub_remove_port(hub->ports->data);
		hubs = g_list_remove(hubs, hub);
		g_free(hub);
	}
}

void net_hub_check(void)
{
	for (GList *h = hubs; h; h = h->next) {
		NetHub *hub = h->data;
		bool has_nic = false, has_host = false;
		for (GList *p = hub->ports; p; p = p->next) {
			NetClient *port = p->data;
			if (!port->peer) {
				warn_report(_("hub port %s has no peer"), port->name);
				continue;
			}
			if (port->peer->type == NET_CLIENT_NIC)
				has_nic = true;
			else
				has_host = true;
		}
		if (has_host && !has_nic)
			warn_report(_("hub %d with no nics"), hub->id);
		if (has_nic && !has_host)
			warn_report(_("hub %d is not connected to host network"), hub->id);
	}
}
