/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev stream (QEMU 7.2): the socket backend's TCP/unix stream link with
 * QAPI-style addresses: addr.type=inet|unix|fd, server=on|off. Also holds
 * the address parser shared with -netdev dgram.
 */
#include "backends.h"
#include "netsock.h"

#include <glib/gi18n.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

const char *const net_sockaddr_subkeys[] = {"type",	"host",	 "port",       "numeric", "to",
					    "ipv4",	"ipv6",	 "keep-alive", "mptcp",	  "path",
					    "abstract", "tight", "str",	       NULL};

void net_sockaddr_clear(NetSockAddr *a)
{
	g_free(a->text);
	memset(a, 0, sizeof(*a));
}

static const char *sub(KiteOpts *o, const char *prefix, const char *key)
{
	g_autofree char *k = g_strdup_printf("%s.%s", prefix, key);
	return kite_opts_get(o, k);
}

static bool any_sub(KiteOpts *o, const char *prefix)
{
	for (const char *const *k = net_sockaddr_subkeys; *k; k++)
		if (sub(o, prefix, *k))
			return true;
	return false;
}

int net_sockaddr_resolve(KiteOpts *o, NetSockAddr *a, GError **err)
{
	if (!a->present || a->type != NSA_INET)
		return 0;
	GError *e = NULL;
	socklen_t len;
	if (netsock_parse_inet(a->text, &a->ss, &len, true, &e) < 0) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		return -1;
	}
	a->len = len;
	return 0;
}

int net_parse_sockaddr(KiteOpts *o, const char *prefix, NetSockAddr *a, GError **err)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (!any_sub(o, prefix))
		return 0;
	a->present = true;
	const char *type = sub(o, prefix, "type");
	if (!type) {
		kite_opts_error(o, err, _("Parameter '%s.type' is missing"), prefix);
		return -1;
	}
	if (!strcmp(type, "inet")) {
		const char *host = sub(o, prefix, "host");
		const char *port = sub(o, prefix, "port");
		if (!host || !port) {
			kite_opts_error(o, err, _("Parameter '%s.%s' is missing"), prefix,
					host ? "port" : "host");
			return -1;
		}
		a->type = NSA_INET;
		a->text = g_strdup_printf("%s:%s", host, port);
		GError *e = NULL;
		socklen_t len;
		if (netsock_parse_inet(a->text, &a->ss, &len, false, &e) < 0) {
			kite_opts_error(o, err, "%s", e->message);
			g_error_free(e);
			net_sockaddr_clear(a);
			return -1;
		}
		a->len = len;
		return 0;
	}
	if (!strcmp(type, "unix")) {
		const char *path = sub(o, prefix, "path");
		if (!path) {
			kite_opts_error(o, err, _("Parameter '%s.path' is missing"), prefix);
			return -1;
		}
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
		size_t plen = strlen(path);
		bool abstract = false;
		const char *abs = sub(o, prefix, "abstract");
		if (abs && (!strcmp(abs, "on") || !strcmp(abs, "true")))
			abstract = true;
		if (plen + abstract >= sizeof(un->sun_path)) {
			kite_opts_error(o, err, _("UNIX socket path '%s' is too long"), path);
			return -1;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path + abstract, path, plen);
		/* Abstract names are counted exactly; paths include their NUL. */
		a->len = offsetof(struct sockaddr_un, sun_path) + plen + 1;
		a->type = NSA_UNIX;
		a->text = g_strdup(path);
		return 0;
	}
	if (!strcmp(type, "fd")) {
		const char *str = sub(o, prefix, "str");
		if (!str) {
			kite_opts_error(o, err, _("Parameter '%s.str' is missing"), prefix);
			return -1;
		}
		char *end;
		long n = strtol(str, &end, 10);
		if (!*str || *end || n < 0 || n > INT32_MAX) {
			kite_opts_error(o, err, _("Invalid file descriptor number '%s'"), str);
			return -1;
		}
		a->type = NSA_FD;
		a->fd = (int)n;
		a->text = g_strdup(str);
		return 0;
	}
	kite_opts_error(o, err, _("Parameter 'type' does not accept value '%s'"), type);
	return -1;
}

typedef struct StreamConfig {
	NetSockAddr addr;
	bool server;
} StreamConfig;

static const char *const stream_keys[] = {"server", NET_SOCKADDR_KEYS("addr"), NULL};

static void stream_free_cfg(void *p)
{
	StreamConfig *c = p;
	net_sockaddr_clear(&c->addr);
	g_free(c);
}

static void *stream_parse(KiteOpts *o, GError **err)
{
	StreamConfig *c = g_new0(StreamConfig, 1);
	if (kite_opts_get_bool(o, "server", false, &c->server, err) < 0 ||
	    net_parse_sockaddr(o, "addr", &c->addr, err) < 0)
		goto fail;
	if (!c->addr.present) {
		kite_opts_error(o, err, _("Parameter 'addr' is missing"));
		goto fail;
	}
	return c;
fail:
	stream_free_cfg(c);
	return NULL;
}

static NetClient *stream_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	StreamConfig *c = cfg;
	if (net_sockaddr_resolve(o, &c->addr, err) < 0)
		return NULL;
	NetSock *s = netsock_new(NET_CLIENT_STREAM, "stream", name);
	GError *e = NULL;
	int r;
	const struct sockaddr *sa = (const struct sockaddr *)&c->addr.ss;
	if (c->addr.type == NSA_FD) {
		r = netsock_adopt_fd(s, c->addr.fd, &e);
	} else if (c->server) {
		r = netsock_listen(s, sa, c->addr.len, &e);
	} else {
		r = netsock_connect(s, sa, c->addr.len, &e);
		if (r == 0) {
			g_autofree char *t = g_strdup_printf("connect to %s", c->addr.text);
			netsock_set_info(s, t);
		}
	}
	if (r < 0) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		netsock_abort(s);
		return NULL;
	}
	return netsock_client(s);
}

const NetBackend net_backend_stream = {
    .type = "stream",
    .keys = stream_keys,
    .netdev_ok = true,
    .parse = stream_parse,
    .create = stream_create,
    .free_cfg = stream_free_cfg,
};
