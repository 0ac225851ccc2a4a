/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host-side harness for the test guest's network stack: the stack's own
 * sources (net*.c) are compiled for the host and bound to a fake NIC whose
 * transmit side hands every frame to a scripted peer, and whose receive
 * side returns frames the peer (or the test) injected. Time is virtual: it
 * advances a little on every now_us() call and more on every idle receive
 * poll, so every timeout in the stack runs out without real waiting and
 * results never depend on the host's speed.
 *
 * The frame builders and the checksum here are written independently of
 * the stack's, so a checksum bug cannot cancel itself out.
 */
#ifndef KITE_NETTEST_HARNESS_H
#define KITE_NETTEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guest.h"

#define ETH_HDR	  14
#define IP_HDR	  20
#define FRAME_CAP 2048

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define GUEST_IP       IP(10, 0, 2, 15)
#define GW_IP	       IP(10, 0, 2, 2)
#define DNS_IP	       IP(10, 0, 2, 3)

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

extern const uint8_t guest_mac[6], gw_mac[6], dns_mac[6], bcast_mac[6];
extern uint64_t clock_us;
extern bool guest_quiet; /* drop the guest's kprintf output (fuzzing) */
extern uint64_t fake_tsc;
extern struct netif fake_nif;
extern unsigned test_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			test_failures++;                                                           \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* ---- byte helpers ---- */
uint16_t rd16(const uint8_t *p);
uint32_t rd32(const uint8_t *p);
void wr16(uint8_t *p, uint16_t v);
void wr32(uint8_t *p, uint32_t v);
/* One's complement sum of 16-bit big-endian words, folded, not inverted. */
uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t acc);
uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t acc);
uint32_t ref_pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len);

/* ---- the fake NIC ---- */
struct frame {
	uint8_t d[FRAME_CAP];
	size_t len;
};

/* Everything the guest transmitted since the last harness_reset(). */
extern struct frame *txlog;
extern size_t txlog_len;
/* Make the next n transmit attempts fail as with a full ring. */
extern unsigned tx_fail_next;

void harness_reset(void);
/* net_init + the static configuration 10.0.2.15/24 gw .2 dns .3. */
void setup_static(void);
/* net_init with no address (for DHCP). */
void setup_unconfigured(void);
void inject(const uint8_t *frame, size_t len);
size_t inbox_pending(void);

/* ---- the scripted peer ---- */
/* Called for each IPv4 frame the guest sends (ARP is answered by the
 * harness for the hosts in arp_hosts when arp_answer is set). */
extern void (*peer_ip)(const uint8_t *frame, size_t len);
/* Called on every idle receive poll (after the clock advanced). */
extern void (*peer_idle)(void);
extern bool arp_answer;
extern unsigned arp_ignore; /* leave this many requests unanswered first */
extern unsigned arp_requests;

/* ---- frame builders (all return the frame length) ---- */
size_t mk_arp(uint8_t *f, uint16_t op, const uint8_t *smac, uint32_t sip, const uint8_t *tmac,
	      uint32_t tip, const uint8_t *eth_dst);
size_t mk_ipv4(uint8_t *f, const uint8_t *eth_dst, const uint8_t *eth_src, uint32_t src,
	       uint32_t dst, uint8_t proto, const uint8_t *payload, size_t plen);
size_t mk_udp(uint8_t *f, const uint8_t *eth_dst, const uint8_t *eth_src, uint32_t src,
	      uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t *data, size_t dlen);
size_t mk_tcp(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
	      uint32_t ack, uint8_t flags, uint16_t wnd, const uint8_t *opts, size_t optlen,
	      const uint8_t *data, size_t dlen);

/* ---- parsing what the guest sent ---- */
struct pkt {
	const uint8_t *eth;
	size_t len;
	uint16_t type;
	/* IPv4 */
	const uint8_t *ip;
	uint32_t src, dst;
	uint8_t proto;
	const uint8_t *l4;
	size_t l4len;
	bool csum_ok; /* IP header and transport checksums */
	/* UDP */
	uint16_t sport, dport;
	const uint8_t *data;
	size_t dlen;
	/* TCP */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd, mss_opt;
};

/* Decodes a guest frame; false when it is no well-formed IPv4 frame. */
bool parse_pkt(const uint8_t *f, size_t len, struct pkt *p);
/* The n-th last transmitted frame decoded (0 = the last). */
bool last_pkt(size_t back, struct pkt *p);
/* How many logged frames from index 'from' on are IPv4 with this proto. */
size_t count_proto(size_t from, uint8_t proto);

/* Drive the stack's polling for 'us' virtual microseconds. */
void run_for(uint64_t us);

/* ---- a scripted TCP peer at GW_IP ---- */
struct tpeer {
	uint16_t port;	/* the peer's */
	uint16_t gport; /* the guest's */
	uint32_t iss, snd_nxt, snd_una;
	uint32_t rcv_nxt;
	uint16_t mss; /* announced in the peer's SYN-ACK */
	uint32_t cap, unread;
	uint32_t right_edge; /* rcv_nxt + window of the last ACK sent */
	uint8_t *stream;
	size_t stream_len, stream_cap;
	bool synced, fin_rcvd, send_fin_on_fin, ignore_fin, refuse, silent;
	unsigned drop_every, data_segs, dropped, probes, edge_violations, bad_csum;
	unsigned syns, rsts, max_seg;
	uint16_t guest_mss;
	uint64_t consume_every_us, next_consume;
};
extern struct tpeer tp;
void tpeer_reset(uint16_t port, uint16_t mss, uint32_t cap);
void tpeer_ip(const uint8_t *frame, size_t len);
void tpeer_idle(void);
/* The peer sends data (and flags) to the guest at snd_nxt. */
void tpeer_send(const uint8_t *data, size_t len, uint8_t flags);

/* ---- the test table ---- */
struct net_test {
	const char *name;
	void (*fn)(void);
};
extern const struct net_test net_tests[];
extern const size_t net_tests_count;

#endif
