/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP network commands with QEMU 7.2's syntax and messages: info network,
 * info usernet, set_link, hostfwd_add, hostfwd_remove, netdev_add,
 * netdev_del, announce_self.
 */
#include "net-cmdline.h"
#include "net-monitor.h"
#include "net.h"
#include "user.h"

#include <glib/gi18n.h>
#include <string.h>

static void usage(GString *out, const char *cmd, const char *what)
{
	g_string_append_printf(out, "%s: %s\n", cmd, what);
	g_string_append_printf(out, _("Try \"help %s\" for more information\n"), cmd);
}

static void error_out(GString *out, GError *err)
{
	g_string_append_printf(out, "Error: %s\n", err->message);
	g_error_free(err);
}

static void hmp_info_network(GString *out, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	net_info_network(out);
}

static void hmp_info_usernet(GString *out, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	net_user_info_usernet(out);
}

static void hmp_set_link(GString *out, int argc, char **argv, const char *line)
{
	(void)line;
	if (argc < 2) {
		usage(out, argv[0], _("string expected"));
		return;
	}
	if (argc < 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
		g_string_append(out, _("Expected 'on' or 'off'\n"));
		g_string_append_printf(out, _("Try \"help %s\" for more information\n"), argv[0]);
		return;
	}
	if (argc > 3) {
		usage(out, argv[0], _("extraneous characters at the end of line"));
		return;
	}
	GError *err = NULL;
	if (net_set_link(argv[1], !strcmp(argv[2], "on"), &err) < 0)
		error_out(out, err);
}

/* hostfwd_add RULE | NETDEV RULE | HUB_ID NAME RULE (S13's old form). */
static bool split_fwd_args(GString *out, int argc, char **argv, const char **hub, const char **name,
			   const char **rule)
{
	*hub = *name = NULL;
	switch (argc) {
	case 2:
		*rule = argv[1];
		return true;
	case 3:
		*name = argv[1];
		*rule = argv[2];
		return true;
	case 4:
		*hub = argv[1];
		*name = argv[2];
		*rule = argv[3];
		return true;
	case 1:
		usage(out, argv[0], _("string expected"));
		return false;
	default:
		usage(out, argv[0], _("extraneous characters at the end of line"));
		return false;
	}
}

static void hmp_hostfwd_add(GString *out, int argc, char **argv, const char *line)
{
	const char *hub, *name, *rule;
	(void)line;
	if (!split_fwd_args(out, argc, argv, &hub, &name, &rule))
		return;
	GError *err = NULL;
	if (net_user_hostfwd_add(hub, name, rule, &err) < 0) {
		g_string_append_printf(out, "%s\n", err->message);
		g_error_free(err);
	}
}

static void hmp_hostfwd_remove(GString *out, int argc, char **argv, const char *line)
{
	const char *hub, *name, *rule;
	(void)line;
	if (!split_fwd_args(out, argc, argv, &hub, &name, &rule))
		return;
	GError *err = NULL;
	if (net_user_hostfwd_remove(hub, name, rule, out, &err) < 0) {
		g_string_append_printf(out, "%s\n", err->message);
		g_error_free(err);
	}
}

static void hmp_netdev_add(GString *out, int argc, char **argv, const char *line)
{
	if (argc < 2) {
		usage(out, argv[0], _("string expected"));
		return;
	}
	GError *err = NULL;
	g_autofree char *arg = g_strstrip(g_strdup(line));
	if (net_netdev_add(arg, &err) < 0)
		error_out(out, err);
}

static void hmp_netdev_del(GString *out, int argc, char **argv, const char *line)
{
	(void)line;
	if (argc != 2) {
		usage(out, argv[0],
		      argc < 2 ? _("string expected")
			       : _("extraneous characters at the end of line"));
		return;
	}
	GError *err = NULL;
	if (net_netdev_del(argv[1], &err) < 0)
		error_out(out, err);
}

static void hmp_announce_self(GString *out, int argc, char **argv, const char *line)
{
	(void)out;
	(void)line;
	/* Optional first argument: comma-separated NIC names. */
	g_auto(GStrv) names = argc > 1 ? g_strsplit(argv[1], ",", -1) : NULL;
	for (GList *l = net_client_list(); l; l = l->next) {
		NetClient *nc = l->data;
		if (nc->type != NET_CLIENT_NIC)
			continue;
		if (names && !g_strv_contains((const char *const *)names, nc->name))
			continue;
		net_nic_announce(nc);
	}
}

const NetHmpCommand net_hmp_commands[] = {
    {"info network", "", N_("show the network state"), hmp_info_network},
    {"info usernet", "", N_("show user network stack connection states"), hmp_info_usernet},
    {"set_link", "name on|off", N_("change the link status of a network adapter"), hmp_set_link},
    {"hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
     N_("redirect TCP or UDP connections from host to guest (requires -net user)"),
     hmp_hostfwd_add},
    {"hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
     N_("remove host-to-guest TCP or UDP redirection"), hmp_hostfwd_remove},
    {"netdev_add", "[user|tap|socket|stream|dgram|bridge|hubport],id=str[,prop=value][,...]",
     N_("add host network device"), hmp_netdev_add},
    {"netdev_del", "id", N_("remove host network device"), hmp_netdev_del},
    {"announce_self", "[interfaces] [id]", N_("Trigger GARP/RARP announcements"),
     hmp_announce_self},
    {NULL, NULL, NULL, NULL},
};

bool net_hmp_dispatch(const char *cmdline, GString *out)
{
	g_autofree char *copy = g_strstrip(g_strdup(cmdline));
	g_auto(GStrv) words = g_strsplit_set(copy, " \t", -1);
	/* Repeated blanks give empty words: skip them. */
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	for (int i = 0; words[i]; i++)
		if (*words[i])
			g_ptr_array_add(args, words[i]);
	int argc = (int)args->len;
	g_ptr_array_add(args, NULL);
	char **argv = (char **)args->pdata;
	if (argc == 0)
		return false;
	bool info = !strcmp(argv[0], "info") && argc > 1;
	g_autofree char *key = info ? g_strdup_printf("info %s", argv[1]) : g_strdup(argv[0]);
	for (const NetHmpCommand *c = net_hmp_commands; c->name; c++) {
		if (strcmp(c->name, key))
			continue;
		const char *rest = copy + strlen(argv[0]);
		if (info)
			rest = strstr(copy, argv[1]) + strlen(argv[1]);
		c->fn(out, argc - info, argv + info, rest);
		return true;
	}
	return false;
}
