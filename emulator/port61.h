/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_PORT61_H
#define KITE_PORT61_H
void port61_init(void);
#endif
