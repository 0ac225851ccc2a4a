/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt-compatible hook scripts of the daemon: <hooks_dir>/kite for
 * domains (libvirt's "qemu" hook) and <hooks_dir>/network for networks.
 * Running them is netmodels/'s kite_hook_run(); this file only maps its
 * errors onto the libvirt error a client expects.
 */
#include <glib/gi18n.h>

#include "daemon.h"
#include "hooks.h"
#include "kite-netmodel.h"
#include "protocol.h"
#include "rpc.h"

bool daemon_hook(const char *object, const char *name, const char *op, const char *subop,
		 const char *xml, GError **err)
{
	g_autoptr(GError) e = NULL;

	if (!cfg.hooks_dir)
		return true;
	log_debug("hook %s %s %s %s", object, name, op, subop);
	if (kite_hook_run(cfg.hooks_dir, object, name, op, subop, xml, cfg.hook_timeout, &e))
		return true;
	virt_error(err, VERR_HOOK_SCRIPT_FAILED, _("Hook script execution failed: %s"), e->message);
	return false;
}

void daemon_hook_notify(const char *object, const char *name, const char *op, const char *subop,
			const char *xml)
{
	g_autoptr(GError) e = NULL;

	/* The operation already happened: the hook cannot undo it, so its
	 * failure is only worth a log line (libvirt ignores it likewise). */
	if (!daemon_hook(object, name, op, subop, xml, &e))
		log_info("%s", e->message);
}
