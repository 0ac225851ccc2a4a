/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Commands are synchronous: kite answers in microseconds and the daemon has
 * nothing useful to do for that one client meanwhile, so a poll() with a
 * time limit keeps the code linear. Events that arrive while waiting are
 * queued and handed out from an idle callback, never from inside a command.
 * qmp_deliver_now() is the one exception: it hands out at once what kite has
 * sent so far, for a caller about to look at what events change.
 */
#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"
#include "qmp.h"
#include "rpc.h"

#define QMP_COMMAND_TIMEOUT_MS 10000
#define QMP_LINE_MAX	       (8u * 1024 * 1024)

struct queued_event {
	char *name;
	JsonObject *data;
};

struct qmp {
	int fd;
	guint watch;
	guint idle;
	GString *in;
	GQueue events;
	unsigned next_id;
	bool closed;
	char *err_class; /* of the last command kite answered with an error */
	char *err_desc;
	qmp_event_fn on_event;
	qmp_closed_fn on_closed;
	void *opaque;
};

static void queued_event_free(struct queued_event *e)
{
	g_free(e->name);
	if (e->data)
		json_object_unref(e->data);
	g_free(e);
}

/* Read what is available; false on EOF or error. */
static bool qmp_fill(struct qmp *q)
{
	char buf[16384];
	ssize_t n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	g_string_append_len(q->in, buf, n);
	return q->in->len <= QMP_LINE_MAX;
}

/* Take one complete line (a JSON object) off the input, parsed. */
static JsonObject *qmp_next_object(struct qmp *q)
{
	for (;;) {
		char *nl = memchr(q->in->str, '\n', q->in->len);
		if (!nl)
			return NULL;
		size_t len = nl - q->in->str;
		g_autofree char *line = g_strndup(q->in->str, len);
		g_string_erase(q->in, 0, len + 1);
		g_strstrip(line);
		if (!*line)
			continue;
		g_autoptr(JsonParser) p = json_parser_new();
		if (!json_parser_load_from_data(p, line, -1, NULL))
			continue;
		JsonNode *root = json_parser_get_root(p);
		if (!root || !JSON_NODE_HOLDS_OBJECT(root))
			continue;
		return json_object_ref(json_node_get_object(root));
	}
}

static gboolean qmp_dispatch_events(gpointer opaque)
{
	struct qmp *q = opaque;
	struct queued_event *e;

	q->idle = 0;
	while ((e = g_queue_pop_head(&q->events))) {
		if (q->on_event)
			q->on_event(e->name, e->data, q->opaque);
		queued_event_free(e);
	}
	return G_SOURCE_REMOVE;
}

static void qmp_queue_event(struct qmp *q, JsonObject *o)
{
	struct queued_event *e = g_new0(struct queued_event, 1);
	e->name = g_strdup(json_object_get_string_member(o, "event"));
	if (json_object_has_member(o, "data") &&
	    JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "data")))
		e->data = json_object_ref(json_object_get_object_member(o, "data"));
	g_queue_push_tail(&q->events, e);
	if (!q->idle)
		q->idle = g_idle_add(qmp_dispatch_events, q);
}

static void qmp_mark_closed(struct qmp *q)
{
	if (q->closed)
		return;
	q->closed = true;
	if (q->watch) {
		g_source_remove(q->watch);
		q->watch = 0;
	}
	if (q->on_closed)
		q->on_closed(q->opaque);
}

/* Queue the events among the complete lines read so far; answers nobody
 * waits for any more are dropped. */
static void qmp_drain(struct qmp *q)
{
	JsonObject *o;
	while ((o = qmp_next_object(q))) {
		if (json_object_has_member(o, "event"))
			qmp_queue_event(q, o);
		json_object_unref(o);
	}
}

/* Take in what kite sent. False once the connection is gone. */
static bool qmp_take_input(struct qmp *q)
{
	bool alive = qmp_fill(q);
	qmp_drain(q);
	return alive;
}

static gboolean qmp_readable(int fd, GIOCondition cond, gpointer opaque)
{
	struct qmp *q = opaque;

	(void)fd;
	(void)cond;
	if (!qmp_take_input(q)) {
		q->watch = 0;
		qmp_mark_closed(q);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* Hand the queued events to the handler now rather than from the idle
 * callback. */
static void qmp_deliver_events(struct qmp *q)
{
	if (q->idle) {
		g_source_remove(q->idle);
		q->idle = 0;
	}
	qmp_dispatch_events(q);
}

void qmp_deliver_now(struct qmp *q)
{
	for (;;) {
		qmp_deliver_events(q);
		if (q->closed)
			return;
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
		int r = poll(&pfd, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* nothing more has come */
		if (!qmp_take_input(q))
			qmp_mark_closed(q);
	}
}

/* Wait for the next object, up to deadline (monotonic us). */
static JsonObject *qmp_wait_object(struct qmp *q, gint64 deadline, GError **err)
{
	for (;;) {
		JsonObject *o = qmp_next_object(q);
		if (o)
			return o;
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0) {
			virt_error(err, VERR_OPERATION_TIMEOUT,
				   _("kite's monitor did not answer in time"));
			return NULL;
		}
		struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)MIN(left, G_MAXINT));
		if (r < 0 && errno != EINTR) {
			virt_error(err, VERR_OPERATION_FAILED, _("waiting for kite's monitor: %s"),
				   g_strerror(errno));
			return NULL;
		}
		if (r > 0 && !qmp_fill(q)) {
			qmp_mark_closed(q);
			virt_error(err, VERR_OPERATION_FAILED,
				   _("kite's monitor closed the connection"));
			return NULL;
		}
	}
}

static bool qmp_send_line(struct qmp *q, const char *line, GError **err)
{
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t n = send(q->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = q->fd, .events = POLLOUT};
			poll(&pfd, 1, 1000);
			continue;
		}
		if (n <= 0) {
			virt_error(err, VERR_OPERATION_FAILED,
				   _("cannot write to kite's monitor: %s"), g_strerror(errno));
			return false;
		}
		off += n;
	}
	return true;
}

static JsonNode *qmp_exchange(struct qmp *q, const char *cmd, JsonObject *args, int timeout_ms,
			      GError **err)
{
	if (q->closed) {
		if (args)
			json_object_unref(args);
		virt_error(err, VERR_OPERATION_FAILED, _("kite's monitor is not connected"));
		return NULL;
	}
	g_clear_pointer(&q->err_class, g_free);
	g_clear_pointer(&q->err_desc, g_free);
	g_autofree char *id = g_strdup_printf("virtkited-%u", ++q->next_id);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "execute");
	json_builder_add_string_value(b, cmd);
	if (args) {
		JsonNode *a = json_node_new(JSON_NODE_OBJECT);
		json_node_take_object(a, args);
		json_builder_set_member_name(b, "arguments");
		json_builder_add_value(b, a);
	}
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, id);
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree char *text = json_to_string(root, FALSE);
	g_autofree char *line = g_strconcat(text, "\n", NULL);
	if (!qmp_send_line(q, line, err))
		return NULL;

	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		JsonObject *o = qmp_wait_object(q, deadline, err);
		if (!o)
			return NULL;
		if (json_object_has_member(o, "event")) {
			qmp_queue_event(q, o);
			json_object_unref(o);
			continue;
		}
		const char *rid = json_object_has_member(o, "id")
				      ? json_object_get_string_member_with_default(o, "id", "")
				      : NULL;
		if (rid && strcmp(rid, id) != 0) {
			json_object_unref(o);
			continue;
		}
		JsonNode *ret = NULL;
		if (json_object_has_member(o, "return")) {
			ret = json_node_copy(json_object_get_member(o, "return"));
		} else if (json_object_has_member(o, "error")) {
			JsonObject *e = json_object_get_object_member(o, "error");
			const char *cls =
			    e ? json_object_get_string_member_with_default(e, "class", "") : "";
			const char *desc = e ? json_object_get_string_member_with_default(
						   e, "desc", _("unknown error"))
					     : _("unknown error");
			q->err_class = g_strdup(cls);
			q->err_desc = g_strdup(desc);
			virt_error(err,
				   strcmp(cls, "CommandNotFound") == 0 ? VERR_OPERATION_UNSUPPORTED
								       : VERR_OPERATION_FAILED,
				   _("kite: %s: %s"), cmd, desc);
		} else {
			virt_error(err, VERR_OPERATION_FAILED,
				   _("kite's monitor sent an answer without return or error"));
		}
		json_object_unref(o);
		/* An event that came in the same read as the answer is in our
		 * buffer now, and the socket will not wake anybody up for it. */
		qmp_drain(q);
		return ret;
	}
}

JsonNode *qmp_command(struct qmp *q, const char *cmd, JsonObject *args, GError **err)
{
	return qmp_exchange(q, cmd, args, QMP_COMMAND_TIMEOUT_MS, err);
}

const char *qmp_error_class(const struct qmp *q)
{
	return q->err_class;
}

const char *qmp_error_desc(const struct qmp *q)
{
	return q->err_desc;
}

char *qmp_hmp(struct qmp *q, const char *cmdline, GError **err)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "command-line", cmdline);
	g_autoptr(JsonNode) ret = qmp_command(q, "human-monitor-command", args, err);
	if (!ret)
		return NULL;
	if (!JSON_NODE_HOLDS_VALUE(ret) || json_node_get_value_type(ret) != G_TYPE_STRING) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("kite's human-monitor-command did not return text"));
		return NULL;
	}
	return g_strdup(json_node_get_string(ret));
}

struct qmp *qmp_connect(const char *path, int timeout_ms, GError **err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		virt_error(err, VERR_INTERNAL_ERROR, _("monitor socket path '%s' is too long"),
			   path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("cannot connect to kite's monitor at %s: %s"), path,
			   g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct qmp *q = g_new0(struct qmp, 1);
	q->fd = fd;
	q->in = g_string_new(NULL);
	g_queue_init(&q->events);

	JsonObject *greeting = qmp_wait_object(q, deadline, err);
	if (!greeting) {
		qmp_free(q);
		return NULL;
	}
	bool is_qmp = json_object_has_member(greeting, "QMP");
	json_object_unref(greeting);
	if (!is_qmp) {
		virt_error(err, VERR_OPERATION_FAILED, _("%s does not speak QMP (no greeting)"),
			   path);
		qmp_free(q);
		return NULL;
	}
	JsonNode *ret = qmp_exchange(q, "qmp_capabilities", NULL,
				     (int)MAX((deadline - g_get_monotonic_time()) / 1000, 1), err);
	if (!ret) {
		qmp_free(q);
		return NULL;
	}
	json_node_unref(ret);
	q->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, qmp_readable, q);
	return q;
}

void qmp_set_handlers(struct qmp *q, qmp_event_fn ev, qmp_closed_fn closed, void *opaque)
{
	q->on_event = ev;
	q->on_closed = closed;
	q->opaque = opaque;
	if (!g_queue_is_empty(&q->events) && !q->idle)
		q->idle = g_idle_add(qmp_dispatch_events, q);
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	if (q->watch)
		g_source_remove(q->watch);
	if (q->idle)
		g_source_remove(q->idle);
	g_queue_clear_full(&q->events, (GDestroyNotify)queued_event_free);
	close(q->fd);
	g_string_free(q->in, TRUE);
	g_free(q->err_class);
	g_free(q->err_desc);
	g_free(q);
}
