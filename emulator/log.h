/* SPDX-License-Identifier: GPL-2.0-or-later */
/* -D / -d logging and -msg timestamp. */
#ifndef KITE_LOG_H
#define KITE_LOG_H

#include <glib.h>
#include <stdbool.h>

#define LOG_GUEST_ERROR 0x1
#define LOG_UNIMP	0x2

extern unsigned log_mask;
extern bool log_timestamps;

int log_set_file(const char *path);
bool log_has_file(void);
/* Write one line to the -D file (or stderr) when mask is enabled. */
void log_msg(unsigned mask, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
