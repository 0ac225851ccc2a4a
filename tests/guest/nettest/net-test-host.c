/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the test guest's network stack (tests/guest/net*.c), run on
 * the host against canned and scripted frames; see harness.h. Each test is
 * one entry of net_tests[] and can be run alone: net-test-host NAME.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* A deterministic generator for payloads and fuzzing, independent of the
 * stack's own. */
static uint64_t prng_state = 0x9e3779b97f4a7c15ull;

static uint32_t prng(void)
{
	prng_state ^= prng_state << 13;
	prng_state ^= prng_state >> 7;
	prng_state ^= prng_state << 17;
	return (uint32_t)(prng_state >> 16);
}

/* Tells the stack the gateway's MAC the way a peer would: by asking for
 * ours. */
static void teach_gateway_mac(void)
{
	uint8_t f[64];
	static const uint8_t zero[6];

	inject(f, mk_arp(f, 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac));
	net_poll();
}

/* ================= ARP ================= */

static void test_arp_reply(void)
{
	uint8_t f[128];
	static const uint8_t zero[6];
	size_t n;

	setup_static();
	inject(f, mk_arp(f, 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac));
	net_poll();
	REQUIRE(txlog_len == 1);
	const uint8_t *r = txlog[0].d;
	CHECK(txlog[0].len == ETH_HDR + 28);
	CHECK(!memcmp(r, gw_mac, 6));
	CHECK(!memcmp(r + 6, guest_mac, 6));
	CHECK(rd16(r + 12) == 0x0806);
	CHECK(rd16(r + ETH_HDR + 6) == 2);
	CHECK(!memcmp(r + ETH_HDR + 8, guest_mac, 6));
	CHECK(rd32(r + ETH_HDR + 14) == GUEST_IP);
	CHECK(!memcmp(r + ETH_HDR + 18, gw_mac, 6));
	CHECK(rd32(r + ETH_HDR + 24) == GW_IP);

	/* Not for us, truncated, or not Ethernet/IPv4: no answer. */
	inject(f, mk_arp(f, 1, gw_mac, GW_IP, zero, IP(10, 0, 2, 99), bcast_mac));
	n = mk_arp(f, 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac);
	inject(f, n - 1);
	f[ETH_HDR + 4] = 8;
	inject(f, n);
	n = mk_arp(f, 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac);
	f[0] = 0x02; /* unicast to someone else */
	inject(f, n);
	net_poll();
	CHECK(txlog_len == 1);

	/* Before any address is configured nothing is ours. */
	setup_unconfigured();
	inject(f, mk_arp(f, 1, gw_mac, GW_IP, zero, 0, bcast_mac));
	net_poll();
	CHECK(txlog_len == 0);
}

static void test_arp_resolve_and_udp(void)
{
	struct pkt p;
	uint8_t big[1473];
	uint64_t t0;

	setup_static();
	arp_ignore = 2; /* the stack must retry */
	CHECK(udp_send(GW_IP, 1234, 5678, "hello", 5) == 0);
	CHECK(arp_requests == 3);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.proto == 17 && p.csum_ok);
	CHECK(!memcmp(p.eth, gw_mac, 6) && !memcmp(p.eth + 6, guest_mac, 6));
	CHECK(p.src == GUEST_IP && p.dst == GW_IP);
	CHECK(p.sport == 1234 && p.dport == 5678);
	CHECK(p.dlen == 5 && !memcmp(p.data, "hello", 5));
	CHECK(p.ip[8] > 0);		       /* TTL */
	CHECK((rd16(p.ip + 6) & 0x3fff) == 0); /* not a fragment */

	/* Off-subnet: no new ARP, the gateway's MAC, the real destination. */
	arp_requests = 0;
	CHECK(udp_send(IP(8, 8, 8, 8), 1, 53, "x", 1) == 0);
	CHECK(arp_requests == 0);
	REQUIRE(last_pkt(0, &p));
	CHECK(!memcmp(p.eth, gw_mac, 6) && p.dst == IP(8, 8, 8, 8) && p.csum_ok);

	/* An on-link host that never answers: -1 after the ARP wait. */
	t0 = clock_us;
	CHECK(udp_send(IP(10, 0, 2, 77), 1, 2, "x", 1) == -1);
	CHECK(clock_us - t0 >= 1000000);
	CHECK(arp_requests >= 3);

	/* Payload size limits: 1472 fits a 1500-byte packet, 1473 not. */
	memset(big, 0xa5, sizeof(big));
	CHECK(udp_send(GW_IP, 1, 2, big, 1473) == -1);
	CHECK(udp_send(GW_IP, 1, 2, big, 1472) == 0);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.len == 1514 && p.csum_ok);

	/* Broadcast needs no ARP. */
	arp_answer = false;
	CHECK(udp_send(0xffffffff, 1, 2, "b", 1) == 0);
	REQUIRE(last_pkt(0, &p));
	CHECK(!memcmp(p.eth, bcast_mac, 6));
}

static void test_tx_ring_full(void)
{
	uint64_t t0;

	setup_static();
	CHECK(udp_send(GW_IP, 1, 2, "a", 1) == 0);
	tx_fail_next = 3; /* a ring that drains after a moment */
	CHECK(udp_send(GW_IP, 1, 2, "b", 1) == 0);
	tx_fail_next = 1u << 30; /* a ring that never drains */
	t0 = clock_us;
	CHECK(udp_send(GW_IP, 1, 2, "c", 1) == -1);
	CHECK(clock_us - t0 < 100000);
	tx_fail_next = 0;
}

/* ================= IPv4 / ICMP ================= */

static size_t mk_echo(uint8_t *f, uint32_t dst, uint16_t id, uint16_t seq, size_t plen)
{
	uint8_t icmp[1500];

	icmp[0] = 8;
	icmp[1] = 0;
	wr16(icmp + 2, 0);
	wr16(icmp + 4, id);
	wr16(icmp + 6, seq);
	for (size_t i = 0; i < plen; i++)
		icmp[8 + i] = (uint8_t)(i * 3);
	wr16(icmp + 2, ref_csum(icmp, 8 + plen, 0));
	return mk_ipv4(f, guest_mac, gw_mac, GW_IP, dst, 1, icmp, 8 + plen);
}

static void refresh_ip_csum(uint8_t *f)
{
	uint8_t *ip = f + ETH_HDR;
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	wr16(ip + 10, 0);
	wr16(ip + 10, ref_csum(ip, ihl, 0));
}

static void test_icmp_responder(void)
{
	uint8_t f[FRAME_CAP];
	struct pkt p;
	size_t n, before;

	setup_static();
	teach_gateway_mac();
	before = txlog_len;
	inject(f, mk_echo(f, GUEST_IP, 0x4242, 9, 100));
	net_poll();
	REQUIRE(txlog_len == before + 1);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.proto == 1 && p.csum_ok && p.dst == GW_IP && p.src == GUEST_IP);
	CHECK(p.dlen == 108 && p.data[0] == 0 && rd16(p.data + 4) == 0x4242 &&
	      rd16(p.data + 6) == 9);
	CHECK(!memcmp(p.data + 8, f + ETH_HDR + IP_HDR + 8, 100));

	/* Ethernet padding after a short packet is not part of it. */
	n = mk_echo(f, GUEST_IP, 1, 1, 0);
	memset(f + n, 0xee, 60 - n);
	inject(f, 60);
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(txlog_len == before + 2 && p.dlen == 8 && p.csum_ok);

	/* IP options are skipped (IHL 6). */
	{
		uint8_t icmp[8] = {8, 0, 0, 0, 0, 7, 0, 7};
		wr16(icmp + 2, ref_csum(icmp, 8, 0));
		n = mk_ipv4(f, guest_mac, gw_mac, GW_IP, GUEST_IP, 1, icmp, 8);
		memmove(f + ETH_HDR + 24, f + ETH_HDR + 20, 8);
		f[ETH_HDR] = 0x46;
		memset(f + ETH_HDR + 20, 1, 4); /* four NOP options */
		wr16(f + ETH_HDR + 2, 32);
		refresh_ip_csum(f);
		inject(f, n + 4);
		net_poll();
		CHECK(txlog_len == before + 3);
		REQUIRE(last_pkt(0, &p));
		CHECK(p.dlen == 8 && rd16(p.data + 4) == 7);
	}

	/* Everything below must be dropped silently. */
	before = txlog_len;
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	f[ETH_HDR + IP_HDR + 8] ^= 1; /* bad ICMP checksum */
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	f[ETH_HDR + 10] ^= 1; /* bad IP checksum */
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	wr16(f + ETH_HDR + 6, 0x2000); /* MF: a first fragment */
	refresh_ip_csum(f);
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	wr16(f + ETH_HDR + 6, 0x0010); /* a later fragment */
	refresh_ip_csum(f);
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	f[ETH_HDR] = 0x44; /* IHL below 5 */
	refresh_ip_csum(f);
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	f[ETH_HDR] = 0x4f; /* IHL beyond the total length */
	wr16(f + ETH_HDR + 2, 40);
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	wr16(f + ETH_HDR + 2, (uint16_t)(n - ETH_HDR + 10)); /* longer than the frame */
	refresh_ip_csum(f);
	inject(f, n);
	n = mk_echo(f, GUEST_IP, 2, 2, 20);
	f[ETH_HDR] = 0x65; /* IPv6 version nibble */
	refresh_ip_csum(f);
	inject(f, n);
	inject(f, mk_echo(f, IP(10, 0, 2, 16), 2, 2, 20));  /* someone else's */
	inject(f, mk_echo(f, 0xffffffff, 2, 2, 20));	    /* broadcast ping */
	inject(f, mk_echo(f, IP(10, 0, 2, 255), 2, 2, 20)); /* subnet broadcast */
	inject(f, 10);					    /* runt frame */
	net_poll();
	CHECK(txlog_len == before);
	CHECK(inbox_pending() == 0);
}

static void (*echo_mode)(const struct pkt *p);

static void echo_peer(const uint8_t *frame, size_t len)
{
	struct pkt p;

	if (parse_pkt(frame, len, &p) && p.proto == 1 && p.csum_ok && p.data[0] == 8 && echo_mode)
		echo_mode(&p);
}

static void echo_reply(const struct pkt *p, uint16_t seq_delta)
{
	uint8_t icmp[1500], f[FRAME_CAP];

	memcpy(icmp, p->data, p->dlen);
	icmp[0] = 0;
	wr16(icmp + 6, (uint16_t)(rd16(icmp + 6) + seq_delta));
	wr16(icmp + 2, 0);
	wr16(icmp + 2, ref_csum(icmp, p->dlen, 0));
	inject(f, mk_ipv4(f, guest_mac, gw_mac, p->dst, GUEST_IP, 1, icmp, p->dlen));
}

static void echo_good(const struct pkt *p)
{
	echo_reply(p, 0);
}

static void echo_wrong_seq(const struct pkt *p)
{
	echo_reply(p, 1);
}

static void test_ping(void)
{
	uint64_t rtt = 12345, t0;
	struct pkt p;

	setup_static();
	peer_ip = echo_peer;
	echo_mode = echo_good;
	CHECK(ping(GW_IP, 7, 1000, &rtt) == 0);
	CHECK(rtt < 1000000);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.proto == 1 && p.csum_ok && p.data[0] == 8 && rd16(p.data + 6) == 7);
	CHECK(ping(IP(1, 1, 1, 1), 8, 1000, NULL) == 0); /* through the gateway */

	echo_mode = echo_wrong_seq;
	t0 = clock_us;
	CHECK(ping(GW_IP, 9, 500, &rtt) == -1);
	CHECK(clock_us - t0 >= 500000);
	echo_mode = NULL;
	CHECK(ping(GW_IP, 10, 500, &rtt) == -1);
	arp_answer = false;
	CHECK(ping(IP(10, 0, 2, 50), 11, 500, &rtt) == -1);
}

/* ================= DHCP ================= */

static struct {
	unsigned discovers, requests, drop_discovers, naks_left;
	bool unicast, no_server_id, no_end;
	int corrupt; /* 1 xid, 2 chaddr, 3 option overrun, 4 magic, 5 op */
	bool fuzz;
	uint32_t offered;
} dh;

/* The value of option 'code' in a DHCP message (test-side parser). */
static const uint8_t *dh_opt(const uint8_t *m, size_t len, uint8_t code, size_t *olen)
{
	size_t i = 240;

	while (i + 1 < len && m[i] != 255) {
		if (m[i] == 0) {
			i++;
			continue;
		}
		if (i + 2 + m[i + 1] > len)
			return NULL;
		if (m[i] == code) {
			*olen = m[i + 1];
			return m + i + 2;
		}
		i += 2 + (size_t)m[i + 1];
	}
	return NULL;
}

static void dh_reply(const uint8_t *req, uint8_t type)
{
	uint8_t m[600], f[FRAME_CAP];
	size_t n = 240;
	uint32_t yi = type == 6 ? 0 : dh.offered;

	memset(m, 0, sizeof(m));
	m[0] = 2;
	m[1] = 1;
	m[2] = 6;
	memcpy(m + 4, req + 4, 4); /* xid */
	memcpy(m + 10, req + 10, 2);
	wr32(m + 16, yi);
	wr32(m + 20, GW_IP);
	memcpy(m + 28, req + 28, 16);
	wr32(m + 236, 0x63825363);
	m[n++] = 0; /* a pad first: must be skipped */
	m[n++] = 53, m[n++] = 1, m[n++] = type;
	if (!dh.no_server_id) {
		m[n++] = 54, m[n++] = 4;
		wr32(m + n, GW_IP), n += 4;
	}
	if (type != 6) {
		m[n++] = 1, m[n++] = 4;
		wr32(m + n, IP(255, 255, 255, 0)), n += 4;
		m[n++] = 3, m[n++] = 8; /* two routers: the first counts */
		wr32(m + n, GW_IP), n += 4;
		wr32(m + n, IP(10, 0, 2, 1)), n += 4;
		m[n++] = 6, m[n++] = 4;
		wr32(m + n, DNS_IP), n += 4;
		m[n++] = 51, m[n++] = 4;
		wr32(m + n, 86400), n += 4;
		m[n++] = 200, m[n++] = 3, m[n++] = 1, m[n++] = 2, m[n++] = 3; /* unknown */
	}
	switch (dh.corrupt) {
	case 1:
		m[7] ^= 1;
		break;
	case 2:
		m[33] ^= 1;
		break;
	case 3:
		m[n++] = 6, m[n++] = 250; /* runs past the end */
		wr32(m + n, DNS_IP), n += 4;
		break;
	case 4:
		m[239] ^= 1;
		break;
	case 5:
		m[0] = 1;
		break;
	}
	if (dh.corrupt != 3 && !dh.no_end)
		m[n++] = 255;
	if (dh.fuzz) {
		unsigned k = 1 + prng() % 6;

		for (unsigned i = 0; i < k; i++) {
			size_t at = 8 + prng() % (n - 8); /* keep op..xid */
			m[at] = (uint8_t)prng();
		}
		if (prng() % 4 == 0)
			n = 8 + prng() % (n - 8);
	}
	if (dh.unicast)
		n = mk_udp(f, guest_mac, gw_mac, GW_IP, 67, dh.offered, 68, m, n);
	else
		n = mk_udp(f, bcast_mac, gw_mac, GW_IP, 67, 0xffffffff, 68, m, n);
	inject(f, n);
}

static void dhcp_server(const uint8_t *frame, size_t len)
{
	struct pkt p;
	const uint8_t *m, *v;
	size_t olen = 0;

	if (!parse_pkt(frame, len, &p) || p.proto != 17 || p.dport != 67)
		return;
	m = p.data;
	CHECK(p.csum_ok);
	CHECK(p.src == 0 && p.dst == 0xffffffff && p.sport == 68);
	CHECK(!memcmp(p.eth, bcast_mac, 6));
	REQUIRE(p.dlen >= 300);
	CHECK(m[0] == 1 && m[1] == 1 && m[2] == 6);
	CHECK(rd16(m + 10) & 0x8000);
	CHECK(!memcmp(m + 28, guest_mac, 6));
	CHECK(rd32(m + 236) == 0x63825363);
	v = dh_opt(m, p.dlen, 61, &olen);
	CHECK(v && olen == 7 && v[0] == 1 && !memcmp(v + 1, guest_mac, 6));
	v = dh_opt(m, p.dlen, 55, &olen);
	CHECK(v && memchr(v, 1, olen) && memchr(v, 3, olen) && memchr(v, 6, olen));
	v = dh_opt(m, p.dlen, 53, &olen);
	REQUIRE(v && olen == 1);
	if (v[0] == 1) {
		dh.discovers++;
		CHECK(!dh_opt(m, p.dlen, 50, &olen));
		if (dh.discovers <= dh.drop_discovers)
			return;
		dh_reply(m, 2);
	} else if (v[0] == 3) {
		dh.requests++;
		/* (A fuzzed OFFER may have named another address.) */
		v = dh_opt(m, p.dlen, 50, &olen);
		CHECK(v && olen == 4 && (dh.fuzz || rd32(v) == dh.offered));
		v = dh_opt(m, p.dlen, 54, &olen);
		CHECK(v && olen == 4 && (dh.fuzz || rd32(v) == GW_IP));
		CHECK(rd32(m + 12) == 0); /* ciaddr */
		if (dh.naks_left) {
			dh.naks_left--;
			dh_reply(m, 6);
		} else {
			dh_reply(m, 5);
		}
	} else {
		CHECK(!"unexpected DHCP message type");
	}
}

static void dhcp_setup(void)
{
	setup_unconfigured();
	memset(&dh, 0, sizeof(dh));
	dh.offered = GUEST_IP;
	peer_ip = dhcp_server;
}

static bool dhcp_config_is_slirp_like(void)
{
	struct netcfg *c = net_config();

	return c->addr == GUEST_IP && c->mask == IP(255, 255, 255, 0) && c->gw == GW_IP &&
	       c->dns == DNS_IP;
}

static void test_dhcp(void)
{
	dhcp_setup();
	CHECK(dhcp_run(5000) == 0);
	CHECK(dh.discovers == 1 && dh.requests == 1);
	CHECK(dhcp_config_is_slirp_like());

	/* Lost DISCOVERs are retransmitted. */
	dhcp_setup();
	dh.drop_discovers = 2;
	CHECK(dhcp_run(10000) == 0);
	CHECK(dh.discovers == 3 && dhcp_config_is_slirp_like());

	/* A NAK restarts from DISCOVER. */
	dhcp_setup();
	dh.naks_left = 1;
	CHECK(dhcp_run(10000) == 0);
	CHECK(dh.discovers == 2 && dh.requests == 2 && dhcp_config_is_slirp_like());

	/* dnsmasq without the broadcast flag honoured: unicast to yiaddr;
	 * no option 54 (the IP source stands in); no END option. */
	dhcp_setup();
	dh.unicast = true;
	dh.no_server_id = true;
	dh.no_end = true;
	CHECK(dhcp_run(5000) == 0);
	CHECK(dhcp_config_is_slirp_like());

	/* The address works afterwards: ARP answers for it. */
	{
		uint8_t f[64];
		static const uint8_t zero[6];
		size_t before = txlog_len;

		inject(f, mk_arp(f, 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac));
		net_poll();
		CHECK(txlog_len == before + 1);
	}
}

static void test_dhcp_bad_replies(void)
{
	for (int c = 1; c <= 5; c++) {
		uint64_t t0;
		struct netcfg *cfg;

		dhcp_setup();
		cfg = net_config();
		cfg->addr = IP(192, 168, 1, 5); /* restored on failure */
		cfg->mask = IP(255, 255, 255, 0);
		dh.corrupt = c;
		t0 = clock_us;
		CHECK(dhcp_run(3000) == -1);
		CHECK(clock_us - t0 >= 3000000);
		CHECK(dh.requests == 0);
		CHECK(dh.discovers >= 2); /* retransmitted meanwhile */
		CHECK(cfg->addr == IP(192, 168, 1, 5) && cfg->mask == IP(255, 255, 255, 0));
	}
	/* No server at all. */
	dhcp_setup();
	peer_ip = NULL;
	CHECK(dhcp_run(2000) == -1);
}

static void test_dhcp_fuzz(void)
{
	unsigned ok = 0;

	guest_quiet = true;
	for (int i = 0; i < 1500; i++) {
		dhcp_setup();
		dh.fuzz = true;
		if (dhcp_run(20) == 0) {
			ok++;
			CHECK(net_config()->addr != 0);
		}
	}
	guest_quiet = false;
	/* Most mutations break something, a few are harmless. */
	printf("dhcp fuzz: %u of 1500 mutated exchanges still configured\n", ok);
}

/* ================= DNS ================= */

static size_t (*dns_answer)(const uint8_t *q, size_t qlen, uint8_t *r);
static unsigned dns_queries;
static bool dns_zero_udp_csum, dns_udp_len_lie;

static void dns_server(const uint8_t *frame, size_t len)
{
	struct pkt p;
	uint8_t r[2048], f[FRAME_CAP];
	size_t n;

	if (!parse_pkt(frame, len, &p) || p.proto != 17 || p.dport != 53)
		return;
	CHECK(p.csum_ok && p.dst == DNS_IP && p.src == GUEST_IP);
	CHECK(p.sport >= 49152);
	dns_queries++;
	if (!dns_answer)
		return;
	n = dns_answer(p.data, p.dlen, r);
	if (!n)
		return;
	n = mk_udp(f, guest_mac, dns_mac, DNS_IP, 53, GUEST_IP, p.sport, r, n);
	if (dns_zero_udp_csum)
		wr16(f + ETH_HDR + IP_HDR + 6, 0);
	if (dns_udp_len_lie)
		wr16(f + ETH_HDR + IP_HDR + 4, (uint16_t)(rd16(f + ETH_HDR + IP_HDR + 4) + 1));
	inject(f, n);
}

static void dns_setup(void)
{
	setup_static();
	peer_ip = dns_server;
	dns_queries = 0;
	dns_zero_udp_csum = false;
	dns_udp_len_lie = false;
}

/* Echo the header and question back with QR|RD|RA set; returns the
 * length so far (the question ends at 'qlen'). */
static size_t dns_copy_question(const uint8_t *q, size_t qlen, uint8_t *r, uint16_t ancount,
				unsigned rcode)
{
	memcpy(r, q, qlen);
	wr16(r + 2, (uint16_t)(0x8180 | rcode));
	wr16(r + 6, ancount);
	return qlen;
}

static size_t enc_name(uint8_t *p, const char *dotted)
{
	size_t n = 0;

	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);

		p[n++] = (uint8_t)l;
		memcpy(p + n, dotted, l);
		n += l;
		dotted += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t rr_fixed(uint8_t *p, uint16_t type, uint16_t rdlen)
{
	wr16(p, type);
	wr16(p + 2, 1);
	wr32(p + 4, 300);
	wr16(p + 8, rdlen);
	return 10;
}

static size_t ans_simple(const uint8_t *q, size_t qlen, uint8_t *r)
{
	size_t n = dns_copy_question(q, qlen, r, 1, 0);

	r[n++] = 0xc0, r[n++] = 12;
	n += rr_fixed(r + n, 1, 4);
	wr32(r + n, IP(93, 184, 216, 34));
	return n + 4;
}

/* www.example.com -> a.cdn.net -> b.cdn.net -> A, with the A record first
 * and pointers into the middle of earlier names. */
static size_t ans_chain(const uint8_t *q, size_t qlen, uint8_t *r)
{
	size_t n = dns_copy_question(q, qlen, r, 4, 0), b_name, a_rdata;

	/* An unrelated A record that must not be taken. */
	n += enc_name(r + n, "other.example.org");
	n += rr_fixed(r + n, 1, 4);
	wr32(r + n, IP(6, 6, 6, 6)), n += 4;
	/* A b.cdn.net */
	b_name = n;
	n += enc_name(r + n, "b.cdn.net");
	n += rr_fixed(r + n, 1, 4);
	wr32(r + n, IP(93, 184, 216, 34)), n += 4;
	/* CNAME www.example.com -> a + pointer to "cdn.net" */
	r[n++] = 0xc0, r[n++] = 12;
	n += rr_fixed(r + n, 5, 4);
	a_rdata = n;
	r[n++] = 1, r[n++] = 'A'; /* upper case: names compare case-insensitively */
	r[n++] = (uint8_t)(0xc0 | (b_name + 2) >> 8), r[n++] = (uint8_t)(b_name + 2);
	/* CNAME a.cdn.net (pointer to the rdata above) -> b.cdn.net */
	r[n++] = (uint8_t)(0xc0 | a_rdata >> 8), r[n++] = (uint8_t)a_rdata;
	n += rr_fixed(r + n, 5, 2);
	r[n++] = (uint8_t)(0xc0 | b_name >> 8), r[n++] = (uint8_t)b_name;
	return n;
}

static void test_dns(void)
{
	uint32_t addr = 0;
	struct pkt p;

	dns_setup();
	dns_answer = ans_simple;
	CHECK(dns_resolve("www.Example.COM", &addr, 2000) == 0);
	CHECK(addr == IP(93, 184, 216, 34));
	CHECK(dns_queries == 1);
	/* The query on the wire. */
	for (size_t i = 0; i < txlog_len; i++) {
		if (!parse_pkt(txlog[i].d, txlog[i].len, &p) || p.proto != 17 || p.dport != 53)
			continue;
		uint8_t want[64];
		size_t wl = enc_name(want, "www.example.com");
		CHECK(p.dlen == 12 + wl + 4);
		CHECK(rd16(p.data + 2) == 0x0100); /* standard query, RD */
		CHECK(rd16(p.data + 4) == 1 && rd16(p.data + 6) == 0 && rd16(p.data + 8) == 0);
		CHECK(!memcmp(p.data + 12, want, wl));
		CHECK(rd16(p.data + 12 + wl) == 1 && rd16(p.data + 14 + wl) == 1);
	}

	addr = 0;
	dns_answer = ans_chain;
	CHECK(dns_resolve("www.example.com.", &addr, 2000) == 0);
	CHECK(addr == IP(93, 184, 216, 34));

	/* A zero UDP checksum means "none" and is accepted. */
	addr = 0;
	dns_zero_udp_csum = true;
	CHECK(dns_resolve("www.example.com", &addr, 2000) == 0 && addr == IP(93, 184, 216, 34));
	dns_zero_udp_csum = false;

	/* An explicit resolver and port. */
	dns_setup();
	dns_answer = ans_simple;
	CHECK(dns_resolve_at("host", GW_IP, 5353, &addr, 500) == -1); /* nobody there */
	CHECK(dns_queries == 0);

	/* No answer: retransmitted, then -1. */
	dns_setup();
	dns_answer = NULL;
	CHECK(dns_resolve("www.example.com", &addr, 3500) == -1);
	CHECK(dns_queries >= 3);

	/* Literal addresses need no server; invalid names send nothing. */
	dns_setup();
	CHECK(dns_resolve("192.0.2.7", &addr, 100) == 0 && addr == IP(192, 0, 2, 7));
	CHECK(dns_resolve("a..b", &addr, 100) == -1);
	CHECK(dns_resolve(".", &addr, 100) == -1);
	CHECK(dns_resolve("", &addr, 100) == -1);
	{
		char name[300];

		memset(name, 'a', 64);
		strcpy(name + 64, ".com");
		CHECK(dns_resolve(name, &addr, 100) == -1); /* 64-byte label */
		memset(name, 'a', 254);
		for (int i = 63; i < 254; i += 64)
			name[i] = '.';
		name[254] = 0;
		CHECK(dns_resolve(name, &addr, 100) == -1); /* 254 characters */
		name[253] = 0;
		dns_answer = NULL;
		CHECK(dns_resolve(name, &addr, 100) == -1); /* 253: valid, unanswered */
	}
	CHECK(dns_queries == 1);
}

/* ---- malformed answers: every one must fail the lookup, not crash ---- */

static int bad_case;

static size_t ans_bad(const uint8_t *q, size_t qlen, uint8_t *r)
{
	size_t n, at;

	switch (bad_case) {
	case 0: /* owner name pointing at itself */
		n = dns_copy_question(q, qlen, r, 1, 0);
		at = n;
		r[n++] = (uint8_t)(0xc0 | at >> 8), r[n++] = (uint8_t)at;
		n += rr_fixed(r + n, 1, 4);
		return n + 4;
	case 1: /* two pointers pointing at each other */
		n = dns_copy_question(q, qlen, r, 1, 0);
		at = n;
		r[n++] = (uint8_t)(0xc0 | (at + 2) >> 8), r[n++] = (uint8_t)(at + 2);
		r[n++] = (uint8_t)(0xc0 | at >> 8), r[n++] = (uint8_t)at;
		n += rr_fixed(r + n, 1, 4);
		return n + 4;
	case 2: /* pointer beyond the message */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 0xff, r[n++] = 0xff;
		n += rr_fixed(r + n, 1, 4);
		return n + 4;
	case 3: /* label running past the end */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 50, r[n++] = 'a', r[n++] = 'b';
		return n;
	case 4: /* rdlength beyond the end */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 1, 400);
		return n + 4;
	case 5: /* a name longer than 255 through pointers to long labels */
		n = dns_copy_question(q, qlen, r, 1, 0);
		at = n;
		for (int i = 0; i < 5; i++) {
			r[n++] = 63;
			memset(r + n, 'x', 63);
			n += 63;
		}
		r[n++] = 0;
		/* The answer's owner: the five labels above (319 bytes). */
		r[n++] = (uint8_t)(0xc0 | at >> 8), r[n++] = (uint8_t)at;
		n += rr_fixed(r + n, 1, 4);
		return n + 4;
	case 6: /* reserved label type 0x80 */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 0x80, r[n++] = 1;
		n += rr_fixed(r + n, 1, 4);
		return n + 4;
	case 7: /* CNAME loop: www.example.com -> x.example.com -> www.example.com */
		n = dns_copy_question(q, qlen, r, 2, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 5, 4);
		at = n;
		r[n++] = 1, r[n++] = 'x', r[n++] = 0xc0, r[n++] = 16; /* x + "example.com" */
		r[n++] = (uint8_t)(0xc0 | at >> 8), r[n++] = (uint8_t)at;
		n += rr_fixed(r + n, 5, 2);
		r[n++] = 0xc0, r[n++] = 12;
		return n;
	case 8: /* more answers announced than present */
		n = dns_copy_question(q, qlen, r, 5, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 5, 2);
		r[n++] = 0xc0, r[n++] = 12 + 4; /* -> example.com, never answered */
		return n;
	case 9: /* NXDOMAIN */
		return dns_copy_question(q, qlen, r, 0, 3);
	case 10: /* NOERROR without an A record (only an AAAA) */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 28, 16);
		memset(r + n, 0x20, 16);
		return n + 16;
	case 11: /* A record with a 6-byte address */
		n = dns_copy_question(q, qlen, r, 1, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 1, 6);
		memset(r + n, 1, 6);
		return n + 6;
	case 12: /* CNAME whose target runs outside its rdata */
		n = dns_copy_question(q, qlen, r, 2, 0);
		r[n++] = 0xc0, r[n++] = 12;
		n += rr_fixed(r + n, 5, 1);
		r[n++] = 5, r[n++] = 'a', r[n++] = 'b', r[n++] = 'c', r[n++] = 'd', r[n++] = 'e';
		r[n++] = 0;
		return n;
	}
	return 0;
}
#define BAD_PARSED 13 /* cases 0..12 are read and rejected */

/* Replies the resolver must ignore (and so time out on). */
static size_t ans_ignored(const uint8_t *q, size_t qlen, uint8_t *r)
{
	size_t n;

	switch (bad_case) {
	case 0: /* wrong id */
		n = ans_simple(q, qlen, r);
		r[0] ^= 0x55;
		return n;
	case 1: /* not a response (QR clear) */
		n = ans_simple(q, qlen, r);
		r[2] &= 0x7f;
		return n;
	case 2: /* somebody else's question */
		n = ans_simple(q, qlen, r);
		r[13] ^= 0x20 ^ 0x01;
		return n;
	case 3: /* question name with a pointer loop */
		memcpy(r, q, 12);
		wr16(r + 2, 0x8180);
		wr16(r + 6, 0);
		r[12] = 0xc0, r[13] = 12;
		wr16(r + 14, 1), wr16(r + 16, 1);
		return 18;
	case 4: /* truncated header */
		memcpy(r, q, 6);
		r[2] |= 0x80;
		return 6;
	case 5: /* question, but no room for type and class */
		n = dns_copy_question(q, qlen, r, 0, 0);
		return n - 3;
	}
	return 0;
}
#define IGNORED_CASES 6

static void test_dns_malformed(void)
{
	uint32_t addr;
	uint64_t t0;

	for (bad_case = 0; bad_case < BAD_PARSED; bad_case++) {
		dns_setup();
		dns_answer = ans_bad;
		addr = 0xdeadbeef;
		t0 = clock_us;
		CHECK(dns_resolve("www.example.com", &addr, 3000) == -1);
		/* Rejected on arrival, not by running out of time. */
		if (clock_us - t0 >= 1000000)
			fprintf(stderr, "dns bad case %d not rejected at once\n", bad_case);
		CHECK(clock_us - t0 < 1000000);
		CHECK(dns_queries == 1);
		CHECK(addr == 0xdeadbeef);
	}
	for (bad_case = 0; bad_case < IGNORED_CASES; bad_case++) {
		dns_setup();
		dns_answer = ans_ignored;
		addr = 0xdeadbeef;
		CHECK(dns_resolve("www.example.com", &addr, 1500) == -1);
		CHECK(dns_queries == 2); /* retried: the reply was not taken */
		CHECK(addr == 0xdeadbeef);
	}
	/* A UDP length longer than the datagram drops it. */
	dns_setup();
	dns_answer = ans_simple;
	dns_udp_len_lie = true;
	CHECK(dns_resolve("www.example.com", &addr, 500) == -1);
}

static size_t ans_fuzz(const uint8_t *q, size_t qlen, uint8_t *r)
{
	size_t n = ans_chain(q, qlen, r);
	unsigned k = 1 + prng() % 8;

	for (unsigned i = 0; i < k; i++) {
		size_t at = 2 + prng() % (n - 2); /* keep the id */
		uint32_t what = prng() % 4;

		if (what == 0)
			r[at] = 0xc0; /* pointers are where the danger is */
		else if (what == 1)
			r[at] = (uint8_t)(r[at] + 1);
		else
			r[at] = (uint8_t)prng();
	}
	if (prng() % 4 == 0)
		n = 2 + prng() % (n - 2);
	return n;
}

static void test_dns_fuzz(void)
{
	unsigned resolved = 0;
	uint32_t addr;

	dns_setup();
	dns_answer = ans_fuzz;
	guest_quiet = true;
	for (int i = 0; i < 4000; i++)
		if (dns_resolve("www.example.com", &addr, 30) == 0)
			resolved++;
	guest_quiet = false;
	printf("dns fuzz: %u of 4000 mutated answers still resolved\n", resolved);
	/* The stack is still healthy afterwards. */
	dns_answer = ans_simple;
	CHECK(dns_resolve("www.example.com", &addr, 1000) == 0 && addr == IP(93, 184, 216, 34));
}

/* ================= TCP ================= */

static uint8_t *pattern(size_t len, uint32_t seed)
{
	uint8_t *d = malloc(len);

	if (!d)
		abort();
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 7 + (i >> 8) + seed);
	return d;
}

static void tcp_setup(uint16_t mss, uint32_t cap)
{
	setup_static();
	tpeer_reset(80, mss, cap);
	peer_ip = tpeer_ip;
	peer_idle = tpeer_idle;
}

/* The first logged TCP segment carrying exactly these flags. */
static bool find_tcp(uint8_t flags, struct pkt *p)
{
	for (size_t i = 0; i < txlog_len; i++)
		if (parse_pkt(txlog[i].d, txlog[i].len, p) && p->proto == 6 && p->flags == flags)
			return true;
	return false;
}

static void test_tcp_active_transfer(void)
{
	const size_t len = 65536;
	uint8_t *data = pattern(len, 1), *back = pattern(10000, 2), buf[4096];
	struct pkt p;
	size_t got = 0;
	uint64_t t0;

	tcp_setup(1000, 4000);
	tp.consume_every_us = 2000;
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	CHECK(tp.syns == 1 && tp.guest_mss == 1460);
	REQUIRE(find_tcp(TH_SYN, &p));
	CHECK(p.csum_ok && p.sport >= 49152 && p.ack == 0 && p.mss_opt == 1460);
	CHECK(p.wnd > 0);

	/* 64 KiB through a 4000-byte window with every 7th segment lost. */
	tp.drop_every = 7;
	t0 = clock_us;
	CHECK(tcp_send(data, len, 60000) == 0);
	/* Duplicate ACKs repaired most losses: far fewer timeouts than
	 * losses (300 ms each at least). Virtual time: deterministic. */
	printf("64 KiB with %u losses took %llu virtual ms\n", tp.dropped,
	       (unsigned long long)(clock_us - t0) / 1000);
	CHECK(clock_us - t0 < (uint64_t)tp.dropped * 300000 / 2);
	CHECK(tp.stream_len == len && !memcmp(tp.stream, data, len));
	CHECK(tp.edge_violations == 0);
	CHECK(tp.max_seg <= 1000);
	CHECK(tp.dropped > 0);
	CHECK(tp.bad_csum == 0);
	tp.drop_every = 0;

	/* And back, then the peer's FIN. */
	for (size_t off = 0; off < 10000; off += 1000)
		tpeer_send(back + off, 1000, 0);
	while (got < 10000) {
		int n = tcp_recv(buf, sizeof(buf), 1000);

		REQUIRE(n > 0);
		CHECK(!memcmp(buf, back + got, (size_t)n));
		got += (size_t)n;
	}
	tpeer_send(NULL, 0, TH_FIN);
	CHECK(tcp_recv(buf, sizeof(buf), 1000) == 0);
	CHECK(tcp_recv(buf, sizeof(buf), 1000) == 0); /* EOF stays EOF */
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags == TH_ACK && p.ack == tp.snd_nxt);

	/* Sending after the peer's FIN (CLOSE_WAIT) is fine. */
	CHECK(tcp_send("tail", 4, 1000) == 0);
	CHECK(tp.stream_len == len + 4);
	CHECK(tcp_close(2000) == 0);
	CHECK(tp.fin_rcvd);
	CHECK(tp.rsts == 0);
	CHECK(tcp_send("x", 1, 100) == -1);
	free(data);
	free(back);
}

static void test_tcp_active_close_first(void)
{
	uint8_t buf[16];
	struct pkt p;

	tcp_setup(1460, 65535);
	tp.send_fin_on_fin = true;
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	CHECK(tcp_send("ping", 4, 1000) == 0);
	CHECK(tcp_close(2000) == 0);
	CHECK(tp.fin_rcvd);
	run_for(1000);
	/* The peer's FIN got ACKed: we sit in TIME_WAIT. */
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags == TH_ACK && p.ack == tp.snd_nxt);
	/* A retransmitted FIN is ACKed again. */
	{
		size_t before = txlog_len;

		tp.snd_nxt--;
		tpeer_send(NULL, 0, TH_FIN);
		net_poll();
		CHECK(txlog_len == before + 1);
		REQUIRE(last_pkt(0, &p));
		CHECK(p.flags == TH_ACK && p.ack == tp.snd_nxt);
	}
	CHECK(tcp_recv(buf, sizeof(buf), 10) <= 0);
}

static void test_tcp_zero_window(void)
{
	uint8_t *data = pattern(20000, 3);

	tcp_setup(1460, 3000);
	tp.consume_every_us = 1000000; /* slower than the retransmission timer */
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	tp.next_consume = clock_us + tp.consume_every_us;
	CHECK(tcp_send(data, 20000, 60000) == 0);
	CHECK(tp.stream_len == 20000 && !memcmp(tp.stream, data, 20000));
	CHECK(tp.edge_violations == 0);
	CHECK(tp.probes > 0);
	free(data);
}

static void test_tcp_refused_and_timeout(void)
{
	uint64_t t0;
	struct pkt p;
	uint32_t syn_seq = 0;
	unsigned syns = 0;
	bool same = true;

	tcp_setup(1460, 8000);
	tp.refuse = true;
	t0 = clock_us;
	CHECK(tcp_connect(GW_IP, 80, 5000) == -1);
	CHECK(clock_us - t0 < 1000000);

	tcp_setup(1460, 8000);
	tp.silent = true;
	t0 = clock_us;
	CHECK(tcp_connect(GW_IP, 80, 3000) == -1);
	CHECK(clock_us - t0 >= 3000000);
	for (size_t i = 0; i < txlog_len; i++) {
		if (!parse_pkt(txlog[i].d, txlog[i].len, &p) || p.proto != 6 || p.flags != TH_SYN)
			continue;
		if (syns++ == 0)
			syn_seq = p.seq;
		same = same && p.seq == syn_seq;
	}
	CHECK(syns >= 3 && same);

	/* Without an address there is nothing to connect from. */
	setup_unconfigured();
	CHECK(tcp_connect(GW_IP, 80, 100) == -1);
	CHECK(txlog_len == 0);
}

static void inject_syn(uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mss)
{
	uint8_t f[FRAME_CAP], opt[8] = {1, 1, 2, 4, 0, 0, 0, 0}; /* NOPs first */

	wr16(opt + 4, mss);
	inject(f, mk_tcp(f, GW_IP, sport, GUEST_IP, dport, seq, 0, TH_SYN, 8000, opt, 6, NULL, 0));
}

static void test_tcp_passive(void)
{
	uint8_t *data = pattern(2000, 4), buf[64];
	struct pkt p;

	tcp_setup(536, 8000);
	tp.port = 40000;
	teach_gateway_mac();
	CHECK(tcp_accept(10) == -1); /* not listening */
	CHECK(tcp_listen(8080) == 0);
	CHECK(tcp_accept(100) == -1); /* nobody came */
	inject_syn(40000, 8080, tp.iss, 536);
	tp.snd_nxt = tp.iss + 1;
	net_poll();
	REQUIRE(find_tcp(TH_SYN | TH_ACK, &p));
	CHECK(p.csum_ok && p.ack == tp.iss + 1 && p.mss_opt == 1460 && p.sport == 8080);
	CHECK(tp.synced);

	tpeer_send((const uint8_t *)"hello", 5, TH_FIN | TH_PSH);
	CHECK(tcp_accept(1000) == 0);
	CHECK(tcp_recv(buf, sizeof(buf), 1000) == 5 && !memcmp(buf, "hello", 5));
	CHECK(tcp_recv(buf, sizeof(buf), 1000) == 0);
	CHECK(tcp_send(data, 2000, 5000) == 0);
	CHECK(tp.stream_len == 2000 && !memcmp(tp.stream, data, 2000));
	CHECK(tp.max_seg <= 536);
	CHECK(tcp_close(2000) == 0);
	CHECK(tp.fin_rcvd);
	CHECK(tcp_accept(10) == -1); /* the same connection is not handed out twice */

	/* The listener stays: a second connection, this time with a lost
	 * SYN-ACK (the peer resends its SYN). */
	tpeer_reset(40001, 1460, 8000);
	inject_syn(40001, 8080, tp.iss, 1460);
	tp.snd_nxt = tp.iss + 1;
	tx_fail_next = 1u << 30;
	net_poll();
	tx_fail_next = 0;
	CHECK(!tp.synced);
	inject_syn(40001, 8080, tp.iss, 1460);
	net_poll();
	CHECK(tp.synced);
	CHECK(tcp_accept(1000) == 0);
	CHECK(tcp_send("again", 5, 1000) == 0);
	CHECK(tp.stream_len == 5);
	free(data);
}

static void test_tcp_reset_generation(void)
{
	uint8_t f[FRAME_CAP];
	struct pkt p;
	size_t before;

	setup_static();
	teach_gateway_mac();
	inject_syn(5555, 9999, 1000, 1460);
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.proto == 6 && p.csum_ok && p.flags == (TH_RST | TH_ACK) && p.ack == 1001 &&
	      p.seq == 0 && p.sport == 9999 && p.dport == 5555);

	inject(f, mk_tcp(f, GW_IP, 5555, GUEST_IP, 9999, 5, 777, TH_ACK, 100, NULL, 0,
			 (const uint8_t *)"abc", 3));
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags == TH_RST && p.seq == 777);

	/* Never a RST for a RST, nothing for broadcast TCP or bad sums. */
	before = txlog_len;
	inject(f, mk_tcp(f, GW_IP, 5555, GUEST_IP, 9999, 5, 777, TH_RST, 0, NULL, 0, NULL, 0));
	inject(f,
	       mk_tcp(f, GW_IP, 5555, IP(10, 0, 2, 255), 9999, 5, 0, TH_SYN, 0, NULL, 0, NULL, 0));
	size_t n = mk_tcp(f, GW_IP, 5555, GUEST_IP, 9999, 5, 0, TH_SYN, 0, NULL, 0, NULL, 0);
	f[ETH_HDR + IP_HDR + 16] ^= 1;
	inject(f, n);
	n = mk_tcp(f, GW_IP, 5555, GUEST_IP, 9999, 5, 0, TH_SYN, 0, NULL, 0, NULL, 0);
	f[ETH_HDR + IP_HDR + 12] = 0xf0; /* data offset 60 > segment */
	inject(f, n);
	n = mk_tcp(f, GW_IP, 5555, GUEST_IP, 9999, 5, 0, TH_SYN, 0, NULL, 0, NULL, 0);
	f[ETH_HDR + IP_HDR + 12] = 0x40; /* data offset 16 < 20 */
	inject(f, n);
	net_poll();
	CHECK(txlog_len == before);
}

static void test_tcp_out_of_order(void)
{
	uint8_t f[FRAME_CAP], *d = pattern(300, 5), buf[512];
	struct pkt p;
	uint32_t base;
	int got = 0;

	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	base = tp.snd_nxt;
#define SEG(off, len)                                                                              \
	inject(f, mk_tcp(f, GW_IP, 80, GUEST_IP, tp.gport, base + (off), tp.rcv_nxt, TH_ACK, 8000, \
			 NULL, 0, d + (off), (len)))
	SEG(100, 100); /* a hole before it */
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags == TH_ACK && p.ack == base);
	SEG(0, 100);
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.ack == base + 100);
	SEG(100, 100); /* the retransmission fills in */
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.ack == base + 200);
	SEG(50, 150); /* old data again: ACK, nothing new */
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.ack == base + 200);
	SEG(150, 150); /* overlapping: the new part counts */
	net_poll();
	REQUIRE(last_pkt(0, &p));
	CHECK(p.ack == base + 300);
#undef SEG
	while (got < 300) {
		int n = tcp_recv(buf + got, sizeof(buf) - (size_t)got, 100);

		REQUIRE(n > 0);
		got += n;
	}
	CHECK(got == 300 && !memcmp(buf, d, 300));
	free(d);
}

static void test_tcp_window_reopen(void)
{
	uint8_t *d = pattern(40000, 6), *buf = malloc(40000);
	struct pkt p;
	size_t got = 0;

	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	for (size_t off = 0; off < 40000; off += 1000)
		tpeer_send(d + off, 1000, 0);
	net_poll();
	/* 32 KiB fit; the rest was refused with a closed window. */
	REQUIRE(last_pkt(0, &p));
	CHECK(p.wnd == 0 && p.ack == tp.iss + 1 + 32768);
	int n = tcp_recv(buf, 40000, 100);
	CHECK(n == 32768);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags == TH_ACK && p.wnd >= 16384); /* window update */
	got = n > 0 ? (size_t)n : 0;
	/* The peer resends what did not fit. */
	tp.snd_nxt = tp.iss + 1 + 32768;
	for (size_t off = 32768; off < 40000; off += 1000)
		tpeer_send(d + off, off + 1000 > 40000 ? 40000 - off : 1000, 0);
	while (got < 40000) {
		n = tcp_recv(buf + got, 40000 - got, 100);
		REQUIRE(n > 0);
		got += (size_t)n;
	}
	CHECK(!memcmp(buf, d, 40000));
	free(d);
	free(buf);
}

static void test_tcp_rst(void)
{
	uint8_t f[FRAME_CAP], buf[16];

	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	/* Out of the window: ignored. */
	inject(f, mk_tcp(f, GW_IP, 80, GUEST_IP, tp.gport, tp.snd_nxt + 100000, 0, TH_RST, 0, NULL,
			 0, NULL, 0));
	net_poll();
	CHECK(tcp_send("x", 1, 1000) == 0);
	/* In the window: the connection is gone. */
	inject(f, mk_tcp(f, GW_IP, 80, GUEST_IP, tp.gport, tp.snd_nxt, 0, TH_RST, 0, NULL, 0, NULL,
			 0));
	CHECK(tcp_recv(buf, sizeof(buf), 1000) == -1);
	CHECK(tcp_send("y", 1, 100) == -1);
	CHECK(tcp_close(100) == -1);

	/* A RST while we wait for our data to be acknowledged. */
	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	tp.silent = true;
	tp.drop_every = 1;
	inject(f, mk_tcp(f, GW_IP, 80, GUEST_IP, tp.gport, tp.snd_nxt, 0, TH_RST, 0, NULL, 0, NULL,
			 0));
	CHECK(tcp_send("z", 1, 1000) == -1);
}

static void test_tcp_close_timeout(void)
{
	struct pkt p;

	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	tp.ignore_fin = true;
	CHECK(tcp_close(1000) == -1);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags & TH_RST);

	/* A send that is never acknowledged times out and resets. */
	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	tp.drop_every = 1;
	CHECK(tcp_send("lost", 4, 2000) == -1);
	REQUIRE(last_pkt(0, &p));
	CHECK(p.flags & TH_RST);
	{
		uint8_t buf[4];

		CHECK(tcp_recv(buf, sizeof(buf), 10) == -1);
	}
}

static void test_tcp_ports_vary(void)
{
	uint16_t p1, p2, p3;

	fake_tsc = 0x1111;
	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	p1 = tp.gport;
	CHECK(tcp_close(1000) == 0);
	tp.synced = false;
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	p2 = tp.gport;
	fake_tsc = 0x987654321ull;
	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	p3 = tp.gport;
	fake_tsc = 0x1234567890ull;
	CHECK(p1 != p2 && p1 != p3);
	CHECK(p1 >= 49152 && p2 >= 49152 && p3 >= 49152);
}

/* ================= fuzzing whole frames ================= */

static void test_frame_fuzz(void)
{
	uint8_t f[FRAME_CAP], templ[8][FRAME_CAP];
	size_t tlen[8], n;
	static const uint8_t zero[6];
	struct pkt p;
	uint64_t rtt;

	tcp_setup(1460, 65535);
	REQUIRE(tcp_connect(GW_IP, 80, 5000) == 0);
	CHECK(tcp_listen(7) == 0);
	peer_ip = NULL; /* the guest's answers go nowhere */

	tlen[0] = mk_arp(templ[0], 1, gw_mac, GW_IP, zero, GUEST_IP, bcast_mac);
	tlen[1] = mk_echo(templ[1], GUEST_IP, 1, 1, 40);
	tlen[2] = mk_udp(templ[2], guest_mac, gw_mac, GW_IP, 67, GUEST_IP, 68,
			 (const uint8_t *)"0123456789", 10);
	tlen[3] = mk_tcp(templ[3], GW_IP, 80, GUEST_IP, tp.gport, tp.snd_nxt, tp.snd_una, TH_ACK,
			 1000, NULL, 0, (const uint8_t *)"data", 4);
	{
		uint8_t opt[12] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0};

		tlen[4] = mk_tcp(templ[4], GW_IP, 1234, GUEST_IP, 7, 99, 0, TH_SYN, 1000, opt, 12,
				 NULL, 0);
		tlen[5] = mk_tcp(templ[5], GW_IP, 80, GUEST_IP, tp.gport, tp.snd_nxt, tp.snd_una,
				 TH_ACK | TH_FIN, 1000, opt, 12, NULL, 0);
	}
	tlen[6] = mk_udp(templ[6], guest_mac, dns_mac, DNS_IP, 53, GUEST_IP, 50000,
			 (const uint8_t *)"\x12\x34\x81\x80", 4);
	tlen[7] = mk_echo(templ[7], GUEST_IP, 3, 3, 1400);

	for (int i = 0; i < 30000; i++) {
		int t = (int)(prng() % 8);
		unsigned k = 1 + prng() % 4;

		n = tlen[t];
		memcpy(f, templ[t], n);
		for (unsigned j = 0; j < k; j++)
			f[ETH_HDR + prng() % (n - ETH_HDR)] = (uint8_t)prng();
		if (prng() % 3 == 0)
			n = prng() % (n + 1);
		/* Often fix the checksums up so the mutation reaches the
		 * deeper parsers. */
		if (n >= ETH_HDR + IP_HDR && rd16(f + 12) == 0x0800 && prng() % 2) {
			size_t ihl = (size_t)(f[ETH_HDR] & 15) * 4;
			size_t total = rd16(f + ETH_HDR + 2);

			if (ihl >= IP_HDR && ETH_HDR + ihl <= n) {
				wr16(f + ETH_HDR + 10, 0);
				wr16(f + ETH_HDR + 10, ref_csum(f + ETH_HDR, ihl, 0));
			}
			if (ihl >= IP_HDR && total >= ihl && ETH_HDR + total <= n) {
				uint8_t *l4 = f + ETH_HDR + ihl;
				size_t l4len = total - ihl;
				uint8_t proto = f[ETH_HDR + 9];
				uint32_t ps = ref_pseudo(rd32(f + ETH_HDR + 12),
							 rd32(f + ETH_HDR + 16), proto, l4len);

				if (proto == 6 && l4len >= 20) {
					wr16(l4 + 16, 0);
					wr16(l4 + 16, ref_csum(l4, l4len, ps));
				} else if (proto == 17 && l4len >= 8) {
					wr16(l4 + 6, 0);
					wr16(l4 + 6, ref_csum(l4, l4len, ps));
				} else if (proto == 1 && l4len >= 4) {
					wr16(l4 + 2, 0);
					wr16(l4 + 2, ref_csum(l4, l4len, 0));
				}
			}
		}
		inject(f, n);
		if (i % 16 == 0)
			net_poll();
	}
	net_poll();
	/* Still alive and answering. */
	size_t before = txlog_len;
	inject(f, mk_echo(f, GUEST_IP, 0x77, 0x77, 10));
	net_poll();
	CHECK(txlog_len > before);
	CHECK(last_pkt(0, &p) && p.proto == 1 && rd16(p.data + 4) == 0x77);
	peer_ip = echo_peer;
	echo_mode = echo_good;
	CHECK(ping(GW_IP, 1, 1000, &rtt) == 0);
}

static void test_unbound(void)
{
	uint32_t addr;
	uint8_t buf[8];

	harness_reset();
	net_init(NULL); /* what a scenario does when no NIC was found */
	net_poll();
	CHECK(dhcp_run(100) == -1);
	CHECK(ping(GW_IP, 1, 100, NULL) == -1);
	CHECK(udp_send(GW_IP, 1, 2, "x", 1) == -1);
	CHECK(dns_resolve_at("kite.test", DNS_IP, 53, &addr, 100) == -1);
	CHECK(tcp_connect(GW_IP, 80, 100) == -1);
	CHECK(tcp_listen(80) == 0);
	CHECK(tcp_accept(100) == -1);
	CHECK(tcp_send("x", 1, 100) == -1);
	CHECK(tcp_recv(buf, sizeof(buf), 100) == -1);
	CHECK(tcp_close(100) == 0); /* nothing was open */
	CHECK(txlog_len == 0);
}

const struct net_test net_tests[] = {
	{"unbound", test_unbound},
    {"arp-reply", test_arp_reply},
    {"arp-resolve-udp", test_arp_resolve_and_udp},
    {"tx-ring-full", test_tx_ring_full},
    {"icmp-responder", test_icmp_responder},
    {"ping", test_ping},
    {"dhcp", test_dhcp},
    {"dhcp-bad-replies", test_dhcp_bad_replies},
    {"dhcp-fuzz", test_dhcp_fuzz},
    {"dns", test_dns},
    {"dns-malformed", test_dns_malformed},
    {"dns-fuzz", test_dns_fuzz},
    {"tcp-active-transfer", test_tcp_active_transfer},
    {"tcp-active-close-first", test_tcp_active_close_first},
    {"tcp-zero-window", test_tcp_zero_window},
    {"tcp-refused-timeout", test_tcp_refused_and_timeout},
    {"tcp-passive", test_tcp_passive},
    {"tcp-reset-generation", test_tcp_reset_generation},
    {"tcp-out-of-order", test_tcp_out_of_order},
    {"tcp-window-reopen", test_tcp_window_reopen},
    {"tcp-rst", test_tcp_rst},
    {"tcp-close-timeout", test_tcp_close_timeout},
    {"tcp-ports-vary", test_tcp_ports_vary},
    {"frame-fuzz", test_frame_fuzz},
};
const size_t net_tests_count = sizeof(net_tests) / sizeof(net_tests[0]);
