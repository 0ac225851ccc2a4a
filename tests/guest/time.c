// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Time keeping: the TSC, calibrated once against PIT channel 2.
 *
 * Channel 2 counts down once in mode 0 while its gate (port 0x61 bit 0) is
 * high; port 0x61 bit 5 reflects its output, which goes high at terminal
 * count. Each port access may cost ~76 us (a trap to ring 0), so the
 * calibration polls a ~10 ms interval: the poll granularity stays around 1%.
 */
#include "arch.h"

#define PIT_HZ		1193182u
#define CALIBRATE_TICKS 11932u /* ~10 ms */
#define FALLBACK_HZ	2000000000ull

static uint64_t tsc_at_boot;
static uint64_t hz = FALLBACK_HZ;
static uint64_t us_mult = (1000000ull << 32) / FALLBACK_HZ; /* us per cycle, 32.32 */

uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

uint64_t tsc_hz(void)
{
	return hz;
}

/*
 * The count starts when the high byte is written, and the output is seen
 * high during some read of port 0x61: both happen inside a trapped port
 * access whose cost varies (76 us to over 1 ms here, and the vCPU thread
 * may be descheduled on a loaded host). So each edge is bracketed by TSC
 * reads and taken at the middle of its bracket, and a run whose brackets
 * are wider than a tenth of the interval is rejected (returns 0).
 */
static uint64_t calibrate(void)
{
	uint8_t ctl = inb(0x61);

	outb(0x61, (ctl & ~0x02) | 0x01); /* gate high, speaker off */
	outb(0x43, 0xb0);		  /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, CALIBRATE_TICKS & 0xff);
	uint64_t load_before = rdtsc();
	outb(0x42, CALIBRATE_TICKS >> 8);
	uint64_t load_after = rdtsc();
	uint64_t seen_before, seen_after;
	for (;;) {
		seen_before = rdtsc();
		bool high = inb(0x61) & 0x20;
		seen_after = rdtsc();
		if (high)
			break;
		/* No PIT at all: give up after ~several seconds of TSC. */
		if (seen_after - load_after > 20ull * FALLBACK_HZ)
			return 0;
	}
	uint64_t start = load_before + (load_after - load_before) / 2;
	uint64_t end = seen_before + (seen_after - seen_before) / 2;
	uint64_t interval = end - start;
	if ((load_after - load_before) * 10 > interval || (seen_after - seen_before) * 10 > interval)
		return 0;
	return interval * PIT_HZ / CALIBRATE_TICKS;
}

/*
 * Runs with a wide bracket are dropped; the median of three good runs
 * shrugs off one that is still off (a descheduled poll loop). Up to nine
 * attempts; if none is good the fallback rate stays.
 */
static uint64_t calibrate_median(void)
{
	uint64_t good[3];
	int n = 0;

	for (int attempt = 0; attempt < 9 && n < 3; attempt++) {
		uint64_t hz_run = calibrate();
		if (hz_run)
			good[n++] = hz_run;
	}
	if (n == 0)
		return 0;
	if (n < 3)
		return good[0];
	uint64_t a = good[0], b = good[1], c = good[2];
	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	if (b > c)
		b = c;
	return a > b ? a : b;
}

void time_init(void)
{
	uint64_t measured = calibrate_median();

	if (measured >= 100000000ull && measured <= 20000000000ull)
		hz = measured;
	else
		kprintf("time: PIT calibration failed (%lu Hz), assuming %lu Hz\n",
			(unsigned long)measured, (unsigned long)hz);
	us_mult = (1000000ull << 32) / hz;
	tsc_at_boot = rdtsc();
}

uint64_t now_us(void)
{
	uint64_t delta = rdtsc() - tsc_at_boot;

	return (uint64_t)(((unsigned __int128)delta * us_mult) >> 32);
}

void udelay(uint64_t us)
{
	uint64_t end = now_us() + us;

	while (now_us() < end)
		__asm__ volatile("pause");
}
