/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network monitor commands. The handlers live in net-hmp.c / net-qmp.c and
 * need nothing from the monitors themselves, so tests drive them directly;
 * net_monitor_register() (net-monitor-register.c, linked into kite only)
 * hands them to emulator/monitor.h.
 */
#ifndef KITE_NET_MONITOR_H
#define KITE_NET_MONITOR_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

typedef struct NetHmpCommand {
	const char *name; /* "set_link"; "info network" for info sub-commands */
	const char *params;
	const char *help;
	void (*fn)(GString *out, int argc, char **argv, const char *line);
} NetHmpCommand;

extern const NetHmpCommand net_hmp_commands[];

typedef struct NetQmpCommand {
	const char *name;
	JsonNode *(*fn)(JsonObject *args, GError **err);
} NetQmpCommand;

extern const NetQmpCommand net_qmp_commands[];

/* Run one HMP line against net_hmp_commands (tests; kite uses its monitor).
 * Returns false when the command is not a network one. */
bool net_hmp_dispatch(const char *cmdline, GString *out);

/* Where QMP events go (set by net_monitor_register; tests set their own). */
extern void (*net_qmp_event_hook)(const char *name, JsonObject *data);

void net_monitor_register(void);

#endif
