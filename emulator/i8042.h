/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_I8042_H
#define KITE_I8042_H
void i8042_init(void);
#endif
