/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * System control port B (0x61): PIT channel 2 gate (bit 0), speaker data
 * (bit 1), refresh toggle (bit 4) and channel 2 output (bit 5). The PIT
 * itself is KVM's; kite creates it with the in-kernel speaker port
 * disabled (not every KVM implements it) and derives the channel 2 output
 * from KVM_GET_PIT2, as QEMU's pcspk does. Guests calibrate their TSC with
 * this port.
 */
#include "port61.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <time.h>

#include "device.h"
#include "io.h"
#include "kvm.h"
#include "machine.h"

#define PIT_HZ 1193182

static uint8_t port61; /* gate and speaker bits as written */
static bool refresh;

static bool channel2_out(void)
{
	if (machine_cfg.qtest)
		return false;
	struct kvm_pit_state2 st;
	if (ioctl(kvm_vm_fd(), KVM_GET_PIT2, &st) < 0)
		return false;
	struct kvm_pit_channel_state *c = &st.channels[2];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	int64_t elapsed = now - c->count_load_time;
	if (elapsed < 0)
		elapsed = 0;
	uint64_t ticks = (uint64_t)((__int128)elapsed * PIT_HZ / 1000000000);
	uint64_t count = c->count ? c->count : 0x10000;
	switch (c->mode) {
	case 0:
	case 1:
		return ticks >= count;
	case 2:
	case 6:
		return ticks % count != count - 1;
	case 3:
	case 7:
		return ticks % count < (count + 1) / 2;
	default: /* 4, 5: a strobe at terminal count */
		return ticks != count;
	}
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	refresh = !refresh;
	return (port61 & 0x03) | (refresh ? 0x10 : 0) | (channel2_out() ? 0x20 : 0);
}

static void port61_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	bool old_gate = port61 & 1;
	port61 = val & 0x03;
	if (machine_cfg.qtest || old_gate == (bool)(val & 1))
		return;
	struct kvm_pit_state2 st;
	if (ioctl(kvm_vm_fd(), KVM_GET_PIT2, &st) < 0)
		return;
	st.channels[2].gate = val & 1;
	ioctl(kvm_vm_fd(), KVM_SET_PIT2, &st);
}

static const struct io_ops port61_ops = {.read = port61_read, .write = port61_write};

static void port61_reset(void *opaque)
{
	(void)opaque;
	port61 = 0;
}

void port61_init(void)
{
	io_region_add(IO_SPACE_PIO, 0x61, 1, &port61_ops, NULL, "port61");
	machine_register_reset(port61_reset, NULL);
}
