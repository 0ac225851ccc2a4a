/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guest's network stack, lower half: Ethernet II, ARP, IPv4 (no
 * fragments), ICMP echo (client and responder) and UDP, plus the polling
 * loop that feeds DHCP, DNS and TCP (net-dhcp.c, net-dns.c, net-tcp.c).
 *
 * Single-threaded and interrupt-free: frames are only read inside
 * net_poll(), and only the top-level calls (ping, udp_send, dhcp_run, ...)
 * ever wait. Input paths may transmit (ARP and echo replies, TCP ACKs) but
 * never block, so net_poll() is never re-entered.
 */
#include "net.h"

#define ARP_CACHE_SIZE	  8
#define ARP_RETRY_US	  200000
#define ARP_HLEN	  28
#define ARP_OP_REQUEST	  1
#define ARP_OP_REPLY	  2
#define ICMP_ECHO_REPLY	  0
#define ICMP_ECHO_REQUEST 8
#define ICMP_HLEN	  8
#define PING_PAYLOAD	  32
#define POLL_FRAMES_MAX	  64
#define UDP_SEND_ARP_WAIT 1000
#define TX_SPIN_US	  2000

struct netcfg net_cfg;

static struct netif *net_if;
static bool net_polling;
static uint32_t rand_state;
static uint16_t ip_id;
static uint16_t next_port;

/* Room for an Ethernet header in front of a full-MTU IPv4 packet. The
 * receive buffer is larger than any legal frame so an oversized one is
 * seen (and dropped here) rather than silently truncated. */
static uint8_t tx_frame[ETH_FRAME_MAX] __attribute__((aligned(16)));
static uint8_t rx_frame[2048] __attribute__((aligned(16)));
static uint8_t arp_frame[ETH_HLEN + ARP_HLEN] __attribute__((aligned(16)));

static const uint8_t mac_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct arp_entry {
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	uint64_t used; /* now_us() of the last insert/update, for eviction */
} arp_cache[ARP_CACHE_SIZE];
static uint32_t arp_last_req_ip;
static uint64_t arp_last_req_us;

/* The ping in progress: its id/seq and, once answered, the arrival time. */
static struct {
	bool waiting;
	uint32_t dst;
	uint16_t id, seq;
	uint64_t replied_us;
} ping_state;

/* ---- helpers ---- */

uint32_t csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get_be16(data + i);
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	/* Fold early so long buffers never overflow the accumulator. */
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

uint32_t net_random(void)
{
	uint32_t x = rand_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rand_state = x;
	return x;
}

uint16_t net_ephemeral_port(void)
{
	uint16_t port = next_port;

	next_port = next_port == 65535 ? 49152 : next_port + 1;
	return port;
}

bool net_bound(void)
{
	return net_if != NULL;
}

const uint8_t *net_mac(void)
{
	return net_if->mac;
}

struct netcfg *net_config(void)
{
	return &net_cfg;
}

void net_init(struct netif *nif)
{
	uint32_t seed = (uint32_t)rdtsc() ^ (uint32_t)(rdtsc() >> 32);
	int i;

	net_if = nif;
	memset(&net_cfg, 0, sizeof(net_cfg));
	memset(arp_cache, 0, sizeof(arp_cache));
	memset(&ping_state, 0, sizeof(ping_state));
	arp_last_req_ip = 0;
	arp_last_req_us = 0;
	net_polling = false;

	/* The MAC makes two guests booted at the same TSC value differ too.
	 * A NULL interface (no NIC found) leaves the stack unbound: every
	 * call then fails cleanly. */
	for (i = 0; nif && i < ETH_ALEN; i++)
		seed = seed * 31 + nif->mac[i];
	rand_state = seed ? seed : 0x6b697465;
	for (i = 0; i < 4; i++)
		net_random();
	ip_id = (uint16_t)net_random();
	next_port = (uint16_t)(49152 + net_random() % 16384);

	dhcp_reset();
	dns_reset();
	tcp_reset();
}

/* ---- Ethernet ---- */

static int eth_send(const uint8_t *frame, size_t len)
{
	uint64_t give_up = 0;

	/* A full ring drains by itself (the device consumes it, no receive
	 * processing needed), so retry briefly before dropping the frame. */
	while (net_if->tx(net_if, frame, len) != 0) {
		uint64_t now = now_us();

		if (!give_up)
			give_up = now + TX_SPIN_US;
		else if (now >= give_up)
			return -1;
	}
	return 0;
}

static void eth_header(uint8_t *frame, const uint8_t *dst, uint16_t type)
{
	memcpy(frame, dst, ETH_ALEN);
	memcpy(frame + ETH_ALEN, net_if->mac, ETH_ALEN);
	put_be16(frame + 12, type);
}

/* ---- ARP ---- */

static bool ip_on_link(uint32_t ip)
{
	if (!net_cfg.addr || !net_cfg.mask)
		return !net_cfg.gw;
	return ((ip ^ net_cfg.addr) & net_cfg.mask) == 0;
}

static bool ip_is_broadcast(uint32_t ip)
{
	if (ip == IPV4_BROADCAST)
		return true;
	return net_cfg.addr && net_cfg.mask && net_cfg.mask != IPV4_BROADCAST &&
	       ip == (net_cfg.addr | ~net_cfg.mask);
}

/* Off-subnet destinations go through the gateway (when there is one). */
static uint32_t next_hop(uint32_t dst)
{
	if (ip_is_broadcast(dst) || ip_on_link(dst) || !net_cfg.gw)
		return dst;
	return net_cfg.gw;
}

static struct arp_entry *arp_lookup(uint32_t ip)
{
	int i;

	for (i = 0; i < ARP_CACHE_SIZE; i++)
		if (arp_cache[i].used && arp_cache[i].ip == ip)
			return &arp_cache[i];
	return NULL;
}

static void arp_update(uint32_t ip, const uint8_t *mac, bool create)
{
	struct arp_entry *e = arp_lookup(ip);
	int i;

	if (!e) {
		if (!create)
			return;
		e = &arp_cache[0];
		for (i = 1; i < ARP_CACHE_SIZE; i++)
			if (arp_cache[i].used < e->used)
				e = &arp_cache[i];
	}
	e->ip = ip;
	memcpy(e->mac, mac, ETH_ALEN);
	e->used = now_us() | 1; /* never 0: 0 marks a free slot */
}

static void arp_send(uint16_t op, const uint8_t *dst_mac, const uint8_t *target_mac,
		     uint32_t target_ip)
{
	uint8_t *a = arp_frame + ETH_HLEN;

	eth_header(arp_frame, dst_mac, ETHERTYPE_ARP);
	put_be16(a, 1); /* hardware: Ethernet */
	put_be16(a + 2, ETHERTYPE_IPV4);
	a[4] = ETH_ALEN;
	a[5] = 4;
	put_be16(a + 6, op);
	memcpy(a + 8, net_if->mac, ETH_ALEN);
	put_be32(a + 14, net_cfg.addr);
	memcpy(a + 18, target_mac, ETH_ALEN);
	put_be32(a + 24, target_ip);
	eth_send(arp_frame, sizeof(arp_frame));
}

static void arp_request(uint32_t ip)
{
	static const uint8_t zero_mac[ETH_ALEN];

	arp_last_req_ip = ip;
	arp_last_req_us = now_us();
	arp_send(ARP_OP_REQUEST, mac_broadcast, zero_mac, ip);
}

static void arp_input(const uint8_t *a, size_t len)
{
	uint32_t sender_ip, target_ip;
	bool for_us;

	if (len < ARP_HLEN || get_be16(a) != 1 || get_be16(a + 2) != ETHERTYPE_IPV4 ||
	    a[4] != ETH_ALEN || a[5] != 4)
		return;
	sender_ip = get_be32(a + 14);
	target_ip = get_be32(a + 24);
	for_us = net_cfg.addr && target_ip == net_cfg.addr;

	/* RFC 826: refresh a known sender always, add a new one only when it
	 * talks to us. A zero sender is an address probe: nothing to learn. */
	if (sender_ip && sender_ip != IPV4_BROADCAST)
		arp_update(sender_ip, a + 8, for_us);

	if (for_us && get_be16(a + 6) == ARP_OP_REQUEST)
		arp_send(ARP_OP_REPLY, a + 8, a + 8, sender_ip);
}

int arp_wait(uint32_t dst, uint32_t timeout_ms)
{
	uint32_t hop = next_hop(dst);
	uint64_t deadline = net_deadline(timeout_ms);
	uint64_t next_req = 0;

	if (!net_if)
		return -1;
	if (ip_is_broadcast(hop))
		return 0;
	for (;;) {
		uint64_t now;

		if (arp_lookup(hop))
			return 0;
		now = now_us();
		if (now >= deadline)
			return -1;
		if (now >= next_req) {
			arp_request(hop);
			next_req = now + ARP_RETRY_US;
		}
		net_poll();
	}
}

/* ---- IPv4 ---- */

uint8_t *ip_payload(void)
{
	return tx_frame + ETH_HLEN + IPV4_HLEN;
}

int ip_send(uint32_t dst, uint8_t proto, size_t len)
{
	uint32_t hop = next_hop(dst);
	uint8_t *ip = tx_frame + ETH_HLEN;
	const uint8_t *mac;

	if (!net_if || len > IP_PAYLOAD_MAX)
		return -1;
	if (ip_is_broadcast(hop)) {
		mac = mac_broadcast;
	} else {
		struct arp_entry *e = arp_lookup(hop);

		if (!e) {
			/* Rate-limited so a burst of segments does not
			 * turn into a burst of identical requests. */
			if (hop != arp_last_req_ip || now_us() - arp_last_req_us >= ARP_RETRY_US)
				arp_request(hop);
			return -1;
		}
		mac = e->mac;
	}
	eth_header(tx_frame, mac, ETHERTYPE_IPV4);
	ip[0] = 0x45;
	ip[1] = 0;
	put_be16(ip + 2, (uint16_t)(IPV4_HLEN + len));
	put_be16(ip + 4, ip_id++);
	put_be16(ip + 6, 0x4000); /* DF: we never fragment */
	ip[8] = 64;
	ip[9] = proto;
	put_be16(ip + 10, 0);
	put_be32(ip + 12, net_cfg.addr);
	put_be32(ip + 16, dst);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
	return eth_send(tx_frame, ETH_HLEN + IPV4_HLEN + len);
}

static bool ip_for_us(uint32_t dst)
{
	/* Before DHCP has finished we own no address; the server may send the
	 * OFFER/ACK to the offered address, so take everything then. */
	return !net_cfg.addr || dst == net_cfg.addr || ip_is_broadcast(dst);
}

/* ---- ICMP ---- */

static void icmp_input(uint32_t src, uint32_t dst, const uint8_t *icmp, size_t len)
{
	uint8_t *out;

	if (len < ICMP_HLEN || csum_fold(csum_add(0, icmp, len)) != 0)
		return;
	switch (icmp[0]) {
	case ICMP_ECHO_REQUEST:
		if (!net_cfg.addr || dst != net_cfg.addr || len > IP_PAYLOAD_MAX)
			return;
		out = ip_payload();
		memcpy(out, icmp, len);
		out[0] = ICMP_ECHO_REPLY;
		out[1] = 0;
		put_be16(out + 2, 0);
		put_be16(out + 2, csum_fold(csum_add(0, out, len)));
		ip_send(src, IPPROTO_ICMP, len);
		break;
	case ICMP_ECHO_REPLY:
		if (ping_state.waiting && !ping_state.replied_us && src == ping_state.dst &&
		    get_be16(icmp + 4) == ping_state.id && get_be16(icmp + 6) == ping_state.seq)
			ping_state.replied_us = now_us();
		break;
	default:
		break;
	}
}

int ping(uint32_t dst, uint16_t seq, uint32_t timeout_ms, uint64_t *rtt_us)
{
	uint64_t deadline = net_deadline(timeout_ms);
	uint64_t sent_us;
	uint8_t *icmp;
	int i;

	if (arp_wait(dst, timeout_ms) != 0)
		return -1;
	if (!ping_state.id)
		ping_state.id = (uint16_t)(net_random() | 1);
	icmp = ip_payload();
	icmp[0] = ICMP_ECHO_REQUEST;
	icmp[1] = 0;
	put_be16(icmp + 2, 0);
	put_be16(icmp + 4, ping_state.id);
	put_be16(icmp + 6, seq);
	for (i = 0; i < PING_PAYLOAD; i++)
		icmp[ICMP_HLEN + i] = (uint8_t)('a' + i % 26);
	put_be16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HLEN + PING_PAYLOAD)));

	ping_state.dst = dst;
	ping_state.seq = seq;
	ping_state.replied_us = 0;
	ping_state.waiting = true;
	sent_us = now_us();
	if (ip_send(dst, IPPROTO_ICMP, ICMP_HLEN + PING_PAYLOAD) != 0) {
		ping_state.waiting = false;
		return -1;
	}
	while (!ping_state.replied_us && now_us() < deadline)
		net_poll();
	ping_state.waiting = false;
	if (!ping_state.replied_us)
		return -1;
	if (rtt_us)
		*rtt_us = ping_state.replied_us - sent_us;
	return 0;
}

/* ---- UDP ---- */

int udp_output(uint32_t dst, uint16_t sport, uint16_t dport, size_t len)
{
	uint8_t *udp = ip_payload();
	uint16_t total = (uint16_t)(UDP_HLEN + len);
	uint16_t sum;

	if (len > IP_PAYLOAD_MAX - UDP_HLEN)
		return -1;
	put_be16(udp, sport);
	put_be16(udp + 2, dport);
	put_be16(udp + 4, total);
	put_be16(udp + 6, 0);
	sum = csum_fold(csum_add(csum_pseudo(net_cfg.addr, dst, IPPROTO_UDP, total), udp, total));
	/* 0 means "no checksum" on the wire; a real zero is sent as ~0. */
	put_be16(udp + 6, sum ? sum : 0xffff);
	return ip_send(dst, IPPROTO_UDP, total);
}

int udp_send(uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	if (len > IP_PAYLOAD_MAX - UDP_HLEN)
		return -1;
	if (arp_wait(dst, UDP_SEND_ARP_WAIT) != 0)
		return -1;
	if (len)
		memcpy(ip_payload() + UDP_HLEN, data, len);
	return udp_output(dst, sport, dport, len);
}

static void udp_input(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len)
{
	uint16_t ulen, sport, dport;

	if (len < UDP_HLEN)
		return;
	ulen = get_be16(udp + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return;
	if (get_be16(udp + 6) &&
	    csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP, ulen), udp, ulen)) != 0)
		return;
	sport = get_be16(udp);
	dport = get_be16(udp + 2);
	if (dport == DHCP_CLIENT_PORT && sport == DHCP_SERVER_PORT)
		dhcp_input(src, udp + UDP_HLEN, ulen - UDP_HLEN);
	else
		dns_input(src, sport, dport, udp + UDP_HLEN, ulen - UDP_HLEN);
}

static void ipv4_input(const uint8_t *ip, size_t len)
{
	size_t hlen, total;
	uint32_t src, dst;

	if (len < IPV4_HLEN || ip[0] >> 4 != 4)
		return;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	total = get_be16(ip + 2);
	/* The frame may carry Ethernet padding after the packet, never less
	 * than the packet. */
	if (hlen < IPV4_HLEN || total < hlen || total > len)
		return;
	if (csum_fold(csum_add(0, ip, hlen)) != 0)
		return;
	/* No reassembly: drop every fragment (MF set or non-zero offset). */
	if (get_be16(ip + 6) & 0x3fff)
		return;
	src = get_be32(ip + 12);
	dst = get_be32(ip + 16);
	if (!ip_for_us(dst))
		return;
	switch (ip[9]) {
	case IPPROTO_ICMP:
		icmp_input(src, dst, ip + hlen, total - hlen);
		break;
	case IPPROTO_UDP:
		udp_input(src, dst, ip + hlen, total - hlen);
		break;
	case IPPROTO_TCP:
		/* Broadcast TCP makes no sense and must not be answered. */
		if (net_cfg.addr && dst == net_cfg.addr)
			tcp_input(src, dst, ip + hlen, total - hlen);
		break;
	default:
		break;
	}
}

static void eth_input(const uint8_t *frame, size_t len)
{
	if (len < ETH_HLEN)
		return;
	if (memcmp(frame, net_if->mac, ETH_ALEN) != 0 &&
	    memcmp(frame, mac_broadcast, ETH_ALEN) != 0)
		return;
	switch (get_be16(frame + 12)) {
	case ETHERTYPE_ARP:
		arp_input(frame + ETH_HLEN, len - ETH_HLEN);
		break;
	case ETHERTYPE_IPV4:
		ipv4_input(frame + ETH_HLEN, len - ETH_HLEN);
		break;
	default:
		break;
	}
}

void net_poll(void)
{
	int i;

	/* Input paths never wait, so this only guards against a future
	 * caller doing so: a nested poll would clobber rx_frame. */
	if (!net_if || net_polling)
		return;
	net_polling = true;
	for (i = 0; i < POLL_FRAMES_MAX; i++) {
		size_t len = net_if->rx(net_if, rx_frame, sizeof(rx_frame));

		if (!len)
			break;
		if (len > sizeof(rx_frame))
			continue; /* a driver bug: never trust it */
		eth_input(rx_frame, len);
	}
	tcp_tick();
	net_polling = false;
}
