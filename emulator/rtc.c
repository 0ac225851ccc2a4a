/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MC146818 CMOS/RTC at 0x70/0x71: wall-clock time from the host (UTC, like
 * QEMU's default -rtc base=utc, or local time, or from a given date on),
 * the status registers, and the memory-size
 * bytes firmware-less guests and Linux's early code may read.
 */
#include "rtc.h"

#include <string.h>
#include <time.h>

#include "device.h"
#include "io.h"
#include "machine.h"
#include "memory.h"

#define REG_A	     0x0a
#define REG_B	     0x0b
#define REG_C	     0x0c
#define REG_D	     0x0d
#define REG_B_24H    0x02
#define REG_B_BINARY 0x04

struct rtc {
	uint8_t index;
	uint8_t cmem[128];
};

static struct rtc rtc;

/* -rtc base=: the guest's clock is the host's UTC or local time, moved by
 * a fixed number of seconds for base=DATE */
static bool rtc_localtime;
static int64_t rtc_offset_s;

void rtc_configure(bool localtime, int64_t offset_s)
{
	rtc_localtime = localtime;
	rtc_offset_s = offset_s;
}

static uint8_t to_bcd(const struct rtc *r, int v)
{
	if (r->cmem[REG_B] & REG_B_BINARY)
		return v;
	return ((v / 10) << 4) | (v % 10);
}

static void fill_time(struct rtc *r)
{
	time_t now = time(NULL) + (time_t)rtc_offset_s;
	struct tm tm;
	if (rtc_localtime)
		localtime_r(&now, &tm);
	else
		gmtime_r(&now, &tm);
	r->cmem[0] = to_bcd(r, tm.tm_sec);
	r->cmem[2] = to_bcd(r, tm.tm_min);
	int hour = tm.tm_hour;
	if (r->cmem[REG_B] & REG_B_24H) {
		r->cmem[4] = to_bcd(r, hour);
	} else {
		int h12 = hour % 12 ? hour % 12 : 12;
		r->cmem[4] = to_bcd(r, h12) | (hour >= 12 ? 0x80 : 0);
	}
	r->cmem[6] = to_bcd(r, tm.tm_wday + 1);
	r->cmem[7] = to_bcd(r, tm.tm_mday);
	r->cmem[8] = to_bcd(r, tm.tm_mon + 1);
	r->cmem[9] = to_bcd(r, tm.tm_year % 100);
	r->cmem[0x32] = to_bcd(r, 19 + tm.tm_year / 100);
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc *r = opaque;
	(void)size;
	if (off == 0)
		return 0xff; /* the index port is write-only */
	uint8_t idx = r->index & 0x7f;
	if (idx <= 9 || idx == 0x32)
		fill_time(r);
	uint8_t v = r->cmem[idx];
	if (idx == REG_C)
		r->cmem[REG_C] = 0; /* read clears the flags */
	return v;
}

static void rtc_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct rtc *r = opaque;
	(void)size;
	if (off == 0) {
		r->index = value;
		return;
	}
	uint8_t idx = r->index & 0x7f;
	switch (idx) {
	case REG_A:
		r->cmem[REG_A] = (value & 0x7f); /* UIP is read-only */
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		if (idx <= 9)
			break; /* setting the clock is not emulated: time stays the host's */
		r->cmem[idx] = value;
		break;
	}
}

static const struct io_ops rtc_ops = {.read = rtc_read, .write = rtc_write};

static void rtc_reset(void *opaque)
{
	struct rtc *r = opaque;
	memset(r->cmem, 0, sizeof(r->cmem));
	r->cmem[REG_A] = 0x26;
	r->cmem[REG_B] = REG_B_24H;
	r->cmem[REG_D] = 0x80; /* valid RAM and time */
	/* memory size, as a PC BIOS records it */
	uint64_t low = guest_ram_below_4g();
	r->cmem[0x15] = 640 & 0xff;
	r->cmem[0x16] = 640 >> 8;
	uint64_t ext_kb = low > 0x100000 ? (low - 0x100000) / 1024 : 0;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	r->cmem[0x17] = r->cmem[0x30] = ext_kb & 0xff;
	r->cmem[0x18] = r->cmem[0x31] = ext_kb >> 8;
	uint64_t above16 = low > 16 * 1024 * 1024 ? (low - 16 * 1024 * 1024) / 65536 : 0;
	if (above16 > 0xffff)
		above16 = 0xffff;
	r->cmem[0x34] = above16 & 0xff;
	r->cmem[0x35] = above16 >> 8;
	uint64_t above4g = guest_ram_above_4g() / 65536;
	r->cmem[0x5b] = above4g & 0xff;
	r->cmem[0x5c] = (above4g >> 8) & 0xff;
	r->cmem[0x5d] = (above4g >> 16) & 0xff;
	r->cmem[0x5f] = machine_cfg.smp - 1;
	fill_time(r);
}

static struct dev_model rtc_model = {
    .name = "mc146818rtc",
    .bus = "ISA",
    .category = "Misc devices",
    .no_user = true,
};
DEV_MODEL_REGISTER(rtc_model)

void rtc_init(void)
{
	rtc_reset(&rtc);
	io_region_add(IO_SPACE_PIO, 0x70, 2, &rtc_ops, &rtc, "rtc");
	machine_register_reset(rtc_reset, &rtc);
	dev_instance_add(&rtc_model, NULL, &rtc);
}
