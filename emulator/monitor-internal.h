/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Creating monitors on chardevs (vl.c) and helpers shared by qmp.c/hmp.c. */
#ifndef KITE_MONITOR_INTERNAL_H
#define KITE_MONITOR_INTERNAL_H

#include <glib.h>
#include <json-glib/json-glib.h>

struct chardev;

int qmp_monitor_new(struct chardev *chr, bool pretty, GError **err);
int hmp_monitor_new(struct chardev *chr, GError **err);

/* QEMU-style JSON text: {"a": 1, "b": [1, 2]} (pretty: indented). */
char *qmp_json_to_string(JsonNode *node, bool pretty);
/* Run a QMP command by name (used by HMP commands that wrap QMP). */
JsonNode *qmp_dispatch_command(const char *name, JsonObject *args, GError **err);

/* PCI class names as QEMU's `info pci` prints them. */
const char *pci_class_desc(uint16_t cls);

#endif
