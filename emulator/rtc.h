/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_RTC_H
#define KITE_RTC_H
#include <stdbool.h>
#include <stdint.h>

void rtc_init(void);
/* -rtc base=localtime (localtime) or base=DATE (offset from now, seconds) */
void rtc_configure(bool localtime, int64_t offset_s);
#endif
