/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "net.h"
#include "hub.h"
#include "opts.h"

#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static GList *clients; /* creation order, as "info network" lists them */
static GList *filters;
/* Per-model counters for "<model>.<n>" names; QEMU numbers each model apart. */
static GHashTable *model_counters;
/* MACs in use by NICs and reserved by mac= options, so defaults skip them. */
static GHashTable *used_macs;

static const char *const type_names[] = {
    [NET_CLIENT_NIC] = "nic",	      [NET_CLIENT_USER] = "user",
    [NET_CLIENT_TAP] = "tap",	      [NET_CLIENT_SOCKET] = "socket",
    [NET_CLIENT_STREAM] = "stream",   [NET_CLIENT_DGRAM] = "dgram",
    [NET_CLIENT_HUBPORT] = "hubport", [NET_CLIENT_DUMP] = "dump",
    [NET_CLIENT_BRIDGE] = "bridge",   [NET_CLIENT_NONE] = "none",
};

const char *net_client_type_str(NetClientType t)
{
	if ((unsigned)t >= G_N_ELEMENTS(type_names))
		return "unknown";
	return type_names[t];
}

NetClient *net_client_find_queue(const char *name, int index)
{
	for (GList *l = clients; l; l = l->next) {
		NetClient *nc = l->data;
		if (nc->queue_index == index && strcmp(nc->name, name) == 0)
			return nc;
	}
	return NULL;
}

NetClient *net_client_find(const char *name)
{
	return net_client_find_queue(name, 0);
}

GList *net_client_list(void)
{
	return clients;
}

static char *generate_name(const char *model)
{
	if (!model_counters)
		model_counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* Skip numbers a user already took with name=, so names stay unique. */
	for (;;) {
		unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(model_counters, model));
		g_hash_table_insert(model_counters, g_strdup(model), GUINT_TO_POINTER(n + 1));
		char *name = g_strdup_printf("%s.%u", model, n);
		if (!net_client_find(name))
			return name;
		g_free(name);
	}
}

NetClient *net_client_new(NetClientType type, const char *model, const char *name,
			  const NetClientOps *ops, void *opaque)
{
	NetClient *nc = g_new0(NetClient, 1);
	nc->type = type;
	nc->model = g_strdup(model ? model : net_client_type_str(type));
	nc->name = name ? g_strdup(name) : generate_name(nc->model);
	nc->ops = ops;
	nc->opaque = opaque;
	nc->hub_id = -1;
	g_queue_init(&nc->incoming);
	clients = g_list_append(clients, nc);
	return nc;
}

void net_client_set_info(NetClient *nc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(nc->info_str, sizeof(nc->info_str), fmt, ap);
	va_end(ap);
}

void net_client_set_peer(NetClient *a, NetClient *b)
{
	a->peer = b;
	if (b)
		b->peer = a;
}

void net_client_purge_queue(NetClient *nc)
{
	NetQueuedFrame *f;
	while ((f = g_queue_pop_head(&nc->incoming)))
		g_free(f);
}

/* Frames queued at 'nc' whose sender is 'gone' must not outlive it. */
static void forget_sender(NetClient *nc, NetClient *gone)
{
	for (GList *l = nc->incoming.head; l;) {
		GList *next = l->next;
		NetQueuedFrame *f = l->data;
		if (f->sender == gone) {
			g_queue_delete_link(&nc->incoming, l);
			g_free(f);
		}
		l = next;
	}
}

void net_client_free(NetClient *nc)
{
	if (!nc)
		return;
	while (nc->filters)
		net_filter_free(nc->filters->data);
	if (nc->ops && nc->ops->cleanup)
		nc->ops->cleanup(nc);
	if (nc->peer) {
		forget_sender(nc->peer, nc);
		nc->peer->peer = NULL;
	}
	for (GList *l = clients; l; l = l->next)
		forget_sender(l->data, nc);
	net_client_purge_queue(nc);
	clients = g_list_remove(clients, nc);
	g_free(nc->name);
	g_free(nc->model);
	g_free(nc->qom_path);
	g_free(nc);
}

size_t net_iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

size_t net_iov_to_buf(const struct iovec *iov, int iovcnt, void *buf, size_t len)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n = MIN(iov[i].iov_len, len - done);
		memcpy((uint8_t *)buf + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static void run_filters(NetClient *nc, bool rx, const struct iovec *iov, int iovcnt)
{
	for (GList *l = nc->filters; l; l = l->next) {
		NetFilter *nf = l->data;
		nf->frame(nf, rx, iov, iovcnt);
	}
}

static bool queue_full(NetClient *nc)
{
	return g_queue_get_length(&nc->incoming) >= NET_QUEUE_LIMIT;
}

bool net_peer_can_accept(NetClient *sender)
{
	NetClient *peer = sender->peer;
	if (!peer)
		return true; /* frames to nowhere are discarded, never blocked */
	bool ok =
	    peer->type == NET_CLIENT_HUBPORT ? net_hub_port_can_accept(peer) : !queue_full(peer);
	/* A sender told "no" waits for peer_queue_drained. */
	if (!ok)
		sender->waiting_for_drain = true;
	return ok;
}

static bool enqueue(NetClient *peer, NetClient *sender, const struct iovec *iov, int iovcnt,
		    size_t len)
{
	if (queue_full(peer)) {
		peer->stats.rx_dropped++;
		peer->stats.queue_overflow++;
		return false;
	}
	NetQueuedFrame *f = g_malloc(sizeof(*f) + len);
	f->sender = sender;
	f->len = len;
	net_iov_to_buf(iov, iovcnt, f->data, len);
	g_queue_push_tail(&peer->incoming, f);
	peer->stats.queued++;
	sender->waiting_for_drain = true;
	return true;
}

ssize_t net_send_iov(NetClient *sender, const struct iovec *iov, int iovcnt)
{
	size_t len = net_iov_size(iov, iovcnt);
	if (len == 0 || len > NET_MAX_FRAME) {
		sender->stats.tx_dropped++;
		return -1;
	}
	NetClient *peer = sender->peer;
	/* Like a cable pulled out: the sender believes it sent. */
	if (sender->link_down || !peer) {
		sender->stats.tx_dropped++;
		return len;
	}
	run_filters(sender, false, iov, iovcnt);
	run_filters(peer, true, iov, iovcnt);
	if (peer->link_down) {
		peer->stats.rx_dropped++;
		sender->stats.tx_dropped++;
		return len;
	}
	sender->stats.tx_packets++;
	sender->stats.tx_bytes += len;
	/* Frames already waiting go first, so order is kept. */
	bool busy = !g_queue_is_empty(&peer->incoming) ||
		    (peer->ops->can_receive && !peer->ops->can_receive(peer));
	if (!busy) {
		ssize_t r = peer->ops->receive(peer, iov, iovcnt);
		if (r > 0) {
			peer->stats.rx_packets++;
			peer->stats.rx_bytes += len;
			return len;
		}
		if (r < 0) {
			peer->stats.rx_dropped++;
			return len;
		}
	}
	if (!enqueue(peer, sender, iov, iovcnt, len)) {
		sender->stats.tx_packets--;
		sender->stats.tx_bytes -= len;
		sender->stats.tx_dropped++;
		return 0;
	}
	return len;
}

ssize_t net_send(NetClient *sender, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	return net_send_iov(sender, &iov, 1);
}

void net_client_flush_queue(NetClient *nc)
{
	NetQueuedFrame *f;
	GList *senders = NULL;
	while ((f = g_queue_peek_head(&nc->incoming))) {
		if (nc->ops->can_receive && !nc->ops->can_receive(nc))
			break;
		struct iovec iov = {.iov_base = f->data, .iov_len = f->len};
		ssize_t r = nc->ops->receive(nc, &iov, 1);
		if (r == 0)
			break;
		g_queue_pop_head(&nc->incoming);
		if (r > 0) {
			nc->stats.rx_packets++;
			nc->stats.rx_bytes += f->len;
		} else {
			nc->stats.rx_dropped++;
		}
		if (!g_list_find(senders, f->sender))
			senders = g_list_prepend(senders, f->sender);
		g_free(f);
	}
	/* Senders resume once there is room again, not only once it is empty:
	 * a steady trickle of guest buffers keeps the backend flowing. */
	for (GList *l = senders; l; l = l->next) {
		NetClient *s = l->data;
		if (s->waiting_for_drain && !queue_full(nc)) {
			s->waiting_for_drain = false;
			if (s->ops && s->ops->peer_queue_drained)
				s->ops->peer_queue_drained(s);
		}
	}
	g_list_free(senders);
}

bool net_peer_has_vnet_hdr(NetClient *nic)
{
	NetClient *p = nic->peer;
	return p && p->ops && p->ops->has_vnet_hdr && p->ops->has_vnet_hdr(p);
}

void net_peer_using_vnet_hdr(NetClient *nic, size_t hdr_len)
{
	NetClient *p = nic->peer;
	if (p && p->ops && p->ops->using_vnet_hdr) {
		p->ops->using_vnet_hdr(p, hdr_len);
		nic->vnet_hdr_len = hdr_len;
	}
}

void net_peer_set_offload(NetClient *nic, unsigned offloads)
{
	NetClient *p = nic->peer;
	if (p && p->ops && p->ops->set_offload)
		p->ops->set_offload(p, offloads);
}

static void set_link_one(NetClient *nc, bool down)
{
	if (nc->link_down == down)
		return;
	nc->link_down = down;
	if (nc->ops && nc->ops->link_status_changed)
		nc->ops->link_status_changed(nc);
}

int net_set_link(const char *name, bool up, GError **err)
{
	NetClient *nc = net_client_find(name);
	if (!nc) {
		g_set_error(err, KITE_ERROR, KITE_ERR_DEVICE_NOT_FOUND, _("Device '%s' not found"),
			    name);
		return -1;
	}
	set_link_one(nc, !up);
	/*
	 * A NIC's guest sees carrier through the NIC model. When a backend
	 * goes down, its NIC must follow or the guest would keep sending into
	 * a dead link; a hub port is not a NIC's only path, so it is left be.
	 */
	if (nc->peer && nc->type != NET_CLIENT_NIC && nc->peer->type == NET_CLIENT_NIC)
		set_link_one(nc->peer, !up);
	return 0;
}

void net_filter_attach(NetClient *nc, NetFilter *nf)
{
	nf->nc = nc;
	nc->filters = g_list_append(nc->filters, nf);
	filters = g_list_append(filters, nf);
}

void net_filter_free(NetFilter *nf)
{
	if (nf->nc)
		nf->nc->filters = g_list_remove(nf->nc->filters, nf);
	filters = g_list_remove(filters, nf);
	if (nf->cleanup)
		nf->cleanup(nf);
	g_free(nf->id);
	g_free(nf->type_name);
	g_free(nf);
}

NetFilter *net_filter_find(const char *id)
{
	for (GList *l = filters; l; l = l->next) {
		NetFilter *nf = l->data;
		if (strcmp(nf->id, id) == 0)
			return nf;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)g_ascii_tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Six groups of one or two hex digits separated by ':' or '-'. */
bool net_parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	for (int i = 0; i < ETH_ALEN; i++) {
		int hi = hexval(s[0]);
		if (hi < 0)
			return false;
		int lo = hexval(s[1]);
		if (lo >= 0) {
			mac[i] = (uint8_t)(hi << 4 | lo);
			s += 2;
		} else {
			mac[i] = (uint8_t)hi;
			s += 1;
		}
		if (i < ETH_ALEN - 1) {
			if (*s != ':' && *s != '-')
				return false;
			s++;
		}
	}
	return *s == '\0';
}

void net_format_mac(const uint8_t mac[ETH_ALEN], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static guint64 mac_key(const uint8_t mac[ETH_ALEN])
{
	guint64 k = 0;
	for (int i = 0; i < ETH_ALEN; i++)
		k = k << 8 | mac[i];
	return k;
}

void net_mac_mark_used(const uint8_t mac[ETH_ALEN])
{
	if (!used_macs)
		used_macs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	guint64 *k = g_new(guint64, 1);
	*k = mac_key(mac);
	g_hash_table_add(used_macs, k);
}

void net_mac_mark_free(const uint8_t mac[ETH_ALEN])
{
	guint64 k = mac_key(mac);
	if (used_macs)
		g_hash_table_remove(used_macs, &k);
}

/* QEMU's scheme: 52:54:00:12:34:56 counting up in the last byte. The byte
 * wraps after 0xff rather than touching the fixed prefix. */
void net_next_default_mac(uint8_t mac[ETH_ALEN])
{
	static const uint8_t base[5] = {0x52, 0x54, 0x00, 0x12, 0x34};
	memcpy(mac, base, sizeof(base));
	for (unsigned i = 0; i < 256; i++) {
		mac[5] = (uint8_t)(0x56 + i);
		guint64 k = mac_key(mac);
		if (!used_macs || !g_hash_table_contains(used_macs, &k))
			break;
	}
	net_mac_mark_used(mac);
}

void net_reset_default_mac(void)
{
	if (used_macs) {
		g_hash_table_destroy(used_macs);
		used_macs = NULL;
	}
}

bool net_check_id(const char *id)
{
	if (!g_ascii_isalpha(id[0]))
		return false;
	for (const char *p = id; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

static void print_client(GString *out, NetClient *nc)
{
	g_string_append_printf(
	    out, "%s: index=%d,type=%s,%s\n", nc->name, nc->queue_index,
	    net_client_type_str(nc->type == NET_CLIENT_BRIDGE ? NET_CLIENT_TAP : nc->type),
	    nc->info_str);
	if (nc->filters)
		g_string_append(out, "filters:\n");
	for (GList *l = nc->filters; l; l = l->next) {
		NetFilter *nf = l->data;
		g_string_append_printf(out, "  - %s: type=%s", nf->id, nf->type_name);
		if (nf->info)
			nf->info(nf, out);
		g_string_append_c(out, '\n');
	}
}

void net_info_network(GString *out)
{
	for (GList *h = g_list_last(net_hub_list()); h; h = h->prev) {
		NetHub *hub = h->data;
		g_string_append_printf(out, "hub %d\n", hub->id);
		for (GList *p = g_list_last(hub->ports); p; p = p->prev) {
			NetClient *port = p->data;
			g_string_append_printf(out, " \\ %s", port->name);
			if (port->peer) {
				g_string_append(out, ": ");
				print_client(out, port->peer);
			} else {
				g_string_append_c(out, '\n');
			}
		}
	}
	for (GList *l = clients; l; l = l->next) {
		NetClient *nc = l->data;
		if (nc->type == NET_CLIENT_HUBPORT ||
		    (nc->peer && nc->peer->type == NET_CLIENT_HUBPORT))
			continue;
		if (!nc->peer || nc->type == NET_CLIENT_NIC)
			print_client(out, nc);
		if (nc->peer && nc->type == NET_CLIENT_NIC) {
			g_string_append(out, " \\ ");
			print_client(out, nc->peer);
		}
	}
}

void net_cleanup_all(void)
{
	/* Backends first: their cleanup may still want to talk to peers. */
	for (GList *l = g_list_last(clients); l;) {
		GList *prev = l->prev;
		NetClient *nc = l->data;
		if (nc->type != NET_CLIENT_NIC && nc->type != NET_CLIENT_HUBPORT) {
			net_client_free(nc);
		}
		l = prev;
	}
	while (clients) {
		NetClient *nc = clients->data;
		if (nc->type == NET_CLIENT_HUBPORT)
			net_hub_remove_port(nc);
		else
			net_client_free(nc);
	}
	net_hub_free_all();
	if (model_counters) {
		g_hash_table_destroy(model_counters);
		model_counters = NULL;
	}
	net_reset_default_mac();
}
