/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character devices (-chardev, and the legacy -serial/-monitor/-qmp
 * strings): stdio, file, pty, null, socket (unix/tcp, server or client),
 * and a mux that lets a serial port and a monitor share one backend
 * (mon:stdio, -nographic), switched with C-a c.
 */
#ifndef KITE_CHARDEV_H
#define KITE_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chr_event {
	CHR_EVENT_OPENED, /* a client connected / the frontend got the focus */
	CHR_EVENT_CLOSED,
};

struct chr_frontend {
	/* How many bytes the frontend can take now (0 stops input until
	 * chardev_input_ready()). */
	size_t (*can_read)(void *opaque);
	void (*read)(void *opaque, const uint8_t *buf, size_t len);
	void (*event)(void *opaque, enum chr_event ev);
};

struct chardev;

/* -chardev BACKEND,id=ID,... */
struct chardev *chardev_new(const char *opts, GError **err);
/* Legacy forms of -serial/-monitor/-qmp: "stdio", "file:PATH", "pty",
 * "null", "none", "chardev:ID", "mon:SPEC", "unix:PATH[,server][,nowait]",
 * "tcp:HOST:PORT[,server][,nowait]". Returns NULL without err for "none". */
struct chardev *chardev_new_legacy(const char *spec, const char *id, GError **err);
struct chardev *chardev_find(const char *id);
/* True for "mon:" specs: the caller should also put a monitor on it. */
bool chardev_is_mux(struct chardev *chr);

int chardev_attach(struct chardev *chr, const struct chr_frontend *fe, void *opaque, GError **err);
/* The frontend (fe, opaque) lets go of the chardev, which may then take
 * another one (e.g. a guestfwd=...chardev:ID whose netdev was deleted). */
void chardev_detach(struct chardev *chr, const struct chr_frontend *fe, void *opaque);
/* Remove a chardev its user made for itself (guestfwd's inline chardevs,
 * as QEMU deletes them with the netdev); frontends must be detached. */
void chardev_delete(struct chardev *chr);
/* Write to the backend; data is dropped when nobody is connected. */
void chardev_write(struct chardev *chr, const void *buf, size_t len);
/* Frontend has room again (any thread). */
void chardev_input_ready(struct chardev *chr);
bool chardev_connected(struct chardev *chr);
const char *chardev_id(struct chardev *chr);
/* QEMU's "filename" of query-chardev, e.g. "unix:/tmp/x,server=on" */
char *chardev_filename(struct chardev *chr);

/* Start accepting / reading; called once the main loop exists. */
int chardev_start_all(GError **err);
/* Remove unix socket files kite created; restore the terminal. */
void chardev_cleanup_all(void);

/* Iterate all chardevs. */
struct chardev *chardev_next(struct chardev *prev);

#endif
