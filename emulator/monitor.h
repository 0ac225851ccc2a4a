/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extension points of kite's monitors (QMP: qmp.c, HMP: hmp.c) so that other
 * parts (networking) can add commands. All handlers run on the main loop
 * thread with the big kite lock held.
 */
#ifndef KITE_MONITOR_H
#define KITE_MONITOR_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "error.h"

/*
 * A QMP command. args is the "arguments" object (never NULL: an empty object
 * when the client sent none). Return the value of "return" (ownership passes
 * to the caller; NULL means the empty object {}), or set err (its code is a
 * kite_error_class, e.g. KITE_ERR_GENERIC, KITE_ERR_DEVICE_NOT_FOUND) and
 * return NULL.
 */
typedef JsonNode *(*qmp_cmd_fn)(JsonObject *args, GError **err);
void qmp_register_command(const char *name, qmp_cmd_fn fn);

/* Emit an asynchronous event to every QMP client that has left
 * capabilities negotiation: {"event": name, "data": data,
 * "timestamp": {...}}. data may be NULL (no "data" member); it is consumed. */
void qmp_event_emit(const char *name, JsonObject *data);

/* Helpers for argument checking that produce QEMU's error messages:
 * "Parameter 'name' is missing" / "Invalid parameter type for 'name',
 * expected: string". Return false with err set. */
bool qmp_arg_str(JsonObject *args, const char *name, bool required, const char **out, GError **err);
bool qmp_arg_bool(JsonObject *args, const char *name, bool required, bool *out, GError **err);
bool qmp_arg_int(JsonObject *args, const char *name, bool required, int64_t *out, GError **err);

/*
 * An HMP command. argv[0] is the command name, the rest is the
 * whitespace-split argument line; 'line' is the raw text after the command
 * name (for commands that take free-form arguments). Write the answer to
 * out (each line ending in "\n"); errors are written to out too, as QEMU
 * does.
 */
typedef void (*hmp_cmd_fn)(GString *out, int argc, char **argv, const char *line);
/* params: usage shown by `help`, e.g. "name on|off"; help: one-line text. */
void hmp_register_command(const char *name, const char *params, const char *help, hmp_cmd_fn fn);

/* `info <name>` sub-command. */
typedef void (*hmp_info_fn)(GString *out);
void hmp_register_info(const char *name, const char *help, hmp_info_fn fn);

/* Run one HMP command line and return its output (used by
 * human-monitor-command). */
char *hmp_execute(const char *cmdline);

#endif
