/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU's qtest protocol (-qtest / -accel qtest): no vCPU, a test drives
 * the devices over a chardev. */
#ifndef KITE_QTEST_H
#define KITE_QTEST_H

#include <glib.h>
#include <stdint.h>

struct chardev;

int qtest_init(struct chardev *chr, const char *log_path, GError **err);
void qtest_irq(unsigned gsi, int level);
void qtest_msi(uint64_t address, uint32_t data);
int64_t qtest_clock_ns(void);
void qtest_cleanup(void);

#endif
