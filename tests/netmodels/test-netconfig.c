/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the pure parts: address arithmetic, validation, names. */
#include <string.h>

#include "netmodel-internal.h"

static KiteNetPrefix prefix(const char *addr, unsigned len)
{
	KiteNetPrefix p;

	g_assert_true(kite_net_parse_ip(addr, AF_UNSPEC, &p));
	p.prefix = len;
	return p;
}

static void test_prefix_math(void)
{
	static const struct {
		const char *a;
		unsigned alen;
		const char *b;
		unsigned blen;
		bool overlap;
		bool a_contains_b;
	} cases[] = {
	    {"192.168.100.0", 24, "192.168.100.77", 32, true, true},
	    {"192.168.100.0", 24, "192.168.101.1", 32, false, false},
	    {"192.168.100.0", 24, "192.168.100.128", 25, true, true},
	    {"192.168.100.128", 25, "192.168.100.0", 24, true, false},
	    {"192.168.100.0", 25, "192.168.100.128", 25, false, false},
	    {"10.0.0.0", 8, "10.255.255.255", 32, true, true},
	    {"10.0.0.0", 7, "11.1.1.1", 32, true, true},
	    {"fd00:100::", 64, "fd00:100::1", 128, true, true},
	    {"fd00:100::", 64, "fd00:101::1", 128, false, false},
	    {"fd00::", 15, "fd01:ffff::", 32, true, true},
	    {"192.168.1.0", 24, "fd00::", 8, false, false},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		KiteNetPrefix a = prefix(cases[i].a, cases[i].alen);
		KiteNetPrefix b = prefix(cases[i].b, cases[i].blen);

		g_assert_cmpint(kite_net_prefix_overlap(&a, &b), ==, cases[i].overlap);
		g_assert_cmpint(kite_net_prefix_overlap(&b, &a), ==, cases[i].overlap);
		g_assert_cmpint(kite_net_prefix_contains(&a, &b), ==, cases[i].a_contains_b);
	}
}

static void test_prefix_mask(void)
{
	static const struct {
		const char *addr;
		unsigned len;
		const char *want;
	} cases[] = {
	    {"192.168.100.1", 24, "192.168.100.0/24"},
	    {"192.168.100.200", 25, "192.168.100.128/25"},
	    {"10.1.2.3", 1, "0.0.0.0/1"},
	    {"fd00:100::1", 64, "fd00:100::/64"},
	    {"fd00:100:ffff::1", 36, "fd00:100:f000::/36"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		KiteNetPrefix p = prefix(cases[i].addr, cases[i].len);
		g_autofree char *s = NULL;

		kite_net_prefix_mask(&p);
		s = kite_net_prefix_to_string(&p);
		g_assert_cmpstr(s, ==, cases[i].want);
	}
}

static void test_names(void)
{
	static const char *const good_nets[] = {"default", "a", "net-1", "x.y", "a+b", "_n"};
	static const char *const bad_nets[] = {"",    ".hidden", "-x",	 "a/b",
					       "a b", "..",	 "a\nb", "é"};
	static const char *const good_ifs[] = {"virbr0", "br-lan", "k.1", "abcdefghijklmno"};
	static const char *const bad_ifs[] = {
	    "", "abcdefghijklmnop", "a/b", "a:b", "a b", "vnet%d", ".", "..", "a\"b"};
	g_autofree char *t1 = kite_fw_table_name("default");
	g_autofree char *t2 = kite_fw_table_name("a+b");
	g_autofree char *t3 = kite_fw_table_name("a_b");

	for (size_t i = 0; i < G_N_ELEMENTS(good_nets); i++)
		g_assert_true(kite_net_name_valid(good_nets[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(bad_nets); i++)
		g_assert_false(kite_net_name_valid(bad_nets[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(good_ifs); i++)
		g_assert_true(kite_net_ifname_valid(good_ifs[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(bad_ifs); i++)
		g_assert_false(kite_net_ifname_valid(bad_ifs[i]));

	g_assert_cmpstr(t1, ==, "kite_default");
	/* '+' is not an nft identifier character: mapped, and made distinct from "a_b" */
	g_assert_true(g_str_has_prefix(t2, "kite_a_b_"));
	g_assert_cmpstr(t2, !=, t3);
	g_assert_null(strchr(t2, '+'));
}

static KiteNetConfig *base_config(void)
{
	KiteNetConfig *c = g_new0(KiteNetConfig, 1);

	c->name = g_strdup("t");
	c->forward_mode = KITE_NET_FORWARD_NAT;
	c->bridge = g_strdup("kbr0");
	c->ipv4_address = g_strdup("192.168.100.1");
	c->ipv4_prefix = 24;
	c->n_dhcp_ranges = 1;
	c->dhcp_ranges = g_new0(KiteNetDhcpRange, 1);
	c->dhcp_ranges[0].start = g_strdup("192.168.100.2");
	c->dhcp_ranges[0].end = g_strdup("192.168.100.254");
	return c;
}

static void set(char **field, const char *value)
{
	g_free(*field);
	*field = g_strdup(value);
}

/* Each case breaks one thing in a valid config; the error must name it. */
static void test_validation(void)
{
	g_autoptr(KiteNetConfig) ok = base_config();
	GError *error = NULL;

	g_assert_true(kite_net_config_validate(ok, &error));
	g_assert_no_error(error);

	for (int i = 0;; i++) {
		g_autoptr(KiteNetConfig) c = base_config();
		const char *culprit;

		switch (i) {
		case 0:
			set(&c->dhcp_ranges[0].end, "192.168.100.255");
			culprit = "192.168.100.255";
			break;
		case 1:
			set(&c->dhcp_ranges[0].start, "192.168.100.0");
			culprit = "outside the subnet";
			break;
		case 2:
			set(&c->dhcp_ranges[0].start, "bogus");
			culprit = "bogus";
			break;
		case 3:
			set(&c->ipv4_address, "192.168.100.255");
			culprit = "broadcast";
			break;
		case 4:
			c->ipv4_prefix = 31;
			culprit = "prefix 31";
			break;
		case 5:
			set(&c->mac, "01:00:5e:00:00:01");
			culprit = "01:00:5e:00:00:01";
			break;
		case 6:
			c->mtu = 20;
			culprit = "MTU 20";
			break;
		case 7:
			c->forward_mode = KITE_NET_FORWARD_BRIDGE;
			culprit = "forward mode bridge";
			break;
		case 8:
			set(&c->nat_start, "198.51.100.9");
			set(&c->nat_end, "198.51.100.1");
			culprit = "NAT address range";
			break;
		case 9:
			c->nat_port_start = 3000;
			c->nat_port_end = 2000;
			culprit = "3000-2000";
			break;
		case 10:
			c->forward_mode = KITE_NET_FORWARD_ROUTE;
			c->nat_port_start = 1;
			c->nat_port_end = 2;
			culprit = "needs forward mode nat";
			break;
		case 11:
			c->n_routes = 1;
			c->routes = g_new0(KiteNetRoute, 1);
			c->routes[0].address = g_strdup("10.0.0.0");
			c->routes[0].prefix = 8;
			c->routes[0].gateway = g_strdup("172.16.0.1");
			culprit = "172.16.0.1";
			break;
		case 12:
			set(&c->domain, "bad domain");
			culprit = "bad domain";
			break;
		case 13:
			set(&c->uuid, "not-a-uuid");
			culprit = "not-a-uuid";
			break;
		case 14:
			set(&c->ipv6_address, "fd00::1");
			c->ipv6_prefix = 127;
			culprit = "127";
			break;
		case 15:
			g_clear_pointer(&c->ipv4_address, g_free);
			culprit = "DHCP needs an IPv4 address";
			break;
		case 16:
			c->delay = 31;
			culprit = "delay 31";
			break;
		case 17:
			set(&c->forward_dev, "eth0");
			c->forward_mode = KITE_NET_FORWARD_ISOLATED;
			culprit = "forward device";
			break;
		default:
			return;
		}
		g_assert_false(kite_net_config_validate(c, &error));
		g_assert_error(error, KITE_NETMODEL_ERROR, KITE_NETMODEL_ERROR_INVALID);
		if (!strstr(error->message, culprit))
			g_error("case %d: '%s' does not mention '%s'", i, error->message, culprit);
		g_clear_error(&error);
	}
}

static void test_forward_modes(void)
{
	static const char *const names[] = {"nat", "route", "open", "bridge", "isolated"};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		KiteNetForwardMode m;

		g_assert_true(kite_net_forward_mode_from_string(names[i], &m));
		g_assert_cmpstr(kite_net_forward_mode_to_string(m), ==, names[i]);
	}
	g_assert_false(kite_net_forward_mode_from_string("passthrough", &(KiteNetForwardMode){0}));
	g_assert_false(kite_net_forward_mode_from_string(NULL, &(KiteNetForwardMode){0}));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/netmodels/prefix-math", test_prefix_math);
	g_test_add_func("/netmodels/prefix-mask", test_prefix_mask);
	g_test_add_func("/netmodels/names", test_names);
	g_test_add_func("/netmodels/validation", test_validation);
	g_test_add_func("/netmodels/forward-modes", test_forward_modes);
	return g_test_run();
}
