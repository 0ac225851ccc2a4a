/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TAP devices for guests (S14-S17) and attaching them to bridges. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

#define TAP_MAX_QUEUES 256 /* the kernel's MAX_TAP_QUEUES */

static bool tap_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool tap_error(GError **error, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_TAP, msg);
	return false;
}

/* Either a plain interface name or one with a single "%d" for the kernel to fill. */
static bool template_valid(const char *t)
{
	const char *pct;
	size_t len = t ? strlen(t) : 0;
	g_autofree char *plain = NULL;

	if (len == 0 || len >= IFNAMSIZ)
		return false;
	pct = strchr(t, '%');
	if (!pct)
		return kite_net_ifname_valid(t);
	if (pct[1] != 'd' || strchr(pct + 1, '%'))
		return false;
	plain = g_strdup(t);
	plain[pct - t] = 'N';
	plain[pct - t + 1] = 'N';
	return kite_net_ifname_valid(plain);
}

bool kite_tap_create(const char *name_template, bool vnet_hdr, int queues, bool persistent,
		     uid_t owner, char **ifname_out, int *fds_out, GError **error)
{
	struct ifreq ifr;
	unsigned int features = 0;
	bool existed = false;
	int opened = 0;

	if (!template_valid(name_template))
		return tap_error(error, _("invalid tap name '%s'"),
				 name_template ? name_template : "");
	if (queues < 1 || queues > TAP_MAX_QUEUES)
		return tap_error(error, _("invalid number of tap queues %d (1-%d)"), queues,
				 TAP_MAX_QUEUES);
	/* a pre-created (persistent) tap is opened, and must then not be deleted on failure */
	existed = !strchr(name_template, '%') && if_nametoindex(name_template) != 0;

	for (opened = 0; opened < queues; opened++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			tap_error(error, _("cannot open /dev/net/tun: %s"), g_strerror(errno));
			goto fail;
		}
		if (opened == 0) {
			if (ioctl(fd, TUNGETFEATURES, &features) < 0)
				features = IFF_TAP | IFF_NO_PI; /* very old kernels */
			if (vnet_hdr && !(features & IFF_VNET_HDR)) {
				close(fd);
				tap_error(error, _("this kernel's tap has no vnet_hdr support"));
				goto fail;
			}
			if (queues > 1 && !(features & IFF_MULTI_QUEUE)) {
				close(fd);
				tap_error(error, _("this kernel's tap has no multiqueue support"));
				goto fail;
			}
		}
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
		if (vnet_hdr)
			ifr.ifr_flags |= IFF_VNET_HDR;
		if (queues > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		/* queue 0 may get a template; the others must name the device it got */
		g_strlcpy(ifr.ifr_name, opened == 0 ? name_template : *ifname_out, IFNAMSIZ);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			int saved = errno;

			close(fd);
			if (saved == EBUSY || saved == EINVAL)
				tap_error(
				    error,
				    _("cannot use tap '%s': %s (in use, or created with other "
				      "flags such as vnet_hdr/multiqueue)"),
				    ifr.ifr_name, g_strerror(saved));
			else
				tap_error(error, _("cannot create tap '%s': %s"), ifr.ifr_name,
					  g_strerror(saved));
			goto fail;
		}
		fds_out[opened] = fd;
		if (opened == 0)
			*ifname_out = g_strndup(ifr.ifr_name, IFNAMSIZ);
	}
	if (owner != (uid_t)-1 && ioctl(fds_out[0], TUNSETOWNER, (unsigned long)owner) < 0) {
		tap_error(error, _("cannot set owner %u of tap '%s': %s"), (unsigned)owner,
			  *ifname_out, g_strerror(errno));
		goto fail;
	}
	if (persistent && ioctl(fds_out[0], TUNSETPERSIST, 1UL) < 0) {
		tap_error(error, _("cannot make tap '%s' persistent: %s"), *ifname_out,
			  g_strerror(errno));
		goto fail;
	}
	return true;

fail:
	/* a device we created (even if made persistent) goes; one that existed stays */
	if (opened > 0 && !existed)
		ioctl(fds_out[0], TUNSETPERSIST, 0UL);
	for (int i = 0; i < opened; i++) {
		close(fds_out[i]);
		fds_out[i] = -1;
	}
	if (opened > 0)
		g_clear_pointer(ifname_out, g_free);
	return false;
}

bool kite_tap_attach_bridge(const char *ifname, const char *bridge, unsigned mtu, GError **error)
{
	struct nl_sock *sk = kite_nl_open(error);
	struct rtnl_link *tap = NULL, *br = NULL, *change = NULL;
	const char *type;
	bool ok = false;
	int err;

	if (!sk)
		return false;
	if (rtnl_link_get_kernel(sk, 0, bridge, &br) < 0) {
		tap_error(error, _("bridge '%s' does not exist"), bridge);
		goto out;
	}
	type = rtnl_link_get_type(br);
	if (!type || strcmp(type, "bridge") != 0) {
		tap_error(error, _("'%s' is not a bridge"), bridge);
		goto out;
	}
	if (rtnl_link_get_kernel(sk, 0, ifname, &tap) < 0) {
		tap_error(error, _("interface '%s' does not exist"), ifname);
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change) {
		tap_error(error, _("out of memory"));
		goto out;
	}
	/* same MTU as the bridge unless told: a smaller port MTU would lower the bridge's */
	rtnl_link_set_mtu(change, mtu ? mtu : rtnl_link_get_mtu(br));
	rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, tap, change, 0);
	if (err < 0) {
		tap_error(error, _("cannot attach '%s' to bridge '%s': %s"), ifname, bridge,
			  nl_geterror(err));
		goto out;
	}
	ok = true;
out:
	if (change)
		rtnl_link_put(change);
	if (tap)
		rtnl_link_put(tap);
	if (br)
		rtnl_link_put(br);
	kite_nl_close(sk);
	return ok;
}

bool kite_tap_destroy(const char *ifname, GError **error)
{
	struct nl_sock *sk;
	struct rtnl_link *link = NULL;
	const char *type;
	bool ok;

	if (!kite_net_ifname_valid(ifname))
		return tap_error(error, _("invalid tap name '%s'"), ifname ? ifname : "");
	sk = kite_nl_open(error);
	if (!sk)
		return false;
	/* a mistyped name must not take down e.g. the host's uplink */
	if (rtnl_link_get_kernel(sk, 0, ifname, &link) < 0) {
		kite_nl_close(sk);
		return true;
	}
	type = rtnl_link_get_type(link);
	if (!type || strcmp(type, "tun") != 0) {
		rtnl_link_put(link);
		kite_nl_close(sk);
		return tap_error(error, _("'%s' is not a tap device: not deleted"), ifname);
	}
	rtnl_link_put(link);
	ok = kite_link_delete(sk, ifname, error);
	kite_nl_close(sk);
	return ok;
}
