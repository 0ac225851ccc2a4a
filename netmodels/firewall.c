/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One nftables table per network ("table inet kite_NAME"), created and
 * deleted as a whole in one transaction, carrying our mark as its comment.
 *
 * nftables evaluates every base chain hooked at forward/postrouting, so
 * our "accept" cannot override a drop in another table (e.g. a host
 * firewall with policy drop); such hosts must allow the bridge themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include <glib/gi18n.h>

#include "netmodel-internal.h"

char *kite_fw_table_name(const char *net_name)
{
	g_autofree char *clean = g_strdup(net_name);
	bool changed = false;

	/* nft identifiers take letters, digits, '_', '-', '.', '/' but not '+' */
	for (char *p = clean; *p; p++) {
		if (*p == '+') {
			*p = '_';
			changed = true;
		}
	}
	if (changed)
		return g_strdup_printf("kite_%s_%08x", clean, g_str_hash(net_name));
	return g_strdup_printf("kite_%s", clean);
}

/* Runs CMD in one nft transaction; OUTPUT (may be NULL) gets the listing. */
static bool nft_run(const char *cmd, char **output, GError **error)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	bool ok;

	if (!ctx) {
		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("cannot create an nftables context"));
		return false;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	ok = nft_run_cmd_from_buffer(ctx, cmd) == 0;
	if (ok && output)
		*output = g_strdup(nft_ctx_get_output_buffer(ctx));
	if (!ok) {
		g_autofree char *msg = g_strstrip(g_strdup(nft_ctx_get_error_buffer(ctx)));

		g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
			    _("nftables refused the command: %s"), msg);
	}
	nft_ctx_free(ctx);
	return ok;
}

KiteFwOwnership kite_fw_table_ownership(const char *table, const char *net_name, GError **error)
{
	g_autofree char *cmd = g_strdup_printf("list table inet %s", table);
	g_autofree char *out = NULL;
	g_autofree char *mark = kite_net_mark(net_name);
	g_autofree char *comment = g_strdup_printf("comment \"%s\"", mark);
	g_autoptr(GError) local = NULL;

	if (!nft_run(cmd, &out, &local)) {
		/* "No such file or directory" is the only "absent"; anything else is real */
		if (strstr(local->message, "No such file or directory"))
			return KITE_FW_ABSENT;
		g_propagate_error(error, g_steal_pointer(&local));
		return KITE_FW_FOREIGN;
	}
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

	for (char **l = lines; *l; l++) {
		if (strcmp(g_strstrip(*l), comment) == 0)
			return KITE_FW_OURS;
	}
	return KITE_FW_FOREIGN;
}

static void append_forward_rules(GString *s, const KiteNetConfig *c, const char *br)
{
	KiteNetPrefix v4 = {0}, v6 = {0};
	g_autofree char *s4 = NULL, *s6 = NULL;
	g_autofree char *out_dev = NULL, *in_dev = NULL;
	bool nat = c->forward_mode == KITE_NET_FORWARD_NAT;

	g_string_append(s, "\tchain forward {\n"
			   "\t\ttype filter hook forward priority filter; policy accept;\n");
	/* guests on the same bridge: bridged, but keep it open if br_netfilter routes it here */
	g_string_append_printf(s, "\t\tiifname \"%s\" oifname \"%s\" accept\n", br, br);
	if (c->forward_mode == KITE_NET_FORWARD_ISOLATED)
		goto reject;

	out_dev =
	    c->forward_dev ? g_strdup_printf(" oifname \"%s\"", c->forward_dev) : g_strdup("");
	in_dev = c->forward_dev ? g_strdup_printf(" iifname \"%s\"", c->forward_dev) : g_strdup("");
	if (c->ipv4_address && kite_net_parse_ip(c->ipv4_address, AF_INET, &v4)) {
		v4.prefix = c->ipv4_prefix;
		kite_net_prefix_mask(&v4);
		s4 = kite_net_prefix_to_string(&v4);
		g_string_append_printf(s, "\t\tiifname \"%s\"%s ip saddr %s accept\n", br, out_dev,
				       s4);
		/* NAT: only replies may come back in; routed: the subnet is reachable */
		g_string_append_printf(s, "\t\toifname \"%s\"%s ip daddr %s%s accept\n", br, in_dev,
				       s4, nat ? " ct state established,related" : "");
	}
	/* IPv6 is routed in nat mode too, as libvirt does: no NAT66 */
	if (c->ipv6_address && kite_net_parse_ip(c->ipv6_address, AF_INET6, &v6)) {
		v6.prefix = c->ipv6_prefix;
		kite_net_prefix_mask(&v6);
		s6 = kite_net_prefix_to_string(&v6);
		g_string_append_printf(s, "\t\tiifname \"%s\"%s ip6 saddr %s accept\n", br, out_dev,
				       s6);
		g_string_append_printf(s, "\t\toifname \"%s\"%s ip6 daddr %s accept\n", br, in_dev,
				       s6);
	}
reject:
	/* reject rather than drop, as libvirt does: guests learn at once, no timeouts */
	g_string_append_printf(s, "\t\tiifname \"%s\" reject\n", br);
	g_string_append_printf(s, "\t\toifname \"%s\" reject\n", br);
	g_string_append(s, "\t}\n");
}

static void append_nat_rules(GString *s, const KiteNetConfig *c)
{
	KiteNetPrefix v4;
	g_autofree char *net = NULL, *match = NULL, *ports = NULL;
	unsigned p1 = c->nat_port_start, p2 = c->nat_port_end;

	if (!kite_net_parse_ip(c->ipv4_address, AF_INET, &v4))
		return;
	v4.prefix = c->ipv4_prefix;
	kite_net_prefix_mask(&v4);
	net = kite_net_prefix_to_string(&v4);
	/* libvirt's default: keep guests' TCP/UDP source ports out of the privileged range */
	if (!p1) {
		p1 = 1024;
		p2 = 65535;
	}
	ports = g_strdup_printf(":%u-%u", p1, p2);
	match = g_strdup_printf("ip saddr %s ip daddr != %s%s%s%s", net, net,
				c->forward_dev ? " oifname \"" : "",
				c->forward_dev ? c->forward_dev : "", c->forward_dev ? "\"" : "");
	g_string_append(s, "\tchain postrouting {\n"
			   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	/* multicast and limited broadcast must keep the guest's own source */
	g_string_append_printf(s, "\t\tip saddr %s ip daddr 224.0.0.0/24 return\n", net);
	g_string_append_printf(s, "\t\tip saddr %s ip daddr 255.255.255.255 return\n", net);
	if (c->nat_start) {
		g_autofree char *range =
		    g_strdup_printf("%s-%s", c->nat_start, c->nat_end ? c->nat_end : c->nat_start);

		g_string_append_printf(s, "\t\t%s meta l4proto { tcp, udp } snat ip to %s%s\n",
				       match, range, ports);
		g_string_append_printf(s, "\t\t%s snat ip to %s\n", match, range);
	} else {
		g_string_append_printf(s, "\t\t%s meta l4proto { tcp, udp } masquerade to %s\n",
				       match, ports);
		g_string_append_printf(s, "\t\t%s masquerade\n", match);
	}
	g_string_append(s, "\t}\n");
}

bool kite_fw_create(const KiteNetConfig *c, const char *bridge, const char *table, GError **error)
{
	g_autoptr(GString) s = g_string_new(NULL);
	g_autofree char *mark = kite_net_mark(c->name);

	g_string_append_printf(s, "table inet %s {\n\tcomment \"%s\"\n", table, mark);
	append_forward_rules(s, c, bridge);
	if (c->forward_mode == KITE_NET_FORWARD_NAT && c->ipv4_address)
		append_nat_rules(s, c);
	g_string_append(s, "}\n");
	return nft_run(s->str, NULL, error);
}

bool kite_fw_delete(const char *table, GError **error)
{
	g_autofree char *cmd = g_strdup_printf("delete table inet %s", table);

	return nft_run(cmd, NULL, error);
}

static bool sysctl_write(const char *path, GError **error)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int saved;

	if (fd >= 0 && write(fd, "1\n", 2) == 2) {
		close(fd);
		return true;
	}
	saved = errno;
	if (fd >= 0)
		close(fd);
	g_set_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_SYSTEM,
		    _("cannot enable forwarding through %s: %s"), path, g_strerror(saved));
	return false;
}

/*
 * Forwarding is switched on and never back off: other networks, containers
 * or the admin may rely on it, and we cannot know who set it first.
 * Enabling IPv6 forwarding makes the kernel ignore router advertisements
 * on the host's interfaces (accept_ra=1), as with libvirt.
 */
bool kite_sysctl_enable_forwarding(bool ipv4, bool ipv6, GError **error)
{
	if (ipv4 && !sysctl_write("/proc/sys/net/ipv4/ip_forward", error))
		return false;
	if (ipv6 && !sysctl_write("/proc/sys/net/ipv6/conf/all/forwarding", error))
		return false;
	return true;
}
