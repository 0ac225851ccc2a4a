/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The harness half of the host unit test: guest shims (kprintf, clock,
 * TSC, parse_ipv4), the fake NIC, frame builders and parsers, a scripted
 * TCP peer, and main(), which runs one named test or all of them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const uint8_t gw_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
const uint8_t dns_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x03};
const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint64_t clock_us;
bool guest_quiet;
uint64_t fake_tsc = 0x1234567890ull;
unsigned test_failures;

struct frame *txlog;
size_t txlog_len;
static size_t txlog_cap;
unsigned tx_fail_next;

static struct frame *inbox;
static size_t inbox_head, inbox_count, inbox_cap;

void (*peer_ip)(const uint8_t *frame, size_t len);
void (*peer_idle)(void);
bool arp_answer;
unsigned arp_ignore;
unsigned arp_requests;

struct tpeer tp;

#define IDLE_STEP_US 50

/* ---- guest shims ---- */

void kprintf(const char *fmt, ...)
{
	va_list ap;

	if (guest_quiet)
		return;
	va_start(ap, fmt);
	fputs("[guest] ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
}

uint64_t now_us(void)
{
	return clock_us++;
}

uint64_t rdtsc(void)
{
	return fake_tsc;
}

bool parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t addr = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || v > 255)
				return false;
		}
		if (!digits || (part < 3 && *s++ != '.'))
			return false;
		addr = addr << 8 | v;
	}
	if (*s)
		return false;
	*out = addr;
	return true;
}

/* ---- bytes and checksums ---- */

uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t acc)
{
	uint64_t s = acc;

	for (size_t i = 0; i < n; i++)
		s += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint32_t)s;
}

uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t acc)
{
	return (uint16_t)~ref_sum(p, n, acc);
}

uint32_t ref_pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	uint8_t ph[12];

	wr32(ph, src);
	wr32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	wr16(ph + 10, (uint16_t)len);
	return ref_sum(ph, sizeof(ph), 0);
}

/* ---- fake NIC ---- */

static void log_tx(const uint8_t *f, size_t len)
{
	if (txlog_len == txlog_cap) {
		txlog_cap = txlog_cap ? txlog_cap * 2 : 256;
		txlog = realloc(txlog, txlog_cap * sizeof(*txlog));
		if (!txlog)
			abort();
	}
	memcpy(txlog[txlog_len].d, f, len);
	txlog[txlog_len].len = len;
	txlog_len++;
}

static void answer_arp(const uint8_t *f, size_t len)
{
	static const struct {
		uint32_t ip;
		const uint8_t *mac;
	} hosts[] = {{GW_IP, gw_mac}, {DNS_IP, dns_mac}};
	uint8_t out[64];

	if (len < ETH_HDR + 28 || rd16(f + ETH_HDR + 6) != 1)
		return;
	arp_requests++;
	if (!arp_answer)
		return;
	if (arp_ignore) {
		arp_ignore--;
		return;
	}
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		if (rd32(f + ETH_HDR + 24) != hosts[i].ip)
			continue;
		size_t n = mk_arp(out, 2, hosts[i].mac, hosts[i].ip, f + ETH_HDR + 8,
				  rd32(f + ETH_HDR + 14), f + 6);
		inject(out, n);
	}
}

static int fake_tx(struct netif *nif, const void *frame, size_t len)
{
	const uint8_t *f = frame;

	if (tx_fail_next) {
		tx_fail_next--;
		return -1;
	}
	if (len > 1514 || len < ETH_HDR) {
		fprintf(stderr, "guest transmitted a frame of %zu bytes\n", len);
		test_failures++;
		return -1;
	}
	nif->tx_frames++;
	log_tx(f, len);
	if (rd16(f + 12) == 0x0806)
		answer_arp(f, len);
	else if (rd16(f + 12) == 0x0800 && peer_ip)
		peer_ip(f, len);
	return 0;
}

static size_t fake_rx(struct netif *nif, void *buf, size_t cap)
{
	struct frame *fr;

	if (!inbox_count) {
		clock_us += IDLE_STEP_US;
		if (peer_idle)
			peer_idle();
		return 0;
	}
	fr = &inbox[inbox_head];
	inbox_head = (inbox_head + 1) % inbox_cap;
	inbox_count--;
	if (fr->len > cap) {
		nif->rx_dropped++;
		return 0;
	}
	memcpy(buf, fr->d, fr->len);
	nif->rx_frames++;
	return fr->len;
}

static bool fake_link_up(struct netif *nif)
{
	(void)nif;
	return true;
}

struct netif fake_nif = {
    .name = "fake",
    .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
    .tx = fake_tx,
    .rx = fake_rx,
    .link_up = fake_link_up,
};

void inject(const uint8_t *frame, size_t len)
{
	if (!inbox_cap) {
		inbox_cap = 4096;
		inbox = calloc(inbox_cap, sizeof(*inbox));
		if (!inbox)
			abort();
	}
	if (inbox_count == inbox_cap || len > FRAME_CAP) {
		fprintf(stderr, "harness: inbox overflow\n");
		test_failures++;
		return;
	}
	struct frame *fr = &inbox[(inbox_head + inbox_count) % inbox_cap];
	memcpy(fr->d, frame, len);
	fr->len = len;
	inbox_count++;
}

size_t inbox_pending(void)
{
	return inbox_count;
}

void harness_reset(void)
{
	txlog_len = 0;
	inbox_head = inbox_count = 0;
	tx_fail_next = 0;
	peer_ip = NULL;
	peer_idle = NULL;
	arp_answer = true;
	arp_ignore = 0;
	arp_requests = 0;
	clock_us = 1000000;
	fake_nif.tx_frames = fake_nif.rx_frames = fake_nif.rx_dropped = 0;
	free(tp.stream);
	memset(&tp, 0, sizeof(tp));
}

void setup_unconfigured(void)
{
	harness_reset();
	net_init(&fake_nif);
}

void setup_static(void)
{
	struct netcfg *c;

	setup_unconfigured();
	c = net_config();
	c->addr = GUEST_IP;
	c->mask = IP(255, 255, 255, 0);
	c->gw = GW_IP;
	c->dns = DNS_IP;
}

void run_for(uint64_t us)
{
	uint64_t end = clock_us + us;

	while (clock_us < end)
		net_poll();
}

/* ---- builders ---- */

static size_t mk_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	wr16(f + 12, type);
	return ETH_HDR;
}

size_t mk_arp(uint8_t *f, uint16_t op, const uint8_t *smac, uint32_t sip, const uint8_t *tmac,
	      uint32_t tip, const uint8_t *eth_dst)
{
	uint8_t *a = f + mk_eth(f, eth_dst, smac, 0x0806);

	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, smac, 6);
	wr32(a + 14, sip);
	memcpy(a + 18, tmac, 6);
	wr32(a + 24, tip);
	return ETH_HDR + 28;
}

size_t mk_ipv4(uint8_t *f, const uint8_t *eth_dst, const uint8_t *eth_src, uint32_t src,
	       uint32_t dst, uint8_t proto, const uint8_t *payload, size_t plen)
{
	uint8_t *ip = f + mk_eth(f, eth_dst, eth_src, 0x0800);

	memset(ip, 0, IP_HDR);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(IP_HDR + plen));
	wr16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, ref_csum(ip, IP_HDR, 0));
	if (plen)
		memmove(ip + IP_HDR, payload, plen);
	return ETH_HDR + IP_HDR + plen;
}

size_t mk_udp(uint8_t *f, const uint8_t *eth_dst, const uint8_t *eth_src, uint32_t src,
	      uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t *data, size_t dlen)
{
	uint8_t u[FRAME_CAP];

	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(8 + dlen));
	wr16(u + 6, 0);
	if (dlen)
		memcpy(u + 8, data, dlen);
	uint16_t c = ref_csum(u, 8 + dlen, ref_pseudo(src, dst, 17, 8 + dlen));
	wr16(u + 6, c ? c : 0xffff);
	return mk_ipv4(f, eth_dst, eth_src, src, dst, 17, u, 8 + dlen);
}

size_t mk_tcp(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
	      uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts, size_t optlen,
	      const uint8_t *data, size_t dlen)
{
	uint8_t t[FRAME_CAP];
	size_t hlen = 20 + ((optlen + 3) & ~(size_t)3);

	memset(t, 0, hlen);
	wr16(t, sport);
	wr16(t + 2, dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)(hlen / 4) << 4;
	t[13] = flags;
	wr16(t + 14, wnd);
	if (optlen)
		memcpy(t + 20, opts, optlen);
	if (dlen)
		memcpy(t + hlen, data, dlen);
	wr16(t + 16, ref_csum(t, hlen + dlen, ref_pseudo(src, dst, 6, hlen + dlen)));
	return mk_ipv4(f, guest_mac, gw_mac, src, dst, 6, t, hlen + dlen);
}

/* ---- parsing ---- */

bool parse_pkt(const uint8_t *f, size_t len, struct pkt *p)
{
	size_t ihl, total;

	memset(p, 0, sizeof(*p));
	p->eth = f;
	p->len = len;
	if (len < ETH_HDR)
		return false;
	p->type = rd16(f + 12);
	if (p->type != 0x0800 || len < ETH_HDR + IP_HDR)
		return false;
	p->ip = f + ETH_HDR;
	ihl = (size_t)(p->ip[0] & 15) * 4;
	total = rd16(p->ip + 2);
	if (p->ip[0] >> 4 != 4 || ihl < IP_HDR || total < ihl || ETH_HDR + total != len)
		return false;
	p->src = rd32(p->ip + 12);
	p->dst = rd32(p->ip + 16);
	p->proto = p->ip[9];
	p->l4 = p->ip + ihl;
	p->l4len = total - ihl;
	p->csum_ok = ref_csum(p->ip, ihl, 0) == 0;
	if (p->proto == 17 && p->l4len >= 8) {
		p->sport = rd16(p->l4);
		p->dport = rd16(p->l4 + 2);
		p->data = p->l4 + 8;
		p->dlen = p->l4len - 8;
		p->csum_ok =
		    p->csum_ok && rd16(p->l4 + 4) == p->l4len &&
		    ref_csum(p->l4, p->l4len, ref_pseudo(p->src, p->dst, 17, p->l4len)) == 0;
	} else if (p->proto == 6 && p->l4len >= 20) {
		size_t hlen = (size_t)(p->l4[12] >> 4) * 4;

		if (hlen < 20 || hlen > p->l4len)
			return false;
		p->sport = rd16(p->l4);
		p->dport = rd16(p->l4 + 2);
		p->seq = rd32(p->l4 + 4);
		p->ack = rd32(p->l4 + 8);
		p->flags = p->l4[13];
		p->wnd = rd16(p->l4 + 14);
		if (hlen >= 24 && p->l4[20] == 2 && p->l4[21] == 4)
			p->mss_opt = rd16(p->l4 + 22);
		p->data = p->l4 + hlen;
		p->dlen = p->l4len - hlen;
		p->csum_ok = p->csum_ok && ref_csum(p->l4, p->l4len,
						    ref_pseudo(p->src, p->dst, 6, p->l4len)) == 0;
	} else if (p->proto == 1) {
		p->data = p->l4;
		p->dlen = p->l4len;
		p->csum_ok = p->csum_ok && ref_csum(p->l4, p->l4len, 0) == 0;
	}
	return true;
}

bool last_pkt(size_t back, struct pkt *p)
{
	if (back >= txlog_len)
		return false;
	return parse_pkt(txlog[txlog_len - 1 - back].d, txlog[txlog_len - 1 - back].len, p);
}

size_t count_proto(size_t from, uint8_t proto)
{
	size_t n = 0;
	struct pkt p;

	for (size_t i = from; i < txlog_len; i++)
		if (parse_pkt(txlog[i].d, txlog[i].len, &p) && p.proto == proto)
			n++;
	return n;
}

/* ---- scripted TCP peer ---- */

void tpeer_reset(uint16_t port, uint16_t mss, uint32_t cap)
{
	free(tp.stream);
	memset(&tp, 0, sizeof(tp));
	tp.port = port;
	tp.mss = mss;
	tp.cap = cap;
	tp.iss = 0xfffff000; /* close to wrapping: sequence arithmetic must cope */
	tp.snd_nxt = tp.snd_una = tp.iss;
	tp.stream_cap = 1 << 20;
	tp.stream = malloc(tp.stream_cap);
	if (!tp.stream)
		abort();
}

static void tpeer_segment(uint32_t seq, uint8_t flags, const uint8_t *data, size_t len,
			  bool with_mss)
{
	uint8_t f[FRAME_CAP], opt[4] = {2, 4, 0, 0};
	uint16_t wnd = (uint16_t)(tp.cap - tp.unread);

	wr16(opt + 2, tp.mss);
	tp.right_edge = tp.rcv_nxt + wnd;
	inject(f, mk_tcp(f, GW_IP, tp.port, GUEST_IP, tp.gport, seq, tp.rcv_nxt, flags, wnd,
			 with_mss ? opt : NULL, with_mss ? 4 : 0, data, len));
}

void tpeer_send(const uint8_t *data, size_t len, uint8_t flags)
{
	tpeer_segment(tp.snd_nxt, flags | TH_ACK, data, len, false);
	tp.snd_nxt += (uint32_t)len + !!(flags & TH_FIN);
}

void tpeer_ip(const uint8_t *frame, size_t len)
{
	struct pkt p;

	if (!parse_pkt(frame, len, &p) || p.proto != 6)
		return;
	if (!p.csum_ok) {
		tp.bad_csum++;
		return;
	}
	if (p.dst != GW_IP || p.dport != tp.port)
		return;
	if (p.flags & TH_RST) {
		tp.rsts++;
		return;
	}
	if ((p.flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		/* The guest accepts our connection: complete the handshake. */
		if (p.ack != tp.iss + 1)
			return;
		tp.gport = p.sport;
		tp.rcv_nxt = p.seq + 1;
		tp.snd_una = p.ack;
		tp.guest_mss = p.mss_opt;
		tp.synced = true;
		tpeer_segment(tp.snd_nxt, TH_ACK, NULL, 0, false);
		return;
	}
	if (p.flags & TH_SYN) {
		tp.syns++;
		if (tp.silent)
			return;
		if (tp.refuse) {
			uint8_t f[FRAME_CAP];

			inject(f, mk_tcp(f, GW_IP, tp.port, GUEST_IP, p.sport, 0, p.seq + 1,
					 TH_RST | TH_ACK, 0, NULL, 0, NULL, 0));
			return;
		}
		tp.gport = p.sport;
		tp.rcv_nxt = p.seq + 1;
		tp.guest_mss = p.mss_opt;
		tp.synced = true;
		tpeer_segment(tp.iss, TH_SYN | TH_ACK, NULL, 0, true);
		tp.snd_nxt = tp.iss + 1;
		return;
	}
	if (!tp.synced || p.sport != tp.gport)
		return;
	if ((p.flags & TH_ACK) && (int32_t)(p.ack - tp.snd_una) > 0)
		tp.snd_una = p.ack;
	if (p.dlen) {
		tp.data_segs++;
		if (p.dlen > tp.max_seg)
			tp.max_seg = (unsigned)p.dlen;
		/* A one-byte segment at a closed window's edge is a probe. */
		if (tp.right_edge == tp.rcv_nxt && p.dlen == 1 && p.seq == tp.rcv_nxt)
			tp.probes++;
		else if ((int32_t)(p.seq + (uint32_t)p.dlen - tp.right_edge) > 0)
			tp.edge_violations++;
		if (tp.drop_every && tp.data_segs % tp.drop_every == 0) {
			tp.dropped++;
			return;
		}
		if (p.seq == tp.rcv_nxt) {
			size_t take = p.dlen;

			if (take > tp.cap - tp.unread)
				take = tp.cap - tp.unread;
			if (tp.stream_len + take > tp.stream_cap)
				abort();
			memcpy(tp.stream + tp.stream_len, p.data, take);
			tp.stream_len += take;
			tp.unread += (uint32_t)take;
			tp.rcv_nxt += (uint32_t)take;
			if (take < p.dlen)
				goto ack; /* no room for the rest, nor for a FIN */
		} else {
			goto ack;
		}
	}
	if ((p.flags & TH_FIN) && !tp.ignore_fin && p.seq + (uint32_t)p.dlen == tp.rcv_nxt) {
		tp.rcv_nxt++;
		tp.fin_rcvd = true;
		if (tp.send_fin_on_fin) {
			tpeer_send(NULL, 0, TH_FIN);
			return;
		}
	} else if (!p.dlen && !(p.flags & TH_FIN)) {
		return; /* a pure ACK needs no answer */
	} else if (tp.ignore_fin && !p.dlen) {
		return;
	}
ack:
	tpeer_segment(tp.snd_nxt, TH_ACK, NULL, 0, false);
}

void tpeer_idle(void)
{
	if (!tp.consume_every_us || clock_us < tp.next_consume)
		return;
	tp.next_consume = clock_us + tp.consume_every_us;
	if (tp.unread) {
		tp.unread = 0;
		/* Like a real stack: announce the reopened window. */
		tpeer_segment(tp.snd_nxt, TH_ACK, NULL, 0, false);
	}
}

int main(int argc, char **argv)
{
	size_t ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* --check-list NAME...: the build's list of tests must be exactly
	 * this program's, so no test is silently left out of the suite. */
	if (argc > 1 && !strcmp(argv[1], "--check-list")) {
		bool ok = (size_t)(argc - 2) == net_tests_count;

		for (size_t i = 0; i < net_tests_count; i++) {
			bool listed = false;

			for (int a = 2; a < argc; a++)
				listed = listed || !strcmp(argv[a], net_tests[i].name);
			if (!listed) {
				fprintf(stderr, "test '%s' is missing from meson.build\n",
					net_tests[i].name);
				ok = false;
			}
		}
		if (!ok)
			fprintf(stderr, "meson.build lists %d tests, the program has %zu\n",
				argc - 2, net_tests_count);
		return ok ? 0 : 1;
	}
	for (size_t i = 0; i < net_tests_count; i++) {
		if (argc > 1 && strcmp(argv[1], net_tests[i].name) != 0)
			continue;
		unsigned before = test_failures;

		net_tests[i].fn();
		printf("%s %s\n", test_failures == before ? "PASS" : "FAIL", net_tests[i].name);
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "no test named '%s'\n", argc > 1 ? argv[1] : "");
		return 2;
	}
	free(txlog);
	free(inbox);
	free(tp.stream);
	return test_failures ? 1 : 0;
}
