/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Listening sockets and client connections: framing of libvirt RPC packets
 * on a stream socket, the output queue, keepalive and the idle timer.
 *
 * glib's main loop with plain non-blocking fds (g_unix_fd_add): one thread
 * serves every client, the domains' QMP sockets and the emulator processes,
 * so no state needs locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "server.h"

#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT	     6

static GList *clients;
static int listen_fds[2] = {-1, -1};
static guint listen_watches[2];
static char *socket_paths[2];
static guint idle_timer;
static guint keepalive_timer;
static idle_check_fn idle_busy;

GList *server_clients(void)
{
	return clients;
}

void client_ref(struct client *c)
{
	c->refs++;
}

static void client_free(struct client *c)
{
	g_queue_clear_full(&c->out, (GDestroyNotify)g_bytes_unref);
	g_free(c->pkt);
	g_free(c->uri);
	if (c->events)
		g_array_unref(c->events);
	g_free(c);
}

void client_unref(struct client *c)
{
	if (--c->refs == 0)
		client_free(c);
}

static void client_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	log_debug("client fd %d disconnected", c->fd);
	if (c->in_watch)
		g_source_remove(c->in_watch);
	if (c->out_watch)
		g_source_remove(c->out_watch);
	c->in_watch = c->out_watch = 0;
	events_client_gone(c);
	streams_client_gone(c);
	close(c->fd);
	c->fd = -1;
	clients = g_list_remove(clients, c);
	server_activity();
	client_unref(c);
}

/* Write as much of the queue as the socket takes. False on a fatal error. */
static bool client_flush(struct client *c)
{
	GBytes *b;

	while ((b = g_queue_peek_head(&c->out))) {
		gsize len;
		const uint8_t *data = g_bytes_get_data(b, &len);
		ssize_t n = send(c->fd, data + c->out_off, len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			return false;
		}
		c->out_off += n;
		if (c->out_off == len) {
			g_bytes_unref(g_queue_pop_head(&c->out));
			c->out_off = 0;
		}
	}
	return true;
}

static gboolean client_writable(int fd, GIOCondition cond, gpointer opaque);

static void client_update_out_watch(struct client *c)
{
	if (c->dead)
		return;
	if (g_queue_is_empty(&c->out)) {
		if (c->out_watch) {
			g_source_remove(c->out_watch);
			c->out_watch = 0;
		}
		if (c->close_after_flush)
			client_kill(c);
	} else if (!c->out_watch) {
		c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, client_writable, c);
	}
}

static gboolean client_writable(int fd, GIOCondition cond, gpointer opaque)
{
	struct client *c = opaque;

	(void)fd;
	(void)cond;
	if (!client_flush(c)) {
		c->out_watch = 0;
		client_kill(c);
		return G_SOURCE_REMOVE;
	}
	if (g_queue_is_empty(&c->out)) {
		c->out_watch = 0;
		if (c->close_after_flush)
			client_kill(c);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

void client_send(struct client *c, GByteArray *pkt)
{
	if (c->dead || c->close_after_flush) {
		g_byte_array_unref(pkt);
		return;
	}
	g_queue_push_tail(&c->out, g_byte_array_free_to_bytes(pkt));
	if (!c->out_watch && !client_flush(c)) {
		client_kill(c);
		return;
	}
	client_update_out_watch(c);
}

void client_close(struct client *c, bool flush)
{
	if (c->dead)
		return;
	if (!flush) {
		client_kill(c);
		return;
	}
	c->close_after_flush = true;
	if (c->in_watch) {
		g_source_remove(c->in_watch);
		c->in_watch = 0;
	}
	client_update_out_watch(c);
}

/* A length word that no packet can have: answer once and hang up. */
static void client_bad_length(struct client *c, uint32_t len)
{
	struct rpc_header h = {
	    .prog = RPC_PROGRAM_REMOTE,
	    .vers = RPC_PROTOCOL_VERSION,
	    .proc = 0,
	    .type = RPC_REPLY,
	    .serial = 0,
	};
	g_autofree char *msg = NULL;

	if (len < RPC_HEADER_SIZE)
		msg = g_strdup_printf(_("packet length %u is shorter than the %u-byte header"), len,
				      RPC_HEADER_SIZE);
	else
		msg = g_strdup_printf(_("packet length %u exceeds the maximum of %u bytes"), len,
				      RPC_PACKET_MAX);
	log_info("client fd %d: %s", c->fd, msg);
	client_send(c, rpc_error_packet(&h, VERR_RPC, VFROM_RPC, msg));
	client_close(c, true);
}

static gboolean client_readable(int fd, GIOCondition cond, gpointer opaque)
{
	struct client *c = opaque;
	uint8_t buf[65536];
	ssize_t n;

	(void)cond;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->in_watch = 0;
		client_kill(c);
		return G_SOURCE_REMOVE;
	}
	c->last_rx_us = g_get_monotonic_time();
	c->pings_unanswered = 0;

	client_ref(c);
	size_t off = 0;
	while (off < (size_t)n && !c->dead && !c->close_after_flush) {
		if (c->len_have < 4) {
			size_t take = MIN(4 - c->len_have, (size_t)n - off);
			memcpy(c->len_buf + c->len_have, buf + off, take);
			c->len_have += take;
			off += take;
			if (c->len_have < 4)
				break;
			uint32_t len = (uint32_t)c->len_buf[0] << 24 |
				       (uint32_t)c->len_buf[1] << 16 |
				       (uint32_t)c->len_buf[2] << 8 | c->len_buf[3];
			if (len < RPC_HEADER_SIZE || len > RPC_PACKET_MAX) {
				client_bad_length(c, len);
				break;
			}
			c->pkt_len = len - 4;
			c->pkt_have = 0;
			c->pkt = g_malloc(c->pkt_len);
		}
		size_t take = MIN(c->pkt_len - c->pkt_have, (size_t)n - off);
		memcpy(c->pkt + c->pkt_have, buf + off, take);
		c->pkt_have += take;
		off += take;
		if (c->pkt_have == c->pkt_len) {
			uint8_t *pkt = c->pkt;
			size_t len = c->pkt_len;
			c->pkt = NULL;
			c->len_have = 0;
			dispatch_packet(c, pkt, len);
			g_free(pkt);
		}
	}
	/* client_kill()/client_close() already removed this source. */
	bool keep = !c->dead && c->in_watch != 0;
	client_unref(c);
	return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean server_accept(int fd, GIOCondition cond, gpointer opaque)
{
	bool ro = GPOINTER_TO_INT(opaque);
	int cfd;

	(void)cond;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_info("accept: %s", g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	struct client *c = g_new0(struct client, 1);
	c->refs = 1;
	c->fd = cfd;
	c->ro_socket = ro;
	c->readonly = ro;
	c->last_rx_us = g_get_monotonic_time();
	g_queue_init(&c->out);
	c->in_watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, client_readable, c);
	clients = g_list_append(clients, c);
	log_debug("client fd %d connected on the %s socket", cfd, ro ? "read-only" : "read-write");
	server_activity();
	return G_SOURCE_CONTINUE;
}

static gboolean keepalive_tick(gpointer opaque)
{
	gint64 now = g_get_monotonic_time();

	(void)opaque;
	for (GList *l = clients; l;) {
		struct client *c = l->data;
		l = l->next;
		if (!c->keepalive || c->dead)
			continue;
		if (now - c->last_rx_us <
		    (gint64)KEEPALIVE_INTERVAL_S * G_USEC_PER_SEC * (c->pings_unanswered + 1))
			continue;
		if (c->pings_unanswered >= KEEPALIVE_COUNT) {
			log_info("client fd %d: no answer to %u keepalive pings, closing", c->fd,
				 c->pings_unanswered);
			client_kill(c);
			continue;
		}
		struct rpc_header h = {
		    .prog = RPC_PROGRAM_KEEPALIVE,
		    .vers = RPC_PROTOCOL_VERSION,
		    .proc = KEEPALIVE_PING,
		    .type = RPC_MESSAGE,
		};
		GByteArray *p = rpc_packet_new(&h);
		rpc_packet_finish(p);
		c->pings_unanswered++;
		client_send(c, p);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean idle_expired(gpointer opaque)
{
	(void)opaque;
	idle_timer = 0;
	log_info("idle for %d s with no clients and no running domains, exiting", cfg.timeout);
	server_quit();
	return G_SOURCE_REMOVE;
}

void server_activity(void)
{
	if (cfg.timeout <= 0)
		return;
	bool idle = clients == NULL && !(idle_busy && idle_busy());
	if (idle && !idle_timer)
		idle_timer = g_timeout_add_seconds(cfg.timeout, idle_expired, NULL);
	else if (!idle && idle_timer) {
		g_source_remove(idle_timer);
		idle_timer = 0;
	}
}

static int listen_on(const char *path, mode_t mode, GError **err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    _("socket path '%s' is too long"), path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* A socket left by a daemon that died is stale only if nobody answers. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    _("another daemon is already listening on '%s'"), path);
		return -1;
	}
	unlink(path);
	mode_t old = umask(0777 & ~mode);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), _("cannot listen on '%s': %s"),
		    path, g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* systemd socket activation: LISTEN_FDS sockets from fd 3 on, told apart
 * by their path (the read-only one ends in "-ro"). */
static bool take_activated_sockets(void)
{
	const char *pid = g_getenv("LISTEN_PID");
	const char *fds = g_getenv("LISTEN_FDS");
	if (!pid || !fds || atoi(pid) != (int)getpid())
		return false;
	int n = atoi(fds);
	for (int fd = 3; fd < 3 + n && fd < 3 + 2; fd++) {
		struct sockaddr_un sun;
		socklen_t len = sizeof(sun);
		if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 || sun.sun_family != AF_UNIX)
			continue;
		int i = g_str_has_suffix(sun.sun_path, "-ro") ? 1 : 0;
		if (listen_fds[i] >= 0)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		listen_fds[i] = fd;
		socket_paths[i] = g_strdup(sun.sun_path);
	}
	g_unsetenv("LISTEN_PID");
	g_unsetenv("LISTEN_FDS");
	return listen_fds[0] >= 0;
}

bool server_start(idle_check_fn busy, GError **err)
{
	idle_busy = busy;
	if (take_activated_sockets()) {
		for (int i = 0; i < 2; i++) {
			if (listen_fds[i] < 0)
				continue;
			listen_watches[i] = g_unix_fd_add(listen_fds[i], G_IO_IN, server_accept,
							  GINT_TO_POINTER(i == 1));
			log_info("listening on %s (socket activation)", socket_paths[i]);
		}
		keepalive_timer = g_timeout_add_seconds(1, keepalive_tick, NULL);
		server_activity();
		return true;
	}
	if (g_mkdir_with_parents(cfg.listen_dir, 0755) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    _("cannot create socket directory '%s': %s"), cfg.listen_dir,
			    g_strerror(errno));
		return false;
	}
	socket_paths[0] = g_build_filename(cfg.listen_dir, "virtkited-sock", NULL);
	socket_paths[1] = g_build_filename(cfg.listen_dir, "virtkited-sock-ro", NULL);
	/* The session daemon serves only its owner, so it has no read-only
	 * socket; the system one has both (0600 rw for root, 0666 ro). */
	int nsock = cfg.session ? 1 : 2;
	for (int i = 0; i < nsock; i++) {
		listen_fds[i] = listen_on(socket_paths[i], i == 0 ? 0600 : 0666, err);
		if (listen_fds[i] < 0) {
			server_stop();
			return false;
		}
		listen_watches[i] =
		    g_unix_fd_add(listen_fds[i], G_IO_IN, server_accept, GINT_TO_POINTER(i == 1));
		log_info("listening on %s", socket_paths[i]);
	}
	keepalive_timer = g_timeout_add_seconds(1, keepalive_tick, NULL);
	server_activity();
	return true;
}

void server_stop(void)
{
	while (clients)
		client_kill(clients->data);
	for (int i = 0; i < 2; i++) {
		if (listen_watches[i])
			g_source_remove(listen_watches[i]);
		listen_watches[i] = 0;
		if (listen_fds[i] >= 0) {
			close(listen_fds[i]);
			unlink(socket_paths[i]);
		}
		listen_fds[i] = -1;
		g_clear_pointer(&socket_paths[i], g_free);
	}
	if (keepalive_timer)
		g_source_remove(keepalive_timer);
	keepalive_timer = 0;
	if (idle_timer)
		g_source_remove(idle_timer);
	idle_timer = 0;
}
