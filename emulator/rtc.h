/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_RTC_H
#define KITE_RTC_H
void rtc_init(void);
#endif
