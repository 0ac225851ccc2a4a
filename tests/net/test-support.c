/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few error.h services the net layer uses, for test programs that link
 * the net layer without the rest of the emulator core.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *kite_progname = "kite";

GQuark kite_error_quark(void)
{
	return g_quark_from_static_string("kite-error-quark");
}

static void report(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", kite_progname, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void error_report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

void warn_report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

const char *kite_error_class_name(int code)
{
	static const char *const names[] = {"GenericError", "CommandNotFound", "DeviceNotFound",
					    "DeviceNotActive", "KVMMissingCap"};
	return code >= 0 && code < (int)G_N_ELEMENTS(names) ? names[code] : "GenericError";
}
