/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the net layer's mechanics: option grammar, MAC helpers, hub
 * fan-out, the bounded receive queue with its drop counters and resume
 * notifications, link state, and the stream deframer.
 */
#include "framer.h"
#include "hub.h"
#include "main-loop.h"
#include "net-cmdline.h"
#include "net.h"
#include "opts.h"

#include <string.h>

/* A scriptable client: counts frames, can refuse (stalled). */
typedef struct Probe {
	NetClient *nc;
	bool stalled;
	int received;
	size_t last_len;
	uint8_t last[64];
	int drained;
	int link_events;
} Probe;

static ssize_t probe_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	Probe *p = nc->opaque;
	if (p->stalled)
		return 0;
	p->received++;
	p->last_len = net_iov_to_buf(iov, iovcnt, p->last, sizeof(p->last));
	return net_iov_size(iov, iovcnt);
}

static bool probe_can_receive(NetClient *nc)
{
	return !((Probe *)nc->opaque)->stalled;
}

static void probe_drained(NetClient *nc)
{
	((Probe *)nc->opaque)->drained++;
}

static void probe_link(NetClient *nc)
{
	((Probe *)nc->opaque)->link_events++;
}

static const NetClientOps probe_ops = {
    .receive = probe_receive,
    .can_receive = probe_can_receive,
    .peer_queue_drained = probe_drained,
    .link_status_changed = probe_link,
};

static Probe *probe_new(NetClientType type, const char *name)
{
	Probe *p = g_new0(Probe, 1);
	p->nc = net_client_new(type, NULL, name, &probe_ops, p);
	return p;
}

static void test_opts_grammar(void)
{
	GError *err = NULL;
	g_autoptr(KiteOpts) o = kite_opts_parse("-netdev",
						"user,id=a,,b,hostfwd=tcp::1-:2,"
						"hostfwd=udp::3-:4,restrict,,",
						"type", &err);
	g_assert_cmpstr(kite_opts_get(o, "type"), ==, "user");
	g_assert_cmpstr(kite_opts_get(o, "id"), ==, "a,b");
	g_autofree const char **all = kite_opts_get_all(o, "hostfwd");
	g_assert_cmpstr(all[0], ==, "tcp::1-:2");
	g_assert_cmpstr(all[1], ==, "udp::3-:4");
	g_assert_null(all[2]);
	/* A bare key in a later position means "on"; empty elements vanish. */
	g_assert_cmpstr(kite_opts_get(o, "restrict"), ==, "on");
	g_assert_cmpuint(o->items->len, ==, 5);

	g_autoptr(KiteOpts) o2 = kite_opts_parse("-net", "nic,,x", "type", &err);
	g_assert_cmpstr(kite_opts_get(o2, "type"), ==, "nic,x");

	g_autoptr(KiteOpts) o3 = kite_opts_parse("-net", "user,vlan=1,vlan=2", "type", &err);
	g_assert_cmpstr(kite_opts_get(o3, "vlan"), ==, "2");
	int64_t v;
	g_assert_cmpint(kite_opts_get_int(o3, "vlan", 0, 0, 10, "a number", &v, &err), ==, 0);
	g_assert_cmpint(v, ==, 2);

	uint64_t sz;
	g_autoptr(KiteOpts) o4 = kite_opts_parse(NULL, "a=64k,b=1M,c=12x,d=", NULL, &err);
	g_assert_cmpint(kite_opts_get_size(o4, "a", 0, &sz, &err), ==, 0);
	g_assert_cmpuint(sz, ==, 65536);
	g_assert_cmpint(kite_opts_get_size(o4, "b", 0, &sz, &err), ==, 0);
	g_assert_cmpuint(sz, ==, 1048576);
	g_assert_cmpint(kite_opts_get_size(o4, "c", 0, &sz, &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "Parameter 'c' expects a size value");
	g_clear_error(&err);
	g_assert_cmpint(kite_opts_get_size(o4, "d", 0, &sz, &err), ==, -1);
	g_clear_error(&err);
}

static void test_mac(void)
{
	uint8_t mac[6];
	char buf[18];
	g_assert_true(net_parse_mac("52:54:00:12:34:56", mac));
	net_format_mac(mac, buf);
	g_assert_cmpstr(buf, ==, "52:54:00:12:34:56");
	g_assert_true(net_parse_mac("2:4:0:a:B:c", mac));
	net_format_mac(mac, buf);
	g_assert_cmpstr(buf, ==, "02:04:00:0a:0b:0c");
	g_assert_false(net_parse_mac("52:54:00:12:34", mac));
	g_assert_false(net_parse_mac("52:54:00:12:34:567", mac));
	g_assert_false(net_parse_mac("52:54:00:12:34:5g", mac));
	g_assert_false(net_parse_mac("", mac));
	g_assert_false(net_parse_mac("52:54:00:12:34:56:", mac));

	net_reset_default_mac();
	net_next_default_mac(mac);
	net_format_mac(mac, buf);
	g_assert_cmpstr(buf, ==, "52:54:00:12:34:56");
	uint8_t taken[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
	net_mac_mark_used(taken);
	net_next_default_mac(mac);
	net_format_mac(mac, buf);
	g_assert_cmpstr(buf, ==, "52:54:00:12:34:58");
	net_reset_default_mac();
}

static void test_hub_fanout(void)
{
	Probe *a = probe_new(NET_CLIENT_NIC, "a");
	Probe *b = probe_new(NET_CLIENT_NIC, "b");
	Probe *c = probe_new(NET_CLIENT_USER, "c");
	Probe *other = probe_new(NET_CLIENT_NIC, "other");
	net_client_set_peer(net_hub_add_port(0, NULL), a->nc);
	net_client_set_peer(net_hub_add_port(0, NULL), b->nc);
	net_client_set_peer(net_hub_add_port(0, NULL), c->nc);
	net_client_set_peer(net_hub_add_port(1, NULL), other->nc);

	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1};
	g_assert_cmpint(net_send(a->nc, frame, sizeof(frame)), ==, sizeof(frame));
	/* Everyone else on hub 0 sees it, the sender and hub 1 do not. */
	g_assert_cmpint(a->received, ==, 0);
	g_assert_cmpint(b->received, ==, 1);
	g_assert_cmpint(c->received, ==, 1);
	g_assert_cmpint(other->received, ==, 0);
	g_assert_cmpmem(b->last, b->last_len, frame, sizeof(frame));
	g_assert_cmpuint(a->nc->stats.tx_packets, ==, 1);
	g_assert_cmpuint(b->nc->stats.rx_bytes, ==, sizeof(frame));
	g_assert_cmpstr(a->nc->peer->name, ==, "hub0port0");

	/* Link down on a member: it neither sends nor receives. */
	g_assert_cmpint(net_set_link("b", false, NULL), ==, 0);
	g_assert_true(b->nc->link_down);
	g_assert_cmpint(b->link_events, ==, 1);
	net_send(a->nc, frame, sizeof(frame));
	g_assert_cmpint(b->received, ==, 1);
	g_assert_cmpint(c->received, ==, 2);
	g_assert_cmpuint(b->nc->stats.rx_dropped, ==, 1);
	net_send(b->nc, frame, sizeof(frame));
	g_assert_cmpint(c->received, ==, 2);
	g_assert_cmpint(net_set_link("b", true, NULL), ==, 0);
	net_send(b->nc, frame, sizeof(frame));
	g_assert_cmpint(c->received, ==, 3);

	GError *err = NULL;
	g_assert_cmpint(net_set_link("nonesuch", true, &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "Device 'nonesuch' not found");
	g_assert_cmpint(err->code, ==, KITE_ERR_DEVICE_NOT_FOUND);
	g_clear_error(&err);

	/* A zero-length or oversized frame is refused outright. */
	g_assert_cmpint(net_send(a->nc, frame, 0), <, 0);
	static uint8_t huge[NET_MAX_FRAME + 1];
	g_assert_cmpint(net_send(a->nc, huge, sizeof(huge)), <, 0);
	g_assert_cmpint(c->received, ==, 3);

	net_cleanup_all();
	g_free(a);
	g_free(b);
	g_free(c);
	g_free(other);
}

static void test_queue_and_drops(void)
{
	Probe *backend = probe_new(NET_CLIENT_TAP, "tap0");
	Probe *nic = probe_new(NET_CLIENT_NIC, "nic0");
	net_client_set_peer(backend->nc, nic->nc);
	nic->stalled = true;
	uint8_t frame[64];
	for (int i = 0; i < NET_QUEUE_LIMIT; i++) {
		frame[0] = (uint8_t)i;
		g_assert_cmpint(net_send(backend->nc, frame, sizeof(frame)), ==, sizeof(frame));
	}
	/* The guest has no buffers: all wait, nothing is lost yet. */
	g_assert_cmpint(nic->received, ==, 0);
	g_assert_cmpuint(g_queue_get_length(&nic->nc->incoming), ==, NET_QUEUE_LIMIT);
	g_assert_cmpuint(nic->nc->stats.rx_dropped, ==, 0);
	g_assert_false(net_peer_can_accept(backend->nc));
	/* One more overflows and is counted, on both ends. */
	g_assert_cmpint(net_send(backend->nc, frame, sizeof(frame)), ==, 0);
	g_assert_cmpuint(nic->nc->stats.rx_dropped, ==, 1);
	g_assert_cmpuint(nic->nc->stats.queue_overflow, ==, 1);
	g_assert_cmpuint(backend->nc->stats.tx_dropped, ==, 1);

	/* Buffers arrive: everything queued is delivered in order and the
	 * backend is told it may send again. */
	nic->stalled = false;
	net_client_flush_queue(nic->nc);
	g_assert_cmpint(nic->received, ==, NET_QUEUE_LIMIT);
	g_assert_cmpint(nic->last[0], ==, (uint8_t)(NET_QUEUE_LIMIT - 1));
	g_assert_cmpint(backend->drained, ==, 1);
	g_assert_true(net_peer_can_accept(backend->nc));
	g_assert_cmpuint(nic->nc->stats.rx_packets, ==, NET_QUEUE_LIMIT);

	/* A frame sent while older ones wait goes behind them. */
	nic->stalled = true;
	frame[0] = 0xaa;
	net_send(backend->nc, frame, sizeof(frame));
	nic->stalled = false;
	frame[0] = 0xbb;
	net_send(backend->nc, frame, sizeof(frame));
	g_assert_cmpint(nic->received, ==, NET_QUEUE_LIMIT);
	g_assert_cmpuint(g_queue_get_length(&nic->nc->incoming), ==, 2);
	net_client_flush_queue(nic->nc);
	g_assert_cmpint(nic->received, ==, NET_QUEUE_LIMIT + 2);
	g_assert_cmpint(nic->last[0], ==, 0xbb);

	/* Freeing the sender drops its frames still parked at the receiver. */
	nic->stalled = true;
	net_send(backend->nc, frame, sizeof(frame));
	net_client_free(backend->nc);
	g_assert_cmpuint(g_queue_get_length(&nic->nc->incoming), ==, 0);
	g_assert_null(nic->nc->peer);
	net_cleanup_all();
	g_free(backend);
	g_free(nic);
}

static void test_hub_backpressure(void)
{
	/* A backend on a hub pauses only when no member can take frames. */
	Probe *src = probe_new(NET_CLIENT_SOCKET, "src");
	Probe *n1 = probe_new(NET_CLIENT_NIC, "n1");
	Probe *n2 = probe_new(NET_CLIENT_NIC, "n2");
	net_client_set_peer(net_hub_add_port(4, NULL), src->nc);
	net_client_set_peer(net_hub_add_port(4, NULL), n1->nc);
	net_client_set_peer(net_hub_add_port(4, NULL), n2->nc);
	n1->stalled = n2->stalled = true;
	uint8_t frame[60] = {0};
	for (int i = 0; i < NET_QUEUE_LIMIT; i++)
		net_send(src->nc, frame, sizeof(frame));
	g_assert_false(net_peer_can_accept(src->nc));
	n2->stalled = false;
	net_client_flush_queue(n2->nc);
	g_assert_cmpint(n2->received, ==, NET_QUEUE_LIMIT);
	g_assert_true(net_peer_can_accept(src->nc));
	g_assert_cmpint(src->drained, ==, 1);
	/* n1 stays stuck: n2 keeps getting frames, n1's drops are its own. */
	net_send(src->nc, frame, sizeof(frame));
	g_assert_cmpint(n2->received, ==, NET_QUEUE_LIMIT + 1);
	g_assert_cmpuint(n1->nc->stats.queue_overflow, ==, 1);
	net_cleanup_all();
	g_free(src);
	g_free(n1);
	g_free(n2);
}

static void test_set_link_backend(void)
{
	/* S30: a backend going down takes its NIC's carrier with it. */
	Probe *user = probe_new(NET_CLIENT_USER, "u");
	Probe *nic = probe_new(NET_CLIENT_NIC, "e1000.0");
	net_client_set_peer(user->nc, nic->nc);
	g_assert_cmpint(net_set_link("u", false, NULL), ==, 0);
	g_assert_true(user->nc->link_down);
	g_assert_true(nic->nc->link_down);
	g_assert_cmpint(nic->link_events, ==, 1);
	g_assert_cmpint(net_set_link("u", true, NULL), ==, 0);
	g_assert_false(nic->nc->link_down);
	/* Setting the NIC itself does not touch the backend. */
	g_assert_cmpint(net_set_link("e1000.0", false, NULL), ==, 0);
	g_assert_false(user->nc->link_down);
	g_assert_cmpint(nic->link_events, ==, 3);
	net_cleanup_all();
	g_free(user);
	g_free(nic);
}

static void feed_all(NetFramer *f, const uint8_t *data, size_t n, GPtrArray *frames, bool *bad)
{
	while (n) {
		const uint8_t *frame;
		size_t flen;
		ssize_t used = net_framer_feed(f, data, n, &frame, &flen);
		if (used < 0) {
			*bad = true;
			return;
		}
		g_assert_cmpint(used, >, 0);
		if (frame)
			g_ptr_array_add(frames, g_bytes_new(frame, flen));
		data += used;
		n -= used;
	}
}

static void test_framer(void)
{
	static NetFramer f;
	/* Two frames, fed one byte at a time and then all at once. */
	const uint8_t stream[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z'};
	for (int mode = 0; mode < 2; mode++) {
		net_framer_reset(&f);
		GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		bool bad = false;
		if (mode == 0)
			for (size_t i = 0; i < sizeof(stream); i++)
				feed_all(&f, stream + i, 1, frames, &bad);
		else
			feed_all(&f, stream, sizeof(stream), frames, &bad);
		g_assert_false(bad);
		g_assert_cmpuint(frames->len, ==, 2);
		gsize l;
		const char *d = g_bytes_get_data(frames->pdata[0], &l);
		g_assert_cmpmem(d, l, "abc", 3);
		d = g_bytes_get_data(frames->pdata[1], &l);
		g_assert_cmpmem(d, l, "z", 1);
		g_ptr_array_free(frames, TRUE);
	}
	/* Length 0 and lengths past the limit are protocol errors. */
	const uint8_t zero[] = {0, 0, 0, 0};
	const uint8_t big[] = {0, 1, 0x10, 1}; /* 69633 = NET_MAX_FRAME + 1 */
	const uint8_t max[] = {0, 1, 0x10, 0}; /* NET_MAX_FRAME: allowed */
	const uint8_t *frame;
	size_t flen;
	net_framer_reset(&f);
	g_assert_cmpint(net_framer_feed(&f, zero, 4, &frame, &flen), ==, -1);
	net_framer_reset(&f);
	g_assert_cmpint(net_framer_feed(&f, big, 4, &frame, &flen), ==, -1);
	g_assert_cmpuint(flen, ==, NET_MAX_FRAME + 1);
	net_framer_reset(&f);
	g_assert_cmpint(net_framer_feed(&f, max, 4, &frame, &flen), ==, 4);
	g_assert_null(frame);
}

static void test_netdev_add_del(void)
{
	GError *err = NULL;
	g_assert_cmpint(net_netdev_add("user,id=mon1", &err), ==, 0);
	g_assert_nonnull(net_client_find("mon1"));
	g_assert_cmpint(net_netdev_add("user,id=mon1", &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "Duplicate ID 'mon1' for netdev");
	g_clear_error(&err);
	g_assert_cmpint(net_netdev_add("user,id=x,foo=1", &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "Invalid parameter 'foo'");
	g_clear_error(&err);
	g_assert_cmpint(net_netdev_del("mon1", &err), ==, 0);
	g_assert_null(net_client_find("mon1"));
	g_assert_cmpint(net_netdev_del("mon1", &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "Device 'mon1' not found");
	g_clear_error(&err);
	net_cleanup_all();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ml_init();
	g_test_add_func("/net/opts/grammar", test_opts_grammar);
	g_test_add_func("/net/mac", test_mac);
	g_test_add_func("/net/hub/fanout", test_hub_fanout);
	g_test_add_func("/net/queue/drops", test_queue_and_drops);
	g_test_add_func("/net/hub/backpressure", test_hub_backpressure);
	g_test_add_func("/net/link/backend", test_set_link_backend);
	g_test_add_func("/net/framer", test_framer);
	g_test_add_func("/net/netdev-add-del", test_netdev_add_del);
	return g_test_run();
}
