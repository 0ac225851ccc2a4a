/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DHCP client (RFC 2131): DISCOVER -> OFFER -> REQUEST -> ACK, nothing
 * more (no renewal: a test guest lives for seconds). The broadcast flag is
 * set so servers answer to 255.255.255.255, which libslirp and dnsmasq both
 * do; unicast answers to the offered address are accepted as well because
 * net.c takes every IPv4 destination while no address is configured.
 */
#include "net.h"

#define BOOTP_REQUEST	 1
#define BOOTP_REPLY	 2
#define BOOTP_FIXED_LEN	 236
#define BOOTP_MIN_LEN	 300 /* some servers ignore shorter requests */
#define DHCP_MAGIC	 0x63825363
#define DHCP_OPTIONS_OFF (BOOTP_FIXED_LEN + 4)

#define OPT_PAD		 0
#define OPT_SUBNET_MASK	 1
#define OPT_ROUTER	 3
#define OPT_DNS		 6
#define OPT_REQUESTED_IP 50
#define OPT_LEASE_TIME	 51
#define OPT_MSG_TYPE	 53
#define OPT_SERVER_ID	 54
#define OPT_PARAM_LIST	 55
#define OPT_CLIENT_ID	 61
#define OPT_END		 255

#define DHCPDISCOVER 1
#define DHCPOFFER    2
#define DHCPREQUEST  3
#define DHCPACK	     5
#define DHCPNAK	     6

#define DHCP_RETRY_FIRST_MS 1000
#define DHCP_RETRY_MAX_MS   4000
#define DHCP_REQUESTS_MAX   4

/* What one server reply said, as far as we care. */
struct dhcp_reply {
	uint8_t type;
	uint32_t yiaddr, server, mask, router, dns, lease;
};

static struct {
	uint32_t xid;
	bool active;
	bool have_offer, have_ack, have_nak;
	struct dhcp_reply offer, ack;
} dhcp;

void dhcp_reset(void)
{
	memset(&dhcp, 0, sizeof(dhcp));
}

/* Walks the options area; false when it is malformed (an option running
 * past the end of the message). Unknown options are skipped. */
static bool dhcp_parse_options(const uint8_t *msg, size_t len, struct dhcp_reply *r)
{
	size_t i = DHCP_OPTIONS_OFF;

	while (i < len) {
		uint8_t code = msg[i], olen;
		const uint8_t *val;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return true;
		if (i + 2 > len)
			return false;
		olen = msg[i + 1];
		if (olen > len - i - 2)
			return false;
		val = msg + i + 2;
		switch (code) {
		case OPT_MSG_TYPE:
			if (olen >= 1)
				r->type = val[0];
			break;
		case OPT_SUBNET_MASK:
			if (olen >= 4)
				r->mask = get_be32(val);
			break;
		case OPT_ROUTER: /* a list: the first one is the preferred */
			if (olen >= 4)
				r->router = get_be32(val);
			break;
		case OPT_DNS:
			if (olen >= 4)
				r->dns = get_be32(val);
			break;
		case OPT_SERVER_ID:
			if (olen >= 4)
				r->server = get_be32(val);
			break;
		case OPT_LEASE_TIME:
			if (olen >= 4)
				r->lease = get_be32(val);
			break;
		default:
			break;
		}
		i += 2 + (size_t)olen;
	}
	/* Ran off the end without OPT_END: tolerated, everything was in
	 * bounds. */
	return true;
}

void dhcp_input(uint32_t src, const uint8_t *msg, size_t len)
{
	struct dhcp_reply r;

	if (!dhcp.active || len < DHCP_OPTIONS_OFF)
		return;
	if (msg[0] != BOOTP_REPLY || msg[1] != 1 || msg[2] != ETH_ALEN ||
	    get_be32(msg + 4) != dhcp.xid || get_be32(msg + BOOTP_FIXED_LEN) != DHCP_MAGIC ||
	    memcmp(msg + 28, net_mac(), ETH_ALEN) != 0)
		return;
	memset(&r, 0, sizeof(r));
	if (!dhcp_parse_options(msg, len, &r))
		return;
	r.yiaddr = get_be32(msg + 16);
	/* RFC 2131 makes option 54 mandatory in OFFER/ACK; the IP source is
	 * the best guess when a server forgets it. */
	if (!r.server)
		r.server = src;

	switch (r.type) {
	case DHCPOFFER:
		if (!dhcp.have_offer && r.yiaddr && r.yiaddr != IPV4_BROADCAST) {
			dhcp.offer = r;
			dhcp.have_offer = true;
		}
		break;
	case DHCPACK:
		if (dhcp.have_offer && r.server == dhcp.offer.server && r.yiaddr) {
			dhcp.ack = r;
			dhcp.have_ack = true;
		}
		break;
	case DHCPNAK:
		if (dhcp.have_offer && r.server == dhcp.offer.server)
			dhcp.have_nak = true;
		break;
	default:
		break;
	}
}

static uint8_t *dhcp_opt(uint8_t *p, uint8_t code, uint8_t len, const void *val)
{
	p[0] = code;
	p[1] = len;
	memcpy(p + 2, val, len);
	return p + 2 + len;
}

static int dhcp_send(uint8_t type)
{
	static const uint8_t params[] = {OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_LEASE_TIME};
	uint8_t *msg = ip_payload() + UDP_HLEN;
	uint8_t *p, client_id[1 + ETH_ALEN], be[4];

	memset(msg, 0, BOOTP_MIN_LEN);
	msg[0] = BOOTP_REQUEST;
	msg[1] = 1; /* Ethernet */
	msg[2] = ETH_ALEN;
	put_be32(msg + 4, dhcp.xid);
	put_be16(msg + 10, 0x8000); /* broadcast flag */
	memcpy(msg + 28, net_mac(), ETH_ALEN);
	put_be32(msg + BOOTP_FIXED_LEN, DHCP_MAGIC);

	p = msg + DHCP_OPTIONS_OFF;
	p = dhcp_opt(p, OPT_MSG_TYPE, 1, &type);
	client_id[0] = 1; /* hardware type, then the MAC */
	memcpy(client_id + 1, net_mac(), ETH_ALEN);
	p = dhcp_opt(p, OPT_CLIENT_ID, sizeof(client_id), client_id);
	if (type == DHCPREQUEST) {
		put_be32(be, dhcp.offer.yiaddr);
		p = dhcp_opt(p, OPT_REQUESTED_IP, 4, be);
		put_be32(be, dhcp.offer.server);
		p = dhcp_opt(p, OPT_SERVER_ID, 4, be);
	}
	p = dhcp_opt(p, OPT_PARAM_LIST, sizeof(params), params);
	*p = OPT_END;
	return udp_output(IPV4_BROADCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, BOOTP_MIN_LEN);
}

/* INIT state: a fresh transaction starting with a DISCOVER. */
static void dhcp_discover(void)
{
	dhcp_reset();
	dhcp.xid = net_random();
	dhcp.active = true;
	dhcp_send(DHCPDISCOVER);
}

int dhcp_run(uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);
	struct netcfg saved = net_cfg;
	uint32_t retry_ms = DHCP_RETRY_FIRST_MS;
	uint64_t resend_at;
	int requests = 0; /* REQUESTs sent for the current offer */

	if (!net_bound())
		return -1;
	/* The INIT state has no address: sources are 0.0.0.0 and every
	 * destination is accepted until the ACK arrives. */
	memset(&net_cfg, 0, sizeof(net_cfg));
	dhcp_discover();
	resend_at = net_deadline(retry_ms);

	while (now_us() < deadline) {
		net_poll();
		if (dhcp.have_ack) {
			net_cfg.addr = dhcp.ack.yiaddr;
			net_cfg.mask = dhcp.ack.mask;
			net_cfg.gw = dhcp.ack.router;
			net_cfg.dns = dhcp.ack.dns;
			dhcp.active = false;
			kprintf("dhcp: lease of " IPV4_FMT " from " IPV4_FMT " for %us\n",
				IPV4_ARGS(net_cfg.addr), IPV4_ARGS(dhcp.ack.server),
				dhcp.ack.lease);
			return 0;
		}
		/* A NAK, or a server that stopped answering our REQUESTs,
		 * sends us back to INIT (RFC 2131 section 3.1). */
		if (dhcp.have_nak || (requests >= DHCP_REQUESTS_MAX && now_us() >= resend_at)) {
			if (dhcp.have_nak)
				kprintf("dhcp: NAK from " IPV4_FMT ", restarting\n",
					IPV4_ARGS(dhcp.offer.server));
			dhcp_discover();
			requests = 0;
			retry_ms = DHCP_RETRY_FIRST_MS;
			resend_at = net_deadline(retry_ms);
			continue;
		}
		if (dhcp.have_offer && !requests) {
			requests = 1;
			retry_ms = DHCP_RETRY_FIRST_MS;
			dhcp_send(DHCPREQUEST);
			resend_at = net_deadline(retry_ms);
			continue;
		}
		if (now_us() >= resend_at) {
			if (requests)
				requests++;
			dhcp_send(requests ? DHCPREQUEST : DHCPDISCOVER);
			retry_ms =
			    retry_ms * 2 > DHCP_RETRY_MAX_MS ? DHCP_RETRY_MAX_MS : retry_ms * 2;
			resend_at = net_deadline(retry_ms);
		}
	}
	dhcp.active = false;
	net_cfg = saved;
	return -1;
}
