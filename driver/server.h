/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_DRIVER_SERVER_H
#define KITE_DRIVER_SERVER_H

#include <glib.h>
#include <stdbool.h>

/* Returns true while something other than a client keeps the daemon busy
 * (running domains), which holds off the idle timeout. */
typedef bool (*idle_check_fn)(void);

bool server_start(idle_check_fn busy, GError **err);
void server_stop(void);
/* Leave the main loop (main.c). */
void server_quit(void);

#endif
