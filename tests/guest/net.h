/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the pieces of the test guest's network stack:
 * net.c (Ethernet, ARP, IPv4, ICMP, UDP), net-dhcp.c, net-dns.c, net-tcp.c.
 *
 * Packets are read and written byte by byte through the get/put helpers
 * below rather than through packed structs: frames come from the wire at
 * any alignment, and the helpers keep every access explicit and in bounds.
 */
#ifndef KITE_GUEST_NET_H
#define KITE_GUEST_NET_H

#include "guest.h"

#define ETH_ALEN       6
#define ETH_HLEN       14
#define ETH_MTU	       1500
#define ETH_FRAME_MAX  (ETH_HLEN + ETH_MTU)
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806

#define IPV4_HLEN      20
#define IPV4_BROADCAST 0xffffffffu
#define IPPROTO_ICMP   1
#define IPPROTO_TCP    6
#define IPPROTO_UDP    17

#define UDP_HLEN 8
#define TCP_HLEN 20

#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Dotted-quad printing through plain %u: kprintf's format attribute makes
 * gcc reject the %I extension under -Werror. */
#define IPV4_FMT "%u.%u.%u.%u"
#define IPV4_ARGS(ip)                                                                              \
	(unsigned)((ip) >> 24), (unsigned)((ip) >> 16 & 0xff), (unsigned)((ip) >> 8 & 0xff),       \
	    (unsigned)((ip)&0xff)

/* Absolute deadline in now_us() time, 'ms' milliseconds from now. */
static inline uint64_t net_deadline(uint32_t ms)
{
	return now_us() + (uint64_t)ms * 1000;
}

/* ---- net.c ---- */
extern struct netcfg net_cfg;

/* Whether net_init() bound an interface: every public call checks it so
 * that a scenario forgetting net_init() gets -1, not a crash. */
bool net_bound(void);
/* The bound interface's MAC address. */
const uint8_t *net_mac(void);

/* Internet checksum: accumulate with csum_add (every chunk but the last
 * must have even length), then fold. */
uint32_t csum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t csum_fold(uint32_t sum);
/* Sum of the TCP/UDP pseudo header (addresses in host order). */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* Cheap per-boot randomness (xorshift seeded from the TSC and the MAC):
 * good enough for ports, xids and sequence numbers, not for secrets. */
uint32_t net_random(void);
/* A fresh source port in 49152..65535, different on every call and boot. */
uint16_t net_ephemeral_port(void);

/* The transmit buffer's IPv4 payload area: build the transport header and
 * data there, then call ip_send() before anything else can run. */
uint8_t *ip_payload(void);
#define IP_PAYLOAD_MAX (ETH_MTU - IPV4_HLEN)
/* Sends the 'len' bytes at ip_payload() to 'dst'. Never blocks: when the
 * next hop's MAC is not cached yet it sends an ARP request and returns -1
 * (the caller's retransmission takes care of it). */
int ip_send(uint32_t dst, uint8_t proto, size_t len);
/* Blocks (polling) until the next hop towards 'dst' is in the ARP cache;
 * 0 or -1 on timeout. Only for top-level calls: never from input paths. */
int arp_wait(uint32_t dst, uint32_t timeout_ms);
/* Sends the UDP payload already placed at ip_payload() + UDP_HLEN. */
int udp_output(uint32_t dst, uint16_t sport, uint16_t dport, size_t len);

/* ---- input hooks called by net.c ---- */
void dhcp_input(uint32_t src, const uint8_t *msg, size_t len);
void dns_input(uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *msg, size_t len);
void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
/* Retransmission timer, run from every net_poll(). */
void tcp_tick(void);

/* Forget all protocol state (net_init calls these). */
void dhcp_reset(void);
void dns_reset(void);
void tcp_reset(void);

#endif
