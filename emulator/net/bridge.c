/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev bridge,br=BR[,helper=PATH] and tap's helper=: an unprivileged
 * kite asks a (setuid) helper to create a tap, enslave it to a bridge the
 * administrator allowed, and pass the open fd back over a socketpair, the
 * protocol of QEMU's qemu-bridge-helper (so either helper works):
 *   HELPER --use-vnet --fd=N --br=BR
 * The helper sends one byte with the fd attached as SCM_RIGHTS and exits 0.
 */
#include "backends.h"
#include "tap.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <net/if.h>
#include <string.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KITE_BRIDGE_HELPER
#define KITE_BRIDGE_HELPER "/usr/libexec/kite-bridge-helper"
#endif

const char *net_bridge_default_helper(void)
{
	/* Lets tests and uninstalled builds point at their helper. */
	const char *env = getenv("KITE_BRIDGE_HELPER");
	return env && *env ? env : KITE_BRIDGE_HELPER;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.buf,
	    .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			return fd;
		}
	}
	return -1;
}

int net_bridge_run_helper(const char *helper, const char *bridge, GError **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("bridge helper: socketpair: %s"),
			    g_strerror(errno));
		return -1;
	}
	g_autofree char *fd_arg = g_strdup_printf("--fd=%d", sv[1]);
	g_autofree char *br_arg = g_strdup_printf("--br=%s", bridge);
	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(err, KITE_NET_ERROR, 0, _("bridge helper: fork: %s"),
			    g_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* The helper gets its end of the socketpair and stdio only. */
		int keep = sv[1];
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep)
				close(fd);
		int flags = fcntl(keep, F_GETFD);
		fcntl(keep, F_SETFD, flags & ~FD_CLOEXEC);
		if (strchr(helper, ' ')) {
			/* QEMU runs a helper given with arguments through the shell. */
			g_autofree char *cmd =
			    g_strdup_printf("%s --use-vnet %s %s", helper, fd_arg, br_arg);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		} else {
			execl(helper, helper, "--use-vnet", fd_arg, br_arg, (char *)NULL);
		}
		_exit(127);
	}
	close(sv[1]);
	int fd = recv_fd(sv[0]);
	close(sv[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (fd < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (fd >= 0)
			close(fd);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			g_set_error(err, KITE_NET_ERROR, 0,
				    _("bridge helper failed: could not run %s"), helper);
		else
			g_set_error(err, KITE_NET_ERROR, 0, _("bridge helper failed"));
		return -1;
	}
	return fd;
}

typedef struct BridgeConfig {
	char *br, *helper;
} BridgeConfig;

static const char *const bridge_keys[] = {"br", "helper", NULL};

static void bridge_free_cfg(void *p)
{
	BridgeConfig *c = p;
	g_free(c->br);
	g_free(c->helper);
	g_free(c);
}

static void *bridge_parse(KiteOpts *o, GError **err)
{
	const char *br = kite_opts_get(o, "br");
	if (br && (!*br || strlen(br) >= IFNAMSIZ)) {
		kite_opts_error(o, err,
				_("Parameter 'br' expects an interface name of at most %d "
				  "characters"),
				IFNAMSIZ - 1);
		return NULL;
	}
	BridgeConfig *c = g_new0(BridgeConfig, 1);
	c->br = g_strdup(br ? br : "br0");
	c->helper = g_strdup(kite_opts_get(o, "helper"));
	return c;
}

static NetClient *bridge_create(KiteOpts *o, void *cfg, const char *name, GError **err)
{
	BridgeConfig *c = cfg;
	const char *helper = c->helper ? c->helper : net_bridge_default_helper();
	GError *e = NULL;
	int fd = net_bridge_run_helper(helper, c->br, &e);
	if (fd < 0) {
		kite_opts_error(o, err, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	struct ifreq ifr = {0};
	ioctl(fd, TUNGETIFF, &ifr);
	NetClient *nc = net_tap_client_new(NET_CLIENT_BRIDGE, name, 0, fd, ifr.ifr_name, NULL);
	net_client_set_info(nc, "helper=%s,br=%s", helper, c->br);
	return nc;
}

const NetBackend net_backend_bridge = {
    .type = "bridge",
    .keys = bridge_keys,
    .netdev_ok = true,
    .legacy_ok = true,
    .parse = bridge_parse,
    .create = bridge_create,
    .free_cfg = bridge_free_cfg,
};
