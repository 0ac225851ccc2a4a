// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Time keeping: the TSC, its rate taken from kvmclock when the hypervisor
 * offers it, otherwise calibrated once against PIT channel 2.
 *
 * The PIT calibration times a PIT interval with the TSC, so on a loaded
 * host, where the vCPU can be descheduled in the middle of it, its result
 * swings widely (0.8 to 8 GHz measured for a 2.6 GHz TSC under nested KVM).
 * kvmclock instead hands over the rate the hypervisor itself uses to turn
 * TSC ticks into nanoseconds: exact, and independent of scheduling.
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

/* KVM's paravirtual CPUID leaves (Linux's Documentation/virt/kvm/x86/cpuid.rst) */
#define CPUID1_ECX_HYPERVISOR	 (1u << 31)
#define KVM_CPUID_SIGNATURE	 0x40000000u
#define KVM_CPUID_FEATURES	 0x40000001u
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX of the signature leaf */
#define KVM_SIGNATURE_EBX 0x4b4d564bu
#define KVM_SIGNATURE_ECX 0x564b4d56u
#define KVM_SIGNATURE_EDX 0x0000004du

/* The kvmclock page layout, shared with the hypervisor (the pvclock ABI
 * KVM and Xen use). 'version' is odd while the hypervisor updates it. */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul; /* ns = ((ticks << shift) * mul) >> 32 */
	int8_t tsc_shift;	    /* negative: shift right */
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock ABI size");
_Static_assert(__builtin_offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul) == 24,
	       "pvclock ABI layout");
_Static_assert(__builtin_offsetof(struct pvclock_vcpu_time_info, tsc_shift) == 28,
	       "pvclock ABI layout");

/* 32-byte aligned, so it never straddles a page (KVM wants it within one);
 * the identity mapping makes its address the physical one. */
static volatile struct pvclock_vcpu_time_info pvclock __attribute__((aligned(32)));

static uint64_t tsc_at_boot;
static uint64_t hz = FALLBACK_HZ;
static const char *hz_source = "fallback";
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

const char *tsc_source(void)
{
	return hz_source;
}

static void cpuid(uint32_t leaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
	__asm__ volatile("cpuid"
			 : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx)
			 : "a"(leaf), "c"(0));
}

static bool kvmclock_offered(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	/* Without the hypervisor bit, leaf 0x40000000 is not defined (Intel
	 * CPUs answer it with the highest basic leaf's data). */
	if (!(c & CPUID1_ECX_HYPERVISOR))
		return false;
	cpuid(KVM_CPUID_SIGNATURE, &a, &b, &c, &d);
	if (b != KVM_SIGNATURE_EBX || c != KVM_SIGNATURE_ECX || d != KVM_SIGNATURE_EDX ||
	    a < KVM_CPUID_FEATURES)
		return false;
	cpuid(KVM_CPUID_FEATURES, &a, &b, &c, &d);
	return a & KVM_FEATURE_CLOCKSOURCE2;
}

/*
 * Turns kvmclock on just long enough to read its scale, then off again: only
 * the rate is wanted, and a hypervisor that keeps writing to guest memory
 * behind its back is one more thing the scenarios would have to allow for.
 * Each WRMSR is one trap through the ring-0 handler. Returns 0 when
 * kvmclock is not offered or never publishes a usable scale.
 */
static uint64_t kvmclock_hz(void)
{
	if (!kvmclock_offered())
		return 0;

	/* KVM makes the version odd, then even again, around each update:
	 * starting from 0, a non-zero even version means a complete one. */
	pvclock.version = 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvclock | 1); /* bit 0: enable */
	uint32_t mul = 0;
	int8_t shift = 0;
	bool consistent = false;
	/* KVM fills the structure before it resumes the vCPU after the WRMSR,
	 * so this normally succeeds at once; the bound is only a hang guard. */
	for (unsigned tries = 0; tries < 1000000 && !consistent; tries++) {
		uint32_t version = pvclock.version;
		mul = pvclock.tsc_to_system_mul;
		shift = pvclock.tsc_shift;
		/* x86 keeps loads in order; the volatile accesses keep the
		 * compiler from reordering them. */
		consistent = version && !(version & 1) && pvclock.version == version;
		if (!consistent)
			__asm__ volatile("pause");
	}
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!consistent || !mul || shift < -31 || shift > 31)
		return 0;

	/* ns per tick = mul * 2^shift / 2^32, so Hz = 10^9 * 2^32 / mul / 2^shift.
	 * 10^9 * 2^32 fits in 64 bits (no 128-bit division without libgcc);
	 * shifting after dividing costs at most 2^-shift Hz. */
	uint64_t rate = (1000000000ull << 32) / mul;
	if (shift > 0)
		return rate >> shift;
	if (rate > UINT64_MAX >> -shift)
		return 0;
	return rate << -shift;
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

static bool plausible_hz(uint64_t v)
{
	return v >= 100000000ull && v <= 20000000000ull;
}

void time_init(void)
{
	uint64_t from_kvmclock = kvmclock_hz();

	if (plausible_hz(from_kvmclock)) {
		hz = from_kvmclock;
		hz_source = "kvmclock";
	} else {
		if (from_kvmclock)
			kprintf("time: kvmclock gave an implausible %lu Hz, calibrating\n",
				(unsigned long)from_kvmclock);
		uint64_t measured = calibrate_median();
		if (plausible_hz(measured)) {
			hz = measured;
			hz_source = "pit";
		} else {
			kprintf("time: PIT calibration failed (%lu Hz), assuming %lu Hz\n",
				(unsigned long)measured, (unsigned long)hz);
		}
	}
	kprintf("time: TSC %lu kHz from %s\n", (unsigned long)(hz / 1000), hz_source);
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
