/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

unsigned log_mask;
bool log_timestamps;
static FILE *log_file;

int log_set_file(const char *path)
{
	FILE *f = fopen(path, "a");
	if (!f)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file)
		fclose(log_file);
	log_file = f;
	return 0;
}

bool log_has_file(void)
{
	return log_file != NULL;
}

void log_msg(unsigned mask, const char *fmt, ...)
{
	if (!(log_mask & mask))
		return;
	FILE *f = log_file ? log_file : stderr;
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(f, "%s\n", msg);
	g_free(msg);
}
