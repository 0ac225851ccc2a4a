// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * offload-tso ADDR PORT BYTES: sends BYTES through one TCP connection to
 * ADDR:PORT with the card's TCP segmentation offload, then closes it: the
 * e1000's (context descriptors) or virtio-net's (VIRTIO_NET_F_HOST_TSO4,
 * offered only when the backend carries the virtio header, e.g. a tap
 * with vnet_hdr=on).
 *
 * The network stack's TCP keeps its state to itself, so this scenario runs
 * a small sender of its own next to it: the stack does DHCP and ARP, a
 * frame filter takes the segments of this connection off the card before
 * the stack sees them, and the frames out are built here. Data leaves only
 * as TSO bursts: one header template (IPv4 checksum zero, TCP checksum the
 * pseudo-header sum without the length) and up to a window of payload,
 * which the card cuts into MSS-sized segments, numbering, checksumming and
 * flagging each. The SYN, ACKs and FIN go through the card's checksum
 * offload (a context descriptor without segmentation). Loss is repaired
 * go-back-N from the first unacknowledged byte, again by TSO.
 *
 * On virtio-net a burst is one GSO frame behind a virtio_net_hdr
 * (NEEDS_CSUM, csum_start/csum_offset at the TCP checksum, gso_type
 * TCPV4, gso_size the MSS, hdr_len the headers): at most 65535 IP bytes,
 * so a whole number of segments up to that. Its template carries a good
 * IPv4 checksum and, in the TCP checksum, the pseudo-header sum with the
 * burst's full TCP length (Linux's convention: the device or the host
 * kernel adjusts it per segment). A tail shorter than a segment, and the
 * control segments, go as checksum-offloaded frames (NEEDS_CSUM without
 * GSO).
 */
#include "arch.h"
#include "net.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define MSS	     1460
#define BYTES_MAX    (256u << 10)
#define RTO_US	     300000
#define RETRIES_MAX  20
#define SEG_QUEUE    64
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)

static const char *name = "offload-tso";
static bool virtio; /* the card: virtio-net, else the e1000 */

struct seg {
	uint32_t seq, ack;
	uint16_t wnd, mss, dlen;
	uint8_t flags;
};

static struct conn {
	uint32_t laddr, raddr, next_hop;
	uint16_t lport, rport;
	uint8_t peer_mac[6];
	bool have_mac;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt;
	uint32_t wnd;
	uint16_t mss;
	bool peer_fin;
	struct seg queue[SEG_QUEUE];
	unsigned head, count;
	uint64_t bad_csum;
} c;

static uint8_t payload[BYTES_MAX];

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
}

/* Frame filter: learns the next hop's MAC from whatever it sends (ARP or
 * IPv4, left for the stack), and takes the segments of our connection. */
static bool offload_take(const uint8_t *f, size_t len, void *ctx)
{
	(void)ctx;
	if (len < ETH_HLEN + 28)
		return false;
	uint16_t type = get_be16(f + 12);
	if (type == ETHERTYPE_ARP && c.next_hop && get_be32(f + ETH_HLEN + 14) == c.next_hop) {
		memcpy(c.peer_mac, f + ETH_HLEN + 8, 6);
		c.have_mac = true;
		return false;
	}
	if (type != ETHERTYPE_IPV4 || len < ETH_HLEN + IPV4_HLEN)
		return false;
	const uint8_t *ip = f + ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, total = get_be16(ip + 2);
	uint32_t src = get_be32(ip + 12);
	if (c.next_hop && src == c.next_hop) {
		memcpy(c.peer_mac, f + 6, 6);
		c.have_mac = true;
	}
	if (ip[0] >> 4 != 4 || ihl < IPV4_HLEN || total < ihl + TCP_HLEN ||
	    total > len - ETH_HLEN || ip[9] != IPPROTO_TCP || !c.lport || src != c.raddr ||
	    get_be32(ip + 16) != c.laddr)
		return false;
	const uint8_t *t = ip + ihl;
	size_t tlen = total - ihl, thl = (size_t)(t[12] >> 4) * 4;
	if (get_be16(t) != c.rport || get_be16(t + 2) != c.lport)
		return false;
	if (thl < TCP_HLEN || thl > tlen ||
	    csum_fold(csum_add(csum_pseudo(src, c.laddr, IPPROTO_TCP, (uint16_t)tlen), t, tlen))) {
		c.bad_csum++;
		return true;
	}
	if (c.count == SEG_QUEUE)
		return true; /* the peer retransmits */
	struct seg *s = &c.queue[(c.head + c.count++) % SEG_QUEUE];
	s->seq = get_be32(t + 4);
	s->ack = get_be32(t + 8);
	s->flags = t[13];
	s->wnd = get_be16(t + 14);
	s->dlen = (uint16_t)(tlen - thl);
	s->mss = 0;
	for (size_t i = TCP_HLEN; i + 1 < thl;) {
		uint8_t kind = t[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		uint8_t olen = t[i + 1];
		if (olen < 2 || i + olen > thl)
			break;
		if (kind == 2 && olen == 4)
			s->mss = get_be16(t + i + 2);
		i += olen;
	}
	return true;
}

static bool next_seg(struct seg *out)
{
	if (!c.count)
		net_poll();
	if (!c.count)
		return false;
	*out = c.queue[c.head];
	c.head = (c.head + 1) % SEG_QUEUE;
	c.count--;
	return true;
}

/* Ethernet + IPv4 + TCP header for our connection; returns its length.
 * The TCP checksum field holds the pseudo-header sum: with the TCP length
 * for the checksum offload, without it for the e1000's TSO (the card adds
 * each segment's). On virtio-net always with the length (of the whole
 * burst) and with the IPv4 checksum filled in. */
static size_t build_hdr(uint8_t *h, uint8_t flags, uint32_t seq, size_t data_len, bool tso)
{
	static uint16_t ip_id;
	size_t opt = flags & TCP_SYN ? 4 : 0, thl = TCP_HLEN + opt;
	uint8_t *ip = h + ETH_HLEN, *t = ip + IPV4_HLEN;

	memcpy(h, c.peer_mac, 6);
	memcpy(h + 6, net_mac(), 6);
	put_be16(h + 12, ETHERTYPE_IPV4);
	memset(ip, 0, IPV4_HLEN + thl);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(IPV4_HLEN + thl + data_len));
	put_be16(ip + 4, ip_id);
	ip_id = (uint16_t)(ip_id + 1 + data_len / MSS); /* the card counts up per segment */
	put_be16(ip + 6, 0x4000);			/* don't fragment */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put_be32(ip + 12, c.laddr);
	put_be32(ip + 16, c.raddr);
	put_be16(t, c.lport);
	put_be16(t + 2, c.rport);
	put_be32(t + 4, seq);
	put_be32(t + 8, flags & TCP_ACK ? c.rcv_nxt : 0);
	t[12] = (uint8_t)(thl / 4) << 4;
	t[13] = flags;
	put_be16(t + 14, 0xffff);
	if (opt) {
		t[20] = 2;
		t[21] = 4;
		put_be16(t + 22, MSS);
	}
	uint16_t len = tso && !virtio ? 0 : (uint16_t)(thl + data_len);
	put_be16(t + 16, (uint16_t)~csum_fold(csum_pseudo(c.laddr, c.raddr, IPPROTO_TCP, len)));
	if (virtio)
		put_be16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
	return ETH_HLEN + IPV4_HLEN + thl;
}

static struct netif *card;

/* A segment without data, through the checksum offload. */
static void send_ctl(uint8_t flags, uint32_t seq)
{
	uint8_t h[ETH_HLEN + IPV4_HLEN + TCP_HLEN + 4];
	size_t len = build_hdr(h, flags, seq, 0, false);
	uint64_t give_up = now_us() + 100000;

	while ((virtio ? virtio_net_tx_offload(card, h, len, NULL, 0, ETH_HLEN + IPV4_HLEN, 16, 0)
		       : e1000_tx_csum(card, h, len, ETH_HLEN + IPV4_HLEN,
				       ETH_HLEN + IPV4_HLEN + 16)) != 0) {
		if (now_us() > give_up)
			ktest_fail(name, "the card does not take a control segment");
	}
}

static unsigned bursts, gso_frames;
static size_t max_burst;

static void send_tso(uint32_t seq, size_t off, size_t n, bool last)
{
	uint8_t h[ETH_HLEN + IPV4_HLEN + TCP_HLEN];
	size_t hlen = build_hdr(h, TCP_ACK | (last ? TCP_PSH : 0), seq, n, true);
	int r;

	if (!virtio) {
		r = e1000_tx_tso(card, h, hlen, payload + off, n, c.mss);
	} else {
		/* One segment's worth or less is no GSO frame: checksum only. */
		bool gso = n > c.mss;
		r = virtio_net_tx_offload(card, h, hlen, payload + off, n, ETH_HLEN + IPV4_HLEN, 16,
					  gso ? c.mss : 0);
		gso_frames += gso;
	}
	if (r != 0)
		ktest_fail(name, "TSO burst of %lu bytes at %lu failed", (unsigned long)n,
			   (unsigned long)off);
	bursts++;
	if (n > max_burst)
		max_burst = n;
}

/* In-order data and FIN from the peer are acknowledged (and dropped). */
static void peer_input(const struct seg *s)
{
	if (s->flags & TCP_RST)
		ktest_fail(name, "connection reset by the peer");
	if (s->flags & TCP_SYN) {
		send_ctl(TCP_ACK, c.snd_nxt); /* our ACK of its SYN got lost */
		return;
	}
	if (s->dlen && s->seq == c.rcv_nxt)
		c.rcv_nxt += s->dlen;
	if ((s->flags & TCP_FIN) && s->seq + s->dlen == c.rcv_nxt && !c.peer_fin) {
		c.rcv_nxt++;
		c.peer_fin = true;
	}
	if (s->dlen || (s->flags & TCP_FIN))
		send_ctl(TCP_ACK, c.snd_nxt);
	if ((s->flags & TCP_ACK) && SEQ_GT(s->ack, c.snd_una) && !SEQ_GT(s->ack, c.snd_nxt))
		c.snd_una = s->ack;
	if (s->flags & TCP_ACK)
		c.wnd = s->wnd;
}

static void handshake(void)
{
	for (int tries = 0; tries < 5; tries++) {
		send_ctl(TCP_SYN, c.iss);
		uint64_t deadline = now_us() + 1000000;
		while (now_us() < deadline) {
			struct seg s;
			if (!next_seg(&s))
				continue;
			if (s.flags & TCP_RST)
				ktest_fail(name, "connection refused");
			if ((s.flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK) ||
			    s.ack != c.iss + 1)
				continue;
			c.rcv_nxt = s.seq + 1;
			c.snd_una = c.snd_nxt = c.iss + 1;
			c.wnd = s.wnd;
			c.mss = s.mss && s.mss < MSS ? s.mss : MSS;
			send_ctl(TCP_ACK, c.snd_nxt);
			return;
		}
	}
	ktest_fail(name, "no SYN-ACK from " IPV4_FMT ":%u", IPV4_ARGS(c.raddr), c.rport);
}

void run_offload_tso(int argc, char **argv)
{
	uint64_t port, bytes;

	(void)argc;
	if (!parse_ipv4(argv[1], &c.raddr))
		ktest_fail(name, "bad address '%s' (expected a dotted IPv4 address)", argv[1]);
	if (!parse_u64(argv[2], &port) || port < 1 || port > 65535)
		ktest_fail(name, "bad port '%s' (expected 1..65535)", argv[2]);
	if (!parse_u64(argv[3], &bytes) || bytes < 1 || bytes > BYTES_MAX)
		ktest_fail(name, "bad byte count '%s' (expected 1..%u)", argv[3], BYTES_MAX);
	c.rport = (uint16_t)port;

	card = netif_probe();
	virtio = card && strcmp(card->name, "virtio-net") == 0;
	if (virtio && !(virtio_net_tx_offloads(card) & VIRTIO_NET_OFFLOAD_TSO4))
		ktest_fail(name, "virtio-net offers no TSO (no VIRTIO_NET_F_HOST_TSO4: its backend "
				 "does not carry the virtio header; use a tap with vnet_hdr=on)");
	if (!virtio && (!card || strcmp(card->name, "e1000") != 0))
		ktest_fail(name, "needs an e1000 card or a virtio-net with TSO (found %s)",
			   card ? card->name : "none");
	net_init(netif_filter(card, offload_take, NULL));
	if (dhcp_run(15000) != 0)
		ktest_fail(name, "dhcp: no lease");
	struct netcfg *cfg = net_config();
	c.laddr = cfg->addr;
	c.next_hop = (c.raddr & cfg->mask) == (c.laddr & cfg->mask) ? c.raddr : cfg->gw;
	if (arp_wait(c.raddr, 5000) != 0)
		ktest_fail(name, "no ARP answer from the next hop " IPV4_FMT,
			   IPV4_ARGS(c.next_hop));
	for (uint64_t deadline = now_us() + 1000000; !c.have_mac && now_us() < deadline;)
		net_poll();
	if (!c.have_mac)
		ktest_fail(name, "never saw a frame from the next hop " IPV4_FMT,
			   IPV4_ARGS(c.next_hop));
	for (uint32_t i = 0; i < bytes; i++)
		payload[i] = pattern(i);

	c.lport = net_ephemeral_port();
	c.iss = net_random();
	handshake();
	kprintf("offload-tso: connected to " IPV4_FMT ":%u, mss %u, window %u\n",
		IPV4_ARGS(c.raddr), c.rport, c.mss, c.wnd);

	/* A virtio GSO frame is one IPv4 datagram: whole segments up to 64 KiB. */
	uint32_t burst_max = BYTES_MAX;
	if (virtio)
		burst_max = (65535 - IPV4_HLEN - TCP_HLEN) / c.mss * c.mss;
	uint32_t end = c.iss + 1 + (uint32_t)bytes;
	unsigned retransmits = 0;
	uint64_t t0 = now_us(), progress = t0;
	while (c.snd_una != end) {
		uint32_t flight = c.snd_nxt - c.snd_una;
		if (SEQ_LT(c.snd_nxt, end) && flight < c.wnd) {
			uint32_t n = end - c.snd_nxt;
			if (n > c.wnd - flight)
				n = c.wnd - flight;
			if (n > burst_max)
				n = burst_max;
			/* Whole segments only, unless it is the tail. */
			if (n < end - c.snd_nxt && n >= c.mss)
				n -= n % c.mss;
			if (n >= c.mss || n == end - c.snd_nxt) {
				size_t off = c.snd_nxt - (c.iss + 1);
				send_tso(c.snd_nxt, off, n, c.snd_nxt + n == end);
				c.snd_nxt += n;
			}
		}
		struct seg s;
		uint32_t before = c.snd_una;
		while (next_seg(&s))
			peer_input(&s);
		if (c.snd_una != before)
			progress = now_us();
		if (now_us() - progress > RTO_US) {
			if (++retransmits > RETRIES_MAX)
				ktest_fail(name, "no progress: %lu of %lu bytes acknowledged",
					   (unsigned long)(c.snd_una - c.iss - 1),
					   (unsigned long)bytes);
			c.snd_nxt = c.snd_una; /* go back, resend from the hole */
			progress = now_us();
		}
	}
	uint64_t us = now_us() - t0;

	/* Close: our FIN, the peer's ACK of it and its own FIN. */
	c.snd_nxt = end + 1;
	send_ctl(TCP_FIN | TCP_ACK, end);
	uint64_t deadline = now_us() + 5000000, resend = now_us() + RTO_US;
	while ((c.snd_una != end + 1 || !c.peer_fin) && now_us() < deadline) {
		struct seg s;
		while (next_seg(&s))
			peer_input(&s);
		if (c.snd_una != end + 1 && now_us() > resend) {
			send_ctl(TCP_FIN | TCP_ACK, end);
			resend = now_us() + RTO_US;
		}
	}
	if (c.snd_una != end + 1)
		ktest_fail(name, "the peer did not acknowledge our FIN");
	kprintf("offload-tso: card tx %lu rx %lu, bad checksums in %lu\n",
		(unsigned long)card->tx_frames, (unsigned long)card->rx_frames,
		(unsigned long)c.bad_csum);
	ktest_pass(name,
		   "bytes=%lu bursts=%u retransmits=%u mss=%u peer_fin=%s us=%lu card=%s "
		   "max_burst=%lu gso_frames=%u",
		   (unsigned long)bytes, bursts, retransmits, c.mss, c.peer_fin ? "yes" : "no",
		   (unsigned long)us, card->name, (unsigned long)max_burst, gso_frames);
}
