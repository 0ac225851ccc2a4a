/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One error reporting path for kite: every failure is a GError in the
 * KITE_ERROR domain whose code is the QMP error class, so the same error can
 * be printed on stderr ("kite: ...") or returned to a QMP client unchanged.
 */
#ifndef KITE_ERROR_H
#define KITE_ERROR_H

#include <glib.h>

#define KITE_ERROR (kite_error_quark())
GQuark kite_error_quark(void);

/* QMP error classes, as QEMU 7.2 names them on the wire. */
enum kite_error_class {
	KITE_ERR_GENERIC = 0,	    /* "GenericError" */
	KITE_ERR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
	KITE_ERR_DEVICE_NOT_FOUND,  /* "DeviceNotFound" */
	KITE_ERR_DEVICE_NOT_ACTIVE, /* "DeviceNotActive" */
	KITE_ERR_KVM_MISSING_CAP,   /* "KVMMissingCap" */
};

const char *kite_error_class_name(int code);

/* Print "kite: <message>" on stderr (or the -D log when one is set). */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Print err's message like error_report() and free it. */
void error_report_err(GError *err);
/* Print a warning: "kite: warning: <message>". */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Program name used as the prefix of every message ("kite"). */
extern const char *kite_progname;

#endif
