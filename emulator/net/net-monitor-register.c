/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hands the network monitor commands to kite's HMP and QMP monitors. */
#include "net-monitor.h"

#include <glib/gi18n.h>
#include <string.h>

#include "../chardev.h"
#include "../monitor.h"
#include "user.h"

static const NetUserChardevOps core_chardevs = {
    .find = chardev_find,
    .new_legacy = chardev_new_legacy,
    .attach = chardev_attach,
    .write = chardev_write,
    .input_ready = chardev_input_ready,
    .detach = chardev_detach,
    .delete = chardev_delete,
};

static void emit_event(const char *name, JsonObject *data)
{
	qmp_event_emit(name, data);
}

/* "info network" etc. are registered as info sub-commands, whose handlers
 * take no arguments; these trampolines call the shared implementations. */
static void info_network(GString *out)
{
	net_hmp_dispatch("info network", out);
}

static void info_usernet(GString *out)
{
	net_hmp_dispatch("info usernet", out);
}

void net_monitor_register(void)
{
	net_qmp_event_hook = emit_event;
	net_user_chardev_ops = &core_chardevs;
	hmp_register_info("network", _("show the network state"), info_network);
	hmp_register_info("usernet", _("show user network stack connection states"), info_usernet);
	for (const NetHmpCommand *c = net_hmp_commands; c->name; c++) {
		if (!strncmp(c->name, "info ", 5))
			continue;
		hmp_register_command(c->name, c->params, _(c->help), c->fn);
	}
	for (const NetQmpCommand *c = net_qmp_commands; c->name; c++)
		qmp_register_command(c->name, c->fn);
}

/* kite links its core whole, so this runs in every kite binary; the
 * monitors keep registrations made before they start. */
static void __attribute__((constructor)) net_monitor_auto_register(void)
{
	net_monitor_register();
}
