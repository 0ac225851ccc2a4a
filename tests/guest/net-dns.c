/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS stub resolver: one A query (recursion desired) over UDP, answers
 * followed through CNAME chains. Every name read from a reply goes through
 * dns_read_name(), which bounds each label, each compression pointer and
 * the number of pointer hops, so a hostile or broken reply can only fail
 * the lookup.
 */
#include "net.h"

#define DNS_HLEN	 12
#define DNS_NAME_MAX	 255 /* decoded, dotted, without the trailing NUL */
#define DNS_QUERY_MAX	 (DNS_HLEN + DNS_NAME_MAX + 2 + 4)
#define DNS_TYPE_A	 1
#define DNS_TYPE_CNAME	 5
#define DNS_CLASS_IN	 1
#define DNS_FLAG_QR	 0x8000
#define DNS_FLAG_RD	 0x0100
#define DNS_POINTER_HOPS 32
#define DNS_CHAIN_MAX	 8
#define DNS_RETRY_MS	 1000

enum dns_status { DNS_PENDING, DNS_FOUND, DNS_FAILED };

static struct {
	bool active;
	uint16_t id, sport, server_port;
	uint32_t server;
	char name[DNS_NAME_MAX + 1]; /* lower-case, no trailing dot */
	enum dns_status status;
	uint32_t addr;
	unsigned rcode;
} dns;

void dns_reset(void)
{
	memset(&dns, 0, sizeof(dns));
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Decodes the (possibly compressed) name at *pos into 'out' (dotted,
 * lower-case, at most DNS_NAME_MAX characters) and moves *pos past the
 * name's bytes at its original place. -1 on anything out of bounds, an
 * over-long name, a reserved label type or too many pointer hops (which is
 * what a pointer loop turns into).
 */
static int dns_read_name(const uint8_t *msg, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, n = 0;
	bool jumped = false;
	int hops = 0;

	for (;;) {
		uint8_t c;

		if (p >= len)
			return -1;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (p + 1 >= len || ++hops > DNS_POINTER_HOPS)
				return -1;
			target = (size_t)(c & 0x3f) << 8 | msg[p + 1];
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if (c & 0xc0)
			return -1;
		if (c == 0)
			break;
		if (c > len - p - 1)
			return -1;
		/* The label, plus a dot before it unless it is the first. */
		if (n + (n ? 1 : 0) + c > DNS_NAME_MAX)
			return -1;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < c; i++)
			out[n++] = ascii_lower((char)msg[p + 1 + i]);
		p += 1 + (size_t)c;
	}
	if (!jumped)
		*pos = p + 1;
	out[n] = '\0';
	return 0;
}

/* Skips one resource record's fixed part and data; fills type/class and
 * the data's position. -1 when it does not fit in the message. */
static int dns_read_rr(const uint8_t *msg, size_t len, size_t *pos, char *owner, uint16_t *type,
		       uint16_t *class, size_t *rdata, uint16_t *rdlen)
{
	if (dns_read_name(msg, len, pos, owner) != 0)
		return -1;
	if (*pos > len || len - *pos < 10)
		return -1;
	*type = get_be16(msg + *pos);
	*class = get_be16(msg + *pos + 2);
	*rdlen = get_be16(msg + *pos + 8);
	*rdata = *pos + 10;
	if (*rdlen > len - *rdata)
		return -1;
	*pos = *rdata + *rdlen;
	return 0;
}

/*
 * Looks through the answer section (starting at 'answers', 'count'
 * records) for the A record of dns.name, following CNAMEs. Records may come
 * in any order, so each step of the chain rescans the section.
 */
static enum dns_status dns_parse_answers(const uint8_t *msg, size_t len, size_t answers,
					 unsigned count, uint32_t *addr)
{
	static char want[DNS_NAME_MAX + 1], owner[DNS_NAME_MAX + 1], alias[DNS_NAME_MAX + 1];
	int step;

	memcpy(want, dns.name, sizeof(want));
	for (step = 0; step <= DNS_CHAIN_MAX; step++) {
		size_t pos = answers;
		bool next = false;

		for (unsigned i = 0; i < count; i++) {
			uint16_t type, class, rdlen;
			size_t rdata;

			if (dns_read_rr(msg, len, &pos, owner, &type, &class, &rdata, &rdlen) != 0)
				return DNS_FAILED;
			if (class != DNS_CLASS_IN || strcmp(owner, want) != 0)
				continue;
			if (type == DNS_TYPE_A && rdlen == 4) {
				*addr = get_be32(msg + rdata);
				return DNS_FOUND;
			}
			if (type == DNS_TYPE_CNAME && !next) {
				size_t at = rdata;

				/* The target must lie inside the record's own data. */
				if (dns_read_name(msg, len, &at, alias) != 0 || at > rdata + rdlen)
					return DNS_FAILED;
				next = true;
			}
		}
		if (!next)
			return DNS_FAILED;
		memcpy(want, alias, sizeof(want));
	}
	return DNS_FAILED; /* chain longer than DNS_CHAIN_MAX, or a loop */
}

void dns_input(uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *msg, size_t len)
{
	static char qname[DNS_NAME_MAX + 1];
	uint16_t flags, qdcount, ancount;
	size_t pos = DNS_HLEN;

	if (!dns.active || dns.status != DNS_PENDING || src != dns.server ||
	    sport != dns.server_port || dport != dns.sport || len < DNS_HLEN)
		return;
	flags = get_be16(msg + 2);
	if (get_be16(msg) != dns.id || !(flags & DNS_FLAG_QR))
		return;
	qdcount = get_be16(msg + 4);
	ancount = get_be16(msg + 6);
	/* The question, when echoed, must be ours: anything else is a stray
	 * reply to somebody else's query and is ignored. */
	if (qdcount > 1)
		return;
	if (qdcount == 1) {
		if (dns_read_name(msg, len, &pos, qname) != 0 || strcmp(qname, dns.name) != 0 ||
		    pos > len || len - pos < 4)
			return;
		pos += 4;
	}
	dns.rcode = flags & 0xf;
	if (dns.rcode != 0) {
		dns.status = DNS_FAILED;
		return;
	}
	dns.status = dns_parse_answers(msg, len, pos, ancount, &dns.addr);
}

/* Writes the query for dns.name at 'q'; its length, or 0 if the name is
 * not a valid host name (empty or over-long label). */
static size_t dns_build_query(uint8_t *q)
{
	const char *s = dns.name;
	size_t n = DNS_HLEN;

	memset(q, 0, DNS_HLEN);
	put_be16(q, dns.id);
	put_be16(q + 2, DNS_FLAG_RD);
	put_be16(q + 4, 1);
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t label = dot ? (size_t)(dot - s) : strlen(s);

		if (label == 0 || label > 63)
			return 0;
		q[n++] = (uint8_t)label;
		memcpy(q + n, s, label);
		n += label;
		s += label;
		if (*s == '.')
			s++;
	}
	q[n++] = 0;
	put_be16(q + n, DNS_TYPE_A);
	put_be16(q + n + 2, DNS_CLASS_IN);
	return n + 4;
}

int dns_resolve_at(const char *name, uint32_t server, uint16_t port, uint32_t *addr,
		   uint32_t timeout_ms)
{
	uint64_t deadline = net_deadline(timeout_ms);
	uint8_t query[DNS_QUERY_MAX];
	size_t len, i, n = strlen(name);
	uint64_t resend_at = 0;

	/* A literal address needs no server at all. */
	if (parse_ipv4(name, addr))
		return 0;
	/* One trailing dot (a fully qualified name) is fine; labels are
	 * checked while building the query. */
	if (n && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX - 2 || !server || !port)
		return -1;
	dns_reset();
	for (i = 0; i < n; i++)
		dns.name[i] = ascii_lower(name[i]);
	dns.id = (uint16_t)net_random();
	len = dns_build_query(query);
	if (!len)
		return -1;
	if (arp_wait(server, timeout_ms) != 0)
		return -1;
	dns.server = server;
	dns.server_port = port;
	dns.sport = net_ephemeral_port();
	dns.active = true;

	while (dns.status == DNS_PENDING) {
		uint64_t now = now_us();

		if (now >= deadline)
			break;
		if (now >= resend_at) {
			memcpy(ip_payload() + UDP_HLEN, query, len);
			udp_output(server, dns.sport, port, len);
			resend_at = now + DNS_RETRY_MS * 1000;
		}
		net_poll();
	}
	dns.active = false;
	if (dns.status != DNS_FOUND) {
		if (dns.status == DNS_FAILED)
			kprintf("dns: %s: no address (rcode %u)\n", dns.name, dns.rcode);
		return -1;
	}
	*addr = dns.addr;
	return 0;
}

int dns_resolve(const char *name, uint32_t *addr, uint32_t timeout_ms)
{
	return dns_resolve_at(name, net_cfg.dns, 53, addr, timeout_ms);
}
