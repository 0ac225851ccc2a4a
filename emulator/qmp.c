/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP server: QEMU 7.2's greeting, capabilities negotiation, the core
 * commands and events, with QEMU's JSON layout ("key": value, one message
 * per line ending in CRLF) and error classes.
 */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "chardev.h"
#include "error.h"
#include "kvm.h"
#include "machine.h"
#include "memory.h"
#include "monitor-internal.h"
#include "monitor.h"
#include "pci.h"

#define MAX_LINE (1 << 20)

struct qmp_mon {
	struct chardev *chr;
	bool pretty;
	bool negotiated;
	bool connected;
	GString *buf;
	int depth; /* brace depth of the message being read */
	bool in_string, escape;
	struct qmp_mon *next;
};

static struct qmp_mon *monitors;
static GHashTable *commands; /* name -> qmp_cmd_fn */

void qmp_register_command(const char *name, qmp_cmd_fn fn)
{
	if (!commands)
		commands = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_replace(commands, g_strdup(name), (gpointer)fn);
}

/* ---- JSON text in QEMU's layout ---- */

static void emit(GString *o, JsonNode *n, bool pretty, int indent);

static void newline(GString *o, bool pretty, int indent)
{
	if (!pretty)
		return;
	g_string_append_c(o, '\n');
	for (int i = 0; i < indent; i++)
		g_string_append(o, "    ");
}

static void emit_string(GString *o, const char *s)
{
	g_string_append_c(o, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			g_string_append(o, "\\\"");
			break;
		case '\\':
			g_string_append(o, "\\\\");
			break;
		case '\n':
			g_string_append(o, "\\n");
			break;
		case '\r':
			g_string_append(o, "\\r");
			break;
		case '\t':
			g_string_append(o, "\\t");
			break;
		case '\b':
			g_string_append(o, "\\b");
			break;
		case '\f':
			g_string_append(o, "\\f");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(o, "\\u%04x", *p);
			else
				g_string_append_c(o, *p);
		}
	}
	g_string_append_c(o, '"');
}

static void emit(GString *o, JsonNode *n, bool pretty, int indent)
{
	switch (json_node_get_node_type(n)) {
	case JSON_NODE_OBJECT: {
		JsonObject *obj = json_node_get_object(n);
		GList *members = json_object_get_members(obj); /* insertion order */
		if (!members) {
			g_string_append(o, "{}");
			break;
		}
		g_string_append_c(o, '{');
		for (GList *l = members; l; l = l->next) {
			newline(o, pretty, indent + 1);
			emit_string(o, l->data);
			g_string_append(o, ": ");
			emit(o, json_object_get_member(obj, l->data), pretty, indent + 1);
			if (l->next)
				g_string_append(o, pretty ? "," : ", ");
		}
		newline(o, pretty, indent);
		g_string_append_c(o, '}');
		g_list_free(members);
		break;
	}
	case JSON_NODE_ARRAY: {
		JsonArray *a = json_node_get_array(n);
		guint len = json_array_get_length(a);
		if (!len) {
			g_string_append(o, "[]");
			break;
		}
		g_string_append_c(o, '[');
		for (guint i = 0; i < len; i++) {
			newline(o, pretty, indent + 1);
			emit(o, json_array_get_element(a, i), pretty, indent + 1);
			if (i + 1 < len)
				g_string_append(o, pretty ? "," : ", ");
		}
		newline(o, pretty, indent);
		g_string_append_c(o, ']');
		break;
	}
	case JSON_NODE_NULL:
		g_string_append(o, "null");
		break;
	case JSON_NODE_VALUE: {
		GType t = json_node_get_value_type(n);
		if (t == G_TYPE_STRING)
			emit_string(o, json_node_get_string(n));
		else if (t == G_TYPE_BOOLEAN)
			g_string_append(o, json_node_get_boolean(n) ? "true" : "false");
		else if (t == G_TYPE_DOUBLE)
			g_string_append_printf(o, "%.17g", json_node_get_double(n));
		else
			g_string_append_printf(o, "%" G_GINT64_FORMAT, json_node_get_int(n));
		break;
	}
	}
}

char *qmp_json_to_string(JsonNode *node, bool pretty)
{
	GString *o = g_string_new(NULL);
	emit(o, node, pretty, 0);
	return g_string_free(o, false);
}

static void send_node(struct qmp_mon *m, JsonNode *n)
{
	char *s = qmp_json_to_string(n, m->pretty);
	chardev_write(m->chr, s, strlen(s));
	chardev_write(m->chr, "\r\n", 2);
	g_free(s);
}

static void send_obj(struct qmp_mon *m, JsonObject *obj)
{
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(n, obj);
	send_node(m, n);
	json_node_unref(n);
}

static JsonObject *error_obj(int cls, const char *desc)
{
	JsonObject *e = json_object_new();
	json_object_set_string_member(e, "class", kite_error_class_name(cls));
	json_object_set_string_member(e, "desc", desc);
	JsonObject *r = json_object_new();
	json_object_set_object_member(r, "error", e);
	return r;
}

void qmp_event_emit(const char *name, JsonObject *data)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	for (struct qmp_mon *m = monitors; m; m = m->next) {
		if (!m->connected || !m->negotiated)
			continue;
		JsonObject *ts = json_object_new();
		json_object_set_int_member(ts, "seconds", tv.tv_sec);
		json_object_set_int_member(ts, "microseconds", tv.tv_usec);
		JsonObject *ev = json_object_new();
		json_object_set_object_member(ev, "timestamp", ts);
		json_object_set_string_member(ev, "event", name);
		if (data)
			json_object_set_object_member(ev, "data", json_object_ref(data));
		send_obj(m, ev);
	}
	if (data)
		json_object_unref(data);
}

/* ---- argument helpers ---- */

static bool arg_missing(const char *name, bool required, GError **err)
{
	if (required)
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Parameter '%s' is missing"),
			    name);
	return !required;
}

static bool arg_type_error(const char *name, const char *type, GError **err)
{
	g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
		    _("Invalid parameter type for '%s', expected: %s"), name, type);
	return false;
}

bool qmp_arg_str(JsonObject *args, const char *name, bool required, const char **out, GError **err)
{
	*out = NULL;
	JsonNode *n = json_object_get_member(args, name);
	if (!n)
		return arg_missing(name, required, err);
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return arg_type_error(name, "string", err);
	*out = json_node_get_string(n);
	return true;
}

bool qmp_arg_bool(JsonObject *args, const char *name, bool required, bool *out, GError **err)
{
	JsonNode *n = json_object_get_member(args, name);
	if (!n)
		return arg_missing(name, required, err);
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return arg_type_error(name, "boolean", err);
	*out = json_node_get_boolean(n);
	return true;
}

bool qmp_arg_int(JsonObject *args, const char *name, bool required, int64_t *out, GError **err)
{
	JsonNode *n = json_object_get_member(args, name);
	if (!n)
		return arg_missing(name, required, err);
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return arg_type_error(name, "integer", err);
	*out = json_node_get_int(n);
	return true;
}

/* Refuse arguments a command does not take. */
static bool only_args(JsonObject *args, const char *const *allowed, GError **err)
{
	GList *members = json_object_get_members(args);
	for (GList *l = members; l; l = l->next) {
		bool ok = false;
		for (const char *const *a = allowed; a && *a; a++)
			if (!strcmp(*a, l->data))
				ok = true;
		if (!ok) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Parameter '%s' is unexpected"), (char *)l->data);
			g_list_free(members);
			return false;
		}
	}
	g_list_free(members);
	return true;
}

static JsonNode *obj_node(JsonObject *o)
{
	JsonNode *n = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(n, o);
	return n;
}

/* ---- commands ---- */

static JsonNode *cmd_query_status(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonObject *o = json_object_new();
	json_object_set_string_member(o, "status", run_state_name(vm_run_state()));
	json_object_set_boolean_member(o, "singlestep", false);
	json_object_set_boolean_member(o, "running", vm_running());
	return obj_node(o);
}

static JsonObject *version_obj(void)
{
	JsonObject *q = json_object_new();
	json_object_set_int_member(q, "micro", 0);
	json_object_set_int_member(q, "minor", 2);
	json_object_set_int_member(q, "major", 7);
	JsonObject *v = json_object_new();
	json_object_set_object_member(v, "qemu", q);
	json_object_set_string_member(v, "package", "kite " KITE_VERSION);
	return v;
}

static JsonNode *cmd_query_version(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	return obj_node(version_obj());
}

static JsonNode *cmd_query_name(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonObject *o = json_object_new();
	if (machine_cfg.name)
		json_object_set_string_member(o, "name", machine_cfg.name);
	return obj_node(o);
}

static JsonNode *cmd_query_kvm(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonObject *o = json_object_new();
	json_object_set_boolean_member(o, "enabled", !machine_cfg.qtest);
	json_object_set_boolean_member(o, "present", true);
	return obj_node(o);
}

static JsonNode *cmd_query_uuid(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonObject *o = json_object_new();
	json_object_set_string_member(o, "UUID",
				      machine_cfg.uuid ? machine_cfg.uuid
						       : "00000000-0000-0000-0000-000000000000");
	return obj_node(o);
}

static JsonNode *cmd_query_pci(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonArray *devs = json_array_new();
	for (struct pci_device *d = pci_device_first(); d; d = pci_device_next(d)) {
		uint8_t *c = pci_config(d);
		JsonObject *o = json_object_new();
		json_object_set_int_member(o, "bus", 0);
		json_object_set_int_member(o, "slot", pci_devfn(d) >> 3);
		json_object_set_int_member(o, "function", pci_devfn(d) & 7);
		JsonObject *ci = json_object_new();
		uint16_t cls = c[PCI_CLASS_DEVICE] | (c[PCI_CLASS_DEVICE + 1] << 8);
		const char *desc = pci_class_desc(cls);
		if (desc)
			json_object_set_string_member(ci, "desc", desc);
		json_object_set_int_member(ci, "class", cls);
		json_object_set_object_member(o, "class_info", ci);
		JsonObject *id = json_object_new();
		json_object_set_int_member(id, "device", c[2] | (c[3] << 8));
		json_object_set_int_member(id, "vendor", c[0] | (c[1] << 8));
		json_object_set_int_member(id, "subsystem", c[0x2e] | (c[0x2f] << 8));
		json_object_set_int_member(id, "subsystem-vendor", c[0x2c] | (c[0x2d] << 8));
		json_object_set_object_member(o, "id", id);
		if (c[PCI_INTERRUPT_PIN]) {
			json_object_set_int_member(o, "irq", c[PCI_INTERRUPT_LINE]);
			json_object_set_int_member(o, "irq_pin", c[PCI_INTERRUPT_PIN]);
		}
		json_object_set_string_member(o, "qdev_id",
					      pci_device_id(d) ? pci_device_id(d) : "");
		JsonArray *regions = json_array_new();
		for (int b = 0; b < PCI_NUM_BARS; b++) {
			uint64_t addr, size;
			bool io, m64;
			if (!pci_bar_info(d, b, &addr, &size, &io, &m64))
				continue;
			JsonObject *r = json_object_new();
			json_object_set_int_member(r, "bar", b);
			if (io) {
				json_object_set_string_member(r, "type", "io");
			} else {
				json_object_set_string_member(r, "type", "memory");
				json_object_set_boolean_member(r, "prefetch", false);
				json_object_set_boolean_member(r, "mem_type_64", m64);
			}
			json_object_set_int_member(r, "address", (int64_t)addr);
			json_object_set_int_member(r, "size", size);
			json_array_add_object_element(regions, r);
		}
		json_object_set_array_member(o, "regions", regions);
		json_array_add_object_element(devs, o);
	}
	JsonObject *busobj = json_object_new();
	json_object_set_int_member(busobj, "bus", 0);
	json_object_set_array_member(busobj, "devices", devs);
	JsonArray *a = json_array_new();
	json_array_add_object_element(a, busobj);
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
}

static JsonNode *cmd_stop(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	vm_stop();
	return NULL;
}

static JsonNode *cmd_cont(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	if (vm_run_state() == RUN_STATE_SHUTDOWN) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Resetting the Virtual Machine is required"));
		return NULL;
	}
	vm_start();
	return NULL;
}

static JsonNode *cmd_system_powerdown(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	machine_request_powerdown();
	return NULL;
}

static JsonNode *cmd_system_reset(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	machine_request_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
	return NULL;
}

/* pmemsave: guest-physical memory to a file, as QEMU's (management tools
 * and kite's tests use it to look at what the guest sees, e.g. ACPI). */
static JsonNode *cmd_pmemsave(JsonObject *args, GError **err)
{
	static const char *const allowed[] = {"val", "size", "filename", "cpu-index", NULL};
	int64_t val, size;
	const char *filename;
	if (!only_args(args, allowed, err) || !qmp_arg_int(args, "val", true, &val, err) ||
	    !qmp_arg_int(args, "size", true, &size, err) ||
	    !qmp_arg_str(args, "filename", true, &filename, err))
		return NULL;
	if (size < 0 || val < 0 || (uint64_t)val + (uint64_t)size < (uint64_t)val) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Invalid parameter 'size': %lld bytes at 0x%llx"), (long long)size,
			    (unsigned long long)val);
		return NULL;
	}
	FILE *f = fopen(filename, "wb");
	if (!f) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Could not open '%s': %s"),
			    filename, g_strerror(errno));
		return NULL;
	}
	uint8_t buf[4096];
	for (int64_t done = 0; done < size;) {
		size_t n = MIN((int64_t)sizeof(buf), size - done);
		if (guest_read((uint64_t)val + done, buf, n) != 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("pmemsave: 0x%llx-0x%llx is outside guest RAM"),
				    (unsigned long long)val, (unsigned long long)(val + size - 1));
			fclose(f);
			unlink(filename);
			return NULL;
		}
		if (fwrite(buf, 1, n, f) != n) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("writing '%s': %s"),
				    filename, g_strerror(errno));
			fclose(f);
			unlink(filename);
			return NULL;
		}
		done += n;
	}
	if (fclose(f) != 0) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("writing '%s': %s"), filename,
			    g_strerror(errno));
		unlink(filename);
		return NULL;
	}
	return NULL;
}

static JsonNode *cmd_quit(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	/* like QEMU 7.2: SHUTDOWN goes out before the reply; kite exits once
	 * the main loop regains control, after the reply */
	machine_shutdown_now(SHUTDOWN_CAUSE_HOST_QMP_QUIT, 0);
	return NULL;
}

static JsonNode *cmd_hmp(JsonObject *args, GError **err)
{
	static const char *const allowed[] = {"command-line", "cpu-index", NULL};
	const char *line;
	if (!only_args(args, allowed, err) || !qmp_arg_str(args, "command-line", true, &line, err))
		return NULL;
	char *out = hmp_execute(line);
	/* the monitor's output buffer has CRLF line ends, as in QEMU */
	GString *crlf = g_string_new(NULL);
	for (const char *p = out; *p; p++) {
		if (*p == '\n')
			g_string_append_c(crlf, '\r');
		g_string_append_c(crlf, *p);
	}
	JsonNode *n = json_node_new(JSON_NODE_VALUE);
	json_node_set_string(n, crlf->str);
	g_string_free(crlf, true);
	g_free(out);
	return n;
}

static JsonNode *cmd_query_commands(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonArray *a = json_array_new();
	GList *keys = g_list_sort(g_hash_table_get_keys(commands), (GCompareFunc)strcmp);
	for (GList *l = keys; l; l = l->next) {
		JsonObject *o = json_object_new();
		json_object_set_string_member(o, "name", l->data);
		json_array_add_object_element(a, o);
	}
	g_list_free(keys);
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
}

static JsonNode *cmd_query_chardev(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonArray *a = json_array_new();
	for (struct chardev *c = chardev_next(NULL); c; c = chardev_next(c)) {
		JsonObject *o = json_object_new();
		json_object_set_boolean_member(o, "frontend-open", chardev_connected(c));
		char *fn = chardev_filename(c);
		json_object_set_string_member(o, "filename", fn);
		g_free(fn);
		json_object_set_string_member(o, "label", chardev_id(c));
		json_array_add_object_element(a, o);
	}
	JsonNode *n = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(n, a);
	return n;
}

static JsonNode *cmd_query_cpus_fast(JsonObject *args, GError **err)
{
	if (!only_args(args, NULL, err))
		return NULL;
	JsonArray *a = json_array_new();
	unsigned n = machine_cfg.qtest ? 0 : kvm_vcpu_count();
	for (unsigned i = 0; i < n; i++) {
		JsonObject *o = json_object_new();
		json_object_set_int_member(o, "thread-id", kvm_vcpu_thread_id(i));
		JsonObject *props = json_object_new();
		json_object_set_int_member(props, "core-id", 0);
		json_object_set_int_member(props, "thread-id", 0);
		json_object_set_int_member(props, "node-id", 0);
		json_object_set_int_member(props, "socket-id", i);
		json_object_set_object_member(o, "props", props);
		char *path = g_strdup_printf("/machine/unattached/device[%u]", i);
		json_object_set_string_member(o, "qom-path", path);
		g_free(path);
		json_object_set_int_member(o, "cpu-index", i);
		json_object_set_string_member(o, "target", "x86_64");
		json_array_add_object_element(a, o);
	}
	JsonNode *node = json_node_new(JSON_NODE_ARRAY);
	json_node_take_array(node, a);
	return node;
}

static void register_builtin(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	qmp_register_command("query-status", cmd_query_status);
	qmp_register_command("query-version", cmd_query_version);
	qmp_register_command("query-name", cmd_query_name);
	qmp_register_command("query-kvm", cmd_query_kvm);
	qmp_register_command("query-uuid", cmd_query_uuid);
	qmp_register_command("query-pci", cmd_query_pci);
	qmp_register_command("query-commands", cmd_query_commands);
	qmp_register_command("query-chardev", cmd_query_chardev);
	qmp_register_command("query-cpus-fast", cmd_query_cpus_fast);
	qmp_register_command("stop", cmd_stop);
	qmp_register_command("cont", cmd_cont);
	qmp_register_command("system_powerdown", cmd_system_powerdown);
	qmp_register_command("system_reset", cmd_system_reset);
	qmp_register_command("quit", cmd_quit);
	qmp_register_command("pmemsave", cmd_pmemsave);
	qmp_register_command("human-monitor-command", cmd_hmp);
}

JsonNode *qmp_dispatch_command(const char *name, JsonObject *args, GError **err)
{
	register_builtin();
	qmp_cmd_fn fn = g_hash_table_lookup(commands, name);
	if (!fn) {
		g_set_error(err, KITE_ERROR, KITE_ERR_COMMAND_NOT_FOUND,
			    _("The command %s has not been found"), name);
		return NULL;
	}
	return fn(args, err);
}

/* ---- the protocol ---- */

static void reply(struct qmp_mon *m, JsonNode *ret, GError *err, JsonNode *id)
{
	JsonObject *r;
	if (err) {
		r = error_obj(err->code, err->message);
		g_error_free(err);
	} else {
		r = json_object_new();
		if (!ret)
			ret = obj_node(json_object_new());
		json_object_set_member(r, "return", ret);
	}
	if (id)
		json_object_set_member(r, "id", json_node_copy(id));
	send_obj(m, r);
}

static void handle_message(struct qmp_mon *m, const char *text)
{
	JsonParser *p = json_parser_new();
	GError *perr = NULL;
	if (!json_parser_load_from_data(p, text, -1, &perr)) {
		send_obj(m, error_obj(KITE_ERR_GENERIC, "JSON parse error, invalid keyword"));
		g_error_free(perr);
		g_object_unref(p);
		return;
	}
	JsonNode *root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		send_obj(m, error_obj(KITE_ERR_GENERIC, "QMP input must be a JSON object"));
		g_object_unref(p);
		return;
	}
	JsonObject *req = json_node_get_object(root);
	JsonNode *id = json_object_get_member(req, "id");
	JsonNode *ex = json_object_get_member(req, "execute");
	if (!ex)
		ex = json_object_get_member(req, "exec-oob");
	GError *err = NULL;
	if (!ex) {
		g_set_error(&err, KITE_ERROR, KITE_ERR_GENERIC, "QMP input lacks member 'execute'");
		reply(m, NULL, err, id);
		g_object_unref(p);
		return;
	}
	if (!JSON_NODE_HOLDS_VALUE(ex) || json_node_get_value_type(ex) != G_TYPE_STRING) {
		g_set_error(&err, KITE_ERROR, KITE_ERR_GENERIC,
			    "QMP input member 'execute' must be a string");
		reply(m, NULL, err, id);
		g_object_unref(p);
		return;
	}
	GList *members = json_object_get_members(req);
	for (GList *l = members; l; l = l->next) {
		const char *k = l->data;
		if (strcmp(k, "execute") && strcmp(k, "exec-oob") && strcmp(k, "arguments") &&
		    strcmp(k, "id") && !err)
			g_set_error(&err, KITE_ERROR, KITE_ERR_GENERIC,
				    "QMP input member '%s' is unexpected", k);
	}
	g_list_free(members);
	JsonNode *argn = json_object_get_member(req, "arguments");
	if (!err && argn && !JSON_NODE_HOLDS_OBJECT(argn))
		g_set_error(&err, KITE_ERROR, KITE_ERR_GENERIC,
			    "QMP input member 'arguments' must be an object");
	if (err) {
		reply(m, NULL, err, id);
		g_object_unref(p);
		return;
	}
	const char *cmd = json_node_get_string(ex);
	JsonObject *args = argn ? json_object_ref(json_node_get_object(argn)) : json_object_new();
	JsonNode *ret = NULL;
	if (!strcmp(cmd, "qmp_capabilities")) {
		if (m->negotiated) {
			g_set_error(&err, KITE_ERROR, KITE_ERR_COMMAND_NOT_FOUND,
				    "Capabilities negotiation is already complete, command "
				    "ignored");
		} else {
			JsonNode *en = json_object_get_member(args, "enable");
			if (en && !JSON_NODE_HOLDS_ARRAY(en)) {
				g_set_error(&err, KITE_ERROR, KITE_ERR_GENERIC,
					    "Invalid parameter type for 'enable', expected: array");
			} else {
				/* "oob" is accepted: exec-oob commands simply run
				 * in order, which is a valid schedule */
				static const char *const allowed[] = {"enable", NULL};
				if (only_args(args, allowed, &err))
					m->negotiated = true;
			}
		}
	} else if (!m->negotiated) {
		g_set_error(&err, KITE_ERROR, KITE_ERR_COMMAND_NOT_FOUND,
			    "Expecting capabilities negotiation with 'qmp_capabilities'");
	} else {
		ret = qmp_dispatch_command(cmd, args, &err);
	}
	reply(m, ret, err, id);
	json_object_unref(args);
	g_object_unref(p);
}

static size_t qmp_can_read(void *opaque)
{
	(void)opaque;
	return 4096;
}

/* Split the byte stream into top-level JSON values by tracking braces
 * outside strings; each complete value is handled on its own. */
static void qmp_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct qmp_mon *m = opaque;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (m->depth == 0 && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			continue;
		g_string_append_c(m->buf, c);
		if (m->in_string) {
			if (m->escape)
				m->escape = false;
			else if (c == '\\')
				m->escape = true;
			else if (c == '"')
				m->in_string = false;
		} else if (c == '"') {
			m->in_string = true;
		} else if (c == '{' || c == '[') {
			m->depth++;
		} else if (c == '}' || c == ']') {
			m->depth--;
		}
		if (m->buf->len > MAX_LINE || m->depth < 0) {
			send_obj(m, error_obj(KITE_ERR_GENERIC, "JSON parse error, stray '}'"));
			g_string_truncate(m->buf, 0);
			m->depth = 0;
			m->in_string = m->escape = false;
			continue;
		}
		if (m->depth == 0 && !m->in_string) {
			char *text = g_strdup(m->buf->str);
			g_string_truncate(m->buf, 0);
			handle_message(m, text);
			g_free(text);
		}
	}
}

static void qmp_event(void *opaque, enum chr_event ev)
{
	struct qmp_mon *m = opaque;
	if (ev == CHR_EVENT_OPENED) {
		m->connected = true;
		m->negotiated = false;
		g_string_truncate(m->buf, 0);
		m->depth = 0;
		m->in_string = m->escape = false;
		JsonObject *q = json_object_new();
		json_object_set_object_member(q, "version", version_obj());
		JsonArray *caps = json_array_new();
		json_array_add_string_element(caps, "oob");
		json_object_set_array_member(q, "capabilities", caps);
		JsonObject *g = json_object_new();
		json_object_set_object_member(g, "QMP", q);
		send_obj(m, g);
	} else {
		m->connected = false;
		m->negotiated = false;
	}
}

static const struct chr_frontend qmp_fe = {
    .can_read = qmp_can_read,
    .read = qmp_read,
    .event = qmp_event,
};

int qmp_monitor_new(struct chardev *chr, bool pretty, GError **err)
{
	register_builtin();
	struct qmp_mon *m = g_new0(struct qmp_mon, 1);
	m->chr = chr;
	m->pretty = pretty;
	m->buf = g_string_new(NULL);
	if (chardev_attach(chr, &qmp_fe, m, err) < 0) {
		g_string_free(m->buf, true);
		g_free(m);
		return -1;
	}
	m->next = monitors;
	monitors = m;
	return 0;
}
