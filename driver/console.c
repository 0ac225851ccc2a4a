/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * domain_open_console: a libvirt stream over the guest's serial port.
 * kite exposes the port as a pty (like QEMU, found through query-chardev);
 * the daemon opens its slave side in raw mode and shuttles bytes: pty ->
 * stream packets (type 3, status continue) and client stream packets ->
 * pty. When the guest side ends (kite exited, another session took over)
 * the daemon sends end-of-stream or an error but keeps the stream until
 * the client finishes or aborts it, because the client waits for the
 * answer to that last packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "domain.h"
#include "procs.h"
#include "qmp.h"

struct stream {
	struct client *c;
	struct domain *d; /* NULL once the guest side is closed */
	uint32_t serial;
	int fd;
	guint watch;
};

static GList *streams;

static void stream_free(struct stream *s)
{
	streams = g_list_remove(streams, s);
	s->c->streams = g_list_remove(s->c->streams, s);
	if (s->watch)
		g_source_remove(s->watch);
	if (s->fd >= 0)
		close(s->fd);
	g_free(s);
}

static GByteArray *stream_packet_new(struct stream *s, int status)
{
	struct rpc_header h = {
	    .prog = RPC_PROGRAM_REMOTE,
	    .vers = RPC_PROTOCOL_VERSION,
	    .proc = PROC_DOMAIN_OPEN_CONSOLE,
	    .type = RPC_STREAM,
	    .serial = s->serial,
	    .status = status,
	};
	return rpc_packet_new(&h);
}

/* The guest side is gone: no more data in either direction. */
static void stream_close_guest_side(struct stream *s)
{
	if (s->watch)
		g_source_remove(s->watch);
	s->watch = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->d = NULL;
}

static void send_status(struct stream *s, int status, const char *msg)
{
	GByteArray *p = stream_packet_new(s, status);
	if (status == RPC_ERROR)
		rpc_put_error(p, VERR_OPERATION_FAILED, VFROM_STREAMS, msg);
	rpc_packet_finish(p);
	client_send(s->c, p);
}

/* End of stream towards the client (kite closed the port): an empty
 * "continue" packet. Status OK is only the answer to the client's finish;
 * unasked, the client takes it as a protocol error and hangs up. */
static void stream_eof(struct stream *s)
{
	stream_close_guest_side(s);
	send_status(s, RPC_CONTINUE, NULL);
}

static void stream_abort(struct stream *s, const char *msg)
{
	stream_close_guest_side(s);
	send_status(s, RPC_ERROR, msg);
}

static gboolean pty_readable(int fd, GIOCondition cond, gpointer opaque)
{
	struct stream *s = opaque;
	uint8_t buf[RPC_STREAM_CHUNK];

	(void)cond;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		/* EIO: kite closed the pty master (it exited). */
		s->watch = 0;
		stream_eof(s);
		return G_SOURCE_REMOVE;
	}
	GByteArray *p = stream_packet_new(s, RPC_CONTINUE);
	g_byte_array_append(p, buf, n);
	rpc_packet_finish(p);
	client_send(s->c, p);
	return G_SOURCE_CONTINUE;
}

static void pty_write(struct stream *s, const uint8_t *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(s->fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The guest reads slowly: wait a little, keyboard input is small. */
			struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
			if (poll(&pfd, 1, 1000) <= 0)
				return;
			continue;
		}
		if (n <= 0)
			return;
		off += n;
	}
}

void stream_packet(struct client *c, const struct rpc_header *h, const uint8_t *data, size_t len)
{
	struct stream *s = NULL;

	for (GList *l = c->streams; l; l = l->next) {
		struct stream *t = l->data;
		if (t->serial == h->serial && h->proc == PROC_DOMAIN_OPEN_CONSOLE)
			s = t;
	}
	if (!s) {
		/* Late packets of a stream that already ended are dropped, as
		 * libvirtd does; they are not a protocol error. */
		log_debug("client fd %d: stream packet for unknown serial %u dropped", c->fd,
			  h->serial);
		return;
	}
	switch (h->status) {
	case RPC_CONTINUE:
		if (s->fd >= 0)
			pty_write(s, data, len);
		break;
	case RPC_OK:
		/* Finish: confirm it, the client waits for that. */
		send_status(s, RPC_OK, NULL);
		stream_free(s);
		break;
	default:
		send_status(s, RPC_ERROR, _("stream aborted at client request"));
		stream_free(s);
		break;
	}
}

void streams_client_gone(struct client *c)
{
	while (c->streams)
		stream_free(c->streams->data);
}

void console_domain_stopped(struct domain *d)
{
	for (GList *l = streams; l;) {
		struct stream *s = l->data;
		l = l->next;
		if (s->d == d)
			stream_eof(s);
	}
}

/* The pty of the serial port (or console) named dev, or the first. */
static char *find_pty(struct domain *d, const char *dev, GError **err)
{
	struct qmp *q = domain_monitor(d, err);
	if (!q)
		return NULL;
	g_autoptr(JsonNode) ret = qmp_command(q, "query-chardev", NULL, err);
	if (!ret)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		virt_error(err, VERR_OPERATION_FAILED,
			   _("kite's query-chardev did not return a list"));
		return NULL;
	}
	/* libvirt's device names are aliases (serial0, console0); kite's
	 * chardev labels are "char" + alias, as QEMU's under libvirt. */
	g_autofree char *want = dev ? g_strconcat("char", dev, NULL) : NULL;
	JsonArray *a = json_node_get_array(ret);
	const char *first = NULL;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		if (!o)
			continue;
		const char *label = json_object_get_string_member_with_default(o, "label", "");
		const char *file = json_object_get_string_member_with_default(o, "filename", "");
		if (!g_str_has_prefix(file, "pty:"))
			continue;
		if (want && (strcmp(label, want) == 0 || strcmp(label, dev) == 0))
			return g_strdup(file + 4);
		if (!want && !first &&
		    (g_str_has_prefix(label, "charserial") || g_str_has_prefix(label, "serial") ||
		     g_str_has_prefix(label, "charconsole")))
			first = file + 4;
	}
	if (first)
		return g_strdup(first);
	virt_error(err, VERR_OPERATION_FAILED,
		   _("cannot find character device %s (the domain needs a <serial type='pty'>)"),
		   dev ? dev : "<null>");
	return NULL;
}

PROC(proc_open_console)
{
	struct wire_ref ref = {0};
	g_autofree char *dev = NULL;
	uint32_t flags;
	g_autoptr(GError) e = NULL;

	if (!wire_get_domain(in, &ref) || !xdr_get_opt_string(in, 256, &dev) ||
	    !xdr_get_u32(in, &flags)) {
		wire_ref_clear(&ref);
		return malformed(err, "dom, dev_name, flags");
	}
	struct domain *d = args_end(in, err) ? domain_lookup(&ref, err) : NULL;
	wire_ref_clear(&ref);
	if (!d)
		return false;
	(void)out;
	if (flags & ~(CONSOLE_FORCE | 2u)) {
		virt_error(err, VERR_INVALID_ARG, _("unsupported flags (%#x)"), flags);
		return false;
	}
	g_autofree char *pty = find_pty(d, dev, err);
	if (!pty)
		return false;
	for (GList *l = streams; l;) {
		struct stream *s = l->data;
		l = l->next;
		if (s->d != d)
			continue;
		if (!(flags & CONSOLE_FORCE)) {
			virt_error(
			    err, VERR_OPERATION_FAILED,
			    _("operation failed: Active console session exists for this domain"));
			return false;
		}
		stream_abort(s, _("console has been taken over by another session"));
	}
	int fd = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		virt_error(err, VERR_SYSTEM_ERROR, _("cannot open console %s: %s"), pty,
			   g_strerror(errno));
		return false;
	}
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	struct stream *s = g_new0(struct stream, 1);
	s->c = c;
	s->d = d;
	s->serial = 0;
	s->fd = fd;
	/* The serial is set by stream_bind_serial() from the call's header. */
	streams = g_list_append(streams, s);
	c->streams = g_list_append(c->streams, s);
	s->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, pty_readable, s);
	(void)e;
	return true;
}

void stream_bind_serial(struct client *c, uint32_t serial)
{
	/* The newest stream of this client gets the serial of the call that
	 * opened it; the reply was queued before any data can be read. */
	GList *last = g_list_last(c->streams);
	if (last)
		((struct stream *)last->data)->serial = serial;
}
