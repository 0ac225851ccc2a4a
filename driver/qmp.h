/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QMP client for one kite process: capabilities negotiation, synchronous
 * commands with a time limit, and asynchronous events delivered from the
 * main loop.
 */
#ifndef KITE_DRIVER_QMP_H
#define KITE_DRIVER_QMP_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

struct qmp;

/* event: name, data (may be NULL). */
typedef void (*qmp_event_fn)(const char *event, JsonObject *data, void *opaque);
/* The monitor connection closed (kite exited or closed it). */
typedef void (*qmp_closed_fn)(void *opaque);

/* Connect to a listening QMP socket, read the greeting and leave
 * capabilities negotiation. Waits at most timeout_ms in total. */
struct qmp *qmp_connect(const char *path, int timeout_ms, GError **err);
void qmp_set_handlers(struct qmp *q, qmp_event_fn ev, qmp_closed_fn closed, void *opaque);
/*
 * Run one command. args (may be NULL) is consumed. Returns the "return"
 * member (caller owns it) or NULL with err set: a QMP error becomes
 * VIRT_ERROR/VERR_OPERATION_FAILED with kite's description; err->code of
 * CommandNotFound is VERR_OPERATION_UNSUPPORTED.
 */
JsonNode *qmp_command(struct qmp *q, const char *cmd, JsonObject *args, GError **err);
/*
 * After a failed qmp_command: kite's error class ("GenericError",
 * "DeviceNotFound", ...) and description when kite answered with an error,
 * NULL when the command failed otherwise (no answer, connection lost).
 */
const char *qmp_error_class(const struct qmp *q);
const char *qmp_error_desc(const struct qmp *q);
/*
 * Hand every event kite has sent so far to the event handler now (not from
 * the main loop), without blocking: a caller about to look at what events
 * change (a NIC's removal) sees them first. The event handler must not
 * free q.
 */
void qmp_deliver_now(struct qmp *q);
/* human-monitor-command; returns the HMP output. */
char *qmp_hmp(struct qmp *q, const char *cmdline, GError **err);
void qmp_free(struct qmp *q);

#endif
