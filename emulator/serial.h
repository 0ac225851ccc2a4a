/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_SERIAL_H
#define KITE_SERIAL_H

#include <glib.h>

struct chardev;
/* COM<index+1> for -serial (chr may be NULL: port present, output dropped). */
int serial_hds_create(int index, struct chardev *chr, GError **err);

#endif
