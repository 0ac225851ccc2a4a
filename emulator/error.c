/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"
#include "log.h"

#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>

const char *kite_progname = "kite";

G_DEFINE_QUARK(kite - error - quark, kite_error)

const char *kite_error_class_name(int code)
{
	switch (code) {
	case KITE_ERR_COMMAND_NOT_FOUND:
		return "CommandNotFound";
	case KITE_ERR_DEVICE_NOT_FOUND:
		return "DeviceNotFound";
	case KITE_ERR_DEVICE_NOT_ACTIVE:
		return "DeviceNotActive";
	case KITE_ERR_KVM_MISSING_CAP:
		return "KVMMissingCap";
	default:
		return "GenericError";
	}
}

static void vreport(const char *kind, const char *fmt, va_list ap)
{
	char *msg = g_strdup_vprintf(fmt, ap);
	if (log_timestamps) {
		GDateTime *now = g_date_time_new_now_utc();
		char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
		fprintf(stderr, "%s.%06dZ ", ts, g_date_time_get_microsecond(now));
		g_free(ts);
		g_date_time_unref(now);
	}
	if (kind)
		fprintf(stderr, "%s: %s%s\n", kite_progname, kind, msg);
	else
		fprintf(stderr, "%s: %s\n", kite_progname, msg);
	fflush(stderr);
	g_free(msg);
}

void error_report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

void warn_report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(_("warning: "), fmt, ap);
	va_end(ap);
}

void error_report_err(GError *err)
{
	if (!err)
		return;
	error_report("%s", err->message);
	g_error_free(err);
}
