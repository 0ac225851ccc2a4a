/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_DRIVER_UTIL_H
#define KITE_DRIVER_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/* Write a file so that a crash leaves either the old or the new content:
 * temporary file, fsync, rename, fsync of the directory. */
bool util_write_file_atomic(const char *path, const char *data, mode_t mode, GError **err);
/* Remove a directory and everything in it (no symlink following). */
void util_remove_tree(const char *path);
/* Field 22 of /proc/PID/stat: identifies a process across PID reuse.
 * 0 when the process does not exist. */
unsigned long long util_process_start_time(pid_t pid);
/* Names are used as file names: no '/', no leading '.', no control
 * characters, at most 200 bytes. */
bool util_check_name(const char *what, const char *name, GError **err);

#endif
