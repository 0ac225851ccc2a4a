/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -net/-netdev socket: links kite (or QEMU) instances. listen=/connect= is
 * a TCP stream of length-prefixed frames, mcast= a UDP multicast group of
 * raw frames, udp=+localaddr= a point-to-point UDP link, fd= a socket the
 * caller opened.
 */
#include "backends.h"
#include "netsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

typedef struct SocketConfig {
	enum { SOCK_LISTEN, SOCK_CONNECT, SOCK_MCAST, SOCK_UDP, SOCK_FD } mode;
	char *text; /* the address as given, for info */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sockaddr_storage local;
	socklen_t locallen;
	bool has_local;
	int fd;
} SocketConfig;

static const char *const socket_keys[] = {"fd",	       "listen", "connect", "mcast",
					  "localaddr", "udp",	 NULL};

static void socket_free_cfg(void *p)
{
	SocketConfig *c = p;
	g_free(c->text);
	g_free(c);
}

static int addr_or_error(KiteOpts *o, const char *str, struct sockaddr_storage *ss, socklen_t *len,
			 bool resolve, GError **err)
{
	GError *e = NULL;
	if (netsock_parse_inet(str, ss, len, resolve, &e) < 0) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		return -1;
	}
	return 0;
}

/* "fd=N": a number (the monitor's named fds are not supported). */
int net_parse_fd(KiteOpts *o, const char *key, int *fd, GError **err)
{
	const char *v = kite_opts_get(o, key);
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < 0 || n > INT32_MAX) {
		kite_opts_error(o, err, _("Invalid file descriptor number '%s'"), v);
		return -1;
	}
	*fd = (int)n;
	return 0;
}

static void *socket_parse(KiteOpts *o, GError **err)
{
	static const char *const modes[] = {"listen", "connect", "mcast", "udp", "fd"};
	int count = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
		count += kite_opts_has(o, modes[i]);
	if (count != 1) {
		kite_opts_error(o, err,
				_("exactly one of listen=, connect=, mcast= or udp= is required"));
		return NULL;
	}
	bool mcast = kite_opts_has(o, "mcast"), udp = kite_opts_has(o, "udp");
	if (kite_opts_has(o, "localaddr") && !mcast && !udp) {
		kite_opts_error(o, err, _("localaddr= is only valid with mcast= or udp="));
		return NULL;
	}
	if (udp && !kite_opts_has(o, "localaddr")) {
		kite_opts_error(o, err, _("localaddr= is mandatory with udp="));
		return NULL;
	}
	SocketConfig *c = g_new0(SocketConfig, 1);
	c->fd = -1;
	if (kite_opts_has(o, "fd")) {
		c->mode = SOCK_FD;
		if (net_parse_fd(o, "fd", &c->fd, err) < 0)
			goto fail;
		return c;
	}
	const char *key = kite_opts_has(o, "listen")	? "listen"
			  : kite_opts_has(o, "connect") ? "connect"
			  : mcast			? "mcast"
							: "udp";
	c->mode = !strcmp(key, "listen")    ? SOCK_LISTEN
		  : !strcmp(key, "connect") ? SOCK_CONNECT
		  : mcast		    ? SOCK_MCAST
					    : SOCK_UDP;
	c->text = g_strdup(kite_opts_get(o, key));
	if (addr_or_error(o, c->text, &c->addr, &c->addrlen, false, err) < 0)
		goto fail;
	if (c->mode == SOCK_MCAST) {
		struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
		if (!IN_MULTICAST(ntohl(in->sin_addr.s_addr))) {
			kite_opts_error(o, err,
					_("specified mcastaddr %s (0x%08x) does not contain a "
					  "multicast address"),
					buf, ntohl(in->sin_addr.s_addr));
			goto fail;
		}
		const char *la = kite_opts_get(o, "localaddr");
		if (la) {
			struct sockaddr_in *l = (struct sockaddr_in *)&c->local;
			l->sin_family = AF_INET;
			if (inet_pton(AF_INET, la, &l->sin_addr) != 1) {
				kite_opts_error(
				    o, err, _("localaddr '%s' is not a valid IPv4 address"), la);
				goto fail;
			}
			c->has_local = true;
		}
	} else if (c->mode == SOCK_UDP) {
		if (addr_or_error(o, kite_opts_get(o, "localaddr"), &c->local, &c->locallen, false,
				  err) < 0)
			goto fail;
		c->has_local = true;
	}
	return c;
fail:
	socket_free_cfg(c);
	return NULL;
}

static int mcast_socket(KiteOpts *o, SocketConfig *c, GError **err)
{
	struct sockaddr_in *grp = (struct sockaddr_in *)&c->addr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	struct sockaddr_in bind_addr = {
	    .sin_family = AF_INET,
	    .sin_port = grp->sin_port,
	    .sin_addr = grp->sin_addr,
	};
	struct ip_mreq mreq = {.imr_multiaddr = grp->sin_addr};
	if (c->has_local)
		mreq.imr_interface = ((struct sockaddr_in *)&c->local)->sin_addr;
	/* Several instances on one host share the group port; loopback lets
	 * them hear each other. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0 ||
	    (c->has_local && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq.imr_interface,
					sizeof(mreq.imr_interface)) < 0)) {
		kite_opts_error(o, err, _("can't join multicast group %s: %s"), c->text,
				g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static NetClient *socket_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	SocketConfig *c = cfg;
	/* Names are looked up now, not while the command line was read. */
	if (c->text && addr_or_error(o, c->text, &c->addr, &c->addrlen, true, err) < 0)
		return NULL;
	if (c->mode == SOCK_UDP &&
	    addr_or_error(o, kite_opts_get(o, "localaddr"), &c->local, &c->locallen, true, err) < 0)
		return NULL;
	NetSock *s = netsock_new(NET_CLIENT_SOCKET, "socket", name);
	NetClient *nc = netsock_client(s);
	GError *e = NULL;
	int r = 0;
	netsock_set_labels(s, "socket: ");
	switch (c->mode) {
	case SOCK_LISTEN:
		r = netsock_listen(s, (struct sockaddr *)&c->addr, c->addrlen, &e);
		break;
	case SOCK_CONNECT:
		r = netsock_connect(s, (struct sockaddr *)&c->addr, c->addrlen, &e);
		if (r == 0) {
			g_autofree char *t = g_strdup_printf("connect to %s", c->text);
			netsock_set_info(s, t);
		}
		break;
	case SOCK_MCAST: {
		int fd = mcast_socket(o, c, err);
		if (fd < 0) {
			netsock_abort(s);
			return NULL;
		}
		netsock_dgram(s, fd, (struct sockaddr *)&c->addr, c->addrlen, &e);
		g_autofree char *t = g_strdup_printf("mcast=%s", c->text);
		netsock_set_info(s, t);
		break;
	}
	case SOCK_UDP: {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int one = 1;
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&c->local, c->locallen) < 0) {
			kite_opts_error(o, err, _("can't bind udp socket to %s: %s"),
					kite_opts_get(o, "localaddr"), g_strerror(errno));
			if (fd >= 0)
				close(fd);
			netsock_abort(s);
			return NULL;
		}
		netsock_dgram(s, fd, (struct sockaddr *)&c->addr, c->addrlen, &e);
		g_autofree char *t = g_strdup_printf("udp=%s", c->text);
		netsock_set_info(s, t);
		break;
	}
	case SOCK_FD: {
		r = netsock_adopt_fd(s, c->fd, &e);
		if (r == 0) {
			g_autofree char *t = g_strdup_printf("fd=%d", c->fd);
			netsock_set_info(s, t);
		}
		break;
	}
	}
	if (r < 0) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		netsock_abort(s);
		return NULL;
	}
	return nc;
}

const NetBackend net_backend_socket = {
    .type = "socket",
    .keys = socket_keys,
    .netdev_ok = true,
    .legacy_ok = true,
    .parse = socket_parse,
    .create = socket_create,
    .free_cfg = socket_free_cfg,
};
