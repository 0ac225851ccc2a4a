/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hook scripts, as libvirt runs them: HOOKS_DIR/OBJECT NAME OP SUBOP -
 * with the object's XML on standard input.
 */
#ifndef KITE_DRIVER_HOOKS_H
#define KITE_DRIVER_HOOKS_H

#include <glib.h>
#include <stdbool.h>

#define HOOK_DOMAIN	     "kite"
#define HOOK_NETWORK	     "network"
#define HOOK_TIMEOUT_DEFAULT 30

/* Runs the hook; a failure or timeout is VERR_HOOK_SCRIPT_FAILED with the
 * hook's stderr. No hooks directory or no script: success. */
bool daemon_hook(const char *object, const char *name, const char *op, const char *subop,
		 const char *xml, GError **err);
/* Same for hooks whose failure cannot stop anything: logged only. */
void daemon_hook_notify(const char *object, const char *name, const char *op, const char *subop,
			const char *xml);

#endif
