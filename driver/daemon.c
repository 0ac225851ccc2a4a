/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process-wide pieces: configuration, logging, leaving the main loop. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "server.h"

struct daemon_config cfg;
static GMainLoop *main_loop;
static FILE *log_fp;

void log_msg(bool debug, const char *fmt, ...)
{
	va_list ap;

	if (debug && !cfg.verbose)
		return;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *ts = g_date_time_format(now, "%F %T.%f");
	FILE *f = log_fp ? log_fp : stderr;
	fprintf(f, "%.23s virtkited[%d]: %s\n", ts, (int)getpid(), msg);
	fflush(f);
}

bool log_open_file(const char *path)
{
	FILE *f = fopen(path, "ae");
	if (!f)
		return false;
	log_fp = f;
	return true;
}

void daemon_set_main_loop(GMainLoop *loop)
{
	main_loop = loop;
}

void server_quit(void)
{
	if (main_loop)
		g_main_loop_quit(main_loop);
}
