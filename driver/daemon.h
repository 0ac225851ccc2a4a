/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtkited's shared state: configuration, client connections and the
 * entry points the parts call into each other with. Everything runs on the
 * one glib main loop thread.
 */
#ifndef KITE_DRIVER_DAEMON_H
#define KITE_DRIVER_DAEMON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpc.h"

struct daemon_config {
	bool session;	  /* kite:///session (non-root) instead of /system */
	char *listen_dir; /* where virtkited-sock{,-ro} live */
	char *etc_dir;	  /* persistent definitions: <root>/etc/kite */
	char *run_dir;	  /* runtime state: <root>/run/kite */
	char *log_dir;	  /* per-domain emulator logs */
	char *emulator;	  /* path of kite */
	char *pid_file;
	char *log_file;
	char *hooks_dir;     /* hook scripts: <etc>/hooks unless configured */
	int hook_timeout;    /* seconds before a hook is killed */
	int default_network; /* define libvirt's "default" network once: 1, never: 0, unset: -1 */
	int timeout;	     /* idle seconds before exit; 0 = never */
	bool verbose;
};

extern struct daemon_config cfg;

void log_msg(bool debug, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
bool log_open_file(const char *path);
void daemon_set_main_loop(GMainLoop *loop);
#define log_info(...)  log_msg(false, __VA_ARGS__)
#define log_debug(...) log_msg(true, __VA_ARGS__)

struct stream;

struct client {
	int refs;
	int fd;
	guint in_watch;
	guint out_watch;
	bool dead;
	bool ro_socket; /* came in through virtkited-sock-ro */
	bool readonly;	/* ro socket or VIR_CONNECT_RO */
	bool opened;	/* connect_open done */
	bool close_after_flush;
	char *uri;

	/* Input: the length word, then the rest of the packet. */
	uint8_t len_buf[4];
	size_t len_have;
	uint8_t *pkt;
	size_t pkt_len;
	size_t pkt_have;

	/* Output queue of whole packets (GBytes). */
	GQueue out;
	size_t out_off;

	/* Keepalive: after the client asked feature 10 we ping it when idle. */
	bool keepalive;
	gint64 last_rx_us;
	unsigned pings_unanswered;

	/* Event registrations: struct event_reg. */
	GArray *events;
	GList *streams;
};

void client_ref(struct client *c);
void client_unref(struct client *c);

/*
 * A call whose answer waits for something else (the guest letting go of a
 * NIC): its procedure takes it with call_defer() and returns true without
 * the reply going out; call_answer() sends the reply the procedure wrote
 * (err NULL) or err, once, and frees the call. Meanwhile the daemon serves
 * other calls, of this client too. call_defer() is NULL outside a call.
 */
struct deferred_call;
struct deferred_call *call_defer(void);
void call_answer(struct deferred_call *dc, const GError *err);
/* Queue one finished packet; takes ownership. */
void client_send(struct client *c, GByteArray *pkt);
/* Drop the connection (after what is queued, when flush is true). */
void client_close(struct client *c, bool flush);
/* All connected clients (struct client *), for event delivery. */
GList *server_clients(void);
/* Called whenever the number of clients or running domains changes, so the
 * idle timer can be re-evaluated. */
void server_activity(void);

/*
 * Persistent definitions of domains and networks (domain.c). kind is
 * "domains" or "networks": <etc>/KIND/NAME.xml holds a definition, and a
 * link to it as <etc>/KIND/autostart/NAME.xml marks it for autostart.
 */
char *store_config_path(const char *kind, const char *name);
char *store_autostart_path(const char *kind, const char *name);
/* Undefine: remove the definition, then its autostart link if any. */
bool store_remove(const char *kind, const char *name, GError **err);
bool store_set_autostart(const char *kind, const char *name, bool on, GError **err);
/* The names of the NAME.xml files in dir, in directory order; none when
 * dir cannot be read. */
GPtrArray *store_xml_files(const char *dir);

/* Dispatch one complete packet (without its length word). */
void dispatch_packet(struct client *c, const uint8_t *pkt, size_t len);

/* Events (events.c). */
void events_client_gone(struct client *c);
bool events_proc(struct client *c, int proc, struct xdr_in *in, GByteArray *out, GError **err);

/* Console streams (console.c). */
void streams_client_gone(struct client *c);
void stream_packet(struct client *c, const struct rpc_header *h, const uint8_t *data, size_t len);
void stream_bind_serial(struct client *c, uint32_t serial);

#endif
