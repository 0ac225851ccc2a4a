/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "main-loop.h"
#include "options.h"
#include "vl.h"

enum chr_kind { CHR_NULL, CHR_STDIO, CHR_FILE, CHR_PTY, CHR_SOCKET };

#define MAX_MUX 4
#define INBUF	4096

struct chardev {
	char *id;
	enum chr_kind kind;
	int in_fd, out_fd; /* -1 when none (socket: the connection) */
	int listen_fd;
	bool server, wait, is_unix, nodelay;
	char *path; /* unix path, file path, or pty name */
	char *host, *port;
	bool created_path; /* we bound the unix socket: unlink at exit */
	bool mux;
	struct {
		const struct chr_frontend *fe;
		void *opaque;
	} fes[MAX_MUX];
	int nfe, focus;
	bool escape_pending;
	uint8_t inbuf[INBUF];
	size_t in_len, in_off;
	bool input_stalled;
	bool input_retry_queued;
	bool deleted; /* chardev_delete() ran while retry_input() was queued */
	struct chardev *next;
};

static struct chardev *chardevs;
static struct termios saved_tty;
static bool tty_saved;

struct chardev *chardev_next(struct chardev *prev)
{
	return prev ? prev->next : chardevs;
}

struct chardev *chardev_find(const char *id)
{
	for (struct chardev *c = chardevs; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

bool chardev_is_mux(struct chardev *chr)
{
	return chr->mux;
}

const char *chardev_id(struct chardev *chr)
{
	return chr->id;
}

bool chardev_connected(struct chardev *chr)
{
	return chr->out_fd >= 0 || chr->kind == CHR_NULL;
}

char *chardev_filename(struct chardev *c)
{
	switch (c->kind) {
	case CHR_NULL:
		return g_strdup("null");
	case CHR_STDIO:
		return g_strdup("stdio");
	case CHR_FILE:
		return g_strdup_printf("file:%s", c->path);
	case CHR_PTY:
		return g_strdup_printf("pty:%s", c->path);
	case CHR_SOCKET:
		if (c->is_unix)
			return g_strdup_printf("%sunix:%s%s",
					       c->out_fd >= 0 ? "" : "disconnected:", c->path,
					       c->server ? ",server=on" : "");
		return g_strdup_printf("%stcp:%s:%s%s",
				       c->out_fd >= 0 ? "" : "disconnected:", c->host, c->port,
				       c->server ? ",server=on" : "");
	}
	return g_strdup("");
}

static struct chardev *chr_alloc(const char *id, enum chr_kind kind)
{
	struct chardev *c = g_new0(struct chardev, 1);
	c->id = g_strdup(id);
	c->kind = kind;
	c->in_fd = c->out_fd = c->listen_fd = -1;
	struct chardev **p = &chardevs;
	while (*p)
		p = &(*p)->next;
	*p = c;
	return c;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void send_event(struct chardev *c, int idx, enum chr_event ev)
{
	if (idx < c->nfe && c->fes[idx].fe->event)
		c->fes[idx].fe->event(c->fes[idx].opaque, ev);
}

static void broadcast_event(struct chardev *c, enum chr_event ev)
{
	if (c->mux) {
		send_event(c, c->focus, ev);
		return;
	}
	for (int i = 0; i < c->nfe; i++)
		send_event(c, i, ev);
}

void chardev_write(struct chardev *c, const void *buf, size_t len)
{
	if (!c || c->out_fd < 0)
		return;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(c->out_fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Nobody reads (full pty, slow socket): drop like a
			 * UART without flow control would. */
			return;
		}
		p += n;
		len -= n;
	}
}

static void mux_help(struct chardev *c)
{
	static const char help[] = "\r\n"
				   "C-a h    print this help\r\n"
				   "C-a x    exit emulator\r\n"
				   "C-a c    switch between console and monitor\r\n"
				   "C-a C-a  sends C-a\r\n";
	chardev_write(c, help, sizeof(help) - 1);
}

/* Deliver buffered input to the frontend(s) as far as they accept it. */
static void deliver(struct chardev *c)
{
	while (c->in_off < c->in_len) {
		if (c->nfe == 0) {
			c->in_off = c->in_len; /* nobody listens: discard */
			break;
		}
		int idx = c->mux ? c->focus : 0;
		if (c->mux && (c->escape_pending || c->inbuf[c->in_off] == 0x01)) {
			uint8_t ch = c->inbuf[c->in_off];
			if (!c->escape_pending) {
				c->escape_pending = true;
				c->in_off++;
				continue;
			}
			c->escape_pending = false;
			if (ch == 'c') {
				c->in_off++;
				send_event(c, c->focus, CHR_EVENT_CLOSED);
				c->focus = (c->focus + 1) % c->nfe;
				send_event(c, c->focus, CHR_EVENT_OPENED);
				continue;
			}
			if (ch == 'x') {
				static const char msg[] = "QEMU: Terminated\r\n";
				chardev_write(c, msg, sizeof(msg) - 1);
				kite_request_exit(0);
				c->in_off = c->in_len;
				return;
			}
			if (ch == 'h' || ch == '?') {
				c->in_off++;
				mux_help(c);
				continue;
			}
			if (ch != 0x01) {
				c->in_off++;
				continue;
			}
			/* C-a C-a: deliver one C-a */
		}
		const struct chr_frontend *fe = c->fes[idx].fe;
		size_t room = fe->can_read ? fe->can_read(c->fes[idx].opaque) : INBUF;
		if (room == 0) {
			c->input_stalled = true;
			return;
		}
		size_t n = c->in_len - c->in_off;
		if (c->mux) {
			/* stop at the next escape so it is interpreted */
			const uint8_t *esc = memchr(c->inbuf + c->in_off + 1, 0x01, n - 1);
			if (c->inbuf[c->in_off] != 0x01 && esc)
				n = esc - (c->inbuf + c->in_off);
			if (c->inbuf[c->in_off] == 0x01)
				n = 1;
		}
		if (n > room)
			n = room;
		fe->read(c->fes[idx].opaque, c->inbuf + c->in_off, n);
		c->in_off += n;
	}
	c->in_off = c->in_len = 0;
	c->input_stalled = false;
}

static void disconnect(struct chardev *c);
static void fd_readable(int fd, uint32_t events, void *opaque);

static void update_watch(struct chardev *c)
{
	if (c->in_fd < 0)
		return;
	bool want = c->in_len == 0;
	ml_mod_fd(c->in_fd, want ? EPOLLIN : 0);
}

static void fd_readable(int fd, uint32_t events, void *opaque)
{
	struct chardev *c = opaque;
	if (c->in_len)
		return;
	ssize_t n = read(fd, c->inbuf, sizeof(c->inbuf));
	if (n > 0) {
		c->in_len = n;
		c->in_off = 0;
		deliver(c);
		update_watch(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 && errno == EIO && c->kind == CHR_PTY) {
		/* no process has the pty open: poll again later */
		ml_mod_fd(fd, 0);
		return;
	}
	(void)events;
	/* EOF or error */
	if (c->kind == CHR_SOCKET) {
		disconnect(c);
	} else {
		ml_del_fd(fd);
		c->in_fd = -1;
		/* as QEMU's fd chardevs: the end of input is a hang-up (qtest on
		 * stdio exits on it; other frontends ignore it) */
		broadcast_event(c, CHR_EVENT_CLOSED);
	}
}

static void retry_input(void *opaque)
{
	struct chardev *c = opaque;
	kite_lock();
	c->input_retry_queued = false;
	if (c->deleted) {
		g_free(c);
		kite_unlock();
		return;
	}
	if (c->in_len) {
		deliver(c);
		update_watch(c);
	}
	kite_unlock();
}

void chardev_input_ready(struct chardev *c)
{
	if (!c || !c->input_stalled || c->input_retry_queued)
		return;
	c->input_retry_queued = true;
	ml_call_from_thread(retry_input, c);
}

static void accept_ready(int fd, uint32_t events, void *opaque);

static void connected(struct chardev *c, int fd)
{
	set_nonblock(fd);
	c->in_fd = c->out_fd = fd;
	c->in_len = c->in_off = 0;
	ml_add_fd(fd, EPOLLIN, fd_readable, c);
	if (c->listen_fd >= 0)
		ml_mod_fd(c->listen_fd, 0); /* one client at a time, like QEMU */
	broadcast_event(c, CHR_EVENT_OPENED);
}

static void disconnect(struct chardev *c)
{
	if (c->out_fd < 0)
		return;
	ml_del_fd(c->out_fd);
	close(c->out_fd);
	c->in_fd = c->out_fd = -1;
	c->in_len = c->in_off = 0;
	broadcast_event(c, CHR_EVENT_CLOSED);
	if (c->listen_fd >= 0)
		ml_mod_fd(c->listen_fd, EPOLLIN);
}

static void accept_ready(int fd, uint32_t events, void *opaque)
{
	struct chardev *c = opaque;
	(void)events;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (c->out_fd >= 0) {
		close(cfd);
		return;
	}
	if (!c->is_unix) {
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	connected(c, cfd);
}

static int socket_open(struct chardev *c, GError **err)
{
	int fd = -1;
	if (c->is_unix) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(c->path) >= sizeof(sa.sun_path)) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("UNIX socket path '%s' is too long"), c->path);
			return -1;
		}
		strcpy(sa.sun_path, c->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		if (c->server) {
			unlink(c->path);
			if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
				goto fail;
			c->created_path = true;
			c->listen_fd = fd;
		} else {
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				goto fail;
			c->out_fd = c->in_fd = fd;
		}
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = c->server ? AI_PASSIVE : 0};
	struct addrinfo *res = NULL;
	const char *host = c->host && *c->host ? c->host : (c->server ? NULL : "localhost");
	int gr = getaddrinfo(host, c->port, &hints, &res);
	if (gr) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("address resolution failed for %s:%s: %s"), c->host ? c->host : "",
			    c->port, gai_strerror(gr));
		return -1;
	}
	int saved = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		if (c->server) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
				c->listen_fd = fd;
				break;
			}
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->in_fd = c->out_fd = fd;
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved ? saved : ECONNREFUSED;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	char *name = chardev_filename(c);
	g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Failed to %s socket %s: %s"),
		    c->server ? _("bind") : _("connect"), name + (c->out_fd < 0 ? 13 : 0),
		    g_strerror(saved));
	g_free(name);
	return -1;
}

static void restore_tty(void)
{
	if (tty_saved)
		tcsetattr(0, TCSANOW, &saved_tty);
}

static int open_backend(struct chardev *c, GError **err)
{
	switch (c->kind) {
	case CHR_NULL:
		return 0;
	case CHR_STDIO:
		for (struct chardev *o = chardevs; o; o = o->next) {
			if (o != c && o->kind == CHR_STDIO) {
				g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
					    _("cannot use stdio by multiple character devices"));
				return -1;
			}
		}
		if (kite_daemonize_requested()) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("cannot use stdio with -daemonize"));
			return -1;
		}
		c->in_fd = 0;
		c->out_fd = 1;
		if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
			struct termios t = saved_tty;
			/* raw input, but keep Ctrl-C as a signal like QEMU's
			 * default signal=on; output processing stays on */
			t.c_iflag &=
			    ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
			t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
			t.c_cflag |= CS8;
			t.c_cc[VMIN] = 1;
			t.c_cc[VTIME] = 0;
			tcsetattr(0, TCSANOW, &t);
			tty_saved = true;
		}
		return 0;
	case CHR_FILE:
		c->out_fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (c->out_fd < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Could not open '%s': %s"),
				    c->path, g_strerror(errno));
			return -1;
		}
		return 0;
	case CHR_PTY: {
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Failed to create PTY: %s"), g_strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		struct termios t;
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
		c->path = g_strdup(ptsname(fd));
		c->in_fd = c->out_fd = fd;
		/* QEMU prints exactly this; libvirt and tools parse it */
		fprintf(stderr, "char device redirected to %s (label %s)\n", c->path, c->id);
		return 0;
	}
	case CHR_SOCKET:
		return socket_open(c, err);
	}
	return 0;
}

static int id_check(const char *id, GError **err)
{
	if (!id || !*id) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Parameter 'id' is missing"));
		return -1;
	}
	if (chardev_find(id)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("attempt to add duplicate property '%s' to object (type "
			      "'container')"),
			    id);
		return -1;
	}
	return 0;
}

static void chr_remove(struct chardev *c)
{
	for (struct chardev **p = &chardevs; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	g_free(c->id);
	g_free(c->path);
	g_free(c->host);
	g_free(c->port);
	g_free(c);
}

/* host:port -> split (host may be empty) */
static bool split_host_port(const char *s, char **host, char **port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1])
		return false;
	*host = g_strndup(s, colon - s);
	*port = g_strdup(colon + 1);
	return true;
}

struct chardev *chardev_new(const char *opts, GError **err)
{
	struct kvlist *kv = kv_parse(opts, "backend", err);
	if (!kv)
		return NULL;
	struct chardev *c = NULL;
	const char *backend = kv_get(kv, "backend");
	const char *id = kv_get(kv, "id");
	bool b;
	if (!backend) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("chardev: no backend given"));
		goto out;
	}
	if (id_check(id, err) < 0)
		goto out;
	if (!strcmp(backend, "null")) {
		c = chr_alloc(id, CHR_NULL);
	} else if (!strcmp(backend, "stdio")) {
		c = chr_alloc(id, CHR_STDIO);
		if (!kv_get_bool(kv, "signal", true, &b, err))
			goto fail;
	} else if (!strcmp(backend, "file")) {
		const char *path = kv_get(kv, "path");
		if (!path) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("chardev: file: no filename given"));
			goto out;
		}
		c = chr_alloc(id, CHR_FILE);
		c->path = g_strdup(path);
	} else if (!strcmp(backend, "pty")) {
		c = chr_alloc(id, CHR_PTY);
	} else if (!strcmp(backend, "socket")) {
		const char *path = kv_get(kv, "path");
		const char *host = kv_get(kv, "host");
		const char *port = kv_get(kv, "port");
		c = chr_alloc(id, CHR_SOCKET);
		if (path) {
			c->is_unix = true;
			c->path = g_strdup(path);
		} else if (port) {
			c->host = g_strdup(host ? host : "");
			c->port = g_strdup(port);
		} else {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("chardev: socket: no host given"));
			goto fail;
		}
		if (!kv_get_bool(kv, "server", false, &c->server, err) ||
		    !kv_get_bool(kv, "wait", true, &c->wait, err) ||
		    !kv_get_bool(kv, "nodelay", false, &c->nodelay, err) ||
		    !kv_get_bool(kv, "ipv4", false, &b, err) ||
		    !kv_get_bool(kv, "ipv6", false, &b, err))
			goto fail;
		if (!c->server && kv_has(kv, "wait")) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("'wait' option is incompatible with socket in client connect "
				      "mode"));
			goto fail;
		}
	} else {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("'%s' is not a valid char driver name"), backend);
		goto out;
	}
	if (!kv_get_bool(kv, "mux", false, &c->mux, err))
		goto fail;
	kv_get(kv, "logfile"); /* accepted below only when absent */
	if (kv_has(kv, "logfile")) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("chardev: property 'logfile' is not supported yet"));
		goto fail;
	}
	if (!kv_check_all_used(kv, err))
		goto fail;
	if (open_backend(c, err) < 0)
		goto fail;
	goto out;
fail:
	if (c)
		chr_remove(c);
	c = NULL;
out:
	kv_free(kv);
	return c;
}

static int legacy_counter;

struct chardev *chardev_new_legacy(const char *spec, const char *id, GError **err)
{
	char *gen_id = NULL;
	if (!id) {
		gen_id = g_strdup_printf("compat_%d", legacy_counter++);
		id = gen_id;
	}
	struct chardev *c = NULL;
	char *opts = NULL;
	bool mux = false;
	if (g_str_has_prefix(spec, "mon:")) {
		spec += 4;
		mux = true;
	}
	if (!strcmp(spec, "none")) {
		goto out;
	} else if (g_str_has_prefix(spec, "chardev:")) {
		c = chardev_find(spec + 8);
		if (!c)
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("chardev '%s' not found"),
				    spec + 8);
		goto out;
	} else if (!strcmp(spec, "stdio") || !strcmp(spec, "null") || !strcmp(spec, "pty")) {
		opts = g_strdup_printf("%s,id=%s", spec, id);
	} else if (g_str_has_prefix(spec, "file:")) {
		GString *s = g_string_new("file,id=");
		g_string_append(s, id);
		g_string_append(s, ",path=");
		for (const char *p = spec + 5; *p; p++) {
			if (*p == ',')
				g_string_append_c(s, ',');
			g_string_append_c(s, *p);
		}
		opts = g_string_free(s, false);
	} else if (g_str_has_prefix(spec, "unix:")) {
		const char *rest = spec + 5;
		const char *comma = strchr(rest, ',');
		char *path = comma ? g_strndup(rest, comma - rest) : g_strdup(rest);
		opts = g_strdup_printf("socket,id=%s,path=%s%s", id, path, comma ? comma : "");
		g_free(path);
	} else if (g_str_has_prefix(spec, "tcp:")) {
		const char *rest = spec + 4;
		const char *comma = strchr(rest, ',');
		char *hp = comma ? g_strndup(rest, comma - rest) : g_strdup(rest);
		char *host, *port;
		if (!split_host_port(hp, &host, &port)) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("error parsing address '%s'"), hp);
			g_free(hp);
			goto out;
		}
		opts = g_strdup_printf("socket,id=%s,host=%s,port=%s%s", id, host, port,
				       comma ? comma : "");
		g_free(host);
		g_free(port);
		g_free(hp);
	} else {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("'%s' is not a valid char driver name"), spec);
		goto out;
	}
	c = chardev_new(opts, err);
	if (c && mux)
		c->mux = true;
out:
	g_free(opts);
	g_free(gen_id);
	return c;
}

int chardev_attach(struct chardev *c, const struct chr_frontend *fe, void *opaque, GError **err)
{
	if (c->nfe >= (c->mux ? MAX_MUX : 1)) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC, _("Device '%s' is in use"), c->id);
		return -1;
	}
	c->fes[c->nfe].fe = fe;
	c->fes[c->nfe].opaque = opaque;
	c->nfe++;
	/* Backends that are connected from the start announce it once the
	 * loop runs (chardev_start_all). */
	return 0;
}

void chardev_detach(struct chardev *c, const struct chr_frontend *fe, void *opaque)
{
	for (int i = 0; i < c->nfe; i++) {
		if (c->fes[i].fe != fe || c->fes[i].opaque != opaque)
			continue;
		memmove(&c->fes[i], &c->fes[i + 1], (c->nfe - i - 1) * sizeof(c->fes[0]));
		c->nfe--;
		if (c->focus > i || c->focus >= c->nfe)
			c->focus = c->focus > 0 ? c->focus - 1 : 0;
		return;
	}
}

void chardev_delete(struct chardev *c)
{
	for (struct chardev **p = &chardevs; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (c->listen_fd >= 0) {
		ml_del_fd(c->listen_fd);
		close(c->listen_fd);
	}
	if (c->in_fd >= 0)
		ml_del_fd(c->in_fd);
	/* stdio is the process's own: never closed */
	if (c->kind != CHR_STDIO) {
		if (c->in_fd >= 0 && c->in_fd != c->out_fd)
			close(c->in_fd);
		if (c->out_fd >= 0)
			close(c->out_fd);
	}
	if (c->created_path && c->path)
		unlink(c->path);
	g_free(c->id);
	g_free(c->path);
	g_free(c->host);
	g_free(c->port);
	c->nfe = 0;
	c->in_fd = c->out_fd = c->listen_fd = -1;
	/* a queued retry_input() still points here: it frees */
	if (c->input_retry_queued)
		c->deleted = true;
	else
		g_free(c);
}

static void announce(struct chardev *c)
{
	if (c->out_fd >= 0 || c->kind == CHR_NULL) {
		if (c->mux)
			send_event(c, c->focus, CHR_EVENT_OPENED);
		else
			broadcast_event(c, CHR_EVENT_OPENED);
	}
}

int chardev_start_all(GError **err)
{
	for (struct chardev *c = chardevs; c; c = c->next) {
		if (c->kind == CHR_SOCKET && c->server && c->wait && c->out_fd < 0) {
			char *name = chardev_filename(c);
			fprintf(stderr, "%s: info: QEMU waiting for connection on: %s\n",
				kite_progname, name);
			g_free(name);
			int cfd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd < 0) {
				g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
					    _("chardev '%s': accept failed: %s"), c->id,
					    g_strerror(errno));
				return -1;
			}
			set_nonblock(cfd);
			c->in_fd = c->out_fd = cfd;
		}
		if (c->listen_fd >= 0)
			ml_add_fd(c->listen_fd, c->out_fd >= 0 ? 0 : EPOLLIN, accept_ready, c);
		if (c->in_fd >= 0) {
			if (c->kind != CHR_STDIO || !isatty(c->in_fd))
				set_nonblock(c->in_fd);
			if (ml_add_fd(c->in_fd, EPOLLIN, fd_readable, c) < 0) {
				/* a regular file or /dev/null on stdin: no input */
				c->in_fd = -1;
			}
		}
		announce(c);
	}
	return 0;
}

void chardev_cleanup_all(void)
{
	for (struct chardev *c = chardevs; c; c = c->next) {
		if (c->created_path && c->path)
			unlink(c->path);
	}
	restore_tty();
}
