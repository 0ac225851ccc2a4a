/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * User-mode networking through libslirp: a NATed 10.0.2.0/24 with DHCP, DNS
 * and TFTP, needing no privileges. libslirp asks which fds to poll and when
 * to wake it; those requests are mirrored into kite's epoll loop.
 */
#include "backends.h"
#include "hub.h"
#include "netsock.h"
#include "user.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <libslirp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../chardev.h"
#include "../main-loop.h"

typedef struct HostFwd {
	bool udp;
	struct in_addr host_addr, guest_addr;
	int host_port, guest_port;
} HostFwd;

typedef struct GuestFwd {
	struct in_addr server;
	int port;
	char *dev; /* "cmd:...", "stdio", "tcp:HOST:PORT" or "unix:PATH" */
} GuestFwd;

typedef struct UserConfig {
	SlirpConfig cfg;
	struct in_addr net_addr; /* network address, for info */
	bool ipv4, ipv6;
	char *hostname, *tftp, *tftp_server_name, *bootfile, *domainname;
	char **dnssearch;
	GArray *hostfwds;  /* of HostFwd */
	GArray *guestfwds; /* of GuestFwd */
} UserConfig;

typedef struct SlirpPollFd {
	int fd;
	int events;  /* SLIRP_POLL_* */
	int revents; /* SLIRP_POLL_* */
} SlirpPollFd;

/*
 * A DHCP lease libslirp granted. libslirp keeps its lease table to itself,
 * so kite learns the leases by reading the DHCP ACKs it sends to the guest
 * (and the NAKs and the guest's RELEASEs): `info usernet` and
 * query-kite-usernet-leases list them, and the management daemon answers
 * `virsh domifaddr` from them.
 */
typedef struct UserLease {
	uint8_t mac[6];
	struct in_addr addr;
	int64_t expires_ns; /* on ml_now_ns()'s clock; INT64_MAX: never */
} UserLease;

/* libslirp serves 16 clients; a guest cycling through MACs must not make
 * the table grow without bound. */
#define USER_MAX_LEASES 64

typedef struct UserState {
	Slirp *slirp;
	NetClient *nc;
	GArray *pollfds;     /* of SlirpPollFd, index = what slirp knows */
	GHashTable *watched; /* fd -> epoll mask+1 */
	/*
	 * What the last full reconciliation mirrored into epoll (fd and
	 * events per entry, revents 0), and whether slirp opened or closed a
	 * socket since: a refill that finds the same list skips the hash
	 * table work, which matters because it runs for every guest frame.
	 */
	GArray *applied;
	bool pollset_stale;
	ml_timer *tick;
	int64_t tick_when; /* when tick is armed for, -1: not armed */
	bool in_poll;
	GList *channels; /* of FwdChannel*: guestfwd= to stdio or a socket */
	bool stdio_used;
	struct in_addr dhcp_start; /* default guest address of hostfwd rules */
	struct in_addr netmask;	   /* of the virtual network, for lease prefixes */
	GArray *leases;		   /* of UserLease */
} UserState;

static GList *user_states;

static void user_config_free(void *p)
{
	UserConfig *c = p;
	if (!c)
		return;
	g_free(c->hostname);
	g_free(c->tftp);
	g_free(c->tftp_server_name);
	g_free(c->bootfile);
	g_free(c->domainname);
	g_strfreev(c->dnssearch);
	if (c->hostfwds)
		g_array_free(c->hostfwds, TRUE);
	if (c->guestfwds) {
		for (guint i = 0; i < c->guestfwds->len; i++)
			g_free(g_array_index(c->guestfwds, GuestFwd, i).dev);
		g_array_free(c->guestfwds, TRUE);
	}
	g_free(c);
}

/* Dotted quad with the "[tcp|udp]:" forwarding syntax's meaning of empty. */
static bool parse_ipv4(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1;
}

static bool parse_port(const char *s, int *port)
{
	char *end;
	long v;
	if (!g_ascii_isdigit(*s))
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

/*
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport". The reason strings
 * are QEMU's so scripts matching them keep working.
 */
static int user_parse_hostfwd(const char *rule, struct in_addr default_guest, HostFwd *out,
			      const char **why)
{
	g_auto(GStrv) halves = NULL;
	const char *p = rule;
	const char *colon = strchr(p, ':');
	memset(out, 0, sizeof(*out));
	if (!colon) {
		*why = _("No : separators");
		return -1;
	}
	if (colon == p || !strncmp(p, "tcp:", 4)) {
		out->udp = false;
	} else if (!strncmp(p, "udp:", 4)) {
		out->udp = true;
	} else {
		*why = _("Bad protocol name");
		return -1;
	}
	p = colon + 1;
	const char *colon2 = strchr(p, ':');
	if (!colon2) {
		*why = _("Bad host address");
		return -1;
	}
	g_autofree char *haddr = g_strndup(p, colon2 - p);
	if (*haddr && !parse_ipv4(haddr, &out->host_addr)) {
		*why = _("Bad host address");
		return -1;
	}
	p = colon2 + 1;
	const char *dash = strchr(p, '-');
	if (!dash) {
		*why = _("Bad host port separator");
		return -1;
	}
	g_autofree char *hport = g_strndup(p, dash - p);
	if (!parse_port(hport, &out->host_port)) {
		*why = _("Bad host port");
		return -1;
	}
	p = dash + 1;
	const char *colon3 = strchr(p, ':');
	if (!colon3) {
		*why = _("Missing guest address");
		return -1;
	}
	g_autofree char *gaddr = g_strndup(p, colon3 - p);
	out->guest_addr = default_guest;
	if (*gaddr && !parse_ipv4(gaddr, &out->guest_addr)) {
		*why = _("Bad guest address");
		return -1;
	}
	if (!parse_port(colon3 + 1, &out->guest_port) || out->guest_port == 0) {
		*why = _("Bad guest port");
		return -1;
	}
	return 0;
}

/* "[tcp]:server:port-dev" */
static bool parse_guestfwd(const char *rule, GuestFwd *out)
{
	const char *p = rule;
	if (!strncmp(p, "tcp:", 4))
		p += 4;
	else if (*p == ':')
		p++;
	else
		return false;
	const char *colon = strchr(p, ':');
	if (!colon)
		return false;
	g_autofree char *server = g_strndup(p, colon - p);
	if (!parse_ipv4(server, &out->server))
		return false;
	p = colon + 1;
	const char *dash = strchr(p, '-');
	if (!dash)
		return false;
	g_autofree char *port = g_strndup(p, dash - p);
	if (!parse_port(port, &out->port) || !dash[1])
		return false;
	out->dev = g_strdup(dash + 1);
	return true;
}

/* The targets QEMU's guestfwd accepts that kite implements: a command, or
 * a character device in the legacy -serial syntax. */
static bool guestfwd_dev_known(const char *dev)
{
	static const char *const prefixes[] = {"cmd:", "chardev:", "file:", "unix:", "tcp:"};
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++)
		if (g_str_has_prefix(dev, prefixes[i]))
			return true;
	return !strcmp(dev, "stdio") || !strcmp(dev, "null") || !strcmp(dev, "pty");
}

static bool in_net(struct in_addr a, const UserConfig *c)
{
	return (a.s_addr & c->cfg.vnetmask.s_addr) == c->cfg.vnetwork.s_addr;
}

/* net=addr[/bits|/mask]; without a mask the class of addr decides, as QEMU
 * always did (10.x is /8, 172.16/12, 128-191 /16, 192.168 /16, else /24). */
static int parse_net(KiteOpts *o, const char *v, UserConfig *c, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(v, "/", 2);
	struct in_addr net, mask;
	if (!parts[0] || !parse_ipv4(parts[0], &net)) {
		kite_opts_error(o, err, _("Failed to parse netmask"));
		return -1;
	}
	uint32_t h = ntohl(net.s_addr);
	if (parts[1]) {
		char *end;
		long bits = strtol(parts[1], &end, 10);
		if (*parts[1] && !*end) {
			if (bits < 4 || bits > 32) {
				kite_opts_error(o, err,
						_("Invalid netmask provided (must be in "
						  "range 4-32)"));
				return -1;
			}
			mask.s_addr = htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits));
		} else if (!parse_ipv4(parts[1], &mask)) {
			kite_opts_error(o, err, _("Failed to parse netmask"));
			return -1;
		}
	} else if (!(h & 0x80000000u)) {
		mask.s_addr = htonl(0xff000000u);
	} else if ((h & 0xfff00000u) == 0xac100000u) {
		mask.s_addr = htonl(0xfff00000u);
	} else if ((h & 0xc0000000u) == 0x80000000u) {
		mask.s_addr = htonl(0xffff0000u);
	} else if ((h & 0xffff0000u) == 0xc0a80000u) {
		mask.s_addr = htonl(0xffff0000u);
	} else {
		mask.s_addr = htonl(0xffffff00u);
	}
	c->net_addr = net;
	c->cfg.vnetwork.s_addr = net.s_addr & mask.s_addr;
	c->cfg.vnetmask = mask;
	/* Defaults sit at the fixed host parts of the given address. */
	c->cfg.vhost.s_addr = net.s_addr | htonl(2);
	c->cfg.vnameserver.s_addr = net.s_addr | htonl(3);
	c->cfg.vdhcp_start.s_addr = net.s_addr | htonl(15);
	c->net_addr = c->cfg.vnetwork;
	return 0;
}

static const char *const user_keys[] = {"net",
					"host",
					"ipv4",
					"ipv6",
					"ipv6-net",
					"ipv6-prefix",
					"ipv6-prefixlen",
					"ipv6-host",
					"ipv6-dns",
					"restrict",
					"hostname",
					"dhcpstart",
					"dns",
					"domainname",
					"dnssearch",
					"tftp",
					"tftp-server-name",
					"bootfile",
					"smb",
					"smbserver",
					"hostfwd",
					"guestfwd",
					NULL};

static int get_addr(KiteOpts *o, const char *key, struct in_addr *a, GError **err)
{
	const char *v = kite_opts_get(o, key);
	if (v && !parse_ipv4(v, a)) {
		kite_opts_error(o, err, _("Parameter '%s' expects an IPv4 address"), key);
		return -1;
	}
	return 0;
}

static void *user_parse(KiteOpts *o, GError **err)
{
	g_autofree char *prefix_copy = NULL;
	g_autofree const char **search = NULL;
	g_autofree const char **hf = NULL;
	g_autofree const char **gf = NULL;
	UserConfig *c = g_new0(UserConfig, 1);
	c->cfg.version = 4;
	bool restrict_on;
	if (kite_opts_get_bool(o, "ipv4", true, &c->ipv4, err) < 0 ||
	    kite_opts_get_bool(o, "ipv6", true, &c->ipv6, err) < 0 ||
	    kite_opts_get_bool(o, "restrict", false, &restrict_on, err) < 0)
		goto fail;
	c->cfg.restricted = restrict_on;
	if (!c->ipv4 && !c->ipv6) {
		kite_opts_error(o, err, _("IPv4 and IPv6 disabled"));
		goto fail;
	}
	if (kite_opts_has(o, "smb") || kite_opts_has(o, "smbserver")) {
		kite_opts_error(o, err,
				_("Parameter 'smb' is not supported by kite (no SMB "
				  "server is bundled); share files with hostfwd= or "
				  "tftp= instead"));
		goto fail;
	}
	if (parse_net(o, kite_opts_get(o, "net") ? kite_opts_get(o, "net") : "10.0.2.0/24", c,
		      err) < 0)
		goto fail;
	if (get_addr(o, "host", &c->cfg.vhost, err) < 0 ||
	    get_addr(o, "dhcpstart", &c->cfg.vdhcp_start, err) < 0 ||
	    get_addr(o, "dns", &c->cfg.vnameserver, err) < 0)
		goto fail;
	if (!in_net(c->cfg.vhost, c)) {
		kite_opts_error(o, err, _("Host doesn't belong to network"));
		goto fail;
	}
	if (!in_net(c->cfg.vdhcp_start, c)) {
		kite_opts_error(o, err, _("DHCP doesn't belong to network"));
		goto fail;
	}
	if (!in_net(c->cfg.vnameserver, c)) {
		kite_opts_error(o, err, _("DNS doesn't belong to network"));
		goto fail;
	}
	if (c->cfg.vhost.s_addr == c->cfg.vnetwork.s_addr ||
	    c->cfg.vhost.s_addr == (c->cfg.vnetwork.s_addr | ~c->cfg.vnetmask.s_addr)) {
		kite_opts_error(o, err, _("Host address can't be network or broadcast address"));
		goto fail;
	}

	/* IPv6: fec0::/64 with host ::2 and DNS ::3 unless told otherwise. */
	const char *prefix = kite_opts_get(o, "ipv6-net");
	if (!prefix)
		prefix = kite_opts_get(o, "ipv6-prefix");
	prefix_copy = g_strdup(prefix ? prefix : "fec0::/64");
	char *slash = strchr(prefix_copy, '/');
	int64_t plen = 64;
	if (slash) {
		*slash = '\0';
		char *end;
		plen = strtol(slash + 1, &end, 10);
		if (*end || plen < 0 || plen > 126) {
			kite_opts_error(o, err, _("Invalid IPv6 prefix length"));
			goto fail;
		}
	}
	if (kite_opts_has(o, "ipv6-prefixlen") &&
	    kite_opts_get_int(o, "ipv6-prefixlen", 64, 0, 126, _("a number"), &plen, err) < 0)
		goto fail;
	if (inet_pton(AF_INET6, prefix_copy, &c->cfg.vprefix_addr6) != 1) {
		kite_opts_error(o, err, _("Parameter 'ipv6-prefix' expects an IPv6 address"));
		goto fail;
	}
	c->cfg.vprefix_len = (uint8_t)plen;
	c->cfg.vhost6 = c->cfg.vprefix_addr6;
	c->cfg.vhost6.s6_addr[15] |= 2;
	c->cfg.vnameserver6 = c->cfg.vprefix_addr6;
	c->cfg.vnameserver6.s6_addr[15] |= 3;
	const char *h6 = kite_opts_get(o, "ipv6-host");
	const char *d6 = kite_opts_get(o, "ipv6-dns");
	if ((h6 && inet_pton(AF_INET6, h6, &c->cfg.vhost6) != 1) ||
	    (d6 && inet_pton(AF_INET6, d6, &c->cfg.vnameserver6) != 1)) {
		kite_opts_error(o, err, _("Parameter '%s' expects an IPv6 address"),
				h6 && inet_pton(AF_INET6, h6, &c->cfg.vhost6) != 1 ? "ipv6-host"
										   : "ipv6-dns");
		goto fail;
	}

	c->hostname = g_strdup(kite_opts_get(o, "hostname"));
	c->tftp = g_strdup(kite_opts_get(o, "tftp"));
	c->tftp_server_name = g_strdup(kite_opts_get(o, "tftp-server-name"));
	c->bootfile = g_strdup(kite_opts_get(o, "bootfile"));
	c->domainname = g_strdup(kite_opts_get(o, "domainname"));
	if (c->domainname && !*c->domainname) {
		kite_opts_error(o, err, _("Parameter 'domainname' must not be empty"));
		goto fail;
	}
	search = kite_opts_get_all(o, "dnssearch");
	if (search[0])
		c->dnssearch = g_strdupv((char **)search);

	c->hostfwds = g_array_new(FALSE, TRUE, sizeof(HostFwd));
	hf = kite_opts_get_all(o, "hostfwd");
	for (int i = 0; hf[i]; i++) {
		HostFwd fwd;
		const char *why;
		if (user_parse_hostfwd(hf[i], c->cfg.vdhcp_start, &fwd, &why) < 0) {
			kite_opts_error(o, err, _("Invalid host forwarding rule '%s' (%s)"), hf[i],
					why);
			goto fail;
		}
		g_array_append_val(c->hostfwds, fwd);
	}
	c->guestfwds = g_array_new(FALSE, TRUE, sizeof(GuestFwd));
	gf = kite_opts_get_all(o, "guestfwd");
	for (int i = 0; gf[i]; i++) {
		GuestFwd fwd = {0};
		if (!parse_guestfwd(gf[i], &fwd)) {
			kite_opts_error(o, err, _("Invalid guest forwarding rule '%s'"), gf[i]);
			goto fail;
		}
		g_array_append_val(c->guestfwds, fwd);
		if (!guestfwd_dev_known(fwd.dev)) {
			kite_opts_error(o, err,
					_("'%s' is not a valid char driver (guestfwd= takes "
					  "cmd:COMMAND, stdio, tcp:HOST:PORT or unix:PATH)"),
					fwd.dev);
			goto fail;
		}
		if (!strncmp(fwd.dev, "chardev:", 8) && !fwd.dev[8]) {
			kite_opts_error(o, err,
					_("guestfwd: 'chardev:' needs the id of a -chardev"));
			goto fail;
		}
		if (!in_net(fwd.server, c)) {
			kite_opts_error(o, err, _("Invalid guest forwarding rule '%s'"), gf[i]);
			goto fail;
		}
	}
	return c;
fail:
	user_config_free(c);
	return NULL;
}

/* --- DHCP leases --------------------------------------------------------------- */

#define DHCP_OFF_YIADDR	 16
#define DHCP_OFF_CHADDR	 28
#define DHCP_OFF_OPTIONS 240 /* after the fixed BOOTP header and the magic cookie */
#define DHCP_OPT_LEASE	 51
#define DHCP_OPT_TYPE	 53
#define DHCP_ACK	 5
#define DHCP_NAK	 6
#define DHCP_RELEASE	 7

static void lease_forget_mac(UserState *s, const uint8_t mac[6])
{
	for (guint i = 0; i < s->leases->len; i++)
		if (!memcmp(g_array_index(s->leases, UserLease, i).mac, mac, 6))
			g_array_remove_index(s->leases, i--);
}

static void lease_drop_expired(UserState *s)
{
	int64_t now = ml_now_ns();
	for (guint i = 0; i < s->leases->len; i++)
		if (g_array_index(s->leases, UserLease, i).expires_ns <= now)
			g_array_remove_index(s->leases, i--);
}

static void lease_record(UserState *s, const uint8_t mac[6], struct in_addr addr, uint32_t lease_s)
{
	UserLease l = {.addr = addr};
	memcpy(l.mac, mac, 6);
	l.expires_ns =
	    lease_s == 0xffffffffu ? INT64_MAX : ml_now_ns() + (int64_t)lease_s * 1000000000LL;
	/* one lease per MAC, one MAC per address: slirp moved it if it differs */
	lease_forget_mac(s, mac);
	for (guint i = 0; i < s->leases->len; i++)
		if (g_array_index(s->leases, UserLease, i).addr.s_addr == addr.s_addr)
			g_array_remove_index(s->leases, i--);
	lease_drop_expired(s);
	if (s->leases->len >= USER_MAX_LEASES) {
		guint oldest = 0;
		for (guint i = 1; i < s->leases->len; i++)
			if (g_array_index(s->leases, UserLease, i).expires_ns <
			    g_array_index(s->leases, UserLease, oldest).expires_ns)
				oldest = i;
		g_array_remove_index(s->leases, oldest);
	}
	g_array_append_val(s->leases, l);
}

/*
 * Look at one Ethernet frame between the guest and libslirp; act on DHCP
 * ACK/NAK (to_guest) and RELEASE (from the guest). Everything is bounds
 * checked: the guest writes half of these frames.
 */
static void dhcp_snoop(UserState *s, const uint8_t *f, size_t len, bool to_guest)
{
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t ip_len = (size_t)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip_len < ihl || ip_len > len - 14 || ip[9] != 17)
		return;
	if (((ip[6] << 8 | ip[7]) & 0x3fff) != 0) /* a fragment */
		return;
	const uint8_t *udp = ip + ihl;
	size_t udp_len = (size_t)udp[4] << 8 | udp[5];
	if (ip_len - ihl < 8 || udp_len < 8 || udp_len > ip_len - ihl)
		return;
	unsigned sport = udp[0] << 8 | udp[1], dport = udp[2] << 8 | udp[3];
	if (to_guest ? (sport != 67 || dport != 68) : (sport != 68 || dport != 67))
		return;
	const uint8_t *bootp = udp + 8;
	size_t n = udp_len - 8;
	static const uint8_t cookie[4] = {0x63, 0x82, 0x53, 0x63};
	if (n < DHCP_OFF_OPTIONS || bootp[0] != (to_guest ? 2 : 1) || bootp[1] != 1 ||
	    bootp[2] != 6 || memcmp(bootp + DHCP_OFF_OPTIONS - 4, cookie, 4) != 0)
		return;
	int type = -1;
	uint32_t lease_s = 0;
	bool have_lease = false;
	for (size_t i = DHCP_OFF_OPTIONS; i < n && bootp[i] != 255;) {
		if (bootp[i] == 0) {
			i++;
			continue;
		}
		if (i + 2 > n || i + 2 + bootp[i + 1] > n)
			return;
		const uint8_t *v = bootp + i + 2;
		if (bootp[i] == DHCP_OPT_TYPE && bootp[i + 1] == 1)
			type = v[0];
		else if (bootp[i] == DHCP_OPT_LEASE && bootp[i + 1] == 4) {
			lease_s = (uint32_t)v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
			have_lease = true;
		}
		i += 2 + bootp[i + 1];
	}
	const uint8_t *mac = bootp + DHCP_OFF_CHADDR;
	struct in_addr yiaddr;
	memcpy(&yiaddr, bootp + DHCP_OFF_YIADDR, 4);
	if (to_guest && type == DHCP_ACK && yiaddr.s_addr != 0)
		lease_record(s, mac, yiaddr, have_lease ? lease_s : 0xffffffffu);
	else if ((to_guest && type == DHCP_NAK) || (!to_guest && type == DHCP_RELEASE))
		lease_forget_mac(s, mac);
}

/* --- libslirp callbacks ---------------------------------------------------- */

static ssize_t slirp_send_packet(const void *buf, size_t len, void *opaque)
{
	UserState *s = opaque;
	dhcp_snoop(s, buf, len, true);
	/* A full guest queue drops here; TCP inside slirp retransmits. */
	net_send(s->nc, buf, len);
	return len;
}

static void slirp_guest_error(const char *msg, void *opaque)
{
	UserState *s = opaque;
	g_printerr(_("%s: guest error: %s\n"), s->nc->name, msg);
}

static int64_t slirp_clock_ns(void *opaque)
{
	(void)opaque;
	return ml_now_ns();
}

typedef struct SlirpTimer {
	ml_timer *t;
	UserState *s;
	SlirpTimerId id;
	void *cb_opaque;
} SlirpTimer;

static void user_schedule(UserState *s);

static void slirp_timer_fire(void *opaque)
{
	SlirpTimer *t = opaque;
	slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
	user_schedule(t->s);
}

static void *slirp_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	SlirpTimer *t = g_new0(SlirpTimer, 1);
	t->s = opaque;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->t = ml_timer_new(slirp_timer_fire, t);
	return t;
}

static void slirp_timer_free(void *timer, void *opaque)
{
	SlirpTimer *t = timer;
	(void)opaque;
	ml_timer_free(t->t);
	g_free(t);
}

static void slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	SlirpTimer *t = timer;
	(void)opaque;
	ml_timer_mod(t->t, expire_ms * 1000000);
}

static void slirp_register_fd(int fd, void *opaque)
{
	UserState *s = opaque;
	(void)fd;
	s->pollset_stale = true;
}

/* slirp is about to close fd: leave epoll before the number is reused. */
static void slirp_unregister_fd(int fd, void *opaque)
{
	UserState *s = opaque;
	/* The number may come back for another socket at the same place in
	 * slirp's list: the next refill must not take the list as unchanged. */
	s->pollset_stale = true;
	if (g_hash_table_remove(s->watched, GINT_TO_POINTER(fd)))
		ml_del_fd(fd);
}

static void slirp_notify(void *opaque)
{
	user_schedule(opaque);
}

static const SlirpCb user_slirp_cb = {
    .send_packet = slirp_send_packet,
    .guest_error = slirp_guest_error,
    .clock_get_ns = slirp_clock_ns,
    .timer_free = slirp_timer_free,
    .timer_mod = slirp_timer_mod,
    .register_poll_fd = slirp_register_fd,
    .unregister_poll_fd = slirp_unregister_fd,
    .notify = slirp_notify,
    .timer_new_opaque = slirp_timer_new_opaque,
};

/* --- polling glue ------------------------------------------------------------ */

static int add_poll_cb(int fd, int events, void *opaque)
{
	UserState *s = opaque;
	SlirpPollFd p = {.fd = fd, .events = events};
	g_array_append_val(s->pollfds, p);
	return (int)s->pollfds->len - 1;
}

static int get_revents_cb(int idx, void *opaque)
{
	UserState *s = opaque;
	if (idx < 0 || (guint)idx >= s->pollfds->len)
		return 0;
	return g_array_index(s->pollfds, SlirpPollFd, idx).revents;
}

static uint32_t to_epoll(int ev)
{
	uint32_t m = 0;
	if (ev & SLIRP_POLL_IN)
		m |= EPOLLIN;
	if (ev & SLIRP_POLL_OUT)
		m |= EPOLLOUT;
	if (ev & SLIRP_POLL_PRI)
		m |= EPOLLPRI;
	return m;
}

static int from_epoll(uint32_t m)
{
	int ev = 0;
	if (m & EPOLLIN)
		ev |= SLIRP_POLL_IN;
	if (m & EPOLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (m & EPOLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (m & EPOLLERR)
		ev |= SLIRP_POLL_ERR;
	if (m & EPOLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void user_fd_event(int fd, uint32_t events, void *opaque);

static void watch(UserState *s, int fd, uint32_t mask)
{
	int r = ml_add_fd(fd, mask, user_fd_event, s);
	if (r == -ENOENT) {
		/* slirp closed the old fd of this number without telling us. */
		ml_del_fd(fd);
		r = ml_add_fd(fd, mask, user_fd_event, s);
	}
	if (r == 0)
		g_hash_table_insert(s->watched, GINT_TO_POINTER(fd), GUINT_TO_POINTER(mask + 1));
	else
		s->pollset_stale = true; /* try again on the next refill */
}

static void arm_tick(UserState *s, int64_t when)
{
	s->tick_when = when;
	ml_timer_mod(s->tick, when);
}

/*
 * Ask slirp what it wants polled now and mirror that into epoll.
 * after_poll: slirp's timers just ran, so the tick may move to the new
 * timeout even if that is later. Otherwise (after a guest frame) it may
 * only come earlier: frames arriving faster than slirp's timeout must not
 * keep pushing its timers back.
 */
static void user_refill(UserState *s, bool after_poll)
{
	uint32_t timeout = 1000;
	g_array_set_size(s->pollfds, 0);
	slirp_pollfds_fill(s->slirp, &timeout, add_poll_cb, s);
	int64_t when = ml_now_ns() + (int64_t)timeout * 1000000;
	if (after_poll || s->tick_when < 0 || when < s->tick_when)
		arm_tick(s, when);

	/* An empty GArray's data may be NULL, which memcmp must not see. */
	if (!s->pollset_stale && s->applied->len == s->pollfds->len &&
	    (s->pollfds->len == 0 || memcmp(s->applied->data, s->pollfds->data,
					    s->pollfds->len * sizeof(SlirpPollFd)) == 0))
		return;
	s->pollset_stale = false;
	g_array_set_size(s->applied, 0);
	g_array_append_vals(s->applied, s->pollfds->data, s->pollfds->len);

	GHashTable *want = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < s->pollfds->len; i++) {
		SlirpPollFd *p = &g_array_index(s->pollfds, SlirpPollFd, i);
		uint32_t m = GPOINTER_TO_UINT(g_hash_table_lookup(want, GINT_TO_POINTER(p->fd)));
		m = (m ? m - 1 : 0) | to_epoll(p->events);
		g_hash_table_insert(want, GINT_TO_POINTER(p->fd), GUINT_TO_POINTER(m + 1));
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, s->watched);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (!g_hash_table_contains(want, k)) {
			ml_del_fd(GPOINTER_TO_INT(k));
			g_hash_table_iter_remove(&it);
		}
	}
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		gpointer old = g_hash_table_lookup(s->watched, k);
		if (old != v)
			watch(s, GPOINTER_TO_INT(k), GPOINTER_TO_UINT(v) - 1);
	}
	g_hash_table_destroy(want);
}

static void chan_resume(UserState *s);

static void user_poll(UserState *s)
{
	if (s->in_poll)
		return;
	s->in_poll = true;
	slirp_pollfds_poll(s->slirp, 0, get_revents_cb, s);
	for (guint i = 0; i < s->pollfds->len; i++)
		g_array_index(s->pollfds, SlirpPollFd, i).revents = 0;
	s->in_poll = false;
	chan_resume(s);
	user_refill(s, true);
}

static void user_fd_event(int fd, uint32_t events, void *opaque)
{
	UserState *s = opaque;
	for (guint i = 0; i < s->pollfds->len; i++) {
		SlirpPollFd *p = &g_array_index(s->pollfds, SlirpPollFd, i);
		if (p->fd == fd)
			p->revents =
			    from_epoll(events) & (p->events | SLIRP_POLL_ERR | SLIRP_POLL_HUP);
	}
	user_poll(s);
}

static void user_tick(void *opaque)
{
	UserState *s = opaque;
	s->tick_when = -1;
	user_poll(s);
}

/* Something changed inside slirp (new socket, buffer space): look again on
 * the next loop iteration rather than re-entering slirp from its callback. */
static void user_schedule(UserState *s)
{
	arm_tick(s, ml_now_ns());
}

/* --- guest forwarding to a byte stream ---------------------------------------- */

const NetUserChardevOps *net_user_chardev_ops;

/*
 * guestfwd=...-stdio / -tcp:HOST:PORT: like QEMU's chardev, one stream on
 * the host side that guest connections to server:port talk to. Data from
 * the guest is written out as it comes; host data goes to the guest as far
 * as its TCP window allows, the rest waits in the kernel.
 */
typedef struct FwdChannel {
	UserState *s;
	struct chardev *chr; /* guestfwd to a chardev: its frontend */
	bool own_chr;	     /* made for this guestfwd (not chardev:ID): deleted with it */
	int rfd, wfd;
	bool own_fd;
	bool reading;
	struct in_addr server;
	int port;
} FwdChannel;

static ssize_t chan_write(const void *buf, size_t len, void *opaque)
{
	FwdChannel *c = opaque;
	if (c->chr) {
		net_user_chardev_ops->write(c->chr, buf, len);
		return len;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(c->wfd, (const uint8_t *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		done += n;
	}
	return len;
}

static void chan_read(int fd, uint32_t events, void *opaque)
{
	FwdChannel *c = opaque;
	UserState *s = c->s;
	char buf[4096];
	(void)events;
	size_t room = slirp_socket_can_recv(s->slirp, c->server, c->port);
	if (room == 0) {
		/* No guest connection or a full window: poll again shortly. */
		ml_del_fd(fd);
		c->reading = false;
		user_schedule(s);
		return;
	}
	ssize_t n = read(fd, buf, MIN(room, sizeof(buf)));
	if (n <= 0) {
		ml_del_fd(fd);
		c->reading = false;
		c->rfd = -1;
		return;
	}
	slirp_socket_recv(s->slirp, c->server, c->port, (uint8_t *)buf, (int)n);
	user_schedule(s);
}

/* chardev frontend: the chardev pushes host data as far as the guest's
 * TCP window allows, and is told to go on when it opens again. */
static size_t chan_chr_can_read(void *opaque)
{
	FwdChannel *c = opaque;
	return slirp_socket_can_recv(c->s->slirp, c->server, c->port);
}

static void chan_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
	FwdChannel *c = opaque;
	slirp_socket_recv(c->s->slirp, c->server, c->port, buf, (int)len);
	user_schedule(c->s);
}

static const struct chr_frontend chan_chr_frontend = {
    .can_read = chan_chr_can_read,
    .read = chan_chr_read,
};

/* Re-arm channels that paused for want of a guest window. */
static void chan_resume(UserState *s)
{
	for (GList *l = s->channels; l; l = l->next) {
		FwdChannel *c = l->data;
		if (c->chr) {
			if (slirp_socket_can_recv(s->slirp, c->server, c->port) > 0)
				net_user_chardev_ops->input_ready(c->chr);
			continue;
		}
		if (!c->reading && c->rfd >= 0 &&
		    slirp_socket_can_recv(s->slirp, c->server, c->port) > 0) {
			c->reading = true;
			ml_add_fd(c->rfd, EPOLLIN, chan_read, c);
		}
	}
}

static void chan_free(FwdChannel *c)
{
	if (c->chr) {
		/* chardev:ID is free for another user; one made for this
		 * guestfwd goes with it, as in QEMU. */
		net_user_chardev_ops->detach(c->chr, &chan_chr_frontend, c);
		if (c->own_chr)
			net_user_chardev_ops->delete (c->chr);
		g_free(c);
		return;
	}
	if (c->reading)
		ml_del_fd(c->rfd);
	if (c->own_fd)
		close(c->wfd);
	g_free(c);
}

static int chan_connect_tcp(const char *hostport, GError **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (netsock_parse_inet(hostport, &ss, &len, true, err) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("guestfwd: cannot connect to %s: %s"),
			    hostport, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* --- NetClient ---------------------------------------------------------------- */

static ssize_t user_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	UserState *s = nc->opaque;
	size_t len = net_iov_size(iov, iovcnt);
	uint8_t dst[2];
	/*
	 * On a hub the stack also sees frames guests send each other. Like
	 * any host on a LAN it takes only broadcasts, multicasts and frames to
	 * its own addresses (libslirp answers as 52:55:<IPv4 address>);
	 * otherwise it would answer another guest's TCP with resets.
	 */
	if (net_iov_to_buf(iov, iovcnt, dst, 2) == 2 && !(dst[0] & 1) &&
	    !(dst[0] == 0x52 && dst[1] == 0x55))
		return len;
	if (iovcnt == 1) {
		dhcp_snoop(s, iov[0].iov_base, len, false);
		slirp_input(s->slirp, iov[0].iov_base, (int)len);
	} else {
		g_autofree uint8_t *buf = g_malloc(len);
		net_iov_to_buf(iov, iovcnt, buf, len);
		dhcp_snoop(s, buf, len, false);
		slirp_input(s->slirp, buf, (int)len);
	}
	/*
	 * Usually this runs on the vCPU thread that wrote the NIC's doorbell.
	 * slirp has sent the datagram on already; only a new socket, changed
	 * poll events or an earlier timeout need mirroring, done here without
	 * waking the main loop for every frame. Inside slirp_pollfds_poll (a
	 * frame looped back through a NIC) the pollfds array is in use, and
	 * guestfwd channels wait for user_poll to resume them: both keep the
	 * full poll on the main loop. So do frames that come from the main
	 * loop itself (virtio-net's transmit runs there from its ioeventfd, a
	 * batch of frames per wake-up): the poll then comes once, at the end
	 * of this iteration, instead of a refill per frame.
	 */
	if (s->in_poll || s->channels || ml_on_main_thread())
		user_schedule(s);
	else
		user_refill(s, false);
	return len;
}

static void user_cleanup(NetClient *nc)
{
	UserState *s = nc->opaque;
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, s->watched);
	while (g_hash_table_iter_next(&it, &k, NULL))
		ml_del_fd(GPOINTER_TO_INT(k));
	g_list_free_full(s->channels, (GDestroyNotify)chan_free);
	slirp_cleanup(s->slirp);
	ml_timer_free(s->tick);
	g_hash_table_destroy(s->watched);
	g_array_free(s->pollfds, TRUE);
	g_array_free(s->applied, TRUE);
	g_array_free(s->leases, TRUE);
	user_states = g_list_remove(user_states, s);
	g_free(s);
}

static const NetClientOps user_ops = {
    .receive = user_receive,
    .cleanup = user_cleanup,
};

static int add_guestfwd(UserState *s, GuestFwd *g, GError **err)
{
	if (!strncmp(g->dev, "cmd:", 4)) {
		if (slirp_add_exec(s->slirp, g->dev + 4, &g->server, g->port) < 0)
			goto fail;
		return 0;
	}
	if (!strncmp(g->dev, "unix:", 5)) {
		if (slirp_add_unix(s->slirp, g->dev + 5, &g->server, g->port) < 0)
			goto fail;
		return 0;
	}
	FwdChannel *c = g_new0(FwdChannel, 1);
	c->s = s;
	c->server = g->server;
	c->port = g->port;
	if (strcmp(g->dev, "stdio") && strncmp(g->dev, "tcp:", 4)) {
		/* chardev:ID, file:PATH, null, pty: a character device of the
		 * core, named guestfwd.tcp.PORT when made here (as QEMU). */
		const NetUserChardevOps *ops = net_user_chardev_ops;
		if (!ops) {
			g_free(c);
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("guestfwd: '%s' needs character devices, which this program "
				      "does not have"),
				    g->dev);
			return -1;
		}
		if (!strncmp(g->dev, "chardev:", 8)) {
			c->chr = ops->find(g->dev + 8);
			if (!c->chr)
				g_set_error(err, KITE_NET_ERROR, 0,
					    _("guestfwd: chardev '%s' not found"), g->dev + 8);
		} else {
			g_autofree char *label = g_strdup_printf("guestfwd.tcp.%d", g->port);
			c->chr = ops->new_legacy(g->dev, label, err);
			c->own_chr = c->chr != NULL;
		}
		if (!c->chr || ops->attach(c->chr, &chan_chr_frontend, c, err) < 0) {
			/* not attached: nothing refers to c yet */
			if (c->own_chr)
				ops->delete (c->chr);
			g_free(c);
			return -1;
		}
		c->rfd = c->wfd = -1;
		if (slirp_add_guestfwd(s->slirp, chan_write, c, &g->server, g->port) < 0) {
			/* attached: chan_free detaches (and deletes what it made) */
			chan_free(c);
			goto fail;
		}
		s->channels = g_list_append(s->channels, c);
		return 0;
	}
	if (!strcmp(g->dev, "stdio")) {
		if (s->stdio_used) {
			g_free(c);
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("only one guest forwarding rule can use stdio"));
			return -1;
		}
		s->stdio_used = true;
		c->rfd = STDIN_FILENO;
		c->wfd = STDOUT_FILENO;
	} else {
		int fd = chan_connect_tcp(g->dev + 4, err);
		if (fd < 0) {
			g_free(c);
			return -1;
		}
		c->rfd = c->wfd = fd;
		c->own_fd = true;
	}
	if (slirp_add_guestfwd(s->slirp, chan_write, c, &g->server, g->port) < 0) {
		chan_free(c);
		goto fail;
	}
	s->channels = g_list_append(s->channels, c);
	c->reading = true;
	ml_add_fd(c->rfd, EPOLLIN, chan_read, c);
	return 0;
fail:
	g_set_error(err, KITE_NET_ERROR, 0, _("Conflicting/invalid guest forwarding rule '%s:%d'"),
		    inet_ntoa(g->server), g->port);
	return -1;
}

static NetClient *user_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	UserConfig *c = cfg;
	UserState *s = g_new0(UserState, 1);
	s->pollfds = g_array_new(FALSE, TRUE, sizeof(SlirpPollFd));
	s->watched = g_hash_table_new(NULL, NULL);
	s->applied = g_array_new(FALSE, TRUE, sizeof(SlirpPollFd));
	s->pollset_stale = true;
	s->tick = ml_timer_new(user_tick, s);
	s->tick_when = -1;
	s->dhcp_start = c->cfg.vdhcp_start;
	s->netmask = c->cfg.vnetmask;
	s->leases = g_array_new(FALSE, TRUE, sizeof(UserLease));

	c->cfg.in_enabled = c->ipv4;
	c->cfg.in6_enabled = c->ipv6;
	c->cfg.vhostname = c->hostname;
	c->cfg.tftp_server_name = c->tftp_server_name;
	c->cfg.tftp_path = c->tftp;
	c->cfg.bootfile = c->bootfile;
	c->cfg.vdomainname = c->domainname;
	c->cfg.vdnssearch = (const char **)c->dnssearch;
	s->slirp = slirp_new(&c->cfg, &user_slirp_cb, s);
	if (!s->slirp) {
		kite_opts_error(o, err, _("could not start the user-mode network stack"));
		goto fail;
	}
	NetClient *nc = net_client_new(NET_CLIENT_USER, "user", name, &user_ops, s);
	s->nc = nc;
	char net[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &c->net_addr, net, sizeof(net));
	net_client_set_info(nc, "net=%s,restrict=%s", net, c->cfg.restricted ? "on" : "off");

	for (guint i = 0; i < c->hostfwds->len; i++) {
		HostFwd *f = &g_array_index(c->hostfwds, HostFwd, i);
		if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr,
				      f->guest_port) < 0) {
			kite_opts_error(o, err, _("Could not set up host forwarding rule '%s:%d'"),
					f->udp ? "udp" : "tcp", f->host_port);
			net_client_free(nc);
			return NULL;
		}
	}
	for (guint i = 0; i < c->guestfwds->len; i++) {
		GError *e = NULL;
		if (add_guestfwd(s, &g_array_index(c->guestfwds, GuestFwd, i), &e) < 0) {
			kite_opts_error(o, err, "%s", e->message);
			g_error_free(e);
			net_client_free(nc);
			return NULL;
		}
	}
	user_states = g_list_append(user_states, s);
	user_refill(s, true);
	return nc;
fail:
	ml_timer_free(s->tick);
	g_hash_table_destroy(s->watched);
	g_array_free(s->pollfds, TRUE);
	g_array_free(s->applied, TRUE);
	g_array_free(s->leases, TRUE);
	g_free(s);
	return NULL;
}

const NetBackend net_backend_user = {
    .type = "user",
    .keys = user_keys,
    .netdev_ok = true,
    .legacy_ok = true,
    .parse = user_parse,
    .create = user_create,
    .free_cfg = user_config_free,
};

/* --- monitor ---------------------------------------------------------------------- */

/* "hostfwd_add [hub_id name] rule": find the slirp instance meant. */
static UserState *find_user(const char *hub_id, const char *name, GError **err)
{
	if (!hub_id) {
		if (!user_states) {
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("No usernet devices exist (use -netdev user or -net user)"));
			return NULL;
		}
		return user_states->data;
	}
	NetClient *nc = net_client_find(name);
	if (!nc || nc->type != NET_CLIENT_USER) {
		g_set_error(err, KITE_NET_ERROR, 0, _("unrecognized (hub-id, stackname) pair"));
		return NULL;
	}
	char *end;
	long id = strtol(hub_id, &end, 10);
	if (*end || net_hub_id_for_client(nc) != id) {
		g_set_error(err, KITE_NET_ERROR, 0, _("unrecognized (hub-id, stackname) pair"));
		return NULL;
	}
	return nc->opaque;
}

int net_user_hostfwd_add(const char *hub_id, const char *name, const char *rule, GError **err)
{
	UserState *s = find_user(hub_id, name, err);
	if (!s)
		return -1;
	HostFwd f;
	const char *why;
	if (user_parse_hostfwd(rule, s->dhcp_start, &f, &why) < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("Invalid host forwarding rule '%s' (%s)"),
			    rule, why);
		return -1;
	}
	if (slirp_add_hostfwd(s->slirp, f.udp, f.host_addr, f.host_port, f.guest_addr,
			      f.guest_port) < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("Could not set up host forwarding rule '%s'"),
			    rule);
		return -1;
	}
	user_schedule(s);
	return 0;
}

/* "[tcp|udp]:[hostaddr]:hostport"; the result is a message for the user,
 * worded like QEMU's, since "not found" is not an error there either. */
int net_user_hostfwd_remove(const char *hub_id, const char *name, const char *rule, GString *out,
			    GError **err)
{
	UserState *s = find_user(hub_id, name, err);
	if (!s)
		return -1;
	bool udp = false;
	g_autofree char *addr = NULL;
	const char *p = rule;
	const char *colon = strchr(p, ':');
	struct in_addr host = {0};
	int port;
	if (!colon)
		goto bad;
	if (!strncmp(p, "udp:", 4))
		udp = true;
	else if (colon != p && strncmp(p, "tcp:", 4))
		goto bad;
	p = colon + 1;
	colon = strchr(p, ':');
	if (!colon)
		goto bad;
	addr = g_strndup(p, colon - p);
	if (*addr && !parse_ipv4(addr, &host))
		goto bad;
	if (!parse_port(colon + 1, &port))
		goto bad;
	if (slirp_remove_hostfwd(s->slirp, udp, host, port) < 0)
		g_string_append_printf(out, _("host forwarding rule for %s not found\n"), rule);
	else
		g_string_append_printf(out, _("host forwarding rule for %s removed\n"), rule);
	return 0;
bad:
	g_set_error(err, KITE_NET_ERROR, 0, _("invalid format"));
	return -1;
}

static unsigned mask_prefix(struct in_addr mask)
{
	return (unsigned)__builtin_popcount(ntohl(mask.s_addr));
}

void net_user_foreach_lease(void (*fn)(const NetUserLease *lease, void *opaque), void *opaque)
{
	int64_t now = ml_now_ns();
	for (GList *l = user_states; l; l = l->next) {
		UserState *s = l->data;
		lease_drop_expired(s);
		for (guint i = 0; i < s->leases->len; i++) {
			const UserLease *ul = &g_array_index(s->leases, UserLease, i);
			NetUserLease nl = {
			    .netdev = s->nc->name,
			    .hub = net_hub_id_for_client(s->nc),
			    .addr = ul->addr,
			    .prefix = mask_prefix(s->netmask),
			    .expires_in_s = ul->expires_ns == INT64_MAX
						? -1
						: (ul->expires_ns - now + 999999999) / 1000000000,
			};
			memcpy(nl.mac, ul->mac, 6);
			fn(&nl, opaque);
		}
	}
}

void net_user_info_usernet(GString *out)
{
	int64_t now = ml_now_ns();
	for (GList *l = user_states; l; l = l->next) {
		UserState *s = l->data;
		char *info = slirp_connection_info(s->slirp);
		g_string_append_printf(out, "Hub %d (%s):\n%s", net_hub_id_for_client(s->nc),
				       s->nc->name, info);
		g_free(info);
		/* kite's addition below QEMU's table: the DHCP leases (see
		 * UserLease), only once the guest has one */
		lease_drop_expired(s);
		if (!s->leases->len)
			continue;
		g_string_append_printf(out, "  %s\n", _("DHCP leases (kite):"));
		g_string_append_printf(out, "  %-18s %-18s %s\n", _("MAC address"),
				       _("IPv4 address"), _("Expires in"));
		for (guint i = 0; i < s->leases->len; i++) {
			const UserLease *ul = &g_array_index(s->leases, UserLease, i);
			char mac[18], addr[INET_ADDRSTRLEN + 4];
			net_format_mac(ul->mac, mac);
			inet_ntop(AF_INET, &ul->addr, addr, INET_ADDRSTRLEN);
			g_strlcat(addr, "/", sizeof(addr));
			g_autofree char *pfx = g_strdup_printf("%u", mask_prefix(s->netmask));
			g_strlcat(addr, pfx, sizeof(addr));
			if (ul->expires_ns == INT64_MAX)
				g_string_append_printf(out, "  %-18s %-18s %s\n", mac, addr,
						       _("never"));
			else
				g_string_append_printf(
				    out, "  %-18s %-18s %" G_GINT64_FORMAT " s\n", mac, addr,
				    (ul->expires_ns - now + 999999999) / 1000000000);
		}
	}
}
