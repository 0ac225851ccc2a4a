/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev dgram (QEMU 7.2): one raw frame per datagram. local= is the bound
 * socket (inet, unix or an fd), remote= where frames go; a multicast remote
 * joins the group and needs no local.
 */
#include "backends.h"
#include "netsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

typedef struct DgramConfig {
	NetSockAddr local, remote;
	bool mcast;
} DgramConfig;

static const char *const dgram_keys[] = {NET_SOCKADDR_KEYS("local"), NET_SOCKADDR_KEYS("remote"),
					 NULL};

static void dgram_free_cfg(void *p)
{
	DgramConfig *c = p;
	net_sockaddr_clear(&c->local);
	net_sockaddr_clear(&c->remote);
	g_free(c);
}

static bool is_mcast(const NetSockAddr *a)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
	return a->present && a->type == NSA_INET && IN_MULTICAST(ntohl(in->sin_addr.s_addr));
}

static void *dgram_parse(KiteOpts *o, GError **err)
{
	DgramConfig *c = g_new0(DgramConfig, 1);
	if (net_parse_sockaddr(o, "local", &c->local, err) < 0 ||
	    net_parse_sockaddr(o, "remote", &c->remote, err) < 0)
		goto fail;
	c->mcast = is_mcast(&c->remote);
	if (c->remote.present && c->remote.type == NSA_FD) {
		kite_opts_error(o, err, _("type=fd is not valid for remote="));
		goto fail;
	}
	if (!c->local.present && !c->mcast) {
		kite_opts_error(o, err, _("dgram requires local= parameter"));
		goto fail;
	}
	if (c->local.present && c->local.type != NSA_FD && !c->remote.present) {
		kite_opts_error(o, err, _("type=inet or type=unix requires remote parameter"));
		goto fail;
	}
	if (c->local.present && c->local.type == NSA_FD && c->remote.present) {
		kite_opts_error(o, err, _("type=fd requires remote parameter to be unset"));
		goto fail;
	}
	if (c->local.present && c->remote.present && !c->mcast &&
	    c->local.ss.ss_family != c->remote.ss.ss_family) {
		kite_opts_error(o, err, _("local and remote addresses must be of one family"));
		goto fail;
	}
	return c;
fail:
	dgram_free_cfg(c);
	return NULL;
}

static int open_socket(KiteOpts *o, DgramConfig *c, GError **err)
{
	int family = c->local.present ? c->local.ss.ss_family : AF_INET;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	const char *what = c->local.present ? c->local.text : c->remote.text;
	if (fd < 0)
		goto fail;
	if (family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (c->mcast) {
		struct sockaddr_in *grp = (struct sockaddr_in *)&c->remote.ss;
		struct sockaddr_in b = {
		    .sin_family = AF_INET, .sin_port = grp->sin_port, .sin_addr = grp->sin_addr};
		struct ip_mreq mreq = {.imr_multiaddr = grp->sin_addr};
		if (c->local.present)
			mreq.imr_interface = ((struct sockaddr_in *)&c->local.ss)->sin_addr;
		if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0)
			goto fail;
		if (c->local.present &&
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq.imr_interface,
			       sizeof(mreq.imr_interface)) < 0)
			goto fail;
		return fd;
	}
	if (bind(fd, (struct sockaddr *)&c->local.ss, c->local.len) < 0)
		goto fail;
	return fd;
fail:
	kite_opts_error(o, err, _("can't set up datagram socket %s: %s"), what, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static NetClient *dgram_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	DgramConfig *c = cfg;
	if (net_sockaddr_resolve(o, &c->local, err) < 0 ||
	    net_sockaddr_resolve(o, &c->remote, err) < 0)
		return NULL;
	NetSock *s = netsock_new(NET_CLIENT_DGRAM, "dgram", name);
	GError *e = NULL;
	if (c->local.present && c->local.type == NSA_FD) {
		if (netsock_adopt_fd(s, c->local.fd, &e) < 0) {
			kite_opts_error(o, err, "%s", e->message);
			g_error_free(e);
			netsock_abort(s);
			return NULL;
		}
		g_autofree char *t = g_strdup_printf("fd=%d", c->local.fd);
		netsock_set_info(s, t);
		return netsock_client(s);
	}
	int fd = open_socket(o, c, err);
	if (fd < 0) {
		netsock_abort(s);
		return NULL;
	}
	netsock_dgram(s, fd, (struct sockaddr *)&c->remote.ss, c->remote.len, NULL);
	g_autofree char *t = c->mcast ? g_strdup_printf("mcast=%s", c->remote.text)
				      : g_strdup_printf("udp=%s/%s", c->local.text, c->remote.text);
	netsock_set_info(s, t);
	return netsock_client(s);
}

const NetBackend net_backend_dgram = {
    .type = "dgram",
    .keys = dgram_keys,
    .netdev_ok = true,
    .parse = dgram_parse,
    .create = dgram_create,
    .free_cfg = dgram_free_cfg,
};
