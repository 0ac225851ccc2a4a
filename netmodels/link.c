/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Links, addresses and routes through libnl-3 route; bridge STP via sysfs. */
#include <net/if.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/route.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

struct nl_sock *kite_nl_open(GError **error)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot allocate a netlink socket"));
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot open a route netlink socket: %s"), nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

void kite_nl_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static struct rtnl_link *link_get(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = NULL;

	if (rtnl_link_get_kernel(sk, 0, ifname, &link) < 0)
		return NULL;
	return link;
}

static bool nl_fail(GError **error, KiteNetmodelError code, int err, const char *what,
		    const char *ifname)
{
	g_set_error(error, KITE_NETMODEL_ERROR, code, _("%s on '%s' failed: %s"), what, ifname,
		    nl_geterror(err));
	return false;
}

bool kite_link_exists(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = link_get(sk, ifname);

	if (!link)
		return false;
	rtnl_link_put(link);
	return true;
}

static bool link_is_bridge(struct rtnl_link *link)
{
	const char *type = rtnl_link_get_type(link);

	return type && strcmp(type, "bridge") == 0;
}

bool kite_link_is_bridge(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = link_get(sk, ifname);
	bool ret;

	if (!link)
		return false;
	ret = link_is_bridge(link);
	rtnl_link_put(link);
	return ret;
}

KiteLinkOwnership kite_bridge_ownership(struct nl_sock *sk, const char *ifname,
					const char *net_name)
{
	struct rtnl_link *link = link_get(sk, ifname);
	g_autofree char *mark = kite_net_mark(net_name);
	KiteLinkOwnership ret = KITE_LINK_FOREIGN;
	const char *alias;

	if (!link)
		return KITE_LINK_ABSENT;
	alias = rtnl_link_get_ifalias(link);
	if (link_is_bridge(link) && alias && strcmp(alias, mark) == 0)
		ret = KITE_LINK_OURS;
	rtnl_link_put(link);
	return ret;
}

bool kite_bridge_is_kite(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = link_get(sk, ifname);
	const char *alias;
	bool ret;

	if (!link)
		return false;
	alias = rtnl_link_get_ifalias(link);
	ret = link_is_bridge(link) && alias && g_str_has_prefix(alias, KITE_NET_MARK_PREFIX);
	rtnl_link_put(link);
	return ret;
}

/*
 * libnl-3 (3.7) has no setter for the bridge's own STP state or forward
 * delay (rtnl_link_bridge_* only covers port attributes). Instead of sysfs
 * (/sys/class/net/BR/bridge/stp_state and forward_delay), which shows the
 * namespace of whoever mounted it and so may name another namespace's
 * bridge, the IFLA_BR_* attributes are sent with libnl's message API.
 * The kernel applies the delay (in USER_HZ, 1/100 s) before the STP state;
 * with STP on it raises a delay below 2 s to 2 s.
 */
static int bridge_set_stp(struct nl_sock *sk, int ifindex, bool stp, unsigned delay)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	struct nlattr *info, *data;
	int err = -NLE_NOMEM;

	if (!msg)
		return err;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		goto out;
	info = nla_nest_start(msg, IFLA_LINKINFO);
	if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0)
		goto out;
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	if (!data || nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, delay * 100) < 0 ||
	    nla_put_u32(msg, IFLA_BR_STP_STATE, stp ? 1 : 0) < 0)
		goto out;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
out:
	nlmsg_free(msg);
	return err;
}

bool kite_bridge_create(struct nl_sock *sk, const KiteNetConfig *config, const char *bridge,
			GError **error)
{
	struct rtnl_link *link = rtnl_link_bridge_alloc();
	struct rtnl_link *orig = NULL, *change = NULL;
	g_autofree char *mark = kite_net_mark(config->name);
	int err;

	if (!link) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("out of memory"));
		return false;
	}
	rtnl_link_set_name(link, bridge);
	if (config->mtu)
		rtnl_link_set_mtu(link, config->mtu);
	if (config->mac) {
		struct nl_addr *addr = NULL;

		if (nl_addr_parse(config->mac, AF_LLC, &addr) == 0) {
			rtnl_link_set_addr(link, addr);
			nl_addr_put(addr);
		}
	}
	/* EXCL: a bridge of the same name appearing meanwhile is not ours to take */
	err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (err == -NLE_EXIST) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_BRIDGE_IN_USE,
			    _("bridge name '%s' is already in use by another interface"), bridge);
		return false;
	}
	if (err < 0)
		return nl_fail(error, KITE_NETMODEL_ERROR_SYSTEM, err, _("creating bridge"),
			       bridge);

	/* the mark is what lets stop/adopt recognise the bridge as ours later */
	orig = link_get(sk, bridge);
	change = rtnl_link_alloc();
	if (!orig || !change) {
		err = -NLE_NOMEM;
		goto fail_nl;
	}
	rtnl_link_set_ifalias(change, mark);
	err = rtnl_link_change(sk, orig, change, 0);
	if (err < 0)
		goto fail_nl;

	err = bridge_set_stp(sk, rtnl_link_get_ifindex(orig), config->stp, config->delay);
	if (err < 0)
		goto fail_nl;
	rtnl_link_put(orig);
	rtnl_link_put(change);
	return true;

fail_nl:
	nl_fail(error, KITE_NETMODEL_ERROR_SYSTEM, err, _("configuring bridge"), bridge);
	if (orig)
		rtnl_link_put(orig);
	if (change)
		rtnl_link_put(change);
	/* just created by us: deleting it cannot hit anyone else's device */
	kite_link_delete(sk, bridge, NULL);
	return false;
}

bool kite_link_delete(struct nl_sock *sk, const char *ifname, GError **error)
{
	struct rtnl_link *link = link_get(sk, ifname);
	int err;

	if (!link)
		return true;
	err = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND)
		return nl_fail(error, KITE_NETMODEL_ERROR_SYSTEM, err, _("deleting link"), ifname);
	return true;
}

bool kite_link_set_up(struct nl_sock *sk, const char *ifname, GError **error)
{
	struct rtnl_link *orig = link_get(sk, ifname);
	struct rtnl_link *change;
	int err;

	if (!orig)
		return nl_fail(error, KITE_NETMODEL_ERROR_SYSTEM, -NLE_NODEV, _("bringing up"),
			       ifname);
	change = rtnl_link_alloc();
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, orig, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	if (err < 0)
		return nl_fail(error, KITE_NETMODEL_ERROR_SYSTEM, err, _("bringing up"), ifname);
	return true;
}

static struct nl_addr *prefix_to_nl(const KiteNetPrefix *p)
{
	struct nl_addr *a;

	if (p->family == AF_INET)
		a = nl_addr_build(AF_INET, &p->v4, sizeof(p->v4));
	else
		a = nl_addr_build(AF_INET6, &p->v6, sizeof(p->v6));
	if (a)
		nl_addr_set_prefixlen(a, p->prefix);
	return a;
}

bool kite_link_add_address(struct nl_sock *sk, const char *ifname, const KiteNetPrefix *addr,
			   GError **error)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = prefix_to_nl(addr);
	int ifindex = (int)if_nametoindex(ifname);
	g_autofree char *str = kite_net_prefix_to_string(addr);
	int err;

	if (!ra || !local) {
		err = -NLE_NOMEM;
		goto out;
	}
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, addr->family);
	rtnl_addr_set_local(ra, local);
	rtnl_addr_set_prefixlen(ra, (int)addr->prefix);
	if (addr->family == AF_INET) {
		KiteNetPrefix bcast = *addr;
		uint32_t host_mask = addr->prefix >= 32 ? 0 : 0xffffffffu >> addr->prefix;
		struct nl_addr *b;

		bcast.v4.s_addr |= htonl(host_mask);
		bcast.prefix = 32;
		b = prefix_to_nl(&bcast);
		if (b) {
			rtnl_addr_set_broadcast(ra, b);
			nl_addr_put(b);
		}
	}
	err = rtnl_addr_add(sk, ra, 0);
out:
	if (local)
		nl_addr_put(local);
	if (ra)
		rtnl_addr_put(ra);
	if (err < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("adding address %s to '%s' failed: %s"), str, ifname,
			    nl_geterror(err));
		return false;
	}
	return true;
}

bool kite_link_add_route(struct nl_sock *sk, const char *ifname, const KiteNetPrefix *dst,
			 const KiteNetPrefix *gateway, GError **error)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *d = prefix_to_nl(dst);
	struct nl_addr *g = prefix_to_nl(gateway);
	g_autofree char *str = kite_net_prefix_to_string(dst);
	int err;

	if (!route || !nh || !d || !g) {
		err = -NLE_NOMEM;
		if (nh)
			rtnl_route_nh_free(nh);
		goto out;
	}
	rtnl_route_set_family(route, (uint8_t)dst->family);
	rtnl_route_set_dst(route, d);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, (int)if_nametoindex(ifname));
	rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_add_nexthop(route, nh); /* route owns nh now */
	err = rtnl_route_add(sk, route, NLM_F_EXCL);
out:
	if (d)
		nl_addr_put(d);
	if (g)
		nl_addr_put(g);
	if (route)
		rtnl_route_put(route);
	if (err < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("adding route %s via '%s' failed: %s"), str, ifname,
			    nl_geterror(err));
		return false;
	}
	return true;
}

static bool nl_to_prefix(struct nl_addr *a, KiteNetPrefix *p)
{
	int family = nl_addr_get_family(a);
	unsigned len = nl_addr_get_len(a);

	memset(p, 0, sizeof(*p));
	if (family == AF_INET && len == 4)
		memcpy(&p->v4, nl_addr_get_binary_addr(a), 4);
	else if (family == AF_INET6 && len == 16)
		memcpy(&p->v6, nl_addr_get_binary_addr(a), 16);
	else
		return false;
	p->family = family;
	p->prefix = nl_addr_get_prefixlen(a);
	return true;
}

static bool overlap_error(GError **error, const KiteNetPrefix *subnet, const KiteNetPrefix *other,
			  int ifindex)
{
	g_autofree char *s = kite_net_prefix_to_string(subnet);
	g_autofree char *o = kite_net_prefix_to_string(other);
	char name[IF_NAMESIZE] = "?";

	if (ifindex > 0 && !if_indextoname((unsigned)ifindex, name))
		g_strlcpy(name, "?", sizeof(name));
	g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_OVERLAP,
		    _("subnet %s overlaps %s already in use on host interface '%s'"), s, o, name);
	return false;
}

bool kite_check_subnet_free(struct nl_sock *sk, const KiteNetPrefix *subnet,
			    const char *ignore_ifname, GError **error)
{
	struct nl_cache *routes = NULL, *addrs = NULL;
	int ignore = ignore_ifname ? (int)if_nametoindex(ignore_ifname) : 0;
	bool ok = true;
	int err;

	err = rtnl_route_alloc_cache(sk, subnet->family, 0, &routes);
	if (err < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot read the host's routes: %s"), nl_geterror(err));
		return false;
	}
	for (struct nl_object *o = nl_cache_get_first(routes); o && ok; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		int ifindex = 0;
		KiteNetPrefix p;

		/* default routes overlap everything and mean nothing here */
		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst || !nl_to_prefix(dst, &p) ||
		    p.prefix == 0 || rtnl_route_get_type(r) != RTN_UNICAST)
			continue;
		if (rtnl_route_get_nnexthops(r) > 0)
			ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, 0));
		if (ignore && ifindex == ignore)
			continue;
		/* IPv6 link-local routes sit on every interface */
		if (p.family == AF_INET6 && p.v6.s6_addr[0] == 0xfe &&
		    (p.v6.s6_addr[1] & 0xc0) == 0x80)
			continue;
		if (kite_net_prefix_overlap(subnet, &p))
			ok = overlap_error(error, subnet, &p, ifindex);
	}
	nl_cache_free(routes);
	if (!ok)
		return false;

	/* addresses too: one added with noprefixroute has no route to find */
	err = rtnl_addr_alloc_cache(sk, &addrs);
	if (err < 0) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot read the host's addresses: %s"), nl_geterror(err));
		return false;
	}
	for (struct nl_object *o = nl_cache_get_first(addrs); o && ok; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		KiteNetPrefix p;

		if (!local || !nl_to_prefix(local, &p) || p.family != subnet->family)
			continue;
		if (ignore && rtnl_addr_get_ifindex(a) == ignore)
			continue;
		p.prefix = (unsigned)rtnl_addr_get_prefixlen(a);
		if (p.family == AF_INET6 && p.v6.s6_addr[0] == 0xfe &&
		    (p.v6.s6_addr[1] & 0xc0) == 0x80)
			continue;
		if (p.family == AF_INET && (ntohl(p.v4.s_addr) >> 24) == 127)
			continue;
		if (p.family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&p.v6))
			continue;
		if (kite_net_prefix_overlap(subnet, &p))
			ok = overlap_error(error, subnet, &p, rtnl_addr_get_ifindex(a));
	}
	nl_cache_free(addrs);
	return ok;
}

char *kite_bridge_pick_free_name(struct nl_sock *sk, GError **error)
{
	for (unsigned n = 0; n < 1000; n++) {
		g_autofree char *name = g_strdup_printf(KITE_NET_AUTO_BRIDGE "%u", n);

		if (!kite_link_exists(sk, name))
			return g_steal_pointer(&name);
	}
	g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_BRIDGE_IN_USE,
		    _("no free bridge name kitebrN"));
	return NULL;
}
